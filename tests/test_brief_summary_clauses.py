"""The summary retells whole clauses: no "and" of the next clause, no greeting's complement.

Over the shared datasets' customer turns the summary read "because the delivery time is wrong and."
(a reason took the "and" of the clause coordinated after it) and "wants us to to trouble us, please
play it" (an apology's complement, "to trouble you", stayed when its "Sorry" was dropped).
"""

from __future__ import annotations

import pytest

from graph.context.builder import build_brief_offline
from graph.language.statements import read_statements
from graph.transcript import Turn


def _summary(text: str) -> str:
    return build_brief_offline([Turn(index=0, role="customer", text=text)], target="human_agent").summary


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "i am unable to log in because i forgot my username and i need help recovering my username.",
            "i forgot my username",
        ),
        (
            "Hello, I want to check the status of my order because the delivery time is wrong and needs"
            " to be changed",
            "the delivery time is wrong",
        ),
    ],
)
def test_a_reason_ends_before_the_next_clauses_and(text: str, reason: str) -> None:
    assert reason in [s.text for s in read_statements(text).reasons]
    summary = _summary(text)
    assert not summary.endswith(" and.")
    assert "because" in summary


@pytest.mark.parametrize(
    ("text", "told"),
    [
        (
            "Sorry to trouble you, please play it on my bedroom device.",
            "The customer wants us to play it on their bedroom device.",
        ),
        (
            "Alright awesome, give me a second to write that down.",
            "The customer wants us to give them a second to write that down.",
        ),
    ],
)
def test_a_greeting_goes_with_what_it_takes(text: str, told: str) -> None:
    assert _summary(text) == told


def test_a_reason_starts_after_its_because() -> None:
    text = "But, just because I am rich doesn't mean that I intend to waste my money"
    assert [s.text for s in read_statements(text).reasons] == ["I am rich"]
    assert "because because" not in _summary(text)


@pytest.mark.parametrize("answer", ["No, I don't", "Yes I can", "I will", "I sure do.", "Indeed, I am."])
def test_an_elliptical_answer_raises_nothing(answer: str) -> None:
    # "The customer would.", "Sanya doesn't.": the latest concern of a handoff's summary was the answer
    # to the bot's last question ("Anything else?"), its verb left in the question
    assert [s.kind for s in read_statements(answer).said] == ["filler"]
    turns = [
        Turn(index=0, role="customer", text="I want to check the balance of my checking account"),
        Turn(index=1, role="bot", text="Would you like anything else?"),
        Turn(index=2, role="customer", text=answer),
    ]
    summary = build_brief_offline(turns, target="human_agent").summary
    assert summary == "The customer wants to check the balance of their checking account."


@pytest.mark.parametrize(
    "text", ["I am here", "I do yoga on Sundays", "Is the apartment furnished by the way."]
)
def test_a_clause_with_its_own_words_is_no_ellipsis(text: str) -> None:
    assert all(s.kind != "filler" for s in read_statements(text).said)


def test_an_opener_has_no_comma_before_its_stop() -> None:
    # "Can you bring up my alarms, please?" retold "you'd like us to bring up your alarms," + "."
    turns = [Turn(index=0, role="customer", text="Can you bring up my alarms, please?")]
    openers = build_brief_offline(turns, target="human_agent").openers
    assert any("bring up your alarms." in opener for opener in openers)
    assert not any(",." in opener for opener in openers)
