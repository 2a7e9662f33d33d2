"""The language layer's reading of several needs in one turn, of an answer to an offer, and of a plan
the customer has against one they want (issue 15 §5, seed 003)."""

from __future__ import annotations

import pytest

from graph.language.needs import need_clauses, reply_to_offer
from graph.language.statements import read_statements
from graph.transcript import Turn
from nodes.base import find_slot_values
from nodes.sales_bot import SPEC as SALES


def test_a_turn_splits_into_the_clauses_that_state_needs() -> None:
    text = "I was double charged last month, and also I'd like to upgrade to the Enterprise plan"
    parts = need_clauses(text)
    assert [p.text for p in parts] == [
        "I was double charged last month",
        "also I'd like to upgrade to the Enterprise plan",
    ]
    assert all(text[p.start : p.end] == p.text for p in parts)
    assert parts[1].masked != parts[1].text  # the name is masked as the cue reader embeds it
    assert not any(p.declined for p in parts)


def test_two_sentences_are_two_clauses_and_a_bare_afterthought_is_none() -> None:
    two = need_clauses("I was double charged last month. I'd also like to upgrade to the Enterprise plan.")
    assert len(two) == 2
    # "I want it now" says too little to be a need of its own
    assert [p.text for p in need_clauses("I want a refund and I want it now")] == ["I want a refund"]


@pytest.mark.parametrize(
    ("text", "declined"),
    [
        ("I don't want to upgrade, I just need a refund", [True, False]),
        ("I'm not interested in the Pro plan, my invoice is wrong", [True, False]),
        ("I didn't receive my package and I want to upgrade", [False, False]),
    ],
)
def test_a_declined_want_is_read_from_the_negation_scope(text: str, declined: list[bool]) -> None:
    # "I didn't receive my package" is negated too, but it states a problem: only a want can be declined
    assert [p.declined for p in need_clauses(text)] == declined


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Yes please", "yes"),
        ("Sure, go ahead", "yes"),
        ("ok", "yes"),
        ("Please do", "yes"),
        ("No thanks", "no"),
        ("Not now", "no"),
        ("I don't need that anymore", "no"),
        ("When will the refund arrive?", ""),
        ("Please tell me when the refund arrives", ""),
    ],
)
def test_an_answer_to_an_offer(text: str, answer: str) -> None:
    assert reply_to_offer(text) == answer


PLANS = [
    # what the customer said, the plan they have now (None: not said), the plan they want
    ("I'd like to upgrade to the Enterprise plan", None, "Enterprise plan"),
    ("I'm on the Basic plan and want to switch to Pro", "Basic plan", "Pro"),
    ("My Standard plan is too small, can I move to the Business plan?", "Standard plan", "Business plan"),
    ("Can we upgrade from Basic to Pro?", "Basic", "Pro"),
    ("We use the Starter plan today", "Starter plan", None),
    ("I want the Pro plan", None, "Pro plan"),
    ("I'm not on the Pro plan", None, None),
    ("What does the premium plan include?", None, None),
]


@pytest.mark.parametrize(("said", "held", "goal"), PLANS, ids=[p[0] for p in PLANS])
def test_the_plan_wanted_is_never_the_current_plan(said: str, held: str | None, goal: str | None) -> None:
    turns = [Turn(index=0, role="customer", text=said, speaker="customer")]
    found = find_slot_values(SALES, turns, {})
    assert found.get("plan", {}).get("value") == held
    assert found.get("wanted_plan", {}).get("value") == goal


def test_noun_roles_come_from_the_parse() -> None:
    said = read_statements("Please upgrade my plan to Enterprise")
    assert ("enterprise", "Enterprise") in said.goals
    assert [p for _, p in said.held] == ["plan"]  # "my plan": theirs, but names no plan
    assert read_statements("I talked to Sam about the Pro plan").goals == ()


def test_asked_for_the_current_plan_a_wanted_one_is_no_answer() -> None:
    question = next(s.question for s in SALES.slots if s.name == "plan")
    turns = [
        Turn(index=0, role="bot", text=question, speaker="sales_bot"),
        Turn(index=1, role="customer", text="I want to upgrade to Enterprise", speaker="customer"),
    ]
    found = find_slot_values(SALES, turns, {})
    assert "plan" not in found
    assert found["wanted_plan"]["value"] == "Enterprise"
    answer = [*turns[:1], Turn(index=1, role="customer", text="The Standard plan", speaker="customer")]
    assert find_slot_values(SALES, answer, {})["plan"]["value"] == "Standard plan"


@pytest.mark.parametrize(
    ("text", "stated"),
    [
        ("hi my order hasn't arrived", "my order hasn't arrived"),
        ("Hello, I want to sell my house", "I want to sell my house"),
        ("well I think so", "I think so"),
        ("Hi", "Hi"),  # a greeting alone stays what it is
    ],
)
def test_a_statement_starts_after_its_greeting(text: str, stated: str) -> None:
    said = read_statements(text).said
    assert said[0].text == stated
    assert text[said[0].start : said[0].end] == stated


@pytest.mark.parametrize(
    "text",
    [
        "thanks!",
        "ok thank you",
        "thank you so much",
        "great, thanks",
        "sounds good",
        "perfect",
        "awesome thx",
    ],
)
def test_thanks_and_short_approvals_are_filler(text: str) -> None:
    assert {s.kind for s in read_statements(text).said} == {"filler"}


@pytest.mark.parametrize(
    "text",
    [
        "we need more space",
        "a bigger garden",
        "very soon",
        "Thanks for your help, we need more space",
        "sorry, it's 12 Oak Street",
    ],
)
def test_an_answer_is_not_filler(text: str) -> None:
    assert "filler" not in {s.kind for s in read_statements(text).said}
