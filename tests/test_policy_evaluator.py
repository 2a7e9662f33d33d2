"""The rule evaluator: every operator, all/any, missing values, rule order, and explanations."""

from __future__ import annotations

import operator
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from policies.evaluator import compare, explain, first_match, holds
from policies.models import AllOf, AnyOf, Condition, Policy

numbers = st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6, allow_nan=False))
ORDER = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@given(op=st.sampled_from(sorted(ORDER)), actual=numbers, expected=numbers)
def test_ordering_operators_match_python(op: str, actual: float, expected: float) -> None:
    cond = Condition(field="x", op=op, value=expected)  # type: ignore[arg-type]
    assert compare(cond, actual) is ORDER[op](actual, expected)


@given(
    op=st.sampled_from(sorted(ORDER)), expected=numbers, actual=st.one_of(st.none(), st.text(), st.booleans())
)
def test_ordering_never_holds_for_missing_or_non_numbers(op: str, expected: float, actual: Any) -> None:
    assert compare(Condition(field="x", op=op, value=expected), actual) is False  # type: ignore[arg-type]


@given(actual=st.text(max_size=5), expected=st.text(max_size=5))
def test_equality(actual: str, expected: str) -> None:
    assert compare(Condition(field="x", op="==", value=expected), actual) is (actual == expected)
    assert compare(Condition(field="x", op="!=", value=expected), actual) is (actual != expected)


@given(actual=st.integers(0, 5), options=st.lists(st.integers(0, 5), max_size=4))
def test_membership(actual: int, options: list[int]) -> None:
    assert compare(Condition(field="x", op="in", value=options), actual) is (actual in options)
    assert compare(Condition(field="x", op="not_in", value=options), actual) is (actual not in options)


@given(text=st.text(max_size=20), word=st.from_regex(r"[a-z]{1,4}", fullmatch=True))
def test_matches_is_a_case_insensitive_search(text: str, word: str) -> None:
    cond = Condition(field="x", op="matches", value=word)
    assert compare(cond, text) is (re.search(word, text, re.IGNORECASE) is not None)


@given(values=st.lists(st.booleans(), min_size=1, max_size=5))
def test_all_and_any_combine_like_python(values: list[bool]) -> None:
    leaves = [Condition(field=f"f{i}", op="==", value=True) for i in range(len(values))]
    context = {f"f{i}": v for i, v in enumerate(values)}
    assert holds(AllOf(all=leaves), context) is all(values)  # type: ignore[arg-type]
    assert holds(AnyOf(any=leaves), context) is any(values)  # type: ignore[arg-type]
    nested = AllOf(all=[AnyOf(any=leaves), Condition(field="f0", op="==", value=values[0])])  # type: ignore[list-item]
    assert holds(nested, context) is any(values)


def test_missing_field_only_satisfies_negations() -> None:
    assert compare(Condition(field="x", op="==", value=None), None) is True
    from policies.evaluator import lookup

    missing = lookup({}, "customer.plan")
    assert compare(Condition(field="x", op="==", value="pro"), missing) is False
    assert compare(Condition(field="x", op="!=", value="pro"), missing) is True
    assert lookup({"customer": {"plan": "pro"}}, "customer.plan") == "pro"


POLICY = Policy.model_validate(
    {
        "name": "p",
        "entry": "a",
        "targets": {"a": {"kind": "bot"}, "b": {"kind": "bot"}, "h": {"kind": "human"}},
        "rules": [
            {"id": "first", "target": "h", "when": {"field": "vip", "op": "==", "value": True}},
            {"id": "second", "target": "b", "when": {"field": "score", "op": ">", "value": 0.5}},
            {"id": "third", "target": "a", "when": {"field": "score", "op": ">", "value": 0.1}},
        ],
        "default": {"target": "a"},
    }
)


@given(vip=st.booleans(), score=st.floats(0, 1))
def test_first_matching_rule_wins_in_file_order(vip: bool, score: float) -> None:
    rule = first_match(POLICY, {"vip": vip, "score": score})
    expected = "first" if vip else "second" if score > 0.5 else "third" if score > 0.1 else None
    assert (rule.id if rule else None) == expected


def test_explain_traces_every_rule_with_actual_values() -> None:
    traces = explain(POLICY, {"vip": False, "score": 0.7})
    assert [t.matched for t in traces] == [False, True, True]
    assert traces[1].conditions[0].actual == 0.7
    assert traces[0].conditions[0].result is False


def test_a_backtracking_policy_pattern_gives_up_instead_of_stalling_turns() -> None:
    """``(x+x+)+y`` takes Python's ``re`` minutes on 40 x's; the evaluator's engine stops at a time limit."""
    import threading

    from policies.evaluator import compare
    from policies.models import Condition

    slow = Condition(field="text", op="matches", value="(x+x+)+y")
    outcome: list[bool] = []
    worker = threading.Thread(target=lambda: outcome.append(compare(slow, "x" * 40)), daemon=True)
    worker.start()
    worker.join(timeout=30)  # a safety net for the old engine, not a speed assertion
    assert outcome == [False]
    assert compare(Condition(field="text", op="matches", value=r"\blien\b"), "There is a LIEN on it")
