"""The brief's objections (with the replies that answered them) and its rapport score, on real-looking
chats: a seller pushing back on the commission, a hesitant buyer, a support customer and a plain
booking where nothing applies."""

from __future__ import annotations

from graph.context import HUMAN_SECTIONS, build_brief_offline
from graph.context.models import SentimentView
from graph.context.relationship import objections_of, rapport_of
from graph.language.objections import read_objections
from graph.transcript import Turn

BIG = 10_000  # a budget that keeps every part


def chat(*pairs: tuple[str, str]) -> list[Turn]:
    return [Turn(index=i, role=role, text=text) for i, (role, text) in enumerate(pairs)]  # type: ignore[arg-type]


SELLER = chat(
    ("customer", "Hi, I'm thinking of selling our house at 48 Maple Avenue. It's a 4 bedroom colonial."),
    ("bot", "Happy to help! What price are you hoping to get?"),
    ("customer", "We were hoping for around $720,000."),
    ("bot", "Our listing commission is 6%, which covers marketing and staging."),
    ("customer", "Honestly your commission seems steep. Another agency offered us 4.5%."),
    (
        "bot",
        "I understand. Our fee includes professional photography and staging, which usually raises the price.",
    ),
    ("customer", "OK, thanks, that's really helpful."),
    ("bot", "When would you like to move?"),
    ("customer", "Within three months. We're already pre-approved for the next place."),
)
BUYER = chat(
    ("customer", "We're looking at buying a condo in Brookline, our budget is about $650,000."),
    ("bot", "Great. Would you like me to book a viewing this Saturday?"),
    ("customer", "We'd rather wait until spring before we look at anything."),
    ("bot", "What's your budget ceiling?"),
    ("customer", "Honestly, I don't trust online agents."),
    ("bot", "Do you need parking?"),
    ("customer", "Yes, one space."),
)
SUPPORT = chat(
    ("bot", "Hi! Thank you for contacting AcmeCorp. How may I help you?"),
    ("customer", "I just saw the shipping cost on my order and I really can't afford the extra shipping."),
    ("bot", "I'm sorry about that. Can I have your account id and order id?"),
    ("customer", "Account ID: QWE12RT78Y"),
    ("customer", "Order ID: 5931576919"),
    ("bot", "Thanks. I can add the shipping charge back to your account as a credit."),
    ("customer", "Thank you so much, that's great!"),
)
PLAIN = chat(
    ("customer", "Can you find me a dentist in San Jose?"),
    ("bot", "Dr. Amy Lee is a dentist in San Jose."),
    ("customer", "What is her phone number?"),
    ("bot", "Her number is 408-555-0199."),
    ("customer", "Book an appointment for March 3rd at 10 am."),
)
ANGRY = chat(
    ("customer", "My payment keeps getting declined and I've tried three cards."),
    ("bot", "Sorry to hear that. Have you tried clearing your browser cache?"),
    ("customer", "Yes, I did that already and it still doesn't work. This is ridiculous."),
    ("bot", "Let me check your account."),
    ("customer", "I'm so stressed, the rent is due tomorrow and I can't pay it."),
)


def _turn(turns: list[Turn], index: int) -> Turn:
    return next(t for t in turns if t.index == index)


# -- objections ----------------------------------------------------------------------------------


def test_a_commission_objection_is_paired_with_the_reply_that_answered_it() -> None:
    [fees] = [o for o in objections_of(SELLER) if o.kind == "fees"]
    assert fees.turn == 4
    assert fees.text in _turn(SELLER, 4).text
    assert fees.answered
    assert fees.answer_turn == 5
    assert fees.answer.rstrip("…").split()[0] in _turn(SELLER, 5).text
    assert "staging" in fees.answer  # the sentence that speaks to the fee, not "I understand."


