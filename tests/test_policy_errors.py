"""Policy errors point at the mistake: one message for one bad operator, and the line a YAML mistake is
on (not the line where the parser noticed it)."""

from __future__ import annotations

import pytest

from policies.loader import PolicyError, parse_policy
from tests.conftest import POLICIES

SHIPPED = (POLICIES / "real_estate.yaml").read_text(encoding="utf-8")


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.yaml")
    return [(i.line, i.path, i.message) for i in caught.value.issues]


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_one_bad_operator_is_one_problem_at_its_place() -> None:
    broken = SHIPPED.replace('op: ">"', 'op: "bigger"', 1)
    [(line, path, message)] = _problems(broken)
    assert line == _line_of(broken, '"bigger"')
    assert path.endswith(".op")
    assert message.startswith("unknown operator 'bigger'")
    assert "'>='" in message  # the choices are listed


def test_a_bad_operator_deep_in_any_and_all_is_still_one_problem() -> None:
    rule = (
        "rules:\n  - id: nested\n    when:\n      all:\n        - any:\n"
        "            - {field: text, op: includes, value: x}\n    target: human_agent\n"
    )
    [(line, path, _)] = _problems(SHIPPED.replace("rules:\n", rule, 1))
    assert path == "rules[0].when.all[0].any[0].op"
    assert line == _line_of(SHIPPED.replace("rules:\n", rule, 1), "includes")


def test_a_key_without_colon_is_reported_on_its_own_line() -> None:
    lines = SHIPPED.splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if line.strip().startswith("description:"))
    lines[n] = lines[n].replace("description:", "description", 1)  # runs into the next line's key
    [(line, _, message)] = _problems("".join(lines))
    assert line == n + 1
    assert "needs a ':'" in message


def test_a_key_without_colon_before_a_deeper_line_is_reported_on_its_own_line() -> None:
    text = "name: x\ntargets:\n  bot:\n    kind: bot\n    colour red\n    sections: []\n"
    [(line, _, message)] = _problems(text)
    assert line == 5
    assert "needs a ':'" in message


def test_an_unclosed_quote_points_where_it_opens() -> None:
    text = 'name: x\ndescription: "an open quote\ntargets: {}\nrules: []\n'
    [(line, _, _)] = _problems(text)
    assert line == 2
