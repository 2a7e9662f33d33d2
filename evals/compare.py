"""Compare two context-eval reports: a table of deltas for every numeric top-level metric.

Run: ``python -m evals.compare old.json new.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# For these, lower is better; a positive delta is a regression.
LOWER_IS_BETTER = frozenset(
    {
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
    }
)


def _load(source: Path | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    path = Path(source)
    if path.is_file():
        data: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    loaded: Mapping[str, Any] = json.loads(str(source))  # a JSON string
    return loaded


def _numeric(data: Mapping[str, Any]) -> dict[str, float | None]:
    return {
        k: (float(v) if v is not None else None)
        for k, v in data.items()
        if (isinstance(v, int | float) and not isinstance(v, bool)) or (v is None and k != "meta")
    }


def _verdict(key: str, delta: float) -> str:
    if delta == 0:
        return ""
    better = delta < 0 if key in LOWER_IS_BETTER else delta > 0
    return "better" if better else "worse"


def _table(title: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    na, nb = _numeric(a), _numeric(b)
    lines = [f"## {title}", "", "| metric | a | b | delta | |", "|---|---|---|---|---|"]
    for key in [*na, *(k for k in nb if k not in na)]:
        va, vb = na.get(key), nb.get(key)
        if va is None or vb is None:
            lines.append(f"| {key} | {va} | {vb} | n/a | |")
            continue
        delta = vb - va
        lines.append(f"| {key} | {va:.4g} | {vb:.4g} | {delta:+.4g} | {_verdict(key, delta)} |")
    return [*lines, ""]


def compare(a_json: Path | str | Mapping[str, Any], b_json: Path | str | Mapping[str, Any]) -> str:
    """Markdown tables of ``b - a`` for the numeric top-level keys and for each shared baseline.

    Args:
        a_json: The reference report (path, JSON string or parsed mapping).
        b_json: The candidate report.
    """
    a, b = _load(a_json), _load(b_json)
    if "datasets" in a and "datasets" in b:  # suites: one set of tables per dataset both ran
        shared = [n for n in a["datasets"] if n in b["datasets"]]
        return "\n".join(_report_tables(a["datasets"][n], b["datasets"][n], f"{n}: ") for n in shared)
    return _report_tables(a, b)


def _report_tables(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> str:
    out = _table(f"{prefix}baton", a, b)
    base_a: Mapping[str, Any] = a.get("baselines", {})
    base_b: Mapping[str, Any] = b.get("baselines", {})
    for name in [n for n in base_a if n in base_b]:
        out += _table(f"{prefix}baseline: {name}", base_a[name], base_b[name])
    return "\n".join(out)
