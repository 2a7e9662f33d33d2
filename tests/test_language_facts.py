"""``conversation_facts``: keyed, grounded mentions over a conversation, answers first."""

from __future__ import annotations

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
