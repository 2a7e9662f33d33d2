"""Comparing variants offline: ``baton policy explain`` side by side, ``baton eval context --policy A --policy B``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from evals.experiments import resolve_arms
from tests.conftest import POLICIES
from tests.test_experiments import SELL_18M, write_experiment

runner = CliRunner()
ABCD = Path("/work/shared/datasets/abcd_dev.jsonl")
# B sends order and account questions to a person instead of the support bot
SUPPORT_EXPERIMENT = """
experiment:
  id: orders_to_people
  variants:
    - {name: A, share: 0.5}
    - name: B
      share: 0.5
      rules:
        orders_and_accounts: {target: support_agent, trigger: intent_based}
      targets:
        support_agent: {sections: [emotional_context, success_criteria]}
"""


def test_explain_shows_every_variant_and_explains_under_one(tmp_path: Path) -> None:
    policy = write_experiment(tmp_path, status="draft")
    shown = runner.invoke(app, ["policy", "explain", str(policy), SELL_18M])
    assert shown.exit_code == 0, shown.output
    assert "=> rule seller_matrix routes to seller_bot" in shown.output  # the policy as written
    assert "experiment luxury_threshold" in shown.output
    rows = [line for line in shown.output.splitlines() if "control" in line or "lower_threshold" in line]
    assert any("seller_matrix" in r and "seller_bot" in r for r in rows if "│ control" in r)
    assert any("luxury_interest" in r and "differs" in r for r in rows if "lower_threshold" in r)
    as_json = runner.invoke(app, ["policy", "explain", str(policy), SELL_18M, "--json"])
    data = json.loads(as_json.output)
    assert [(v["variant"], v["fired"], v["target"], v["differs"]) for v in data["variants"]] == [
        ("control", "seller_matrix", "seller_bot", False),
        ("lower_threshold", "luxury_interest", "luxury_specialist", True),
    ]
    under = runner.invoke(app, ["policy", "explain", str(policy), SELL_18M, "--variant", "lower_threshold"])
    assert "=> rule luxury_interest routes to luxury_specialist" in under.output
    missing = runner.invoke(app, ["policy", "explain", str(policy), SELL_18M, "--variant", "C"])
    assert missing.exit_code == 2
    assert "has no variant 'C'" in missing.output
    plain = runner.invoke(
        app, ["policy", "explain", str(POLICIES / "real_estate.yaml"), "hi", "--variant", "B"]
    )
    assert plain.exit_code == 2
    assert "declares no experiment" in plain.output


def test_arms_are_files_or_variants(tmp_path: Path) -> None:
    policy = tmp_path / "support.yaml"
    policy.write_text((POLICIES / "support.yaml").read_text(encoding="utf-8") + SUPPORT_EXPERIMENT, "utf-8")
    arms = resolve_arms([f"{policy}#A", "B"], POLICIES / "support.yaml")
    assert [(a.label, a.variant) for a in arms] == [("A", "A"), ("B", "B")]
    rule = next(r for r in arms[1].policy.rules if r.id == "orders_and_accounts")
    assert rule.target == "support_agent"
    plain = resolve_arms([str(POLICIES / "support.yaml"), f"{policy}#B"], POLICIES / "support.yaml")
    assert [a.label for a in plain] == [str(POLICIES / "support.yaml"), "B"]


def test_eval_context_compares_two_variants_on_the_same_conversations(tmp_path: Path) -> None:
    policy = tmp_path / "support.yaml"
    policy.write_text((POLICIES / "support.yaml").read_text(encoding="utf-8") + SUPPORT_EXPERIMENT, "utf-8")
    report = tmp_path / "compare.json"
    args = ["eval", "context", "--dataset", str(ABCD), "--limit", "12", "--provider", "direct"]
    args += ["--no-turn-latency", "--no-progress", "--report", str(report), "--policy", f"{policy}#A"]
    result = runner.invoke(app, [*args, "--policy", "B"])
    assert result.exit_code == 0, result.output
    assert "abcd_dev: briefs per arm" in result.output
    assert "abcd_dev: routing at the handoff point" in result.output
    saved = json.loads(report.read_text(encoding="utf-8"))
    assert set(saved["arms"]) == {"A", "B"}
    assert saved["arms"]["A"]["abcd_dev"]["n"] == 12
    a, b = saved["routing"]["abcd_dev"]["A"], saved["routing"]["abcd_dev"]["B"]
    orders = a["rules"].get("orders_and_accounts", 0)
    assert orders > 0  # the sample has order questions, so the variants can differ
    assert b["rules"]["orders_and_accounts"] == orders  # the same rule fires ...
    assert b["differs"] == orders  # ... and sends each of them elsewhere
    assert b["to_human"] == a["to_human"] + orders
    assert a["differs"] == 0
    table = next(line for line in result.output.splitlines() if "routed unlike the first" in line)
    assert table.split("│")[-2].strip() == str(orders)
    one = runner.invoke(app, [*args, "--policy", "C"])
    assert one.exit_code == 2
    assert "has no variant 'C'" in one.output
