"""``conversation_facts``: keyed, grounded mentions over a conversation, answers first."""

from __future__ import annotations

import pytest

from graph.language import conversation_facts
from graph.transcript import Role, Turn


def convo(*lines: tuple[Role, str]) -> list[Turn]:
    return [Turn(index=i, role=role, text=text) for i, (role, text) in enumerate(lines)]


def test_a_question_left_open_is_answered_by_a_later_turn() -> None:
    turns = convo(
        ("bot", "Which city should I search in?"),
        ("customer", "hmm let me think"),
        ("customer", "Oakland"),
        ("customer", "Also I need it on March 3rd"),
    )
    facts = [(m.key, m.value, m.turn) for m in conversation_facts(turns)]
    assert facts[0] == ("city", "Oakland", 2)
    assert ("date", "March 3rd", 3) in facts  # found on its own: the city question was closed


def test_every_mention_is_grounded_and_stated_once() -> None:
    turns = convo(
        ("customer", "I'm flying from Long Beach, CA to San Diego"),
        ("agent", "When do you leave?"),
        ("customer", "Next Tuesday, from Long Beach"),
        ("system", "Flight search opened."),
    )
    mentions = conversation_facts(turns)
    assert all(m.value in turns[m.turn].text and turns[m.turn].role == "customer" for m in mentions)
    values = [m.value for m in mentions]
    assert "Long Beach" not in values  # inside "Long Beach, CA", stated before
    assert values.count("Long Beach, CA") == 1


def test_answers_rank_before_values_found_on_their_own() -> None:
    turns = convo(
        ("customer", "We love the kitchen speaker in Newton"),
        ("bot", "What is your budget?"),
        ("customer", "about 700k"),
    )
    ranked = [(m.key, m.answered, m.source) for m in conversation_facts(turns)]
    assert ranked[0] == ("budget", True, "grammar")
    assert ranked[-1][2] == "phrase"  # a typed noun phrase is the weakest evidence


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, I'm Dana and I want to sell my place in Newton", "Dana"),
        ("Dana here, selling 48 Maple Avenue", "Dana"),
        ("My name is Dana Whitfield.", "Dana Whitfield"),
    ],
)
def test_a_customer_who_introduces_themselves_gives_their_name(text: str, name: str) -> None:
    facts = conversation_facts([Turn(index=0, role="customer", text=text)])
    assert ("customer_name", name) in [(m.key, m.value) for m in facts]


def test_talk_about_others_is_no_customer_name() -> None:
    facts = conversation_facts([Turn(index=0, role="customer", text="My agent was Maria Lopez, she left")])
    assert "customer_name" not in [m.key for m in facts]


def test_a_name_does_not_start_with_my() -> None:
    # the entity model tags "My Order ID" a person; the opener then said "I've also noted ... My Order ID"
    text = "Hi.  My name is Alessandro Phoenix.  My Order ID is 0130050222.  I would like a refund."
    facts = [(m.key, m.value) for m in conversation_facts([Turn(index=0, role="customer", text=text)])]
    assert ("order_id", "0130050222") in facts
    assert not any(value.startswith("My ") for _, value in facts)
