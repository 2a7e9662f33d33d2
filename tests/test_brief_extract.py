"""Each offline extractor on hand-made turns; every fact must be grounded in the turn it cites."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Sequence

import pytest

import graph.context.analysis
import graph.context.extract
from graph.context import HUMAN_SECTIONS, Fact, SimilarCase, build_brief, build_brief_offline
from graph.context.extract import asked_keys, extract_facts, extract_turn
from graph.context.grounding import occurs_in
from graph.language.cues import sentiment_score
from graph.transcript import Role, Turn


def convo(*lines: tuple[Role, str]) -> list[Turn]:
    return [Turn(index=i, role=role, text=text) for i, (role, text) in enumerate(lines)]


def facts_of(text: str, asked: tuple[str, ...] = ()) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for fact in extract_turn(Turn(index=0, role="customer", text=text), asked):
        out.setdefault(fact.key, []).append(fact.value)
    return out


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("Account ID: OVXGGYVD6I", "account_id", "OVXGGYVD6I"),
        ("my account id is n5gmoy6xgp", "account_id", "n5gmoy6xgp"),
        ("Order ID: 9342308357", "order_id", "9342308357"),
        ("my ticket number is TCK-48213", "ticket_id", "TCK-48213"),
        ("it's jbanter9@email.com", "email", "jbanter9@email.com"),
        ("it's jbanter9@email.com", "username", "jbanter9"),
        ("Username: crystalm523", "username", "crystalm523"),
        ("Phone Number: (374) 367-2111", "phone", "(374) 367-2111"),
        ("call me on 401-368-5381", "phone", "401-368-5381"),
        ("I was charged $49 twice", "amount", "$49"),
        ("the 99 dollar boots", "amount", "99 dollar"),
        ("I ordered it on 2019-11-30", "date", "2019-11-30"),
        ("It was March 10, 2020", "date", "March 10, 2020"),
        ("I ordered it 5 days ago", "date", "5 days ago"),
        ("it arrived yesterday", "date", "yesterday"),
        ("it should come on Friday", "date", "on Friday"),
        ("I bought a pair of Tommy Hilfiger boots", "product", "Tommy Hilfiger boots"),
        ("the guess shirt", "product", "guess shirt"),
        ("It's the $89 jacket by Calvin Klein", "brand", "Calvin Klein"),
        ("I'm on the Standard plan", "plan", "Standard plan"),
        ("My address is 2311 1st Ave  San Mateo, CA 86427", "street_address", "2311 1st Ave"),
        ("My address is 2311 1st Ave  San Mateo, CA 86427", "zip_code", "86427"),
        ("5308 Circle Drive, Brighton", "street_address", "5308 Circle Drive"),
        ("I'm a silver member", "membership_level", "silver"),
        ("I paid with my credit card", "payment_method", "credit card"),
        ("Do you have it in a size 9?", "size", "size 9"),
        ("My pin is 990624", "pin_number", "990624"),
        ("I already logged out and logged back in", "already_tried", "logged out and logged back in"),
        ("Clearing cookies worked.", "already_tried", "Clearing cookies"),
        ("My name is Albert Sanders", "customer_name", "Albert Sanders"),
        ("Hi! I am Crystal Minh", "customer_name", "Crystal Minh"),
        ("we are pre-approved for a mortgage", "financing", "pre-approved"),
        ("we want to move in 3 months", "timeline", "in 3 months"),
        ("our budget is up to $650k", "budget", "$650k"),
    ],
)
def test_extractor_finds_value(text: str, key: str, value: str) -> None:
    found = facts_of(text)
    assert value in found.get(key, []), found
    assert occurs_in(text, value)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("Yes please, add an alarm and call it Grocery Run at 4:45 pm", "alarm_name", "Grocery Run"),
        (
            "Actually make it at quarter past 5 in the evening and name it Leave for Home",
            "name",
            "Leave for Home",
        ),
        ("Can you try again? Try calling the alarm Grocery run.", "alarm_name", "Grocery run"),
        ("Name the new alarm Cleaning and set it at 3:30.", "alarm_name", "Cleaning"),
        ("Please add an alarm at 17:15 called Cleaning.", "alarm_name", "Cleaning"),
        ("Create a playlist titled Summer Hits", "playlist_name", "Summer Hits"),
    ],
)
def test_a_name_is_keyed_by_what_it_names_in_its_clause(text: str, key: str, value: str) -> None:
    facts = extract_facts(convo(("customer", text)))
    assert (key, value) in [(f.key, f.value) for f in facts], facts


def test_plain_words_are_not_ids_or_names() -> None:
    found = facts_of("This is RIDICULOUS, I guess shirts always run small. Thank you")
    assert "account_id" not in found
    assert "customer_name" not in found
    assert "product" not in found


def test_should_i_try_is_not_already_tried() -> None:
    assert "already_tried" not in facts_of("Should I try clearing the cache?")


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("What is your phone number?", "phone"),
        ("Can I have your order id?", "order_id"),
    ],
)
def test_bare_ten_digits_follow_the_question(question: str, key: str) -> None:
    facts = extract_facts(convo(("bot", question), ("customer", "9342308357")))
    assert [(f.key, f.value, f.turn) for f in facts] == [(key, "9342308357", 1)]


def test_name_answering_a_name_question() -> None:
    facts = extract_facts(convo(("bot", "Can I have your full name?"), ("customer", "rodriguez domingo")))
    assert [(f.key, f.value) for f in facts] == [("customer_name", "rodriguez domingo")]


@pytest.mark.parametrize(
    "reply", ["I want to talk to a human", "human please", "Just get me an agent", "a real person"]
)
def test_asking_for_a_person_instead_of_giving_a_name_is_no_name(reply: str) -> None:
    turns = convo(("bot", "Hi, welcome! May I have your name?"), ("customer", reply))
    assert [f for f in extract_facts(turns) if f.key == "customer_name"] == []
    brief = build_brief_offline(turns, target="human_agent")
    assert not brief.summary.startswith(("Human", "Agent", "Person"))  # was "Human wants to talk to a human."


@pytest.mark.parametrize(("reply", "name"), [("dana", "dana"), ("Sure, Dana Whitfield", "Dana Whitfield")])
def test_a_name_given_alone_still_answers_the_name_question(reply: str, name: str) -> None:
    facts = extract_facts(convo(("bot", "Hi, welcome! May I have your name?"), ("customer", reply)))
    assert [(f.key, f.value) for f in facts] == [("customer_name", name)]


@pytest.mark.parametrize(
    "question",
    [
        "What is the address of the property you'd like to sell?",
        "Which area or neighbourhood are you looking in?",
        "Are you looking to buy, sell, or something else?",
        "What value range are we talking about?",
    ],
)
@pytest.mark.parametrize("reply", ["I want to talk to a human", "not sure yet"])
def test_a_request_or_a_denial_answers_no_slot_question(question: str, reply: str) -> None:
    # were address=human, area=sure, choice=human, value_range=sure
    assert extract_facts(convo(("bot", question), ("customer", reply))) == []


def test_who_the_money_goes_to_is_answered_in_a_sentence_and_not_by_one_of_ours() -> None:
    sent = convo(("bot", "Who are you sending to?"), ("customer", "send to mom"))
    assert "mom" in [f.value for f in extract_facts(sent)]
    ours = convo(("bot", "Who are you sending to?"), ("customer", "I want to talk to an agent"))
    assert "agent" not in [f.value for f in extract_facts(ours)]


def test_capitalised_name_alone_without_question() -> None:
    facts = extract_facts(convo(("bot", "Thanks for waiting."), ("customer", "Rodriguez Domingo")))
    assert [(f.key, f.value) for f in facts] == [("customer_name", "Rodriguez Domingo")]


def test_lowercase_words_without_question_are_not_a_name() -> None:
    facts = extract_facts(convo(("bot", "Thanks for waiting."), ("customer", "sounds good")))
    assert facts == []


def test_security_answer_only_when_asked() -> None:
    asked = convo(("bot", "What is your mother's maiden name?"), ("customer", "Livingston"))
    assert [(f.key, f.value) for f in extract_facts(asked)] == [("security_answer", "Livingston")]


def test_bare_zip_and_pin_follow_the_question() -> None:
    assert facts_of("67671", ("zip_code",)) == {"zip_code": ["67671"]}
    assert facts_of("6227", ("pin_number",)) == {"pin_number": ["6227"]}
    assert facts_of("67671") == {}


def test_customer_announcement_sets_context_for_next_turn() -> None:
    turns = convo(
        ("bot", "May I have your email?"), ("customer", "I have a pin number."), ("customer", "67671")
    )
    assert [(f.key, f.value) for f in extract_facts(turns)] == [("pin_number", "67671")]


def test_asked_keys_reads_the_question() -> None:
    assert asked_keys("Can I have your username, email address and order ID?") == {
        "username",
        "email",
        "order_id",
    }
    assert "customer_name" not in asked_keys("What is your first pet's name?")


def test_facts_only_from_customer_turns_and_grounded() -> None:
    turns = convo(
        ("bot", "Your order 1234567890 shipped."),
        ("customer", "I need to cancel order 9342308357, my email is a.b@x.com"),
    )
    facts = extract_facts(turns)
    assert {f.value for f in facts} >= {"9342308357", "a.b@x.com"}
    assert all(f.turn == 1 and occurs_in(turns[1].text, f.value) for f in facts)


# --- each turn read once, off the event loop ------------------------------------------------------


def _support_chat(tag: str) -> list[Turn]:
    lines: list[tuple[Role, str]] = [
        ("customer", f"Hi, I was charged twice for order 9342308357 ({tag})"),
        ("bot", "Sorry about that! Can I have your full name?"),
        ("customer", f"Joyce Wu ({tag})"),
        ("bot", "Thanks Joyce. What is your email address?"),
        ("customer", f"it's joyce.wu@example.com, and I already logged out and logged back in ({tag})"),
        ("bot", "Please try clearing your browser cookies."),
        ("customer", f"Still the same error, this is so frustrating! Why does it keep charging me? ({tag})"),
        ("agent", "I can see the duplicate charge of $49 on your account."),
        ("customer", f"I need the refund today, my rent is due ({tag})"),
    ]
    return convo(*lines)


def test_briefs_read_each_turn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A brief built after every turn (as successive handoffs do) must read only the turns it has not
    # seen: facts, sentiment and sentences of earlier turns are not extracted again.
    extracted: list[str] = []
    scored: list[str] = []

    def counting_extract(turn: Turn, asked: Sequence[str] = ()) -> list[Fact]:
        extracted.append(turn.text)
        return extract_turn(turn, asked)

    def counting_sentiment(text: str) -> float:
        scored.append(text)
        return sentiment_score(text)

    monkeypatch.setattr(graph.context.extract, "extract_turn", counting_extract)
    monkeypatch.setattr(graph.context.analysis, "sentiment_score", counting_sentiment)
    turns = _support_chat(uuid.uuid4().hex)
    briefs = [
        build_brief_offline(turns[:n], target="human_agent", sections=HUMAN_SECTIONS) for n in range(1, 10)
    ]
    assert Counter(extracted) == dict.fromkeys((t.text for t in turns), 1)
    assert Counter(scored) == dict.fromkeys((t.text for t in turns if t.role == "customer"), 1)
    facts = {(f.key, f.value, f.turn) for f in briefs[-1].facts}
    assert {("order_id", "9342308357", 0), ("email", "joyce.wu@example.com", 4)} <= facts


def test_reading_each_turn_once_changes_no_brief() -> None:
    turns = _support_chat(uuid.uuid4().hex)
    for n in range(1, len(turns) + 1):
        warm = build_brief_offline(turns[:n], target="human_agent", sections=HUMAN_SECTIONS)
        again = build_brief_offline(turns[:n], target="human_agent", sections=HUMAN_SECTIONS)
        assert warm == again
    assert warm.facts == extract_facts(turns)


async def test_brief_is_built_off_the_event_loop() -> None:
    # Building a brief reads the whole conversation: the event loop must stay free meanwhile. The
    # retriever below (called while the brief is built) waits until the loop itself releases it.
    started, release = threading.Event(), threading.Event()
    released: list[bool] = []

    def waiting_retriever(query: str) -> list[SimilarCase]:
        started.set()
        released.append(release.wait(timeout=5))  # a safety net: on the loop it could never be set
        return []

    turns = _support_chat(uuid.uuid4().hex)
    build = asyncio.create_task(build_brief(turns, target="human_agent", retriever=waiting_retriever))
    while not started.is_set():
        await asyncio.sleep(0.01)
    release.set()
    brief = await build
    assert released == [True]
    assert brief.source == "offline"


def test_facts_outside_retail_come_from_the_language_layer() -> None:
    turns = convo(
        ("customer", "I'd like to rent a car in Long Beach, CA."),
        ("bot", "What time will you pick it up?"),
        ("customer", "At half past 3 in the afternoon."),
        ("bot", "What type of car would you like?"),
        ("customer", "A compact car please"),
        ("bot", "What is the name of the person driving?"),
        ("customer", "It's for Khadija"),
    )
    facts = {(f.key, f.value) for f in extract_facts(turns)}
    assert ("place", "Long Beach, CA") in facts
    assert ("time", "half past 3 in the afternoon") in facts
    assert ("car_type", "compact car") in facts
    assert any(value == "Khadija" for _, value in facts)
    assert all(key != "customer_name" for key, _ in facts)  # the driver's name, not the customer's


@pytest.mark.parametrize(
    "lines",
    [
        (("bot", "Where will you pick it up?"), ("customer", "SFO International Airport")),
        (("bot", "What is the name of the alarm?"), ("customer", "Music Practice")),
        (("bot", "What type of food would you like?"), ("customer", "Something Persian.")),
        (("bot", "How long should I make the reservation for."), ("customer", "Seven days.")),
        (("bot", "Please confirm the transfer."), ("customer", "Permission Granted")),
    ],
)
def test_no_customer_name_is_invented(lines: tuple[tuple[Role, str], ...]) -> None:
    assert all(f.key != "customer_name" for f in extract_facts(convo(*lines)))


def test_the_customer_name_still_comes_from_its_question_or_an_introduction() -> None:
    asked = convo(("bot", "May I have your full name please?"), ("customer", "crystal minh"))
    introduced = convo(("customer", "Hi, my name is Crystal Minh and my order never came"))
    alone = convo(("customer", "Crystal Minh"))
    for turns in (asked, introduced, alone):
        assert [f.value.lower() for f in extract_facts(turns) if f.key == "customer_name"] == ["crystal minh"]


def test_a_fuller_reading_replaces_a_retail_fragment() -> None:
    turns = convo(("customer", "I want to leave on the 12th of this month."))
    dates = [f.value for f in extract_facts(turns) if f.key == "date"]
    assert dates == ["12th of this month"]


def test_the_budget_sheds_the_lowest_ranked_facts_first() -> None:
    from graph.context.budget import KEPT_FACTS

    many = [Fact(key=f"k{i}", value=f"value number {i} " + "word " * 12, turn=0) for i in range(40)]
    turns = convo(("customer", " ".join(f.value for f in many)))
    brief = build_brief_offline(turns, target="human_agent").model_copy(update={"facts": many})
    from graph.context.budget import fit_budget

    fitted = fit_budget(brief, 400)
    assert KEPT_FACTS <= len(fitted.facts) < len(many)
    assert fitted.facts == many[: len(fitted.facts)]  # a prefix: the tail went first
    assert fitted.token_count <= 400 or len(fitted.facts) == KEPT_FACTS


def test_entities_are_typed_by_what_the_layer_read() -> None:
    turns = convo(("customer", "Looking for a 3-bedroom colonial in Newton, pre-approved for 700k"))
    types = {e.value: e.type for e in build_brief_offline(turns, target="human_agent").entities}
    assert types["Newton"] == "place"
    assert types["700k"] == "amount"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I need a tow truck to take my car to Joe's Garage.", "Joe's Garage"),
        ("Can you book a table at Nick's Pizza for Friday?", "Nick's Pizza"),
        ("I want to go to Mister Jiu's.", "Mister Jiu's"),
        ("My order from Trader Joe's never arrived.", "Trader Joe's"),
    ],
)
def test_a_place_named_by_its_owner_is_one_value(text: str, value: str) -> None:
    facts = [(f.key, f.value) for f in extract_facts(convo(("customer", text)))]
    assert ("organisation", value) in facts
    assert not any(key == "person" for key, _ in facts)  # not "Joe" the person and "Garage" apart


def test_a_persons_place_stays_the_persons() -> None:
    facts = [(f.key, f.value) for f in extract_facts(convo(("customer", "We're meeting at Sarah's place.")))]
    assert facts == [("person", "Sarah")]
