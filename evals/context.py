"""Context-transfer eval on ABCD-shaped data (ABCD, SGD): does the brief carry what the customer said?

Each row is cut at ``handoff_at``; the provider briefs the receiver on ``turns[:handoff_at]``
(customer -> customer, agent -> bot, action -> system, since actions are console logs). Two baselines
bracket the score: ``blind`` (a cold transfer, no facts) and ``last_n`` (a receiver that reads only the
last 6 messages: the gold facts whose value occurs there). Scores are also given per ``department``
(ABCD's department, SGD's first service), and, with a :class:`~evals.turn_latency.TurnTimer`, the
offline signals + brief latency of every customer turn.

Run: ``baton eval context --dataset A.jsonl [--dataset B.jsonl] --report reports/context.json``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from langchain_core.language_models.chat_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from evals import metrics
from evals.turn_latency import TurnTimer, TurnTimes, load_average
from graph.context import HUMAN_SECTIONS, Brief, Fact, build_brief, count_tokens
from graph.context.grounding import find_turn
from graph.transcript import Turn

LAST_N = 6
MAX_FAILURES = 40
ROLE_MAP: dict[str, Literal["customer", "bot", "system"]] = {
    "customer": "customer",
    "agent": "bot",
    "action": "system",
}


class GoldFact(BaseModel):
    """A fact the customer stated, as the dataset records it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    value: str
    turn: int
    before_handoff: bool = True


