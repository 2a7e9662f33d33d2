"""The checkpoint write path per customer turn, for each ``checkpoint_durability``.

Runs scripted conversations through ``BatonRuntime`` (offline, real_estate policy) on SQLite and
counts the saver's calls per turn (``aput`` = checkpoints, ``aput_writes`` calls and their rows,
``aget_tuple`` reads), plus process CPU per turn (``time.process_time``, the aiosqlite thread
included). Modes alternate ``--rounds`` times so drift in the machine's load hits both.

    .venv/bin/python benchmarks/checkpoint_writes.py --conversations 100 --rounds 2 \\
        --json benchmarks/results/checkpoint_writes.json
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import tempfile
import time
from pathlib import Path
from typing import Any

import common

from graph.actions import Close, Reply
from graph.runtime import BatonRuntime
from graph.settings import Settings

SCRIPT = ["Hi", "I want to sell my house", "Can I talk to a real person please?"]
TURNS = len(SCRIPT) + 2  # and a human reply, then a close


async def measure(mode: str, conversations: int) -> dict[str, Any]:
    """Calls and CPU per turn in one mode."""
    tmp = Path(tempfile.mkdtemp(prefix=f"baton-ckpt-{mode}-"))
    settings = Settings(
        data_dir=tmp / "data",
        policy=common.ROOT / "policies" / "real_estate.yaml",
        offline=True,
        case_memory=False,
        checkpoint_durability=mode,  # type: ignore[arg-type]
    )
    calls: collections.Counter[str] = collections.Counter()
    async with BatonRuntime.open(settings, checkpoint_url="") as runtime:
        saver: Any = runtime.graph.checkpointer
        for name in ("aput", "aput_writes", "aget_tuple"):
            original = getattr(saver, name)

            def counted(original: Any = original, name: str = name) -> Any:
                async def call(*args: Any, **kwargs: Any) -> Any:
                    calls[name] += 1
                    if name == "aput_writes":
                        calls["write_rows"] += len(args[1])
                    return await original(*args, **kwargs)

                return call

            setattr(saver, name, counted())

        async def conversation(cid: str) -> None:
            for text in SCRIPT:
                await runtime.post_message(cid, text)
            await runtime.resume(cid, Reply(text="Hello, I'm Maria."))
            await runtime.resume(cid, Close())

        await conversation("warm-up")
        calls.clear()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(conversations):
            await conversation(f"c{i}")
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = conversations * TURNS
    return {
        "mode": mode,
        **{f"{k}_per_turn": round(v / n, 2) for k, v in sorted(calls.items())},
        "cpu_ms_per_turn": round(cpu * 1000 / n, 2),
        "wall_ms_per_turn": round(wall * 1000 / n, 2),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for _ in range(args.rounds):
        for mode in ("sync", "exit"):
            row = await measure(mode, args.conversations)
            print(row)
            rows.append(row)
    summary = {}
    for mode in ("sync", "exit"):
        mine = [r for r in rows if r["mode"] == mode]
        summary[mode] = {k: round(sum(r[k] for r in mine) / len(mine), 2) for k in mine[0] if k != "mode"}
    return {
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
    parser.add_argument("--json", default=None)
    options = parser.parse_args()
    result = asyncio.run(main(options))
    for mode, figures in result["mean"].items():
        print(common.table(figures.items(), f"checkpoint_durability={mode}"))
    common.write_json(options.json, result)
