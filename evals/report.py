"""HTML and Markdown reports for the context eval, with PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on CI or servers
import matplotlib.pyplot as plt

from evals.context import CaseResult, ContextReport

HEADLINE = (
    "fact_recall",
    "grounding_precision",
    "summary_tokens_median",
    "brief_tokens_median",
    "brief_tokens_p95",
    "repeat_question_rate",
    "latency_ms_p50",
    "latency_ms_p95",
    "n",
)


def load_report(path: Path) -> ContextReport:
    """Read a saved report and its ``.cases.jsonl`` sidecar (if present)."""
    report = ContextReport.model_validate_json(path.read_text(encoding="utf-8"))
    sidecar = path.with_suffix(".cases.jsonl")
    if sidecar.is_file():
        lines = sidecar.read_text(encoding="utf-8").splitlines()
        report.cases = [CaseResult.model_validate_json(line) for line in lines if line.strip()]
    return report


def _plot_recall(report: ContextReport, out: Path) -> None:
    keys = list(report.per_key_recall)
    systems = {"baton": report.per_key_recall} | {n: b.per_key_recall for n, b in report.baselines.items()}
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(keys)), 4))
    width = 0.8 / len(systems)
    for i, (name, recall) in enumerate(systems.items()):
        xs = [k + i * width for k in range(len(keys))]
        ax.bar(xs, [recall.get(k, 0.0) for k in keys], width=width, label=name)
    ax.set_xticks(
        [k + width * (len(systems) - 1) / 2 for k in range(len(keys))], keys, rotation=45, ha="right"
    )
    ax.set_ylabel("recall")
    ax.set_ylim(0, 1.05)
    ax.set_title("Fact recall per key")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _plot_hist(values: dict[str, list[float]], title: str, xlabel: str, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, data in values.items():
        if data:
            ax.hist(data, bins=30, alpha=0.6, label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("conversations")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _by_system(cases: list[CaseResult], field: str) -> dict[str, list[float]]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        grouped[case.system].append(float(getattr(case, field)))
    return dict(grouped)


def write_plots(report: ContextReport, out_dir: Path) -> list[Path]:
    """Write recall-per-key, token and latency plots; returns the PNG paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "recall_per_key.png"]
    _plot_recall(report, paths[0])
    if report.cases:
        tokens = _by_system(report.cases, "brief_tokens")
        tokens.pop("blind", None)  # all zero: a cold transfer reads nothing
        paths.append(out_dir / "brief_tokens.png")
        _plot_hist(tokens, "Brief size (o200k tokens)", "tokens", paths[-1])
        paths.append(out_dir / "latency.png")
        _plot_hist(
            {"baton": _by_system(report.cases, "latency_ms").get("baton", [])},
            "Brief latency",
            "ms",
            paths[-1],
        )
    return paths


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "n/a" if value is None else str(value)


def _rows(report: ContextReport) -> list[list[str]]:
    systems = {"baton": report.model_dump()} | {n: b.model_dump() for n, b in report.baselines.items()}
    return [[key, *(_fmt(s.get(key)) for s in systems.values())] for key in HEADLINE]


def render_markdown(report: ContextReport, plots: list[Path]) -> str:
    """The report as Markdown: headline table, plots, per-key recall and a sample of misses."""
    names = ["baton", *report.baselines]
    lines = ["# Context transfer eval", "", f"Dataset: `{report.meta.get('dataset', '?')}`", ""]
    lines += ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(report)]
    lines += ["", *(f"![{p.stem}]({p.name})" for p in plots), "", "## Recall per key", ""]
    lines += ["| key | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, value in report.per_key_recall.items():
        base = [_fmt(b.per_key_recall.get(key)) for b in report.baselines.values()]
        lines.append(f"| {key} | {_fmt(value)} | " + " | ".join(base) + " |")
    lines += ["", f"## Missed facts (first {len(report.failures)})", ""]
    for f in report.failures:
        lines.append(f"- `{f.case_id}` **{f.key}** = `{f.value}` (turn {f.turn}): {f.turn_text!r}")
    return "\n".join(lines) + "\n"


def render_html(report: ContextReport, plots: list[Path]) -> str:
    """The same content as :func:`render_markdown`, as a standalone HTML page."""
    names = ["baton", *report.baselines]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in ["metric", *names])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in _rows(report)
    )
    imgs = "".join(f'<img src="{html.escape(p.name)}" alt="{html.escape(p.stem)}">' for p in plots)
    misses = "".join(
        f"<li><code>{html.escape(f.case_id)}</code> <b>{html.escape(f.key)}</b> = "
        f"<code>{html.escape(f.value)}</code> (turn {f.turn}): {html.escape(f.turn_text)}</li>"
        for f in report.failures
    )
    meta = html.escape(json.dumps(report.meta))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Context transfer eval</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%;margin:1em 0}</style></head><body>"
        f"<h1>Context transfer eval</h1><p><code>{meta}</code></p><table><tr>{head}</tr>{body}</table>"
        f"{imgs}<h2>Missed facts</h2><ul>{misses}</ul></body></html>"
    )


def write_report(report: ContextReport | Path, out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (plus PNGs) into ``out_dir``; returns both paths."""
    loaded = load_report(report) if isinstance(report, Path) else report
    plots = write_plots(loaded, out_dir)
    html_path, md_path = out_dir / "report.html", out_dir / "report.md"
    html_path.write_text(render_html(loaded, plots), encoding="utf-8")
    md_path.write_text(render_markdown(loaded, plots), encoding="utf-8")
    return html_path, md_path
