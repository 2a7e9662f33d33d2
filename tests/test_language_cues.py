"""The language layer's cues: negation and its scope, paraphrase, place names, evidence spans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from api.app import create_app
from graph.language.cues import (
    MAX_CLAUSES,
    Cue,
    TurnCues,
    cue_texts,
    read_cues,
    sentiment_score,
)
from graph.language.pipeline import shared_pipeline
from graph.language.prototypes import CueKind
from graph.language.scope import clauses, names, negated
from graph.language.turn_sentiment import IMPATIENT_SENTIMENT
from tests.test_api_support import api_settings, in_process


def affirmed(text: str, kind: CueKind) -> list[Cue]:
    return read_cues(text).find(kind)


def spans_hold(cues: TurnCues, text: str) -> None:
    for cue in cues.cues:
        assert text[cue.start : cue.end] == cue.text, cue


@pytest.mark.parametrize(
    "text",
    [
        "Put me through to one of your staff",
        "Could a human being call me back about this listing?",
        "is there a real person I can talk to",
        "get me your manager",
        "I don't want to wait any more, let me talk to a human",
        "Can't I just talk to a human?",
        "representative please",
        "Can I speak with whoever is in charge of the listing?",
        "put me through to a realtor",  # an imperative asks, whatever statement it resembles
        "get me a real estate agent on the line please",
        "Connect me with my agent",  # the customer's own agent, to talk to
        "I want to talk to my agent",
        "Have someone ring me tomorrow",  # the causative, parsed as an inverted "have"
        "Have my agent call me",
        "Can you connect me with my agent?",
    ],
)
def test_a_request_for_a_person_in_other_words(text: str) -> None:
    assert affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "I do not want to speak to a human, just the price please",
        "I'd rather not talk to an agent yet",
        "My agent says we should list at 525k",
        "Someone stole my wallet",
        "I talked to someone at your office last week",
        "Send the disclosure to my agent",  # we are asked to reach the customer's own people
        "Tell my agent the offer was accepted",
        "Talk to my agent about the price",
        "Have you talked to a human yet?",  # a question's "have" takes a participle
        "Could you send the contract to my lawyer and my agent?",  # a modal question asks us to act
        "Can you tell my agent the offer was accepted?",
    ],
)
def test_no_request_for_a_person(text: str) -> None:
    assert not affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "I wanna talk to a real person",
        "Wanna talk to a human",
        "lemme speak to an agent",
        "gimme a real person",
        "i hafta talk to a person",
        "I gotta speak to a manager",
        "I've got to talk to a human",
        "I have to talk to someone about this",
        "that me talk to a real person",  # a recogniser's "let me talk to a real person"
    ],
)
def test_a_request_for_a_person_in_spoken_or_hurried_english(text: str) -> None:
    assert affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "I don't wanna talk to a human",
        "I had to talk to three people already",
        "I got to talk to a human yesterday",
        "me and my wife talk to agents all the time",
        "gimme a minute",
    ],
)
def test_no_request_for_a_person_in_spoken_english(text: str) -> None:
    assert not affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "Is anyone there?",
        "Hi, is anyone there?",  # a customer of ABCD's data, waiting
        "is someone there",
        "Is a human available?",
        "Are any agents online right now?",
        "Can I talk to my agent's assistant?",  # whom one is put through to is asked for
        "Put me through to the manager's office",
        "call me ASAP",
        "Call me Joe, and please have an agent call me",
        "Can I talk to one person who actually knows?",  # a number on whom one talks to
    ],
)
def test_a_request_for_a_person_by_presence_or_through_another(text: str) -> None:
    assert affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "Is anyone there at the open house on Sunday?",  # the place is asked about
        "Someone is there already",
        "Can I get my agent's phone number?",  # the owner of what is asked for
        "I'd like my agent's number please",
        "Can you tell me who my agent is?",  # an identity asked
        "I want to know who the manager is",
        "Call me Joe",  # naming, not a call
        "Can you call me a cab for three people?",
        "Just 1 person.",  # people counted (SGD's bookings)
        "There is 2 people.",
        "I want it for 4 persons.",
        "I need a cab for one person",
    ],
)
def test_no_request_for_a_person_named_in_passing(text: str) -> None:
    assert not affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "transfer me",
        "Can you escalate my case?",
        "I want to escalate this",
        "connect me to customer service",
        "Please put me through",
        "put me thru to someone",  # "put" in lower case is tagged a past: no subject, so an imperative
        "Could you put me in touch with a broker?",  # 0.3797 on the prototypes: the grammar says it
        "put me in contact with a realtor",
        "just put me through",
        "now put me thru",
    ],
)
def test_a_request_to_be_passed_on_is_a_request_for_a_person(text: str) -> None:
    assert affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "operator",
        "Operator.",
        "staff",
        "rep",
        "realtor",
        "Staff?",
        "a live person",
        "Realtor please",  # the entity model takes "Realtor" for a person's name
        "Supervisor now",  # ... and "Supervisor" for a verb and a place
        "Specialist please",
    ],
)
def test_a_person_word_alone_asks_for_a_person(text: str) -> None:
    assert affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "ur bot is useless, human",  # the tagger reads "human" as an adjective of "is"
        "This is wrong, operator!",
        "this is going nowhere - agent please",
        "I need help with my account, someone",
    ],
)
def test_a_person_word_called_out_at_the_end_asks_for_a_person(text: str) -> None:
    assert affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "We met with the broker, the supervisor",  # renames someone named before
        "We talked to Tom, Anna and the agent",
        "I spoke to your agent, Maria",
        "I already have a realtor, a good one",
    ],
)
def test_a_person_named_in_a_list_or_apposition_is_no_request(text: str) -> None:
    assert not [c for c in read_cues(text).cues if c.kind == "human_request"], read_cues(text)


@pytest.mark.parametrize(
    "text", ["My realtor.", "two people", "Our agent's office", "Anyone else?", "Broker fees"]
)
def test_a_person_the_customer_has_or_counts_alone_is_no_request(text: str) -> None:
    assert not affirmed(text, "human_request"), read_cues(text)


@pytest.mark.parametrize("ask", ["Please transfer me.", "Can you escalate this?", "Please put me through."])
def test_a_request_to_be_passed_on_at_the_end_of_a_long_turn_is_still_read(ask: str) -> None:
    story = " ".join("The kitchen was small and the garden was nice." for _ in range(14))
    assert len(clauses(shared_pipeline().parse(story))) > MAX_CLAUSES  # only some clauses are read
    assert affirmed(f"{story} {ask}", "human_request")


@pytest.mark.parametrize(
    "text",
    [
        "They transferred me twice already",  # told, not asked
        "Can you transfer me $500?",  # the customer is the one paid
        "I want to transfer money to my account",
        "How do I connect my account?",
        "Can you put me through the steps?",
        "They put me in touch with a lender last week",
        "How do I get in touch with the seller?",
        "put me down for two",
        "Put the house up in May",
        "Let me get in touch with my wife first",  # the customer is the one to get in touch
    ],
)
def test_money_moved_or_a_transfer_told_is_no_request_for_a_person(text: str) -> None:
    assert not affirmed(text, "human_request"), read_cues(text)


async def test_a_customer_asking_whether_anyone_is_there_reaches_a_person_and_a_party_size_does_not(
    tmp_path: Path,
) -> None:
    async with in_process(create_app(api_settings(tmp_path))) as api:
        cid, token = await api.conversation()
        await api.say(cid, token, "Hi, we want to buy a house")
        counted = await api.say(cid, token, "For two people.")  # the answer to how many will live there
        waiting = await api.say(cid, token, "Hello? Is anyone there?")
    assert counted["handoff"] is None
    assert counted["status"] == "bot"
    assert waiting["handoff"]["trigger"] == "explicit_request"


def test_a_denied_request_keeps_its_evidence_as_denied() -> None:
    text = "I do not want to speak to a human, just the price please"
    denied = read_cues(text).find("human_request", negated=True)
    assert [c.text for c in denied] == [text]


@pytest.mark.parametrize(
    "text",
    [
        "We're selling the condo on Courtland Court",
        "the house on Probate Lane",
        "We live at 12 Lien Street and want to sell",
        "Our house is at 44 Justice Avenue",
        "we live on grief lane",
    ],
)
def test_a_word_inside_a_street_name_is_no_cue(text: str) -> None:
    cues = read_cues(text)
    assert not cues.find("legal"), cues
    assert not cues.find("distress"), cues
    assert sentiment_score(text) > -0.3


def test_a_street_name_hides_its_words_but_not_the_rest_of_the_turn() -> None:
    text = "There's a lien on our place at 12 Court Street"
    legal = affirmed(text, "legal")
    assert legal
    assert legal[0].label == "high"
    spans_hold(read_cues(text), text)


@pytest.mark.parametrize(
    "text", ["never had a lawsuit", "We want to sell without going to court", "no liens, no disputes"]
)
def test_negated_legal_words_are_not_legal(text: str) -> None:
    assert not affirmed(text, "legal"), read_cues(text)


def test_legal_in_other_words() -> None:
    assert affirmed("The neighbours are suing us over the driveway", "legal")


@pytest.mark.parametrize(
    ("text", "distressed"),
    [
        ("my mom just passed and I don't know what to do with her house", True),
        ("I just can't cope with all of this anymore", True),
        ("I'm not worried at all, just curious about prices", False),
        ("No stress, we're just exploring our options", False),
        ("I can't wait to see the new place!", False),
        # an ability denied is the distress, not a denial of it
        ("I can't pay the mortgage anymore", True),
        ("I can't believe my wife passed away so suddenly, I can't stay in this house", True),
        ("We're not losing the house, just downsizing", False),
        # a question with no feeling in it asks, and says nothing of how the customer is
        ("Can I get a mortgage?", False),
        ("Is my mortgage transferable?", False),
        ("Can I refinance my mortgage?", False),
        ("the bank has a judgment against us, will that block the sale?", False),
    ],
)
def test_distress_with_and_without_negation(text: str, distressed: bool) -> None:
    assert bool(affirmed(text, "distress")) is distressed, read_cues(text)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I need to sell my condo ASAP", "immediate"),
        ("We need to move before school starts in three weeks", "immediate"),
        ("We'd like to sell within two months", "moderate"),
        ("no rush, maybe next year", "long"),
        ("We're not in a hurry at all", "long"),
    ],
)
def test_timeline_from_the_phrase_that_says_when(text: str, label: str) -> None:
    assert {c.label for c in affirmed(text, "timeline")} == {label}, read_cues(text)


@pytest.mark.parametrize(
    "text",
    ["I talked to someone at your office last week", "I got it 8 days ago", "How long do transfers take?"],
)
def test_a_past_or_asked_time_is_no_timeline(text: str) -> None:
    assert not affirmed(text, "timeline"), read_cues(text)


def test_a_denied_hurry_is_no_urgency() -> None:
    cues = read_cues("It's not urgent, we don't need to move right away")
    assert not cues.find("timeline", "immediate")


@pytest.mark.parametrize(
    "text",
    [
        "this is taking forever",
        "you asked me that already",
        "I told you that already!",
        "can we speed this up please",
        "you keep asking the same thing",
        "are we done yet",
        "Why is it taking so long?",
    ],
)
def test_impatience_with_the_conversation(text: str) -> None:
    cues = read_cues(text)
    assert cues.find("impatience"), cues
    # VADER has no word for it; the turn sounds negative, though one such turn is not "very negative"
    assert -0.6 < cues.sentiment <= IMPATIENT_SENTIMENT, cues
    assert cues.find("sentiment")[0].text == cues.find("impatience")[0].text


@pytest.mark.parametrize(
    "text",
    [
        "How long does it take to sell a house?",
        "We live on Court Street and we're in no hurry",
        "I'm waiting for the bank to approve the loan",
        "I'll think this over",
        "I don't have any other questions",
        "Can you repeat that?",
        "The website is running slow",
    ],
)
def test_no_impatience_in_ordinary_talk_about_time(text: str) -> None:
    assert not read_cues(text).find("impatience"), read_cues(text)


def test_impatience_never_makes_a_turn_sound_better_and_counts_by_its_share() -> None:
    assert sentiment_score("This is ridiculous, I'm so frustrated!!") < -0.6  # VADER's own, kept
    alone = sentiment_score("this is taking forever")
    diluted = sentiment_score(
        "this is taking forever. Our house at 12 Oak Street has three bedrooms, two baths and a big garden"
    )
    assert alone < diluted < 0


@pytest.mark.parametrize(
    ("text", "failing"),
    [
        ("I tried that already and it didn't help", True),
        ("My credit card keeps getting rejected", True),
        ("It works now, thanks!", False),
        ("Ok, I can check again", False),
    ],
)
def test_repeated_failure(text: str, failing: bool) -> None:
    assert bool(affirmed(text, "failure")) is failing, read_cues(text)


def test_financing_ready_or_not() -> None:
    assert affirmed("We're pre-approved for $750,000", "financing")[0].label == "ready"
    assert affirmed("I'm not pre-approved yet", "financing")[0].label == "not_ready"


def test_budget_and_value_amounts() -> None:
    cues = read_cues("Our budget is up to $900,000, the house we sold went for $1.2M")
    assert cues.amounts == (900_000, 1_200_000)
    assert cues.budget_amounts == (900_000,)


def test_evidence_spans_are_the_customers_words() -> None:
    text = "Honestly I'm devastated. My ex-husband's lawyer says there's a lien on the title."
    cues = read_cues(text)
    spans_hold(cues, text)
    assert [c.text for c in cues.find("distress")] == ["Honestly I'm devastated"]
    assert cues.find("legal", "high")[0].text == "My ex-husband's lawyer says there's a lien on the title"


def test_each_turn_is_read_once() -> None:
    text = "Could a human being call me back about this listing? (ref 91x)"
    assert read_cues(text) is read_cues(text)


def test_cue_texts_for_the_brief() -> None:
    turns = ["We live on Court Street", "The estate is still in probate", "I'm overwhelmed"]
    assert cue_texts(turns, "legal") == ["The estate is still in probate"]
    assert cue_texts(turns, "distress") == ["I'm overwhelmed"]


def test_sentiment() -> None:
    assert sentiment_score("This is ridiculous, I'm so frustrated!!") < -0.6
    assert sentiment_score("Thanks, that was really helpful") > 0.5
    assert sentiment_score("not bad") > 0
    assert abs(sentiment_score("I want to sell my house")) < 0.2


def test_negation_scope_by_clause() -> None:
    doc = shared_pipeline().parse("I don't want to wait any more, let me talk to a human")
    parts = clauses(doc)
    assert [c.text for c in parts] == ["I don't want to wait any more", "let me talk to a human"]
    wait, human = doc[4], doc[-1]
    assert negated(wait)
    assert not negated(human)


def test_names_cover_streets_the_model_misses() -> None:
    doc = shared_pipeline().parse("the house on Probate Lane")
    assert {doc[i].text for i in names(doc)} == {"Probate", "Lane"}


@pytest.mark.parametrize(
    "text",
    ["How long does it usually take to sell?", "Selling.", "What happens after the valuation?"],
)
def test_talk_about_selling_is_no_legal_matter_and_no_financing(text: str) -> None:
    """Resemblance alone (no legal word, or one word said) once read these as a lien-level legal case."""
    cues = read_cues(text)
    assert not cues.find("legal")
    assert not cues.find("financing")


def test_a_legal_matter_or_financing_said_in_few_words_still_counts() -> None:
    assert read_cues("There's a lien on the title").find("legal", "high")
    assert read_cues("We're pre-approved").find("financing", "ready")


def test_the_turn_embedded_with_its_clauses_reads_the_same_and_feeds_the_intent_classifier() -> None:
    from graph.embeddings import get_embedder
    from graph.language.cues import _read

    text = "The app keeps crashing on Birch Court Road, and honestly I need someone to call me back today."
    alone = _read(text)
    together = _read(text, with_turn=True)
    assert together == alone
    embedder = get_embedder()
    key = embedder._key(text)
    assert key is not None
    assert key in embedder._cache  # the classifier's embed_one finds it
    fresh = type(embedder)(cache_size=0)
    np.testing.assert_allclose(embedder.embed_one(text), fresh.embed_one(text), atol=1e-5)
