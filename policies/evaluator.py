"""Evaluate a policy against the signals of a turn, and explain why a rule fired (or did not)."""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import regex
from pydantic import BaseModel, Field

from policies.models import AllOf, AnyOf, Condition, Policy, Rule, When

_MISSING = object()

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}

log = logging.getLogger("baton.policies")


class ConditionTrace(BaseModel):
    """One leaf comparison with the value it saw."""

    field: str
    op: str
    expected: Any
    actual: Any
    result: bool


class RuleTrace(BaseModel):
    """Whether a rule matched, and each comparison that decided it."""

    rule_id: str
    target: str | None
    consult: list[str] = Field(default_factory=list)
    matched: bool
    conditions: list[ConditionTrace]


def lookup(context: Mapping[str, Any], name: str) -> Any:
    """Read ``name`` from the context; dotted names (``customer.plan``) descend into mappings."""
    if name in context:
        return context[name]
    current: Any = context
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


# A product owner's pattern runs on every customer turn: the ``regex`` engine with a time limit, so a
# pattern that backtracks catastrophically ("(x+x+)+y") fails one condition instead of stalling turns.
MATCH_TIMEOUT_S = 0.05


@lru_cache(maxsize=512)
def _regex(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern, regex.IGNORECASE)


def _matches(pattern: str, text: str) -> bool:
    try:
        return _regex(pattern).search(text, timeout=MATCH_TIMEOUT_S) is not None
    except TimeoutError:
        log.warning(
            "policy pattern %.80r gave up after %.0f ms; the condition does not hold",
            pattern,
            MATCH_TIMEOUT_S * 1000,
        )
        return False


def compare(cond: Condition, actual: Any) -> bool:
    """Apply one operator; a missing or None value never satisfies an ordering comparison."""
    if actual is _MISSING:
        return cond.op in ("!=", "not_in")
    if cond.op in _COMPARE:
        if actual is None or isinstance(actual, bool) or not isinstance(actual, int | float):
            return False
        return _COMPARE[cond.op](actual, cond.value)
    if cond.op == "==":
        return bool(actual == cond.value)
    if cond.op == "!=":
        return bool(actual != cond.value)
    if cond.op in ("in", "not_in"):
        members = cond.value if isinstance(cond.value, list) else [cond.value]
        return (actual in members) is (cond.op == "in")
    if cond.op == "contains":
        return isinstance(actual, list | tuple) and cond.value in actual
    # matches
    return actual is not None and _matches(str(cond.value), str(actual))


def holds(when: When, context: Mapping[str, Any], trace: list[ConditionTrace] | None = None) -> bool:
    """Evaluate a condition tree; ``trace`` (if given) collects every leaf that was evaluated."""
    if isinstance(when, AllOf):
        return all(holds(sub, context, trace) for sub in when.all)
    if isinstance(when, AnyOf):
        return any(holds(sub, context, trace) for sub in when.any)
    actual = lookup(context, when.field)
    result = compare(when, actual)
    if trace is not None:
        shown = None if actual is _MISSING else actual
        trace.append(
            ConditionTrace(field=when.field, op=when.op, expected=when.value, actual=shown, result=result)
        )
    return result


def first_match(policy: Policy, context: Mapping[str, Any]) -> Rule | None:
    """The first rule (in file order) whose condition holds, or ``None``."""
    return next((rule for rule in policy.rules if holds(rule.when, context)), None)


def explain(policy: Policy, context: Mapping[str, Any]) -> list[RuleTrace]:
    """Evaluate every rule (no short-circuit across rules) for the "which rule fires and why" view."""
    traces: list[RuleTrace] = []
    for rule in policy.rules:
        leaves: list[ConditionTrace] = []
        matched = holds(rule.when, context, leaves)
        traces.append(
            RuleTrace(
                rule_id=rule.id, target=rule.target, consult=rule.consult, matched=matched, conditions=leaves
            )
        )
    return traces
