"""Per-variant outcomes of a policy experiment, from what the service recorded while it ran.

The router puts the experiment and variant on every routing decision and handoff
(``graph.state.HandoffRecord``). The engine records them here as they happen: each conversation once
per experiment (its "unit"), each handoff with its variant. Outcomes join those with the desk events
(acceptance, completion, rollbacks), the CSAT ratings and, for the repeat-question rate, the handoff's
brief and the agent's messages after it. Variants are compared with the first declared one (the
control) by ``api.experiment_stats``.
"""

from __future__ import annotations

import json
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.db import Db
from api.experiment_stats import (
    MIN_N,
    Better,
    Difference,
    Estimate,
    mean_difference,
    mean_interval,
    metric_verdict,
    overall,
    rate_difference,
    wilson,
)
from api.store import ApiStore
from graph.language.reading import read_question
from graph.runtime import BatonRuntime, ConversationNotFound
from graph.runtime_models import ConversationView, TurnResult
from graph.state import HandoffRecord

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS baton_api_experiment_units (
        experiment TEXT NOT NULL, conversation_id TEXT NOT NULL, variant TEXT NOT NULL,
        assigned_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (experiment, conversation_id))""",
    """CREATE TABLE IF NOT EXISTS baton_api_experiment_handoffs (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, experiment TEXT NOT NULL, variant TEXT NOT NULL,
        kind TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
)
_ready: weakref.WeakSet[Db] = weakref.WeakSet()  # databases whose tables exist


async def _tables(db: Db) -> Db:
    if db not in _ready:  # SQLite takes DOUBLE PRECISION as REAL
        for stmt in SCHEMA:
            try:
                await db.execute(stmt)
            except Exception:
                # Postgres: another worker created it at the same moment (IF NOT EXISTS is not atomic
                # there); now it exists, and a second try says so or raises the real problem.
                await db.execute(stmt)
        _ready.add(db)
    return db


async def record_turn(store: ApiStore, conversation_id: str, result: TurnResult) -> None:
    """Count the conversation in the experiment its routing ran under (once per experiment)."""
    routing = result.routing or {}
    if routing.get("experiment"):
        db = await _tables(store.db)
        await db.execute(
            "INSERT INTO baton_api_experiment_units (experiment, conversation_id, variant, assigned_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (experiment, conversation_id) DO NOTHING",
            (routing["experiment"], conversation_id, routing.get("variant", ""), time.time()),
        )


async def record_handoff(store: ApiStore, conversation_id: str, record: HandoffRecord) -> None:
    """Remember which variant started a handoff (the conversation counts as a unit too)."""
    if not record.experiment:
        return
    db = await _tables(store.db)
    now = time.time()
    await db.execute(
        "INSERT INTO baton_api_experiment_units (experiment, conversation_id, variant, assigned_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (experiment, conversation_id) DO NOTHING",
        (record.experiment, conversation_id, record.variant, now),
    )
    await db.execute(
        "INSERT INTO baton_api_experiment_handoffs (id, conversation_id, experiment, variant, kind, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (record.id, conversation_id, record.experiment, record.variant, record.kind, now),
    )


class Metric(BaseModel):
    """One outcome of one variant, and how it compares with the control."""

    estimate: Estimate
    difference: Difference | None = Field(default=None, description="This variant minus the control.")
    outcome: str = Field(
        examples=["better"], description="not_enough_data, no_difference, better, worse, different."
    )
    verdict: str = Field(examples=["B is better on CSAT than A (4.6 vs 4.1, difference +0.50, 95% CI ...)"])


class VariantOutcomes(BaseModel):
    """Every outcome of one variant."""

    variant: str
    control: bool = False
    conversations: int
    metrics: dict[str, Metric]


class ExperimentAnalytics(BaseModel):
    """An experiment's outcomes per variant with 95% intervals, and a plain verdict."""

    experiment: str
    control: str
    min_n: int = Field(description="Observations each variant needs on a metric before it is called.")
    variants: list[VariantOutcomes]
    verdict: str = Field(examples=["not enough data yet"])


