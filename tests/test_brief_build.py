"""The offline brief: grounding, budget, per-target sections, openers and the bot's opening message."""

from __future__ import annotations

import re

import pytest

from graph.context import (
    BUYER_SECTIONS,
    HUMAN_SECTIONS,
    KNOWN_SECTIONS,
    SELLER_SECTIONS,
    SUPPORT_SECTIONS,
    SimilarCase,
    UnknownSectionError,
    build_brief_offline,
    count_tokens,
    opening_message,
)
from graph.context.extract import extract_facts
from graph.context.grounding import occurs_in
from graph.transcript import Role, Turn

SUPPORT = [
    ("bot", "Hi! How can I help?"),
    ("customer", "I would like to cancel my order, I ordered the wrong item."),
    ("bot", "Can I have your full name?"),
    ("customer", "Rodriguez Domingo"),
    ("bot", "Can I have your account id and order id?"),
    ("customer", "Account ID: OVXGGYVD6I"),
    ("customer", "Order ID: 9342308357"),
    ("system", "Shipping status of in transit has been noted."),
    ("customer", "I already logged out and logged back in, it's so frustrating!"),
]
SELLER = [
    ("bot", "Hi, are you thinking of selling?"),
    ("customer", "Yes, we want to sell our 3 bedroom house at 12 Oak Street because we are relocating."),
    ("customer", "We hope to get $650,000 and need to be done in 3 months."),
]
BUYER = [
    ("bot", "What are you looking for?"),
    ("customer", "A 2 bed condo, our budget is up to $400k and we are pre-approved."),
    ("customer", "It must have parking, no ground floor please. We can do showings on weekends."),
]


def turns_of(lines: list[tuple[str, str]]) -> list[Turn]:
    roles: list[Role] = ["customer", "bot", "agent", "system"]
    return [Turn(index=i, role=next(x for x in roles if x == r), text=t) for i, (r, t) in enumerate(lines)]


def test_every_fact_is_grounded_in_its_turn() -> None:
    turns = turns_of(SUPPORT)
    brief = build_brief_offline(turns, target="human_agent", sections=HUMAN_SECTIONS, budget_tokens=2000)
    assert brief.source == "offline"
    assert {f.value for f in brief.facts} >= {"Rodriguez Domingo", "OVXGGYVD6I", "9342308357"}
    assert all(occurs_in(turns[f.turn].text, f.value) for f in brief.facts)
    assert brief.transcript == turns
    assert brief.tried
    assert "logged out" in brief.tried[0]
    assert brief.sentiment.label == "negative"


def test_summary_is_short_and_goal_is_the_request() -> None:
    brief = build_brief_offline(turns_of(SUPPORT), target="human_agent")
    assert "cancel" in brief.goal
    assert count_tokens(brief.summary) <= 60
    assert len(re.findall(r"[.!?](?:\s|$)", brief.summary)) <= 3


def test_long_conversation_meets_budget_without_dropping_facts() -> None:
    lines = list(SUPPORT)
    for i in range(40):
        lines.append(("bot", f"Let me check that for you, step {i}. Could you try refreshing the page?"))
        lines.append(
            ("customer", f"Still not working after attempt {i}, why does this keep happening to me?")
        )
    turns = turns_of(lines)
    unbounded = extract_facts(turns)
    retriever = lambda q: [SimilarCase(case_id=f"c{i}", summary="x " * 40) for i in range(5)]  # noqa: E731
    brief = build_brief_offline(
        turns, target="human_agent", sections=HUMAN_SECTIONS, budget_tokens=250, retriever=retriever
    )
    assert brief.token_count <= 250
    assert brief.token_count == count_tokens(brief.for_budget())
    assert brief.facts == unbounded
    assert len(brief.openers) == 3
    assert len(brief.transcript) == len(turns)  # the transcript is never trimmed


def test_retriever_fills_similar_cases_and_failures_are_ignored() -> None:
    case = SimilarCase(case_id="c1", summary="cancelled an order in transit", resolution="refund")

    def boom(query: str) -> list[SimilarCase]:
        raise RuntimeError("index down")

    ok = build_brief_offline(turns_of(SUPPORT), target="t", retriever=lambda q: [case], budget_tokens=2000)
    assert ok.similar_cases == [case]
    assert build_brief_offline(turns_of(SUPPORT), target="t", retriever=boom).similar_cases == []


@pytest.mark.parametrize(
    ("lines", "sections"),
    [
        (SUPPORT, HUMAN_SECTIONS),
        (SUPPORT, SUPPORT_SECTIONS),
        (SELLER, SELLER_SECTIONS),
        (BUYER, BUYER_SECTIONS),
    ],
)
def test_sections_per_target(lines: list[tuple[str, str]], sections: tuple[str, ...]) -> None:
    brief = build_brief_offline(turns_of(lines), target="x", sections=sections, budget_tokens=2000)
    assert list(brief.sections) == list(sections)


def test_seller_and_buyer_sections_carry_their_facts() -> None:
    seller = build_brief_offline(
        turns_of(SELLER), target="seller_bot", sections=SELLER_SECTIONS, budget_tokens=2000
    )
    assert "$650,000" in str(seller.sections["price_expectation"])
    assert "in 3 months" in str(seller.sections["timeline"])
    assert "relocating" in str(seller.sections["motivation"])
    buyer = build_brief_offline(
        turns_of(BUYER), target="buyer_bot", sections=BUYER_SECTIONS, budget_tokens=2000
    )
    assert "$400k" in str(buyer.sections["budget"])
    assert buyer.sections["financing_status"] == "pre-approved"
    criteria = buyer.sections["criteria"]
    assert isinstance(criteria, dict)
    assert criteria["deal_breakers"]
    assert criteria["must_haves"]


