"""The turn that records a customer's message while a person holds the conversation, in process.

``BatonRuntime`` offline on SQLite: ``--threads`` conversations ask for a person, then ``--turns``
customer messages go round them (each a relay turn: one checkpoint). Prints p50 / p99 / max wall
time per turn and the turns over 8 ms, alternating rounds where the turn's own commit may
checkpoint SQLite's log (``wal_autocheckpoint=1000``, SQLite's default, what Baton did before
e477625) with rounds where only ``graph/wal.py``'s thread does.

    .venv/bin/python benchmarks/relay_turn.py --turns 2000 --rounds 2 \\
        --json benchmarks/results/relay_turn.json
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import common

from graph.runtime import BatonRuntime
from graph.settings import Settings


async def measure(threads: int, turns: int, autocheckpoint: bool) -> list[float]:
    """Wall ms of each relay turn."""
    data = Path(tempfile.mkdtemp(prefix="baton-relay-"))
    settings = Settings(
        data_dir=data,
        policy=common.ROOT / "policies" / "real_estate.yaml",
        offline=True,
        case_memory=False,
    )
    async with BatonRuntime.open(settings, checkpoint_url="") as runtime:
        saver: Any = runtime.graph.checkpointer
        if autocheckpoint:
            saver.conn.execute("PRAGMA wal_autocheckpoint=1000")
        cids = [f"held-{i}" for i in range(threads)]
        for cid in cids:
            await runtime.post_message(cid, "Hi")
            await runtime.post_message(cid, "Can I talk to a real person please?")
        times = []
        for k in range(turns):
            start = time.perf_counter()
            await runtime.post_message(cids[k % threads], f"are you there? ({k})")
            times.append((time.perf_counter() - start) * 1000)
    return times


def figures(times: list[float]) -> dict[str, Any]:
    return {
        "turns": len(times),
        "p50_ms": common.r(common.pct(times, 50)),
        "p99_ms": common.r(common.pct(times, 99)),
        "max_ms": common.r(max(times)),
        "over_8_ms": sum(t > 8 for t in times),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[float]] = {"commit_checkpoints": [], "thread_checkpoints": []}
    for i in range(args.rounds):
        for name in ("commit_checkpoints", "thread_checkpoints") if i % 2 == 0 else reversed(runs):
            runs[name] += await measure(args.threads, args.turns, name == "commit_checkpoints")
    return {"threads": args.threads, "rounds": args.rounds, **{k: figures(v) for k, v in runs.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=100, help="held conversations")
    parser.add_argument("--turns", type=int, default=2000, help="relay turns per round and variant")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", default=None)
    options = parser.parse_args()
    result = asyncio.run(main(options))
    for name in ("commit_checkpoints", "thread_checkpoints"):
        print(common.table(result[name].items(), name))
    common.write_json(options.json, result)