class AbcdRow(BaseModel):
    """One ABCD conversation (extra dataset fields are ignored, not an error: the file is not ours)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    turns: list[dict[str, str]]
    handoff_at: int
    facts: list[GoldFact]
    department: str = ""
    subflow: str = ""

    def briefing_turns(self) -> list[Turn]:
        """The turns before the handoff, with Baton roles."""
        return [
            Turn(index=i, role=ROLE_MAP.get(t["role"], "system"), text=t["text"], speaker=t["role"])
            for i, t in enumerate(self.turns[: self.handoff_at])
        ]

    def gold(self) -> list[GoldFact]:
        """Facts stated before the handoff (the ones the brief must carry)."""
        return [f for f in self.facts if f.before_handoff]


class BriefProvider(Protocol):
    """Produces the brief for a conversation cut at the handoff."""

    async def __call__(self, turns: Sequence[Turn], case_id: str) -> Brief: ...


class DirectProvider:
    """Calls :func:`graph.context.build_brief` directly (offline unless a model is given)."""

    def __init__(
        self,
        *,
        target: str = "human_agent",
        sections: Sequence[str] = HUMAN_SECTIONS,
        budget_tokens: int = 400,
        model: BaseChatModel | None = None,
    ) -> None:
        self.target, self.sections, self.budget_tokens, self.model = target, sections, budget_tokens, model

    async def __call__(self, turns: Sequence[Turn], case_id: str) -> Brief:
        return await build_brief(
            turns,
            target=self.target,
            sections=self.sections,
            model=self.model,
            budget_tokens=self.budget_tokens,
        )


class CaseResult(BaseModel):
    """Per-conversation scores, kept for plots and debugging (written next to the report)."""

    case_id: str
    system: str
    gold: int
    carried: int
    asked_again: int
    facts: int
    grounded: int
    summary_tokens: int
    brief_tokens: int
    latency_ms: float
    per_key: dict[str, list[int]] = Field(default_factory=dict, description="key -> [carried, total]")
    error: str = ""
    department: str = ""
    precise: int = Field(default=0, description="Brief facts whose value carries a gold value.")
    turn_latency_ms: list[float] = Field(
        default_factory=list, description="Offline signals + brief, per turn."
    )
    turn_cpu_ms: list[float] = Field(
        default_factory=list, description="CPU time of the same work, per turn (steadier on a busy box)."
    )
    changes: int = Field(default=0, description="Gold values the customer replaced in a later turn.")
    changes_marked: int = Field(default=0, description="Of those, marked changed to the later value.")


class Failure(BaseModel):
    """A missed fact, with what a prompt engineer needs to see why."""

    case_id: str
    key: str
    value: str
    turn: int
    turn_text: str
    brief_facts: list[str]


class SystemScores(BaseModel):
    """The headline numbers for one system (Baton or a baseline)."""

    fact_recall: float
    fact_precision: float | None = None
    change_recall: float | None = Field(
        default=None,
        description="Of the values the customer replaced later, the share the brief marks changed to the new one.",
    )
    grounding_precision: float | None
    summary_tokens_median: float
    brief_tokens_median: float
    brief_tokens_p95: float
    repeat_question_rate: float
    latency_ms_p50: float
    latency_ms_p95: float
    n: int
    per_key_recall: dict[str, float]
    turn_latency_ms_p50: float | None = None
    turn_latency_ms_p95: float | None = None
    turn_latency_ms_p99: float | None = None
    turn_cpu_ms_p50: float | None = None
    turn_cpu_ms_p95: float | None = None
    turn_cpu_ms_p99: float | None = None


class DomainScores(BaseModel):
    """Baton's scores on the conversations of one department, beside the last-6 baseline's recall."""

    n: int
    fact_recall: float
    fact_precision: float | None
    repeat_question_rate: float
    last_n_fact_recall: float


class ContextReport(SystemScores):
    """Baton's scores at top level, baselines under ``baselines``; per-case rows are not serialised."""

    failures: list[Failure]
    baselines: dict[str, SystemScores]
    per_domain: dict[str, DomainScores] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    cases: list[CaseResult] = Field(default_factory=list, exclude=True)

    def save(self, path: Path) -> None:
        """Write the JSON report and, beside it, ``<stem>.cases.jsonl`` with per-case rows for plots."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        with path.with_suffix(".cases.jsonl").open("w", encoding="utf-8") as out:
            for case in self.cases:
                out.write(case.model_dump_json() + "\n")


RowPart = Literal["all", "even", "odd"]


def load_rows(dataset: Path, limit: int | None = None, part: RowPart = "all") -> list[AbcdRow]:
    """Read rows from JSONL: ``part`` keeps the even or odd rows (0-based), then the first ``limit``.

    Even and odd rows split a dev file into a development half and a check half: rules are built
    looking at one and measured on the other.
    """
    rows: list[AbcdRow] = []
    with dataset.open(encoding="utf-8") as handle:
        lines = (line for line in handle if line.strip())
        for position, line in enumerate(lines):
            if part != "all" and position % 2 != (part == "odd"):
                continue
            rows.append(AbcdRow.model_validate_json(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _score(
    row: AbcdRow, system: str, facts: Sequence[metrics.FactLike], turns: Sequence[Turn], **extra: Any
) -> CaseResult:
    gold = row.gold()
    changes = metrics.replaced(gold)
    per_key: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for g in gold:
        per_key[g.key][0] += metrics.carried(g, facts)
        per_key[g.key][1] += 1
    return CaseResult(
        case_id=row.id,
        system=system,
        department=row.department,
        gold=len(gold),
        precise=sum(metrics.is_precise(f, gold) for f in facts),
        carried=sum(metrics.carried(g, facts) for g in gold),
        asked_again=sum(metrics.would_ask_again(g, facts) for g in gold),
        facts=len(facts),
        grounded=sum(metrics.is_grounded(f, turns) for f in facts),
        per_key=dict(per_key),
        changes=len(changes),
        changes_marked=sum(metrics.change_marked(a, b, facts) for a, b in changes),
        **extra,
    )


def _baselines(row: AbcdRow, turns: Sequence[Turn]) -> list[CaseResult]:
    blind = _score(row, "blind", [], turns, summary_tokens=0, brief_tokens=0, latency_ms=0.0)
    window = turns[-LAST_N:]
    seen: list[Fact] = []
    for g in row.gold():
        index = find_turn(window, g.value, roles=("customer", "bot", "agent", "system"))
        if index is not None:
            seen.append(Fact(key=g.key, value=g.value, turn=index))
    read = count_tokens("\n".join(t.text for t in window))
    last_n = _score(row, "last_n", seen, turns, summary_tokens=read, brief_tokens=read, latency_ms=0.0)
    return [blind, last_n]


def _aggregate(cases: Sequence[CaseResult]) -> SystemScores:
    gold = sum(c.gold for c in cases)
    facts = sum(c.facts for c in cases)
    changes = sum(c.changes for c in cases)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case in cases:
        for key, (hit, total) in case.per_key.items():
            totals[key][0] += hit
            totals[key][1] += total

    def r(x: float) -> float:
        return x if math.isnan(x) else round(x, 4)

    turn_ms = [ms for c in cases for ms in c.turn_latency_ms]
    cpu_ms = [ms for c in cases for ms in c.turn_cpu_ms]

    def turn(q: float, values: list[float] = turn_ms) -> float | None:
        return r(metrics.percentile(values, q)) if values else None

    return SystemScores(
        fact_recall=r(sum(c.carried for c in cases) / gold) if gold else 1.0,
        fact_precision=r(sum(c.precise for c in cases) / facts) if facts else None,
        change_recall=r(sum(c.changes_marked for c in cases) / changes) if changes else None,
        grounding_precision=r(sum(c.grounded for c in cases) / facts) if facts else None,
        summary_tokens_median=r(metrics.median([c.summary_tokens for c in cases])),
        brief_tokens_median=r(metrics.median([c.brief_tokens for c in cases])),
        brief_tokens_p95=r(metrics.percentile([c.brief_tokens for c in cases], 95)),
        repeat_question_rate=r(sum(c.asked_again for c in cases) / gold) if gold else 0.0,
        latency_ms_p50=r(metrics.percentile([c.latency_ms for c in cases], 50)),
        latency_ms_p95=r(metrics.percentile([c.latency_ms for c in cases], 95)),
        n=len(cases),
        per_key_recall={k: round(h / t, 4) for k, (h, t) in sorted(totals.items(), key=lambda kv: -kv[1][1])},
        turn_latency_ms_p50=turn(50),
        turn_latency_ms_p95=turn(95),
        turn_latency_ms_p99=turn(99),
        turn_cpu_ms_p50=turn(50, cpu_ms),
        turn_cpu_ms_p95=turn(95, cpu_ms),
        turn_cpu_ms_p99=turn(99, cpu_ms),
    )


def _per_domain(baton: Sequence[CaseResult], last_n: Sequence[CaseResult]) -> dict[str, DomainScores]:
    """Scores per department (rows without one are grouped under ``""``)."""
    domains: dict[str, list[CaseResult]] = defaultdict(list)
    for case in baton:
        domains[case.department].append(case)
    window = {c.case_id: c for c in last_n}
    out: dict[str, DomainScores] = {}
    for name in sorted(domains):
        cases = domains[name]
        scores = _aggregate(cases)
        seen = [window[c.case_id] for c in cases if c.case_id in window]
        gold = sum(c.gold for c in seen)
        out[name] = DomainScores(
            n=len(cases),
            fact_recall=scores.fact_recall,
            fact_precision=scores.fact_precision,
            repeat_question_rate=scores.repeat_question_rate,
            last_n_fact_recall=round(sum(c.carried for c in seen) / gold, 4) if gold else 1.0,
        )
    return out


def _failures(row: AbcdRow, brief: Brief | None) -> list[Failure]:
    facts = brief.facts if brief else []
    return [
        Failure(
            case_id=row.id,
            key=g.key,
            value=g.value,
            turn=g.turn,
            turn_text=row.turns[g.turn]["text"][:300],
            brief_facts=[f"{f.key}={f.value}" for f in facts],
        )
        for g in row.gold()
        if not metrics.carried(g, facts)
    ]


async def run_context_eval(
    dataset: Path,
    *,
    provider: BriefProvider,
    limit: int | None = None,
    progress: bool = True,
    timer: TurnTimer | None = None,
    part: RowPart = "all",
) -> ContextReport:
    """Brief every conversation in ``dataset`` through ``provider`` and score it against the baselines.

    A provider error is recorded on the case (scored as an empty brief) instead of aborting the run.
    With a ``timer``, every customer turn before the handoff is also read as production reads it
    (signals, then the offline brief so far) and timed: the ``turn_latency_ms_*`` figures.
    """
    rows = load_rows(dataset, limit, part)
    started, load_before = time.perf_counter(), load_average()
    baton: list[CaseResult] = []
    baseline_cases: dict[str, list[CaseResult]] = defaultdict(list)
    failures: list[Failure] = []
    for row in tqdm(rows, desc="context eval", unit="conv", disable=not progress):
        turns = row.briefing_turns()
        turn_ms = timer(turns) if timer is not None else TurnTimes()
        t0 = time.perf_counter()
        brief: Brief | None = None
        error = ""
        try:
            brief = await provider(turns, row.id)
        except Exception as exc:  # one bad case must not hide the other 299
            error = f"{type(exc).__name__}: {exc}"
        latency = (time.perf_counter() - t0) * 1000
        baton.append(
            _score(
                row,
                "baton",
                brief.facts if brief else [],
                turns,
                summary_tokens=count_tokens(brief.summary) if brief else 0,
                brief_tokens=brief.token_count if brief else 0,
                latency_ms=round(latency, 2),
                error=error,
                turn_latency_ms=turn_ms.wall,
                turn_cpu_ms=turn_ms.cpu,
            )
        )
        failures.extend(_failures(row, brief))
        for case in _baselines(row, turns):
            baseline_cases[case.system].append(case)
    scores = _aggregate(baton)
    return ContextReport(
        **scores.model_dump(),
        failures=failures[:MAX_FAILURES],
        baselines={name: _aggregate(cases) for name, cases in baseline_cases.items()},
        per_domain=_per_domain(baton, baseline_cases["last_n"]),
        meta={
            "dataset": str(dataset),
            "rows": part,
            "provider": type(provider).__name__,
            "elapsed_s": round(time.perf_counter() - started, 2),
            "load_average_1m": [load_before, load_average()],  # at the start and at the end
            "errors": sum(1 for c in baton if c.error),
            "missed_facts": len(failures),
        },
        cases=[*baton, *(c for cases in baseline_cases.values() for c in cases)],
    )
