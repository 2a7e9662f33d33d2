"""A scaled worker's Postgres path in process: the checkpointer per turn and the API store per statement.

* Checkpointer: the same scripted conversations as ``checkpoint_writes.py`` (two bot turns, the
  handoff, a relay, the person's reply and close) through ``BatonRuntime`` on the real Postgres,
  alternating in chunks between LangGraph's ``AsyncPostgresSaver`` (serialises each call's blobs,
  writes and pending writes on a thread) and Baton's ``InlinePostgresSaver`` (in place). Process CPU
  per turn (every thread), wall time per turn, and the thread hops (``asyncio.to_thread``) per turn.
* API store: an insert and a select through ``api.db``'s pool, alternating between connections that
  wrap each statement in ``BEGIN`` ... ``COMMIT`` (what the pool did before 8ec4527) and autocommit
  ones; client CPU and wall time per statement.

    .venv/bin/python benchmarks/postgres_path.py --conversations 20 --rounds 6 \\
        --json benchmarks/results/postgres_path.json

Needs the PostgreSQL of ``.ci/run`` (``BATON_TEST_POSTGRES_URL``, default the local ``test`` db).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import common
from checkpoint_writes import STEPS, TURNS
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg_pool import AsyncConnectionPool

from api.db import _Postgres
from graph.runtime import BatonRuntime
from graph.settings import Settings

URL = os.environ.get("BATON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def checkpointer(conversations: int, rounds: int) -> dict[str, Any]:
    """CPU, wall time and thread hops per turn on each saver, alternating chunks."""
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="baton-pgpath-")),
        policy=common.ROOT / "policies" / "real_estate.yaml",
        offline=True,
        case_memory=False,
    )
    totals: dict[str, dict[str, float]] = collections.defaultdict(lambda: collections.defaultdict(float))
    hops = collections.Counter[str]()
    real_to_thread = asyncio.to_thread

    async def counted(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops["now"] += 1
        return await real_to_thread(func, *args, **kwargs)

    asyncio.to_thread = counted  # type: ignore[assignment]
    threads: list[str] = []
    async with (
        BatonRuntime.open(settings, checkpoint_url=URL) as runtime,
        AsyncPostgresSaver.from_conn_string(URL) as stock,
    ):
        savers = {"inline": runtime.graph.checkpointer, "stock": stock}

        async def chunk(name: str) -> None:
            runtime.graph.checkpointer = savers[name]
            hops.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(conversations):
                cid = f"pgpath-{uuid.uuid4().hex}"
                threads.append(cid)
                for _kind, step in STEPS:
                    if isinstance(step, str):
                        await runtime.post_message(cid, step)
                    else:
                        await runtime.resume(cid, step)
            totals[name]["cpu_s"] += time.process_time() - cpu
            totals[name]["wall_s"] += time.perf_counter() - wall
            totals[name]["hops"] += hops["now"]
            totals[name]["turns"] += conversations * TURNS

        await chunk("inline")  # warm-up: models, caches, prepared statements
        await chunk("stock")
        totals.clear()
        for i in range(rounds):
            for name in ("stock", "inline") if i % 2 == 0 else ("inline", "stock"):
                await chunk(name)
        for cid in threads:
            await stock.adelete_thread(cid)
    asyncio.to_thread = real_to_thread
    return {
        name: {
            "cpu_ms_per_turn": round(t["cpu_s"] * 1000 / t["turns"], 3),
            "wall_ms_per_turn": round(t["wall_s"] * 1000 / t["turns"], 3),
            "thread_hops_per_turn": round(t["hops"] / t["turns"], 2),
            "turns": int(t["turns"]),
        }
        for name, t in totals.items()
    }


async def store(statements: int, rounds: int) -> dict[str, Any]:
    """Client CPU and wall time per statement with and without a transaction around each."""
    dbs = {}
    pools = []
    for name, kwargs in (("begin_commit", {}), ("autocommit", {"autocommit": True})):
        pool = AsyncConnectionPool(URL, min_size=1, max_size=8, open=False, kwargs=kwargs)
        await pool.open(wait=True)
        pools.append(pool)
        dbs[name] = _Postgres(pool)
    table = f"pgpath_{uuid.uuid4().hex[:8]}"
    await dbs["autocommit"].execute(f"CREATE TABLE {table} (k text, v text)")
    totals: dict[str, list[float]] = {name: [0.0, 0.0] for name in dbs}
    try:
        for i in range(rounds):
            for name in ("begin_commit", "autocommit") if i % 2 == 0 else ("autocommit", "begin_commit"):
                db = dbs[name]
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(statements // 2):
                    await db.execute(f"INSERT INTO {table} VALUES (?, ?)", ("key", "value"))
                    await db.fetchall(f"SELECT k FROM {table} LIMIT 1")
                totals[name][0] += time.process_time() - cpu
                totals[name][1] += time.perf_counter() - wall
    finally:
        await dbs["autocommit"].execute(f"DROP TABLE {table}")
        for pool in pools:
            await pool.close()
    n = rounds * (statements // 2) * 2
    return {
        name: {
            "cpu_ms_per_statement": round(c * 1000 / n, 3),
            "wall_ms_per_statement": round(w * 1000 / n, 3),
        }
        for name, (c, w) in totals.items()
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "conversations_per_chunk": args.conversations,
        "rounds": args.rounds,
        "checkpointer": await checkpointer(args.conversations, args.rounds),
        "store": await store(args.statements, args.rounds * 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=20, help="conversations per chunk")
    parser.add_argument("--rounds", type=int, default=6, help="alternating chunk pairs")
    parser.add_argument("--statements", type=int, default=400, help="store statements per chunk")
    parser.add_argument("--json", default=None)
    options = parser.parse_args()
    result = asyncio.run(main(options))
    for part in ("checkpointer", "store"):
        for name, figures in result[part].items():
            print(common.table(figures.items(), f"{part}: {name}"))
    common.write_json(options.json, result)
