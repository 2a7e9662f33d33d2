"""The ``baton`` command line: exit codes, messages, and the offline demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
POLICIES = Path(__file__).resolve().parent.parent / "policies"


def test_policy_check_accepts_shipped_policies() -> None:
    for name in ("real_estate.yaml", "support.yaml"):
        result = runner.invoke(app, ["policy", "check", str(POLICIES / name)])
        assert result.exit_code == 0, result.output
        assert "ok" in result.output


def test_policy_check_rejects_a_broken_file_with_its_line(tmp_path: Path) -> None:
    text = (POLICIES / "support.yaml").read_text().replace("target: billing_bot", "target: billingbot", 1)
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "target: billingbot" in row)
    result = runner.invoke(app, ["policy", "check", str(broken)])
    assert result.exit_code == 2
    assert f"broken.yaml:{line}:" in result.output
    assert "billingbot" in result.output


def test_policy_check_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_policy_explain_names_the_rule_and_why(tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps(["Hi, I'm looking around"]))
    result = runner.invoke(
        app,
        [
            "policy",
            "explain",
            str(POLICIES / "real_estate.yaml"),
            "Let me talk to a real person",
            "--history",
            str(history),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["fired"] == "human_explicit_request"
    assert data["target"] == "human_agent"
    trace = next(r for r in data["rules"] if r["rule_id"] == "human_explicit_request")
    assert trace["conditions"][0]["actual"] is True


def test_policy_explain_rejects_bad_history(tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"not": "a list"}))
    result = runner.invoke(
        app, ["policy", "explain", str(POLICIES / "support.yaml"), "hi", "--history", str(history)]
    )
    assert result.exit_code == 2
    assert "expected a JSON list" in result.output


def test_unknown_option_exits_2() -> None:
    assert runner.invoke(app, ["policy", "check", "--frobnicate"]).exit_code == 2


@pytest.mark.slow
def test_demo_runs_offline_end_to_end() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "handoff concierge_bot -> seller_bot" in out
    assert "paused waiting for a human agent" in out
    assert "Human agent returned the conversation to seller_bot" in out
    assert "seller_bot->human_agent:returned" in out


def test_eval_context_small_run(tmp_path: Path) -> None:
    dataset = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "abcd_dev.jsonl"
    if not dataset.is_file():
        pytest.skip("shared datasets not beside the repo")
    report = tmp_path / "ctx.json"
    result = runner.invoke(
        app,
        [
            "eval",
            "context",
            "--dataset",
            str(dataset),
            "--report",
            str(report),
            "--limit",
            "5",
            "--no-progress",
            "--html",
            str(tmp_path / "ctx.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert 0.0 <= data["fact_recall"] <= 1.0
    assert set(data["baselines"]) == {"blind", "last_n"}
    assert (tmp_path / "ctx.html").is_file()


def test_eval_missing_dataset_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["eval", "context", "--dataset", str(tmp_path / "x.jsonl"), "--report", "r.json"]
    )
    assert result.exit_code == 2


def test_chat_lets_the_user_act_as_the_human_agent() -> None:
    lines = [
        "Hi",
        "Can I talk to a real person please?",
        "/human Hello, this is Maria",
        "/return checked the listing",
        "/return again",
        "/bogus",
        "/quit",
    ]
    result = runner.invoke(app, ["chat", "--conversation", "cli-test"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "paused waiting for a human agent" in out
    assert "human_agent: Hello, this is Maria" in out
    assert "Human agent returned the conversation to concierge_bot: checked the listing" in out
    assert "no human handoff is waiting" in out  # the second /return has nothing to resume
    assert "unknown command" in out