MetricKind = Literal["rate", "mean", "seconds"]
# name -> (label, kind, which direction is better)
METRICS: dict[str, tuple[str, MetricKind, Better]] = {
    "handoff_rate": ("handoff rate", "rate", "neither"),
    "time_to_accept_s": ("time to accept", "seconds", "lower"),
    "completion_rate": ("completion", "rate", "higher"),
    "rollback_rate": ("rollbacks", "rate", "lower"),
    "csat": ("CSAT", "mean", "higher"),
    "repeat_question_rate": ("repeat-question rate", "rate", "lower"),
}


class _Observed(BaseModel):
    """Raw observations of one variant: rates as (successes, n), means as values."""

    conversations: int = 0
    rates: dict[str, tuple[int, int]] = Field(default_factory=dict)
    values: dict[str, list[float]] = Field(default_factory=dict)


def asks_again(question_text: str, fact_keys: Iterable[str]) -> bool:
    """Whether an agent message asks for something a brief fact already holds ("What's your budget?"
    after ``budget`` was handed over). Read by the language layer's question reader."""
    keys = {k.lower() for k in fact_keys}
    for question in read_question(question_text):
        if not question.asks or not question.key:
            continue
        for key in keys:
            if question.key == key or key.endswith("_" + question.key) or question.key.endswith("_" + key):
                return True
    return False


def repeated_question(view: ConversationView, record: HandoffRecord) -> bool | None:
    """Whether the agent asked again for a fact of the handoff's brief (``None``: the agent said nothing)."""
    end = record.ended_at if record.ended_at is not None else len(view.transcript)
    said = [t.text for t in view.transcript if t.role == "agent" and record.message_index < t.index < end]
    if not said:
        return None
    keys = [str(f.get("key", "")) for f in record.brief.get("facts", []) if f.get("key")]
    return any(asks_again(text, keys) for text in said)


async def _rows(db: Db, experiment: str) -> tuple[dict[str, str], list[tuple[str, str, str, str]]]:
    units = await db.fetchall(
        "SELECT conversation_id, variant FROM baton_api_experiment_units WHERE experiment = ?", (experiment,)
    )
    handoffs = await db.fetchall(
        "SELECT id, conversation_id, variant, kind FROM baton_api_experiment_handoffs WHERE experiment = ?",
        (experiment,),
    )
    return {str(c): str(v) for c, v in units}, [(str(a), str(b), str(c), str(d)) for a, b, c, d in handoffs]


async def _desk_events(db: Db, experiment: str) -> dict[str, list[dict[str, Any]]]:
    rows = await db.fetchall(
        "SELECT d.data FROM baton_api_desk_events d JOIN baton_api_experiment_handoffs h "
        "ON d.handoff_id = h.id WHERE h.experiment = ? ORDER BY d.ts",
        (experiment,),
    )
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (data,) in rows:
        event = json.loads(data)
        events[str(event.get("handoff_id", ""))].append(event)
    return events


async def _ratings(db: Db, experiment: str) -> dict[str, int]:
    rows = await db.fetchall(
        "SELECT c.conversation_id, c.rating FROM baton_api_csat c JOIN baton_api_experiment_units u "
        "ON c.conversation_id = u.conversation_id WHERE u.experiment = ?",
        (experiment,),
    )
    return {str(cid): int(rating) for cid, rating in rows}


def _ended(events: Sequence[dict[str, Any]]) -> str | None:
    """How a human handoff ended: completed, returned (by an agent), rolled_back, cancelled; or None."""
    for event in events:
        kind = event.get("type")
        if kind == "handoff_completed":
            return "completed"
        if kind == "handoff_expired":
            return "rolled_back"
        if kind == "handoff_returned_to_ai":
            return "returned" if event.get("agent_id") else "rolled_back"
        if kind == "handoff_cancelled":
            return "cancelled"
    return None


