"""The ABCD context eval end to end on a few rows, plus the report writers and compare."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from evals.compare import compare
from evals.context import ContextReport, DirectProvider, load_rows, run_context_eval
from evals.report import load_report, write_report
from graph.context import Brief
from graph.transcript import Turn

DATASET = Path("/work/shared/datasets/abcd_dev.jsonl")
SGD = DATASET.with_name("sgd_dev.jsonl")
TOP_KEYS = {
    "fact_recall",
    "fact_precision",
    "per_domain",
    "grounding_precision",
    "summary_tokens_median",
    "brief_tokens_median",
    "brief_tokens_p95",
    "repeat_question_rate",
    "latency_ms_p50",
    "latency_ms_p95",
    "n",
    "per_key_recall",
    "failures",
    "baselines",
}
pytestmark = pytest.mark.skipif(not DATASET.is_file(), reason="ABCD dev set not available")


@pytest.fixture(scope="module")
def report() -> ContextReport:
    import asyncio

    return asyncio.run(run_context_eval(DATASET, provider=DirectProvider(), limit=10, progress=False))


def test_keys_and_ranges(report: ContextReport) -> None:
    data = json.loads(report.model_dump_json())
    assert set(data) >= TOP_KEYS
    assert data["n"] == 10
    assert 0.9 <= data["fact_recall"] <= 1.0
    assert data["grounding_precision"] == 1.0
    assert 0 < data["summary_tokens_median"] <= 60
    assert 0 < data["brief_tokens_median"] <= 400
    assert 0.0 <= data["repeat_question_rate"] <= 0.1
    assert data["latency_ms_p50"] <= data["latency_ms_p95"]
    assert set(data["baselines"]) == {"blind", "last_n"}
    assert set(data["baselines"]["blind"]) == set(data) - {"failures", "baselines", "meta", "per_domain"}
    assert 0.0 < data["fact_precision"] <= 1.0
    assert data["baselines"]["blind"]["fact_precision"] is None  # a cold transfer claims nothing


def test_baselines_ordering(report: ContextReport) -> None:
    blind, last_n = report.baselines["blind"], report.baselines["last_n"]
    assert blind.fact_recall == 0.0
    assert blind.repeat_question_rate == 1.0
    assert blind.fact_recall <= last_n.fact_recall <= report.fact_recall


def test_roles_are_mapped_and_cut_at_handoff() -> None:
    row = load_rows(DATASET, limit=1)[0]
    turns = row.briefing_turns()
    assert len(turns) == row.handoff_at
    assert {t.role for t in turns} <= {"customer", "bot", "system"}


async def test_provider_errors_are_recorded_not_raised() -> None:
    class Broken:
        async def __call__(self, turns: Sequence[Turn], case_id: str) -> Brief:
            raise RuntimeError("graph exploded")

    report = await run_context_eval(DATASET, provider=Broken(), limit=2, progress=False)
    assert report.meta["errors"] == 2
    assert report.fact_recall == 0.0


def test_report_files_and_compare(report: ContextReport, tmp_path: Path) -> None:
    path = tmp_path / "context.json"
    report.save(path)
    html, md = write_report(path, tmp_path)
    assert "fact_recall" in md.read_text()
    assert "<table>" in html.read_text()
    assert (tmp_path / "recall_per_key.png").stat().st_size > 0
    assert (tmp_path / "brief_tokens.png").is_file()
    assert len(load_report(path).cases) == 30  # 10 rows x (baton + 2 baselines)
    worse = json.loads(path.read_text())
    worse["fact_recall"] -= 0.5
    table = compare(path, worse)
    assert "| fact_recall |" in table
    assert "-0.5 | worse |" in table
    assert "## baseline: blind" in table


def test_per_domain_scores_add_up(report: ContextReport) -> None:
    rows = load_rows(DATASET, limit=10)
    assert {r.department for r in rows} == set(report.per_domain)
    assert sum(d.n for d in report.per_domain.values()) == report.n
    for name, scores in report.per_domain.items():
        cases = [c for c in report.cases if c.system == "baton" and c.department == name]
        assert scores.fact_recall == round(sum(c.carried for c in cases) / sum(c.gold for c in cases), 4)


@pytest.mark.skipif(not SGD.is_file(), reason="SGD dev set not available")
def test_cli_runs_several_datasets_beside_their_baselines(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    path, page = tmp_path / "suite.json", tmp_path / "suite.html"
    args = ["eval", "context", "--dataset", str(SGD), "--dataset", str(DATASET), "--report", str(path)]
    args += ["--limit", "2", "--provider", "direct", "--no-progress", "--html", str(page)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "load average (1 min)" in result.output
    data = json.loads(path.read_text())
    assert set(data["datasets"]) == {"sgd_dev", "abcd_dev"}
    for name, one in data["datasets"].items():
        assert one["n"] == 2
        assert set(one["baselines"]) == {"blind", "last_n"}
        assert one["fact_precision"] is not None
        assert one["turn_latency_ms_p50"] <= one["turn_latency_ms_p95"] <= one["turn_latency_ms_p99"]
        assert 0 < one["turn_cpu_ms_p50"] <= one["turn_cpu_ms_p95"] <= one["turn_cpu_ms_p99"]
        assert len(one["meta"]["load_average_1m"]) == 2
        assert one["per_domain"], name
    text = page.read_text()
    assert "<h2>sgd_dev</h2>" in text
    assert "<h2>abcd_dev</h2>" in text
    assert "Per domain" in text
    assert (tmp_path / "sgd_dev_recall_per_key.png").is_file()
    assert "## sgd_dev: baton" in compare(path, path)


def test_rows_split_into_a_development_and_a_check_half() -> None:
    every = [r.id for r in load_rows(DATASET, limit=6)]
    assert [r.id for r in load_rows(DATASET, limit=3, part="even")] == every[0::2]
    assert [r.id for r in load_rows(DATASET, limit=3, part="odd")] == every[1::2]
