"""The summary's "because" is the customer's reason for the goal, not whatever they said elsewhere.

Found by reading the briefs of the dev conversations: a reason from another turn was tied to the
goal ("would like to watch a movie, because they love football", "asks who directed the film,
because Green Book sounds all right"), and a clause saying when or on what condition was given as a
reason ("needs one hotel room, because while they're there"). A clause joined after a semicolon kept
the capital it had as its sentence's first word ("Albert doesn't know; Let them look.").
"""

from __future__ import annotations

import pytest

from graph.context.builder import build_brief_offline
from graph.language.statements import read_statements
from graph.transcript import Role
from tests.test_brief_extract import convo


def _summary(*turns: tuple[Role, str]) -> str:
    return build_brief_offline(convo(*turns), target="human_agent").summary


def test_a_reason_in_another_turn_is_not_the_goals() -> None:
    summary = _summary(
        ("customer", "I'd like to watch a movie in Phoenix."),
        ("bot", "Sure. Any day in mind?"),
        ("customer", "Make it on March 8th. I love football."),
        ("bot", "I found 1 event: El Salvador vs Haiti at RFK Stadium."),
        ("customer", "Where is that?"),
    )
    assert "watch a movie" in summary
    assert "because" not in summary


def test_a_reason_beside_the_goal_is_kept() -> None:
    summary = _summary(
        ("customer", "Hi"),
        ("bot", "Hello! How can I help?"),
        ("customer", "I want to buy something and my credit card keeps getting rejected"),
        ("bot", "I'm sorry to hear that."),
        ("customer", "Why is my card invalid?"),
    )
    assert "because their credit card keeps getting rejected" in summary
    summary = _summary(
        ("customer", "I need to sell my house because we're relocating for a new job."),
        ("bot", "Where is the house?"),
        ("customer", "It's at 12 Elm Street"),
    )
    assert "because they're relocating for a new job" in summary


@pytest.mark.parametrize(
    "text",
    [
        "Thanks! I also need one hotel room while I'm there.",
        "I'd like to pick up a rental car in fremont next thursday when I get there",
        "I believe the money was taken out of the wrong account if the payment information is correct",
    ],
)
def test_a_clause_of_time_or_condition_is_no_reason(text: str) -> None:
    assert read_statements(text).reasons == ()
    assert "because" not in _summary(("customer", text))


def test_a_cause_is_still_a_reason() -> None:
    assert [s.text for s in read_statements("I want a refund since it broke").reasons] == ["it broke"]
    assert [s.text for s in read_statements("I need a room as I am travelling").reasons] == [
        "I am travelling"
    ]


@pytest.mark.parametrize(
    ("last", "second"),
    [
        ("I don't know. Let me look.", "The customer doesn't know; let them look."),
        ("I don't mind. Green Book sounds good.", "The customer doesn't mind; Green Book sounds good."),
    ],
)
def test_a_clause_after_a_semicolon_keeps_only_a_names_capital(last: str, second: str) -> None:
    summary = _summary(
        ("customer", "I need to check the status of my order"),
        ("bot", "Sure, what is your account id?"),
        ("customer", last),
    )
    assert summary.endswith(second)
