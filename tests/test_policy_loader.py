"""Policy loading: valid files load, every kind of mistake is reported with its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.policy_store import PolicyStore, check_policy_text
from policies.loader import PolicyError, PolicyIssue, load_policy_text, policy_version

POLICIES = Path(__file__).resolve().parent.parent / "policies"

MINIMAL = """\
name: mini
entry: support_bot
targets:
  support_bot: {kind: bot}
  sales_bot: {kind: bot}
  people: {kind: human, skills: [support]}
intents:
  buy: {examples: [I want to buy, pricing please]}
  help: {examples: [it is broken, I need help]}
rules:
  - id: to_sales
    when: {field: intent, op: "==", value: buy}
    target: sales_bot
default:
  target: support_bot
"""


def _issue(text: str):  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as exc:
        check_policy_text(text, "p.yaml")
    return exc.value.issues


@pytest.mark.parametrize("name", ["real_estate.yaml", "support.yaml"])
def test_shipped_policies_are_valid(name: str) -> None:
    loaded = check_policy_text((POLICIES / name).read_text(), name)
    assert loaded.policy.rules
    assert loaded.version == policy_version((POLICIES / name).read_text())


def test_minimal_policy_loads() -> None:
    loaded = check_policy_text(MINIMAL, "mini.yaml")
    assert loaded.policy.rules[0].target == "sales_bot"
    assert len(loaded.version) == 12


def test_yaml_syntax_error_has_line() -> None:
    issues = _issue(MINIMAL.replace("target: sales_bot", "target: [sales_bot"))
    assert issues[0].line is not None
    assert "YAML error" in issues[0].message


def test_unknown_field_points_at_its_line() -> None:
    broken = MINIMAL.replace("    target: sales_bot", "    target: sales_bot\n    priorty: 5")
    issues = _issue(broken)
    assert any("priorty" in i.message for i in issues)
    line = next(i.line for i in issues if "priorty" in i.message)
    assert broken.splitlines()[line - 1].strip().startswith("priorty")  # type: ignore[operator]


def test_unknown_target_is_reported_with_line() -> None:
    broken = MINIMAL.replace("target: sales_bot", "target: salez_bot")
    issues = _issue(broken)
    assert "salez_bot" in issues[0].message
    assert broken.splitlines()[issues[0].line - 1].strip() == "target: salez_bot"  # type: ignore[operator]


def test_bot_target_must_be_a_registered_node() -> None:
    issues = _issue(
        MINIMAL.replace("  sales_bot: {kind: bot}", "  robo_bot: {kind: bot}").replace(
            "target: sales_bot", "target: robo_bot"
        )
    )
    assert "not a registered bot node" in issues[0].message


@pytest.mark.parametrize(
    ("condition", "needle"),
    [
        ('{field: intnet, op: "==", value: buy}', "unknown field 'intnet'"),
        ('{field: intent, op: "==", value: sell}', "unknown intent 'sell'"),
        ('{field: sentiment, op: ">", value: high}', "needs a number"),
        ('{field: vip, op: "==", value: 3}', "holds bool"),
        ('{field: timeline, op: "==", value: soon}', "not a valid value"),
        ('{field: text, op: matches, value: "([a-z"}', "invalid regular expression"),
        ("{field: intent, op: in, value: buy}", "needs a list"),
        ('{field: intent, op: "~", value: buy}', "Input should be"),
    ],
)
def test_bad_conditions_are_reported_on_their_line(condition: str, needle: str) -> None:
    broken = MINIMAL.replace('{field: intent, op: "==", value: buy}', condition)
    issues = _issue(broken)
    assert any(needle in i.message for i in issues), [i.message for i in issues]
    assert all(i.line is not None for i in issues)
    rule_line = next(n for n, line in enumerate(broken.splitlines(), 1) if condition in line)
    assert any(i.line == rule_line for i in issues)


def test_duplicate_rule_ids_and_bad_default() -> None:
    broken = MINIMAL.replace("default:\n  target: support_bot", "default:\n  target: nobody")
    broken = broken.replace(
        "rules:\n", "rules:\n  - {id: to_sales, when: {field: vip, op: '==', value: true}, target: people}\n"
    )
    messages = [i.message for i in _issue(broken)]
    assert any("duplicate rule id" in m for m in messages)
    assert any("default target 'nobody'" in m for m in messages)


def test_rule_needs_target_or_consult() -> None:
    issues = _issue(MINIMAL.replace("    target: sales_bot\n", ""))
    assert any("exactly one of 'target' or 'consult'" in i.message for i in issues)


def test_rendered_error_names_file_line_and_column() -> None:
    with pytest.raises(PolicyError) as exc:
        check_policy_text(MINIMAL.replace("target: sales_bot", "target: salez_bot"), "policies/x.yaml")
    assert str(exc.value).startswith("policies/x.yaml:13:")


def test_store_hot_reloads_and_refuses_invalid_edits(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL)
    store = PolicyStore(path)
    first = store.current()
    path.write_text(MINIMAL.replace("value: buy", "value: help"))
    second = store.current()
    assert second.version != first.version
    assert second.policy.rules[0].when.value == "help"  # type: ignore[union-attr]
    path.write_text(MINIMAL.replace("target: sales_bot", "target: nowhere"))
    third = store.current()
    assert third.version == second.version  # the old policy keeps serving
    assert store.last_error is not None
    assert "nowhere" in str(store.last_error)


def test_publish_validates_before_replacing(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL)
    store = PolicyStore(path)
    with pytest.raises(PolicyError):
        store.publish("name: [broken")
    assert path.read_text() == MINIMAL
    loaded = store.publish(MINIMAL.replace("value: buy", "value: help"))
    assert store.current().version == loaded.version
    assert "value: help" in path.read_text()


def _load_issues(text: str) -> list[PolicyIssue] | None:
    """The loader's issues for ``text`` (None when it loads); any other exception fails the test."""
    try:
        load_policy_text(text, "fuzz.yaml")
    except PolicyError as exc:
        return exc.issues
    return None


yaml_scalars = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.booleans(), st.text(max_size=12), st.none()
)


def _nested(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3))


yaml_values = st.recursive(yaml_scalars, _nested, max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_never_crashes_the_loader(text: str) -> None:
    issues = _load_issues(text)
    if issues is not None:
        assert issues
        assert all(i.message for i in issues)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "entry", "targets", "rules", "default", "intents", "x"]), yaml_values
    )
)
def test_random_structures_give_located_errors(data: dict[str, object]) -> None:
    import yaml

    issues = _load_issues(yaml.safe_dump(data))
    if issues is not None:
        assert issues
        assert all(i.line is not None for i in issues), [i.message for i in issues]
