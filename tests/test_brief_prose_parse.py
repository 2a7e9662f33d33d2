"""A clause of a turn is retold from the turn's parse, not parsed again on its own."""

from __future__ import annotations

from graph.context.prose import retell
from graph.language.pipeline import shared_pipeline
from graph.language.statements import read_statements


def test_a_clause_is_retold_from_its_turns_parse() -> None:
    turn = "Honestly we are moving to Denver in May, so I need to sell my condo before then."
    said = next(s for s in read_statements(turn).said if "sell" in s.text)
    told, _ = retell(said.text, "third", source=turn, at=said.start)
    assert "their condo" in told
    assert "my" not in told.split()
    # No parse of the clause alone was made: the turn's doc served it.
    assert (said.text, True) not in shared_pipeline()._recent


def test_a_text_not_at_its_offset_is_parsed_alone() -> None:
    text = "I want to cancel my order"
    alone = retell(text, "second")
    assert retell(text, "second", source="Something else entirely, longer than the text.", at=3) == alone
    assert alone[0] == "you want to cancel your order"


def test_two_clauses_of_one_turn_are_cached_apart() -> None:
    turn = "I lost my card yesterday and I need a new one sent to my address."
    saids = read_statements(turn).said
    assert len(saids) >= 2
    told = [retell(s.text, "second", source=turn, at=s.start)[0] for s in saids]
    assert told[0] != told[1]  # the cache is keyed by the offset too, not only by the turn
    assert told == [retell(s.text, "second", source=turn, at=s.start)[0] for s in saids]
    assert "your card" in told[0]