async def observe(store: ApiStore, runtime: BatonRuntime | None, experiment: str) -> dict[str, _Observed]:
    """The raw observations of every variant seen in ``experiment``."""
    db = await _tables(store.db)
    units, handoffs = await _rows(db, experiment)
    events = await _desk_events(db, experiment)
    ratings = await _ratings(db, experiment)
    seen: dict[str, _Observed] = defaultdict(_Observed)
    handed: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    accept: dict[str, list[float]] = defaultdict(list)
    repeat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    views: dict[str, ConversationView | None] = {}
    for variant in units.values():
        seen[variant].conversations += 1
    for handoff_id, cid, variant, kind in handoffs:
        if kind != "human":
            continue
        handed[variant].add(cid)
        trail = events.get(handoff_id, [])
        accept[variant] += [
            float(e["time_to_accept_s"]) for e in trail if e.get("type") == "handoff_accepted"
        ]
        ended = _ended(trail)
        rollback = counts[variant]["rollback_rate"]
        rollback[1] += 1
        rollback[0] += ended == "rolled_back"
        if ended is not None:
            completion = counts[variant]["completion_rate"]
            completion[1] += 1
            completion[0] += ended == "completed"
        if runtime is not None:
            if cid not in views:
                try:
                    views[cid] = await runtime.get(cid)
                except ConversationNotFound:
                    views[cid] = None
            view = views[cid]
            record = next((h for h in view.handoffs if h.id == handoff_id), None) if view else None
            asked = repeated_question(view, record) if view and record else None
            if asked is not None:
                repeat[variant][1] += 1
                repeat[variant][0] += asked
    for variant, observed in seen.items():
        observed.rates["handoff_rate"] = (len(handed[variant]), observed.conversations)
        for name in ("completion_rate", "rollback_rate"):
            k, n = counts[variant][name]
            observed.rates[name] = (k, n)
        observed.rates["repeat_question_rate"] = (repeat[variant][0], repeat[variant][1])
        observed.values["time_to_accept_s"] = accept[variant]
        observed.values["csat"] = [float(r) for c, r in ratings.items() if units.get(c) == variant]
    return dict(seen)


def compare(
    experiment: str, order: Sequence[str], observed: dict[str, _Observed], *, min_n: int = MIN_N
) -> ExperimentAnalytics:
    """Estimates, differences from the control (``order[0]``) and verdicts for every variant."""
    names = [*order, *sorted(set(observed) - set(order))]
    control_name = names[0]
    control = observed.get(control_name, _Observed())
    rows: list[VariantOutcomes] = []
    called: list[tuple[str, str]] = []
    for name in names:
        data = observed.get(name, _Observed())
        metrics: dict[str, Metric] = {}
        for metric, (label, kind, better) in METRICS.items():
            difference: Difference | None
            if kind == "rate":
                estimate = wilson(*data.rates.get(metric, (0, 0)))
                base = wilson(*control.rates.get(metric, (0, 0)))
                difference = rate_difference(estimate, base)
            else:
                estimate = mean_interval(data.values.get(metric, []))
                base = mean_interval(control.values.get(metric, []))
                difference = mean_difference(data.values.get(metric, []), control.values.get(metric, []))
            if name == control_name:
                metrics[metric] = Metric(
                    estimate=estimate, outcome="control", verdict=f"{label}: the control"
                )
                continue
            outcome, sentence = metric_verdict(
                label, kind, better, name, estimate, control_name, base, difference, min_n=min_n
            )
            metrics[metric] = Metric(
                estimate=estimate, difference=difference, outcome=outcome, verdict=sentence
            )
            called.append((outcome, sentence))
        rows.append(
            VariantOutcomes(
                variant=name, control=name == control_name, conversations=data.conversations, metrics=metrics
            )
        )
    return ExperimentAnalytics(
        experiment=experiment, control=control_name, min_n=min_n, variants=rows, verdict=overall(called)
    )
