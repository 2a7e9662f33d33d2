"""The checkpoint write path per customer turn, for each ``checkpoint_durability``.

Runs scripted conversations through ``BatonRuntime`` (offline, real_estate policy) on SQLite (or,
``--postgres``, the real Postgres) and counts the saver's calls per turn (``aput`` = checkpoints,
``aput_writes`` calls and their rows, ``aget_tuple`` reads, ``get_tuple`` those of them that reach
the database: a resume hands its check's read to the run, ``graph/head_reuse.py``) and, on SQLite,
the commits they make (``commits``: one per run since ``graph/run_writes.py``), plus process CPU per
turn (``time.process_time``, every thread included; on Postgres the server's is not in it). Modes
alternate ``--rounds`` times so drift in the machine's load hits both.

    .venv/bin/python benchmarks/checkpoint_writes.py --conversations 100 --rounds 2 \\
        --json benchmarks/results/checkpoint_writes.json
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common

from graph.actions import Close, Reply
from graph.runtime import BatonRuntime
from graph.settings import Settings

# (kind, what happens): two bot turns, the turn that hands off, a customer turn while the person holds
# the conversation (a relay), the person's reply and their close (both resumes)
STEPS: list[tuple[str, str | Reply | Close]] = [
    ("bot_turn", "Hi"),
    ("bot_turn", "I want to sell my house"),
    ("handoff_turn", "Can I talk to a real person please?"),
    ("relay_turn", "Are you still there?"),
    ("human_reply", Reply(text="Hello, I'm Maria.")),
    ("human_close", Close()),
]
TURNS = len(STEPS)
POSTGRES_URL = os.environ.get("BATON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
COUNTED = ("aput", "aput_writes", "aget_tuple")


def _count_postgres_reads(calls: collections.Counter[str]) -> Callable[[], None]:
    """Count the reads that reach Postgres (``get_tuple``, as on SQLite); returns the undo."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    read = AsyncPostgresSaver.aget_tuple

    async def reached(self: Any, config: Any) -> Any:
        calls["get_tuple"] += 1
        return await read(self, config)

    AsyncPostgresSaver.aget_tuple = reached  # type: ignore[method-assign]

    def undo() -> None:
        AsyncPostgresSaver.aget_tuple = read  # type: ignore[method-assign]

    return undo


async def measure(mode: str, conversations: int, postgres: bool = False) -> dict[str, Any]:
    """Calls and CPU per turn in one mode, in all and by kind of turn."""
    with common.postgres_schema(POSTGRES_URL) if postgres else contextlib.nullcontext("") as url:
        return await _measure(mode, conversations, url)


async def _measure(mode: str, conversations: int, url: str) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"baton-ckpt-{mode}-"))
    settings = Settings(
        data_dir=tmp / "data",
        policy=common.ROOT / "policies" / "real_estate.yaml",
        offline=True,
        case_memory=False,
        checkpoint_durability=mode,  # type: ignore[arg-type]
    )
    calls: collections.Counter[str] = collections.Counter()
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    undo: Callable[[], None] | None = _count_postgres_reads(calls) if url else None
    async with BatonRuntime.open(settings, checkpoint_url=url) as runtime:
        saver: Any = runtime.graph.checkpointer
        for name in COUNTED:
            original = getattr(saver, name)

            def counted(original: Any = original, name: str = name) -> Any:
                async def call(*args: Any, **kwargs: Any) -> Any:
                    calls[name] += 1
                    if name == "aput_writes":
                        calls["write_rows"] += len(args[1])
                    return await original(*args, **kwargs)

                return call

            setattr(saver, name, counted())
        if not url:
            read = saver.get_tuple

            def reached(config: Any) -> Any:  # an ``aget_tuple`` that reads SQLite (not a handed head)
                calls["get_tuple"] += 1
                return read(config)

            saver.get_tuple = reached

            def traced(statement: str) -> None:  # SQLite's own BEGIN / COMMIT, as the connection runs them
                if statement == "COMMIT":
                    calls["commits"] += 1

            saver.conn.set_trace_callback(traced)

        async def conversation(cid: str) -> None:
            for kind, step in STEPS:
                before, cpu = collections.Counter(calls), time.process_time()
                if isinstance(step, str):
                    await runtime.post_message(cid, step)
                else:
                    await runtime.resume(cid, step)
                by_kind[kind]["cpu_ms"] += (time.process_time() - cpu) * 1000
                by_kind[kind]["turns"] += 1
                by_kind[kind].update(calls - before)

        await conversation("warm-up")
        calls.clear()
        by_kind.clear()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(conversations):
            await conversation(f"c{i}")
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if undo is not None:
        undo()
    n = conversations * TURNS
    return {
        "mode": mode,
        **{f"{k}_per_turn": round(v / n, 2) for k, v in sorted(calls.items())},
        "cpu_ms_per_turn": round(cpu * 1000 / n, 2),
        "wall_ms_per_turn": round(wall * 1000 / n, 2),
        "by_kind": {
            kind: {k: round(v / c["turns"], 2) for k, v in sorted(c.items()) if k != "turns"}
            for kind, c in by_kind.items()
        },
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for _ in range(args.rounds):
        for mode in ("sync", "exit"):
            row = await measure(mode, args.conversations, args.postgres)
            print({k: v for k, v in row.items() if k != "by_kind"})
            rows.append(row)
    summary = {}
    for mode in ("sync", "exit"):
        mine = [r for r in rows if r["mode"] == mode]
        figures = {
            k: round(sum(r[k] for r in mine) / len(mine), 2) for k in mine[0] if k not in ("mode", "by_kind")
        }
        for kind, first in mine[0]["by_kind"].items():
            for k in first:
                figures[f"{kind}.{k}"] = round(sum(r["by_kind"][kind][k] for r in mine) / len(mine), 2)
        summary[mode] = figures
    return {
        "checkpointer": "postgres" if args.postgres else "sqlite",
        "conversations": args.conversations,
        "turns_per_conversation": TURNS,
        "runs": rows,
        "mean": summary,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help=f"the real Postgres ({POSTGRES_URL}, a schema of its own) instead of SQLite: the CPU is"
        " this process's, the server's is not in it",
    )
    parser.add_argument("--json", default=None)
    options = parser.parse_args()
    result = asyncio.run(main(options))
    for mode, figures in result["mean"].items():
        print(common.table(figures.items(), f"checkpoint_durability={mode}"))
    common.write_json(options.json, result)
