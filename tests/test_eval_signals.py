"""``baton eval signals`` on a tiny labelled file: scores, confusion cases, the report and bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from evals.signals import DatasetError, SignalReport, load_cases, run_signal_eval

ROWS = [
    {"text": "Put me through to one of your staff", "labels": {"explicit_human_request": True}},
    {"text": "I do not want to speak to a human, just the price please", "labels": {}},
    {"text": "We're selling the condo on Courtland Court", "labels": {"legal_complexity": False}},
    {"text": "The estate is still in probate", "labels": {"legal_complexity": True}},
    {
        "text": "never mind, just the listings",
        "history": ["Can I talk to a real person?"],
        "labels": {"explicit_human_request": False},
    },
]


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps({"id": f"r{i}", **r}) + "\n" for i, r in enumerate(rows)))
    return path


def test_eval_scores_each_signal(tmp_path: Path) -> None:
    report = run_signal_eval(write(tmp_path / "tiny.jsonl", ROWS))
    scores = {s.signal: s for s in report.signals}
    human, legal = scores["explicit_human_request"], scores["legal_complexity"]
    assert (human.support, human.tp, human.fp, human.fn) == (1, 1, 0, 0)
    assert (legal.support, legal.tp, legal.fp, legal.fn) == (1, 1, 0, 0)
    assert report.n == 5
    assert human.precision == human.recall == 1.0


def test_a_miss_is_listed_with_its_evidence(tmp_path: Path) -> None:
    # Labelled wrongly on purpose: the eval must show the row and why the analyzer decided as it did.
    rows = [
        {"id": "x", "text": "I do not want to speak to a human", "labels": {"explicit_human_request": True}}
    ]
    report = run_signal_eval(write(tmp_path / "miss.jsonl", rows))
    human = next(s for s in report.signals if s.signal == "explicit_human_request")
    assert (human.fn, human.recall) == (1, 0.0)
    [miss] = human.errors
    assert miss.id == "x"
    assert miss.expected is True
    assert any(line.startswith("denied: asked for a person") for line in miss.evidence)


def test_a_bad_row_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.jsonl", [ROWS[0], {"text": "hi", "labels": {"explicit_human_requests": True}}]
    )
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: unknown signal"):
        load_cases(path)


def test_cli_prints_the_table_and_writes_the_report(tmp_path: Path) -> None:
    dataset, out = write(tmp_path / "tiny.jsonl", ROWS), tmp_path / "reports" / "signals.json"
    result = CliRunner().invoke(app, ["eval", "signals", "--dataset", str(dataset), "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert "explicit_human_request" in result.output
    assert "macro F1" in result.output
    saved = SignalReport.model_validate_json(out.read_text())
    assert saved.n == 5


def test_cli_refuses_a_missing_dataset(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "signals", "--dataset", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2


def test_the_shipped_splits_load() -> None:
    data = Path(__file__).resolve().parent.parent / "evals" / "data"
    dev, check = load_cases(data / "signals_dev.jsonl"), load_cases(data / "signals_check.jsonl")
    assert len(dev) + len(check) >= 300
    assert not {c.text for c in dev} & {c.text for c in check}
