"""A summary says what the customer wants, not who they are: an introduction is no request, and
"talk to a human" asked of us is the customer's wish to talk, not a task for us."""

from __future__ import annotations

import pytest

from graph.context.builder import build_brief_offline
from graph.context.prose import retell_goal
from graph.transcript import Role, Turn


def _turns(*lines: tuple[Role, str]) -> list[Turn]:
    return [Turn(index=i, role=role, text=text) for i, (role, text) in enumerate(lines)]


@pytest.mark.parametrize("intro", ["My name is dana", "Hi, my name is dana", "This is Dana.", "I'm Dana"])
def test_an_introduction_alone_is_no_request(intro: str) -> None:
    brief = build_brief_offline(_turns(("customer", intro)), target="human_agent")
    assert brief.summary == "Dana has not stated a request yet."  # was "Dana's name is dana."
    assert brief.goal == "Not stated yet."


def test_the_request_after_an_introduction_is_the_goal() -> None:
    brief = build_brief_offline(
        _turns(
            ("bot", "Hi! May I have your name?"),
            ("customer", "My name is dana"),
            ("bot", "Thanks Dana, how can I help?"),
            ("customer", "I need to sell my condo before May"),
        ),
        target="human_agent",
    )
    assert brief.summary.startswith("Dana needs to sell their condo")
    assert "name" not in brief.summary


@pytest.mark.parametrize(
    ("said", "third", "second"),
    [
        (
            "talk to a human please",
            "Dana wants to talk to a human please",
            "you'd like to talk to a human please",
        ),
        ("Please speak to an agent", "Dana wants to speak to an agent", "you'd like to speak to an agent"),
        # a person of the customer's is ours to speak with
        (
            "Please speak with my husband first",
            "Dana wants us to speak with their husband first",
            "you'd like us to speak with your husband first",
        ),
        (
            "Tell me about the fees",
            "Dana wants us to tell them about the fees",
            "you'd like us to tell you about the fees",
        ),
    ],
)
def test_a_request_to_talk_to_one_of_our_people_is_the_customers_wish(
    said: str, third: str, second: str
) -> None:
    assert retell_goal(said, "third", "Dana") == third
    assert retell_goal(said, "second", "") == second
