"""How long the analytics take over a window of N handoffs (the three /v1/analytics routes' work).

Fills a fresh API store (SQLite in a temp dir, or Postgres in a schema of its own with ``--postgres``)
with N human handoffs under two policy versions, each with the desk-event trail the consumer writes
(created, offered, accepted, completed; every 10th transferred to a second agent, every 20th abandoned
in the queue), first replies and CSAT, then times ``load`` (the reads) and each computation.

    .venv/bin/python benchmarks/analytics_window.py --handoffs 10000 --json benchmarks/results/analytics_window.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common

from api import analytics, analytics_figures
from api.store import ApiStore, open_db
from graph.state import HandoffRecord

T0 = 1_767_614_400.0
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def _event(kind: str, hid: str, t: float, **fields: Any) -> str:
    ts = datetime.fromtimestamp(T0 + t, UTC).isoformat()
    return json.dumps({"type": kind, "ts": ts, "handoff_id": hid, "conversation_id": f"c-{hid}", **fields})


async def fill(store: ApiStore, n: int, agents: int) -> int:
    rows = 0
    for i in range(n):
        hid, t = f"h{i}", i * 3.0
        agent, other = f"agent-{i % agents}", f"agent-{(i + 1) % agents}"
        await store.db.execute(
            "INSERT INTO baton_api_handoffs (id, conversation_id, kind, trigger, target, created_at) "
            "VALUES (?, ?, 'human', ?, 'human_agent', ?)",
            (hid, f"c-{hid}", ("explicit_request", "sentiment_based", "time_based")[i % 3], T0 + t),
        )
        record = HandoffRecord(
            id=hid,
            from_agent="bot",
            to="human_agent",
            kind="human",
            trigger="t",
            rule_id="r",
            policy_version="v1" if i < n // 2 else "v2",
        )
        await analytics.record_policy(store, f"c-{hid}", record, "real_estate", at=T0 + t)
        trail = [_event("handoff_created", hid, t), _event("handoff_offered", hid, t + 1, agent_id=agent)]
        if i % 20 == 19:
            trail.append(_event("handoff_cancelled", hid, t + 20, reason="left"))
        else:
            trail.append(_event("handoff_accepted", hid, t + 5, agent_id=agent, time_to_accept_s=5.0))
            if i % 10 == 9:
                trail += [
                    _event("handoff_transferred", hid, t + 60, from_agent_id=agent, to_agent_id=other),
                    _event("handoff_accepted", hid, t + 70, agent_id=other, time_to_accept_s=70.0),
                ]
            trail.append(_event("handoff_completed", hid, t + 300, agent_id=other if i % 10 == 9 else agent))
            await analytics.record_reply(store, hid, agent, at=T0 + t + 20)
            await store.db.execute(
                "INSERT INTO baton_api_csat (conversation_id, rating, comment, created_at) VALUES (?, ?, '', ?)",
                (f"c-{hid}", 1 + i % 5, T0 + t + 310),
            )
        for j, body in enumerate(trail):
            event = json.loads(body)
            ts = datetime.fromisoformat(event["ts"]).timestamp()
            await store.add_desk_event(f"{hid}-{j}", event["type"], ts, hid, body)
            rows += 1
    return rows


async def measure(store: ApiStore, n: int, runs: int) -> dict[str, float]:
    until = T0 + n * 3.0 + 3600
    timings: dict[str, list[float]] = {"load": [], "summarize": [], "agents": [], "policies": []}
    for _ in range(runs):
        start = time.perf_counter()
        inputs = await analytics.load(store, T0, until)
        timings["load"].append(time.perf_counter() - start)
        for name, fn in (
            ("summarize", analytics_figures.summarize),
            ("agents", analytics_figures.agent_performance),
            ("policies", analytics_figures.policy_outcomes),
        ):
            start = time.perf_counter()
            fn(inputs)  # type: ignore[operator]
            timings[name].append(time.perf_counter() - start)
    summary = analytics_figures.summarize(inputs)
    assert summary.accepted == n - n // 20, summary.accepted  # every handoff but the abandoned, once
    return {name: round(statistics.median(values) * 1000, 1) for name, values in timings.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="Postgres in a schema of its own.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with (
        common.postgres_schema(POSTGRES) if args.postgres else contextlib.nullcontext("sqlite") as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        async with open_db(url, Path(tmp)) as db:
            store = ApiStore(db)
            started = time.perf_counter()
            events = await fill(store, args.handoffs, args.agents)
            fill_s = time.perf_counter() - started
            result = {
                "store": "postgres" if args.postgres else "sqlite",
                "handoffs": args.handoffs,
                "events": events,
                "fill_s": round(fill_s, 1),
                "median_ms": await measure(store, args.handoffs, args.runs),
            }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
