"""``handoff.no_agent`` and the timeouts per policy and per rule: validated with a line, resolved rule
first, old policies load."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.policy_store import check_policy_text
from policies.loader import PolicyError, load_policy_text

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "policies"

BASE = """\
name: mini
entry: support_bot
targets:
  support_bot: {kind: bot}
  people: {kind: human, skills: [support]}
rules:
  - id: to_people
    when: {field: intent, op: "==", value: help}
    target: people
RULE
  - id: to_bot
    when: {field: intent, op: "==", value: other}
    target: support_bot
default:
  target: support_bot
HANDOFF"""


def policy(rule: str = "", handoff: str = "") -> str:
    return BASE.replace("RULE\n", rule).replace("HANDOFF", handoff)


def test_a_policy_written_before_no_agent_settings_still_loads() -> None:
    loaded = load_policy_text((FIXTURES / "real_estate_v1.yaml").read_text(), "real_estate_v1.yaml")
    assert loaded.policy.handoff.no_agent == "ai"
    assert loaded.policy.handoff_for("human_distress") == ("ai", None, None)


def test_unset_means_the_desks_choice() -> None:
    loaded = load_policy_text(policy(), "p.yaml")
    assert loaded.policy.handoff_for("to_people") == (None, None, None)


def test_a_rules_choice_beats_the_policys() -> None:
    text = policy(
        rule="    no_agent: queue\n    no_agent_after_s: 90\n    accept_timeout_s: 12\n",
        handoff="handoff:\n  no_agent: callback\n  no_agent_after_s: 600\n  accept_timeout_s: 45\n",
    )
    loaded = load_policy_text(text, "p.yaml").policy
    assert loaded.handoff_for("to_people") == ("queue", 90, 12)
    assert loaded.handoff_for("code:vip") == ("callback", 600, 45)  # not a rule: the policy's


def test_each_setting_falls_back_on_its_own() -> None:
    text = policy(rule="    accept_timeout_s: 20\n", handoff="handoff:\n  no_agent: queue\n")
    chosen = load_policy_text(text, "p.yaml").policy.handoff_for("to_people")
    assert (chosen.no_agent, chosen.no_agent_after_s, chosen.accept_timeout_s) == ("queue", None, 20)


@pytest.mark.parametrize(
    ("rule", "handoff", "needle"),
    [
        ("", "handoff:\n  no_agent: phone\n", "no_agent"),
        ("", "handoff:\n  no_agent_after_s: 0\n", "no_agent_after_s"),
        ("", "handoff:\n  no_agent_after_s: 999999\n", "no_agent_after_s"),
        ("    no_agent: later\n", "", "no_agent"),
        ("", "handoff:\n  accept_timeout_s: -5\n", "accept_timeout_s"),
        ("    accept_timeout_s: soon\n", "", "accept_timeout_s"),
    ],
)
def test_bad_values_are_refused_with_their_field(rule: str, handoff: str, needle: str) -> None:
    with pytest.raises(PolicyError) as exc:
        check_policy_text(policy(rule, handoff), "p.yaml")
    assert any(needle in f"{issue.path} {issue.message}" for issue in exc.value.issues)


def test_no_agent_settings_on_a_bot_rule_are_refused() -> None:
    text = (
        BASE.replace("RULE\n", "")
        .replace("    target: support_bot\ndefault", "    target: support_bot\n    no_agent: queue\ndefault")
        .replace("HANDOFF", "")
    )
    with pytest.raises(PolicyError) as exc:
        check_policy_text(text, "p.yaml")
    assert any("human target" in issue.message for issue in exc.value.issues)


def test_an_accept_timeout_on_a_bot_rule_is_refused() -> None:
    text = (
        BASE.replace("RULE\n", "")
        .replace(
            "    target: support_bot\ndefault", "    target: support_bot\n    accept_timeout_s: 9\ndefault"
        )
        .replace("HANDOFF", "")
    )
    with pytest.raises(PolicyError) as exc:
        check_policy_text(text, "p.yaml")
    assert any(
        "accept_timeout_s" in issue.message and "human target" in issue.message for issue in exc.value.issues
    )