def test_human_sections_shape() -> None:
    brief = build_brief_offline(
        turns_of(SUPPORT), target="human_agent", sections=HUMAN_SECTIONS, budget_tokens=2000
    )
    emotional = brief.sections["emotional_context"]
    assert isinstance(emotional, dict)
    assert set(emotional) == {"rapport", "stress", "communication_style"}


def test_unknown_section_lists_known_ones() -> None:
    with pytest.raises(UnknownSectionError) as err:
        build_brief_offline(turns_of(SUPPORT), target="x", sections=["motivation", "vibes"])
    assert "vibes" in str(err.value)
    assert all(name in str(err.value) for name in KNOWN_SECTIONS)


def test_openers_cite_facts_and_never_ask_how_to_help() -> None:
    brief = build_brief_offline(turns_of(SUPPORT), target="human_agent")
    assert len(brief.openers) == 3
    values = [f.value for f in brief.facts]
    for opener in brief.openers:
        assert any(v in opener for v in values), opener
        assert "how can i help" not in opener.lower()


def test_opening_message_cites_facts() -> None:
    brief = build_brief_offline(turns_of(SUPPORT), target="orders_bot")
    message = opening_message(brief, "the orders assistant")
    assert message.startswith("Hi Rodriguez, this is the orders assistant.")
    assert "9342308357" in message
    assert "you would like to cancel your order" in message
    assert "how can i help" not in message.lower()


def test_plan_upgrade_opening_message() -> None:
    turns = turns_of(
        [("customer", "I'm on the Standard plan and I'm interested in upgrading to the Pro plan.")]
    )
    message = opening_message(build_brief_offline(turns, target="sales_bot"), "Sam from sales")
    assert "you're on the Standard plan" in message


def test_urgency_and_signals() -> None:
    turns = turns_of([("customer", "My lawyer says this is a breach, I'm desperate and need it fixed today")])
    assert build_brief_offline(turns, target="x").urgency == "critical"
    calm = build_brief_offline(turns, target="x", signals={"urgency": "low", "sentiment": 0.5})
    assert calm.urgency == "low"
    assert calm.sentiment.now == 0.5


DANA = [
    ("bot", "Hi, welcome! Are you looking to buy, sell, or something else?"),
    (
        "customer",
        "My name is Dana Whitfield. I'd like to sell my house at 12 Oak Street, we're relocating for a new job.",
    ),
    ("bot", "When would you ideally like to sell?"),
    ("customer", "We'd like to sell within two months, hoping for around $850,000."),
    ("customer", "Honestly I'm devastated. My ex-husband's lawyer says there's a lien on the title."),
]
MAPLE = [
    ("customer", "Hi, I'm Dana and I need to sell 48 Maple Avenue in Newton by March"),
    ("bot", "What's prompting the move?"),
    ("customer", "We're downsizing now that the kids are gone"),
]


def test_the_summary_is_written_about_the_customer_not_quoted() -> None:
    summary = build_brief_offline(turns_of(DANA), target="human_agent", budget_tokens=2000).summary
    assert summary.startswith(
        "Dana Whitfield would like to sell their house at 12 Oak Street within two months (around $850,000), "
        "because they're relocating for a new job."
    )
    assert "Dana is devastated" in summary
    assert "lien on the title" in summary
    assert '"' not in summary
    assert "says:" not in summary
    assert count_tokens(summary) <= 60


def test_openers_read_like_a_person_and_use_the_first_name() -> None:
    brief = build_brief_offline(turns_of(MAPLE), target="seller_bot", sections=SELLER_SECTIONS)
    assert brief.openers[0] == "Hi Dana, I see you need to sell 48 Maple Avenue in Newton by March."
    assert all(o.startswith("Hi Dana,") for o in brief.openers)
    message = opening_message(brief, "the seller specialist")
    assert message == (
        "Hi Dana, this is the seller specialist. I see you need to sell 48 Maple Avenue in Newton by March."
    )


def test_openers_never_use_a_key_name_as_text() -> None:
    lines = [
        ("customer", "We're selling our condo, hoping to get 300k"),
        ("customer", "It's a 3-bedroom colonial"),
    ]
    brief = build_brief_offline(turns_of(lines), target="seller_bot", sections=SELLER_SECTIONS)
    text = " ".join([*brief.openers, opening_message(brief, "the seller specialist")])
    assert "300k" in text
    for form in ("amount of", "the amount", "rooms 3", "choice", "property type", "date you gave"):
        assert form not in text, text


def test_sections_come_from_the_layer_not_whole_sentences() -> None:
    seller = build_brief_offline(turns_of(MAPLE), target="seller_bot", sections=SELLER_SECTIONS)
    assert seller.sections["property_details"] == {"street_address": "48 Maple Avenue", "place": "Newton"}
    assert seller.sections["motivation"] == ["We're downsizing now that the kids are gone"]
    assert seller.sections["timeline"] == ["by March"]
    buyer = build_brief_offline(turns_of(BUYER), target="buyer_bot", sections=BUYER_SECTIONS)
    criteria = buyer.sections["criteria"]
    assert isinstance(criteria, dict)
    assert "parking" in criteria["must_haves"]
    assert criteria["deal_breakers"] == ["ground floor"]
    assert buyer.sections["showing_preferences"] == ["We can do showings on weekends"]