def test_objections_nobody_answered_are_marked_unanswered() -> None:
    found = {o.kind: o for o in objections_of(BUYER)}
    assert set(found) == {"timing", "trust"}
    assert (found["timing"].turn, found["trust"].turn) == (2, 4)
    assert not found["timing"].answered
    assert found["timing"].answer_turn is None
    assert not found["trust"].answered
    assert found["trust"].answer == ""


def test_a_support_customer_who_cannot_afford_a_charge_is_answered_by_the_credit() -> None:
    [objection] = objections_of(SUPPORT)
    assert objection.turn == 1
    assert objection.kind in ("price", "fees")
    assert objection.answered
    assert objection.answer_turn == 5


def test_no_objection_is_invented_where_nobody_pushes_back() -> None:
    assert objections_of(PLAIN) == []
    assert build_brief_offline(PLAIN, target="human_agent", budget_tokens=BIG).objections == []


def test_the_language_layer_reads_polarity_agreement_and_context() -> None:
    assert read_objections("Your fees are way too high for what you do.")
    assert read_objections("The commission is not a problem for us.") == ()  # denied
    assert read_objections("We're interested in the open house on Sunday.") == ()
    assert read_objections("Our budget is about $650,000.") == ()  # stating a budget pushes back on nothing
    assert read_objections("What are your fees?") == ()  # a question about fees is ordinary talk
    offer = "Would you like me to book a free valuation?"
    closing = "You're welcome! Is there anything else I can help you with?"
    assert [o.kind for o in read_objections("Not interested.", offer)] == ["not_interested"]
    assert read_objections("Not interested.", closing) == ()  # declines further help, not an offer


def test_a_reply_that_only_repeats_the_objection_does_not_answer_it() -> None:
    turns = chat(
        ("bot", "Our commission is 6%."),
        ("customer", "Your commission seems steep."),
        ("bot", "Noted: your commission seems steep. What is your timeline?"),
    )
    [objection] = objections_of(turns)
    assert objection.kind == "fees"
    assert not objection.answered


# -- rapport -------------------------------------------------------------------------------------


def test_warmth_raises_rapport_with_the_warm_turn_as_evidence() -> None:
    brief = build_brief_offline(SELLER, target="human_agent", sections=HUMAN_SECTIONS, budget_tokens=BIG)
    assert brief.rapport is not None
    assert brief.rapport.score > 5
    assert 6 in [n.turn for n in brief.rapport.evidence]
    assert all(_turn(SELLER, n.turn).role == "customer" for n in brief.rapport.evidence)
    # one definition: the human section shows the same score
    assert brief.sections["emotional_context"]["rapport"] == f"good ({brief.rapport.score}/10)"  # type: ignore[index]


def test_frustration_and_distress_lower_rapport_with_their_words_as_evidence() -> None:
    brief = build_brief_offline(ANGRY, target="human_agent", budget_tokens=BIG)
    assert brief.rapport is not None
    assert brief.rapport.score < 5
    notes = {n.turn: n.note for n in brief.rapport.evidence}
    assert {2, 4} <= set(notes)
    assert notes[4].startswith("distress")
    assert "stressed" in notes[4]


def test_an_unanswered_distrust_counts_against_rapport() -> None:
    stable = SentimentView(now=0.0, label="neutral", trend="stable")
    objections = objections_of(BUYER)
    with_distrust = rapport_of(BUYER, stable, objections)
    without = rapport_of(BUYER, stable, [o for o in objections if o.kind != "trust"])
    assert with_distrust is not None
    assert without is None or without.score > with_distrust.score
    assert any(n.turn == 4 and "distrust" in n.note for n in with_distrust.evidence)


def test_no_rapport_score_is_invented_without_evidence() -> None:
    brief = build_brief_offline(PLAIN, target="human_agent", sections=HUMAN_SECTIONS, budget_tokens=BIG)
    assert brief.rapport is None
    assert brief.sections["emotional_context"]["rapport"] == "no evidence yet"  # type: ignore[index]
