"""Metric functions on tiny cases whose answers can be checked by hand."""

from __future__ import annotations

import math

import pytest

from evals.metrics import (
    change_marked,
    fact_precision,
    fact_recall,
    grounding_precision,
    median,
    percentile,
    repeat_question_rate,
    replaced,
    value_matches,
    would_ask_again,
)
from graph.context import Fact
from graph.transcript import Turn


def f(key: str, value: str, turn: int = 0) -> Fact:
    return Fact(key=key, value=value, turn=turn)


@pytest.mark.parametrize(
    ("gold", "candidate", "expected"),
    [
        ("Rodriguez Domingo", "rodriguez  domingo", True),
        ("(757) 350-7140", "757-350-7140", True),
        ("49", "$49", True),
        ("1,000,000", "1000000", True),
        ("calvin klein", "Calvin Klein jeans", True),
        ("49", "$490", False),
        ("gold", "I am a gold member and I want to cancel my order please", False),  # pasted sentence
        ("jeans", "", False),
    ],
)
def test_value_matches(gold: str, candidate: str, expected: bool) -> None:
    assert value_matches(gold, candidate) is expected


def test_fact_recall_counts_structured_facts_only() -> None:
    gold = [f("order_id", "9342308357"), f("customer_name", "Joyce Wu"), f("email", "jw@x.com")]
    brief = [f("order_id", "9342308357"), f("name", "joyce wu")]
    assert fact_recall(gold, brief) == pytest.approx(2 / 3)
    assert fact_recall([], brief) == 1.0
    assert fact_recall(gold, []) == 0.0


def test_fact_precision_counts_brief_facts_that_carry_a_gold_value() -> None:
    gold = [f("city", "Long Beach, CA"), f("pickup_time", "afternoon 3:30"), f("recipient_name", "Khadija")]
    brief = [
        f("place", "Long Beach, CA"),  # exact
        f("time", "the afternoon 3:30"),  # carries the gold value with one extra word
        f("customer_name", "International Airport"),  # invented: no gold value
        f("person", "Khadija please send it today"),  # a pasted clause carries nothing
    ]
    assert fact_precision(gold, brief) == pytest.approx(2 / 4)
    assert fact_precision(gold, []) == 1.0
    assert fact_precision([], brief) == 0.0


def test_grounding_precision() -> None:
    turns = [
        Turn(index=0, role="customer", text="Order ID: 9342308357"),
        Turn(index=1, role="bot", text="ok"),
    ]
    facts = [f("order_id", "9342308357", 0), f("order_id", "9342308357", 1), f("email", "a@b.c", 7)]
    assert grounding_precision(facts, turns) == pytest.approx(1 / 3)
    assert grounding_precision([], turns) == 1.0


def test_repeat_question_rate_reads_keys() -> None:
    gold = [f("zip_code", "67671"), f("order_id", "9342308357"), f("product", "guess shirt")]
    brief = [f("pin_number", "67671"), f("order_id", "9342308357"), f("brand", "Guess shirt")]
    # zip filed as a pin: the receiver still asks for the zip; product/brand are aliases.
    assert would_ask_again(gold[0], brief)
    assert not would_ask_again(gold[1], brief)
    assert not would_ask_again(gold[2], brief)
    assert repeat_question_rate(gold, brief) == pytest.approx(1 / 3)
    assert repeat_question_rate(gold, []) == 1.0
    assert repeat_question_rate([], brief) == 0.0


def test_percentiles() -> None:
    assert median([3, 1, 2]) == 2
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([0, 10], 95) == pytest.approx(9.5)
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1], 101)


def test_replaced_values_are_a_key_stated_again_differently_in_a_later_turn() -> None:
    gold = [
        f("date", "the 12th", 4),
        f("date", "Tuesday", 0),
        f("time", "7pm", 2),
        f("time", "7pm", 3),
        f("time", "8pm", 5),
    ]
    gold += [f("phone", "555 1234", 6), f("phone", "555 9999", 6)]  # one turn: two values, not a change
    assert replaced(gold) == [("Tuesday", "the 12th"), ("7pm", "8pm")]  # the same again is no change


def test_a_change_is_carried_only_from_the_old_value_to_the_new() -> None:
    marked = [Fact(key="date", value="on Tuesday", turn=0, changed_to="the 12th")]
    assert change_marked("Tuesday", "the 12th", marked)
    assert not change_marked("Tuesday", "the 13th", marked)
    assert not change_marked("Tuesday", "the 12th", [f("date", "Tuesday"), f("date", "the 12th", 4)])
