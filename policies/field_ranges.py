"""What a condition field's declared range says about a policy: comparisons that can never hold, and
values written on a field's old scale.

Each field declares its range once (``FieldSpec.minimum``/``maximum``, derived from the signal model
in ``graph/signals.py``); the checks here are derived from that, so a new field needs no new check.
Both return ``(message, location)`` pairs; the loader turns locations into lines and columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from policies.models import AllOf, AnyOf, Condition, Policy, When

if TYPE_CHECKING:
    from policies.loader import FieldSpec

Loc = tuple[int | str, ...]


def conditions(when: When, loc: Loc) -> Iterable[tuple[Condition, Loc]]:
    """Every leaf comparison of a condition tree with its location in the document."""
    if isinstance(when, Condition):
        yield when, loc
    elif isinstance(when, AllOf):
        for i, sub in enumerate(when.all):
            yield from conditions(sub, (*loc, "all", i))
    elif isinstance(when, AnyOf):
        for i, sub in enumerate(when.any):
            yield from conditions(sub, (*loc, "any", i))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: float) -> str:
    return f"{value:g}"


def span(spec: FieldSpec) -> str:
    """The declared range as a product owner reads it: ``0-10``, ``>= 0``."""
    lo, hi = spec.minimum, spec.maximum
    if lo is not None and hi is not None:
        return f"{_fmt(lo)} to {_fmt(hi)}"
    if lo is not None:
        return f">= {_fmt(lo)}"
    return f"<= {_fmt(hi)}" if hi is not None else "any number"


def can_hold(op: str, value: float, lo: float | None, hi: float | None) -> bool:
    """Whether ``x op value`` holds for some ``x`` in ``[lo, hi]`` (an open end is unbounded)."""
    if op == ">":
        return hi is None or hi > value
    if op == ">=":
        return hi is None or hi >= value
    if op == "<":
        return lo is None or lo < value
    if op == "<=":
        return lo is None or lo <= value
    if op in ("==", "in"):
        return (lo is None or value >= lo) and (hi is None or value <= hi)
    return True  # !=, not_in, matches: not a question of range


def unreachable(cond: Condition, spec: FieldSpec) -> str | None:
    """A sentence when ``cond`` can never be true for the field's range, else ``None``."""
    if spec.minimum is None and spec.maximum is None:
        return None
    if cond.op not in (">", ">=", "<", "<=", "==", "in"):
        return None
    values = cond.value if isinstance(cond.value, list) else [cond.value]
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    if not numbers or len(numbers) != len(values):
        return None  # text or a bool against a number is the type check's business
    if any(can_hold(cond.op, n, spec.minimum, spec.maximum) for n in numbers):
        return None
    shown = cond.value if isinstance(cond.value, list) else _fmt(numbers[0])
    return (
        f"{cond.field} {cond.op} {shown} can never be true: {cond.field} runs {span(spec)}, "
        "so this rule never fires"
    )


def range_warnings(policy: Policy, fields: Mapping[str, FieldSpec]) -> list[tuple[str, Loc]]:
    """Comparisons that can never be true, one message per condition."""
    found: list[tuple[str, Loc]] = []
    for i, rule in enumerate(policy.rules):
        for cond, loc in conditions(rule.when, ("rules", i, "when")):
            spec = fields.get(cond.field)
            problem = unreachable(cond, spec) if spec is not None else None
            if problem:
                found.append((f"rule {rule.id!r}: {problem}", (*loc, "value")))
    return found


def _old_scale(cond: Condition, spec: FieldSpec) -> float | None:
    """The factor to rescale ``cond``'s value by, when it is a fraction on the field's old scale."""
    if spec.old_maximum is None or spec.maximum is None or cond.op not in (">", ">=", "<", "<=", "=="):
        return None
    value = _number(cond.value)
    if value is None or not 0 < value < spec.old_maximum or float(value).is_integer():
        return None
    return spec.maximum / spec.old_maximum


def rescaled(policy: Policy, fields: Mapping[str, FieldSpec]) -> tuple[Policy, list[tuple[str, Loc]]]:
    """``policy`` with values written on an old scale converted, and one warning per conversion.

    ``lead_score >= 0.8`` (the 0-1 score) becomes ``lead_score >= 8`` on the 0-10 score; a whole number
    (``>= 8``, ``>= 1``) is taken as written.
    """
    notes: list[tuple[str, Loc]] = []

    def convert(node: Any, loc: Loc) -> Any:
        if isinstance(node, dict) and "field" in node:
            spec = fields.get(str(node["field"]))
            cond = Condition.model_validate(node)
            factor = _old_scale(cond, spec) if spec is not None else None
            if spec is None or factor is None:
                return node
            new = round(float(node["value"]) * factor, 6)
            notes.append(
                (
                    f"{cond.field} runs {span(spec)} now; {_fmt(float(node['value']))} "
                    f"looks like the old 0-{_fmt(spec.old_maximum or 1)} scale and is read as {_fmt(new)} "
                    f"(write {_fmt(new)} to silence this warning)",
                    (*loc, "value"),
                )
            )
            return {**node, "value": new}
        if isinstance(node, dict):
            return {k: [convert(v, (*loc, k, i)) for i, v in enumerate(node[k])] for k in node}
        return node

    data = policy.model_dump()
    data["rules"] = [
        {**rule, "when": convert(rule["when"], ("rules", i, "when"))} for i, rule in enumerate(data["rules"])
    ]
    if not notes:
        return policy, []
    return type(policy).model_validate(data), notes
