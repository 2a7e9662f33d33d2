"""The openers' hand-over line ("Let me help you ...") and the facts they cite read as a person would.

Found by reading the briefs of dev conversations: an imperative was retold as something the customer
does ("Let me help you Find restaurants in Benicia.", "Let me help you show you your alarms"), a
request's participle became an action ("Let me help you travelling soon."), and a count was cited
bare ("I've also noted New York, 2 and Christian.").
"""

from __future__ import annotations

import pytest

from graph.context.models import Fact
from graph.context.openers import cite, make_openers
from graph.language.statements import read_statements
from graph.transcript import Turn


def _hand_over(goal: str) -> str:
    """The second opener's last sentence: the hand-over line."""
    turns = [Turn(index=0, role="customer", text=goal)]
    second = make_openers([], goal, [], turns)[1]
    return second.split("anything. ", 1)[1]


@pytest.mark.parametrize(
    ("goal", "line"),
    [
        ("Find restaurants in Benicia.", "Let me find restaurants in Benicia."),
        (
            "show me my alarms that are currently active.",
            "Let me show you your alarms that are currently active.",
        ),
        ("Help me reset my password", "Let me help you reset your password."),
        ("Please cancel my order", "Let me cancel your order."),
        # the customer does it: we help
        ("I need to sell my house", "Let me help you sell your house."),
        ("I'm looking to sell my condo", "Let me help you sell your condo."),
        (
            "I want to buy something and my credit card keeps getting rejected",
            "Let me help you buy something.",
        ),
    ],
)
def test_an_imperative_is_ours_to_do_and_a_want_is_theirs(goal: str, line: str) -> None:
    assert _hand_over(goal) == line


@pytest.mark.parametrize(
    ("goal", "action"),
    [
        # the turn's action is its first request with something to do
        ("I will be travelling soon and need to find a place to stay.", "find a place to stay"),
        ("I've been waiting for my refund for weeks", ""),
    ],
)
def test_a_participle_is_no_action(goal: str, action: str) -> None:
    assert read_statements(goal).action == action
    assert _hand_over(goal) == "I'll take it from here."  # "Let me help you travelling soon." was


def test_a_count_is_cited_with_what_it_counts() -> None:
    facts = [
        Fact(key="city", value="New York", turn=1),
        Fact(key="number_of_tickets", value="2", turn=3),
        Fact(key="number_of_people", value="1", turn=4),
        Fact(key="quantity", value="Two", turn=5),
        Fact(key="code", value="xsjdsh29", turn=6),  # holds a number, and is none
    ]
    cited = cite(facts, 5)
    assert cited == ["New York", "2 tickets", "xsjdsh29"]  # "1 people" and a bare "Two" say nothing


@pytest.mark.parametrize(
    ("goal", "line"),
    [
        # a question put to us with a modal asks us to do it
        ("Can you help me find an apartment?", "Let me help you find an apartment."),
        ("Could you book me a table for two?", "Let me book you a table for two."),
        ("Can you check my balance please?", "Let me check your balance."),
        # ... a question about us or for the customer's own doing does not
        ("Can I get a refund?", "I'll take it from here."),
        ("Do you have parking?", "I'll take it from here."),
        # what to tell is a clause of its own: "Let me tell you." says nothing
        (
            "Can you tell me when the annual fee for my premium subscription is due?",
            "I'll take it from here.",
        ),
    ],
)
def test_a_question_asking_us_to_act_is_ours_to_do(goal: str, line: str) -> None:
    assert _hand_over(goal) == line


@pytest.mark.parametrize(
    ("text", "action"),
    [
        (
            "I've been trying to log in for an hour and it keeps saying my password is wrong",
            "Let me help you log in.",
        ),
        ("Ive been trying to cancel my order for 3 days now", "Let me help you cancel your order."),
        ("I want to book a room for 3 days", "Let me help you book a room for 3 days."),  # the room's stay
    ],
)
def test_how_long_they_have_tried_is_not_part_of_the_task(text: str, action: str) -> None:
    assert _hand_over(text) == action


def test_a_task_whose_object_is_the_question_is_no_action() -> None:
    goal = "I inherited my mom's house in Tampa and don't know what to do with it"
    assert _hand_over(goal) == "I'll take it from here."  # was "Let me help you do with it."
    assert _hand_over("I was wondering how to remove a stain") == "Let me help you remove a stain."
