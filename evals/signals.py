"""Signal eval: per-signal precision and recall of the offline analyzer on labelled customer messages.

Each row of the dataset (JSONL) is a message, optionally with what the customer said before it, and
the signals a reader would set after it. Every row goes through the router's own offline analyzer
(:class:`graph.analyzer.OfflineAnalyzer`, no model endpoint, no intent classifier), and each signal is
scored against its label; the rows it gets wrong are listed with the evidence it gave.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph.analyzer import OfflineAnalyzer
from graph.signals import Signals

# Eval signal -> how it reads from Signals. Legal complexity counts at "high", the level that routes.
SIGNALS: dict[str, Callable[[Signals], bool]] = {
    "explicit_human_request": lambda s: s.explicit_human_request,
    "emotional_distress": lambda s: s.emotional_distress,
    "legal_complexity": lambda s: s.legal_complexity == "high",
    "repeated_failure": lambda s: s.failed_attempts >= 1,
    "financing_ready": lambda s: s.financing_ready,
    "urgent_timeline": lambda s: s.timeline == "immediate",
}


class SignalCase(BaseModel):
    """One labelled message; signals missing from ``labels`` are expected unset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    source: str = ""
    license: str = ""
    origin: str = Field(default="", description="Row id in the source data set, where there is one.")
    text: str = Field(min_length=1)
    history: list[str] = Field(default_factory=list, description="Earlier customer turns, oldest first.")
    labels: dict[str, bool]

    def expected(self, signal: str) -> bool:
        """The label of ``signal`` (unset when the row does not name it)."""
        return self.labels.get(signal, False)


class Confusion(BaseModel):
    """A row the analyzer got wrong for one signal."""

    id: str
    text: str
    expected: bool
    evidence: list[str]


class SignalScore(BaseModel):
    """Precision and recall of one signal."""

    signal: str
    support: int = Field(description="Rows labelled with the signal set.")
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    errors: list[Confusion]


class SignalReport(BaseModel):
    """The eval of one dataset."""

    dataset: str
    n: int
    signals: list[SignalScore]
    macro_f1: float
    latency_ms_p50: float = Field(description="Analysis of one message, first sight (nothing cached).")
    latency_ms_p99: float

    def save(self, path: Path) -> None:
        """Write the report as JSON."""
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")


class DatasetError(ValueError):
    """A dataset row that is not a labelled message."""


def load_cases(path: Path) -> list[SignalCase]:
    """Read a JSONL dataset; a bad row is an error naming its line."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = SignalCase.model_validate_json(line)
        except ValidationError as exc:
            msg = f"{path}:{number}: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}"
            raise DatasetError(msg) from exc
        unknown = set(case.labels) - set(SIGNALS)
        if unknown:
            msg = f"{path}:{number}: unknown signal(s) {sorted(unknown)}; known: {sorted(SIGNALS)}"
            raise DatasetError(msg)
        cases.append(case)
    return cases


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def score(cases: Sequence[SignalCase], predicted: Sequence[Signals]) -> list[SignalScore]:
    """Per-signal scores of ``predicted`` (one Signals per case, in order)."""
    scores = []
    for name, read in SIGNALS.items():
        tp = fp = fn = 0
        errors = []
        for case, signals in zip(cases, predicted, strict=True):
            got, want = read(signals), case.expected(name)
            tp += got and want
            fp += got and not want
            fn += want and not got
            if got != want:
                lines = [str(e) for e in signals.evidence if e.signal in ("", _FIELDS.get(name, name))]
                errors.append(Confusion(id=case.id, text=case.text, expected=want, evidence=lines))
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
        scores.append(
            SignalScore(
                signal=name,
                support=tp + fn,
                tp=tp,
                fp=fp,
                fn=fn,
                precision=precision,
                recall=recall,
                f1=f1,
                errors=errors,
            )
        )
    return scores


# The Signals field whose evidence explains an eval signal, where the names differ.
_FIELDS = {"repeated_failure": "failed_attempts", "urgent_timeline": "timeline"}


def run_signal_eval(dataset: Path, analyzer: OfflineAnalyzer | None = None) -> SignalReport:
    """Analyse every row of ``dataset`` and score each signal.

    Args:
        dataset: JSONL of :class:`SignalCase` rows.
        analyzer: The analyzer to measure; the router's offline one (without intents) by default.

    Returns:
        The report, with the rows each signal got wrong.
    """
    cases = load_cases(dataset)
    analyzer = analyzer or OfflineAnalyzer()
    predicted, timings = [], []
    for case in cases:
        started = time.perf_counter()
        predicted.append(analyzer.analyze([*case.history, case.text]))
        timings.append((time.perf_counter() - started) * 1000)
    scores = score(cases, predicted)
    ordered = sorted(timings) or [0.0]
    return SignalReport(
        dataset=str(dataset),
        n=len(cases),
        signals=scores,
        macro_f1=round(statistics.fmean(s.f1 for s in scores), 4) if scores else 0.0,
        latency_ms_p50=round(statistics.median(ordered), 1),
        latency_ms_p99=round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
    )


def summary(report: SignalReport) -> list[tuple[str, str, str, str, str]]:
    """Rows of (signal, support, precision, recall, f1) for a table."""
    return [
        (s.signal, str(s.support), f"{s.precision:.2f}", f"{s.recall:.2f}", f"{s.f1:.2f}")
        for s in report.signals
    ]


def dump_errors(report: SignalReport) -> str:
    """The confusion cases as readable lines (for a developer, not for the report)."""
    lines = []
    for s in report.signals:
        for e in s.errors:
            kind = "FN" if e.expected else "FP"
            lines.append(f"{s.signal} {kind} {e.id}: {e.text!r} | {json.dumps(e.evidence)}")
    return "\n".join(lines)
