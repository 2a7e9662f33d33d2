"""JSON, HTML and Markdown reports for the routing eval, with a confusion-matrix PNG (matplotlib, Agg)."""

from __future__ import annotations

import html as html_lib
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on CI or servers
import matplotlib.pyplot as plt
import numpy as np

from evals.routing import RoutingReport, SystemScores


def plot_confusion(report: RoutingReport, out: Path) -> Path:
    """Department confusion matrix, rows normalised to recall, counts in the cells."""
    labels = report.confusion.labels
    counts = np.array(report.confusion.matrix, dtype=float)
    recall = counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    image = ax.imshow(recall, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted department")
    ax.set_ylabel("gold department")
    ax.set_title(f"Routing confusion ({report.mode}, n={report.n}); colour = share of gold row")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center",
                    color="white" if recall[i, j] > 0.6 else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _f(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3f}"


def _headline(report: RoutingReport) -> list[list[str]]:
    systems: dict[str, SystemScores] = {"baton": report, **report.baselines}
    return [
        [
            name,
            _f(s.accuracy),
            _f(s.macro_f1),
            _f(s.intent_accuracy),
            _f(s.intent_macro_f1),
            f"{s.timings['fit_s']:.2f}",
            f"{s.timings['predict_ms_per_message']:.1f}",
        ]
        for name, s in systems.items()
    ]


HEAD = ["system", "dept acc", "dept macro-F1", "intent acc", "intent macro-F1", "fit s", "ms/msg"]
DEPT_HEAD = ["department", "precision", "recall", "F1", "support"]
MISS_HEAD = ["confidence", "gold → predicted intent", "departments", "text"]


def _sections(report: RoutingReport) -> list[tuple[str, str, list[str], list[list[str]]]]:
    cal = report.calibration
    setup = (
        f"Mode `{report.mode}`" + (f" ({report.folds} folds, seed {report.seed})" if report.folds else "")
        + f", n = {report.n}, dataset `{report.dataset}`"
        + (f", trained on `{report.train}`" if report.train else "")
        + f". Embedding the data once took {report.embed_s:.1f} s."
    )  # fmt: skip
    calib = (
        f"Confidence ≥ {cal.threshold}: {cal.coverage:.1%} of messages, intent accuracy "
        f"{_f(cal.intent_accuracy_above)}, department accuracy {_f(cal.department_accuracy_above)}; "
        f"ECE {cal.ece:.3f}. A policy rule that trusts this threshold is wrong on about "
        f"{1 - cal.department_accuracy_above if not math.isnan(cal.department_accuracy_above) else 0:.1%} "
        "of the messages it fires on."
    )
    depts = [
        [d, _f(c.precision), _f(c.recall), _f(c.f1), str(c.support)] for d, c in report.per_department.items()
    ]
    worst = [
        [i, _f(c.precision), _f(c.recall), _f(c.f1), str(c.support)] for i, c in report.worst_intents.items()
    ]
    misses = [
        [
            f"{m.confidence:.2f}",
            f"{m.gold_intent} → {m.predicted_intent}",
            f"{m.gold_department} → {m.predicted_department}",
            m.text,
        ]
        for m in report.misroutes[:25]
    ]
    return [
        ("Headline", setup, HEAD, _headline(report)),
        ("Per department", "", DEPT_HEAD, depts),
        ("Calibration", calib, [], []),
        ("Weakest intents", "Lowest intent F1: add or rewrite policy examples here first.", ["intent", *DEPT_HEAD[1:]], worst),
        ("Most confident misroutes", "Wrong department, highest confidence first.", MISS_HEAD, misses),
    ]  # fmt: skip


def render_markdown(report: RoutingReport, png: Path | None) -> str:
    """The report as Markdown."""
    out = ["# Routing eval", ""]
    for title, text, head, rows in _sections(report):
        out += [f"## {title}", ""] + ([text, ""] if text else [])
        if head:
            cells = [[c.replace("|", "\\|").replace("\n", " ") for c in row] for row in rows]
            out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            out += ["| " + " | ".join(row) + " |" for row in cells] + [""]
        if title == "Per department" and png is not None:
            out += [f"![department confusion]({png.name})", ""]
    return "\n".join(out)


def render_html(report: RoutingReport, png: Path | None) -> str:
    """The report as a self-contained HTML page (the PNG sits next to it)."""
    e = html_lib.escape
    body = ["<h1>Routing eval</h1>"]
    for title, text, head, rows in _sections(report):
        body.append(f"<h2>{e(title)}</h2>")
        if text:
            body.append(f"<p>{e(text)}</p>")
        if head:
            body.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
            body += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
            body.append("</table>")
        if title == "Per department" and png is not None:
            body.append(f'<img src="{e(png.name)}" alt="department confusion matrix">')
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}"
    )
    meta = f"<meta charset='utf-8'><title>Routing eval</title><style>{style}</style>"
    return f"<!doctype html><html><head>{meta}</head><body>{''.join(body)}</body></html>"


def write_routing_report(report: RoutingReport, out_json: Path, html: Path | None = None) -> None:
    """Write the JSON report and, optionally, an HTML report (Markdown when ``html`` ends in ``.md``).

    Args:
        report: The eval result.
        out_json: JSON path (``report.model_dump()``; NaN becomes null).
        html: HTML or Markdown path; the confusion PNG is written beside it as ``<stem>.confusion.png``.
    """
    out_json.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(report.model_dump_json())  # pydantic writes NaN as null, which JSON readers accept
    out_json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if html is None:
        return
    png = plot_confusion(report, html.with_name(f"{html.stem}.confusion.png"))
    text = render_markdown(report, png) if html.suffix == ".md" else render_html(report, png)
    html.write_text(text, encoding="utf-8")
