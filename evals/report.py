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
from evals.suite import ContextSuite, load_suite

HEADLINE = (
    "fact_recall",
    "fact_precision",
    "change_recall",
    "grounding_precision",
    "summary_tokens_median",
    "brief_tokens_median",
    "brief_tokens_p95",
    "repeat_question_rate",
    "latency_ms_p50",
    "latency_ms_p95",
    "turn_latency_ms_p50",
    "turn_latency_ms_p95",
    "turn_latency_ms_p99",
    "turn_cpu_ms_p50",
    "turn_cpu_ms_p95",
    "turn_cpu_ms_p99",
    "n",
)
DOMAIN_COLUMNS = ("n", "fact_recall", "fact_precision", "repeat_question_rate", "last_n_fact_recall")


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


def _plot_hist(
    values: dict[str, list[float]], title: str, xlabel: str, out: Path, ylabel: str = "conversations"
) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, data in values.items():
        if data:
            ax.hist(data, bins=30, alpha=0.6, label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _by_system(cases: list[CaseResult], field: str) -> dict[str, list[float]]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        grouped[case.system].append(float(getattr(case, field)))
    return dict(grouped)


def write_plots(report: ContextReport, out_dir: Path, prefix: str = "") -> list[Path]:
    """Write recall-per-key, token and latency plots; returns the PNG paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{prefix}recall_per_key.png"]
    _plot_recall(report, paths[0])
    if report.cases:
        tokens = _by_system(report.cases, "brief_tokens")
        tokens.pop("blind", None)  # all zero: a cold transfer reads nothing
        paths.append(out_dir / f"{prefix}brief_tokens.png")
        _plot_hist(tokens, "Brief size (o200k tokens)", "tokens", paths[-1])
        paths.append(out_dir / f"{prefix}latency.png")
        _plot_hist(
            {"baton": _by_system(report.cases, "latency_ms").get("baton", [])},
            "Brief latency",
            "ms",
            paths[-1],
        )
        per_turn = [ms for c in report.cases if c.system == "baton" for ms in c.turn_latency_ms]
        if per_turn:
            paths.append(out_dir / f"{prefix}turn_latency.png")
            _plot_hist({"baton": per_turn}, "Offline signals + brief per turn", "ms", paths[-1], "turns")
    return paths


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "n/a" if value is None else str(value)


def _rows(report: ContextReport) -> list[list[str]]:
    systems = {"baton": report.model_dump()} | {n: b.model_dump() for n, b in report.baselines.items()}
    return [[key, *(_fmt(s.get(key)) for s in systems.values())] for key in HEADLINE]


def _domain_rows(report: ContextReport) -> list[list[str]]:
    return [
        [name or "(none)", *(_fmt(getattr(scores, c)) for c in DOMAIN_COLUMNS)]
        for name, scores in report.per_domain.items()
    ]


def _markdown_section(report: ContextReport, plots: list[Path], level: str = "#") -> list[str]:
    names = ["baton", *report.baselines]
    lines = [f"Dataset: `{report.meta.get('dataset', '?')}`", ""]
    lines += ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(report)]
    lines += ["", *(f"![{p.stem}]({p.name})" for p in plots), ""]
    if report.per_domain:
        lines += [f"{level}# Per domain", "", "| domain | " + " | ".join(DOMAIN_COLUMNS) + " |"]
        lines += ["|---" * (len(DOMAIN_COLUMNS) + 1) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in _domain_rows(report)]
        lines.append("")
    lines += [f"{level}# Recall per key", ""]
    lines += ["| key | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, value in report.per_key_recall.items():
        base = [_fmt(b.per_key_recall.get(key)) for b in report.baselines.values()]
        lines.append(f"| {key} | {_fmt(value)} | " + " | ".join(base) + " |")
    lines += ["", f"{level}# Missed facts (first {len(report.failures)})", ""]
    for f in report.failures:
        lines.append(f"- `{f.case_id}` **{f.key}** = `{f.value}` (turn {f.turn}): {f.turn_text!r}")
    return lines


def render_markdown(report: ContextReport, plots: list[Path]) -> str:
    """The report as Markdown: headline table, plots, per-domain and per-key tables, a sample of misses."""
    return "\n".join(["# Context transfer eval", "", *_markdown_section(report, plots)]) + "\n"


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(n)}</th>" for n in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _html_section(report: ContextReport, plots: list[Path]) -> str:
    names = ["baton", *report.baselines]
    imgs = "".join(f'<img src="{html.escape(p.name)}" alt="{html.escape(p.stem)}">' for p in plots)
    domains = (
        "<h3>Per domain</h3>" + _table(["domain", *DOMAIN_COLUMNS], _domain_rows(report))
        if report.per_domain
        else ""
    )
    misses = "".join(
        f"<li><code>{html.escape(f.case_id)}</code> <b>{html.escape(f.key)}</b> = "
        f"<code>{html.escape(f.value)}</code> (turn {f.turn}): {html.escape(f.turn_text)}</li>"
        for f in report.failures
    )
    meta = html.escape(json.dumps(report.meta))
    return (
        f"<p><code>{meta}</code></p>{_table(['metric', *names], _rows(report))}{imgs}{domains}"
        f"<h3>Missed facts</h3><ul>{misses}</ul>"
    )


def _page(body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Context transfer eval</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%;margin:1em 0}</style></head><body>"
        f"<h1>Context transfer eval</h1>{body}</body></html>"
    )


def render_html(report: ContextReport, plots: list[Path]) -> str:
    """The same content as :func:`render_markdown`, as a standalone HTML page."""
    return _page(_html_section(report, plots))


def render_suite(suite: ContextSuite, plots: dict[str, list[Path]]) -> tuple[str, str]:
    """HTML and Markdown of several datasets' reports, one section each, each beside its baselines."""
    page = "".join(
        f"<h2>{html.escape(name)}</h2>{_html_section(report, plots[name])}"
        for name, report in suite.datasets.items()
    )
    md = ["# Context transfer eval", ""]
    for name, report in suite.datasets.items():
        md += [f"## {name}", "", *_markdown_section(report, plots[name], level="##"), ""]
    return _page(page), "\n".join(md) + "\n"


def write_report(report: ContextReport | ContextSuite | Path, out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (plus PNGs) into ``out_dir``; returns both paths.

    A path is read as a suite when its JSON has ``datasets``, else as one report.
    """
    loaded: ContextReport | ContextSuite
    if isinstance(report, Path):
        is_suite = "datasets" in json.loads(report.read_text(encoding="utf-8"))
        loaded = load_suite(report) if is_suite else load_report(report)
    else:
        loaded = report
    html_path, md_path = out_dir / "report.html", out_dir / "report.md"
    if isinstance(loaded, ContextSuite):
        plots = {name: write_plots(r, out_dir, f"{name}_") for name, r in loaded.datasets.items()}
        page, md = render_suite(loaded, plots)
    else:
        single = write_plots(loaded, out_dir)
        page, md = render_html(loaded, single), render_markdown(loaded, single)
    html_path.write_text(page, encoding="utf-8")
    md_path.write_text(md, encoding="utf-8")
    return html_path, md_path
