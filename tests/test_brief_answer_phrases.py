"""A bare answer to a bot's question is no request, and a written word stays in one clause.

"in new york" or "For four days." answer a question (where, how long); the summary said "The customer
is looking for in new york" and the opener "Hi, I see you're looking for for four days". A misparse
that hung the "I" of "I'll" on the clause before split the word across two clauses, and the summary
read "... Paris, France and I next Thursday".
"""

from __future__ import annotations

import pytest

from graph.context.builder import build_brief_offline
from graph.language.statements import read_statements
from graph.transcript import Turn


def _brief(*texts: str) -> tuple[str, list[str]]:
    roles = ("customer", "bot")
    turns = [Turn(index=i, role=roles[i % 2], text=text) for i, text in enumerate(texts)]
    brief = build_brief_offline(turns, target="human_agent")
    return brief.summary, brief.openers


@pytest.mark.parametrize(
    "answer", ["in new york", "For four days.", "No, from the 11th of March please.", "In Berkeley please."]
)
def test_a_prepositional_answer_states_no_request(answer: str) -> None:
    said = read_statements(answer).said
    assert [s.form for s in said] == ["phrase"]
    assert all(s.kind != "request" for s in said)
    summary, openers = _brief(answer)
    assert summary == "The customer has not stated a request yet."
    assert not any("looking for" in opener for opener in openers)


def test_a_noun_fragment_is_still_what_the_customer_looks_for() -> None:
    assert read_statements("the guess shirt").said[0].form == "fragment"
    assert _brief("the guess shirt")[0] == "The customer is looking for the guess shirt."


def test_the_request_after_an_answer_is_the_goal() -> None:
    summary, _ = _brief("Yes for a Guess Jacket.  I would like to change the payment method please")
    assert summary.startswith("The customer would like to change the payment method")


def test_the_answer_keeps_the_request_it_follows() -> None:
    summary, _ = _brief("I need a hotel in Paris", "Which dates?", "From the 2nd to the 4th.")
    assert summary.startswith("The customer needs a hotel in Paris")


def test_a_contraction_is_not_split_across_clauses() -> None:
    text = "I want to get it in Paris, France and I'll need it until next Thursday."
    clauses = [s.text for s in read_statements(text).said]
    assert clauses == ["I want to get it in Paris, France", "I'll need it until next Thursday"]
    summary, _ = _brief(text)
    assert " I " not in f" {summary} "
    assert "and I" not in summary
    # the noun "id" split by the tokenizer stays in its clause too
    assert [s.text for s in read_statements("oerder id is 4338839578").said][-1] == "id is 4338839578"
