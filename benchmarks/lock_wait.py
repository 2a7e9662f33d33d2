"""How long a worker waits for a conversation another worker has just let go (scaled profile).

Two ``ConversationEngine``s on one Redis (two workers): the first holds a conversation for
``--hold-ms``, the second asks for it meanwhile (a customer's line while the agent's reply runs on
the other worker) and the time from the first's release to the second's entry is measured, with the
engine's poll interval (``api.conversation_lock.LOCK_POLL_S``) and with redis-py's default (0.1 s).

    .venv/bin/python benchmarks/lock_wait.py --json benchmarks/results/lock_wait.json
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any, cast

import common
import redis.asyncio as aioredis

import api.conversation_lock
from api.engine import ConversationEngine


async def one_wait(first: ConversationEngine, second: ConversationEngine, hold_s: float) -> float:
    """Milliseconds from the first worker's release to the second worker's entry."""
    cid = f"c-{uuid.uuid4().hex}"
    holding = asyncio.Event()
    released: list[float] = []

    async def hold() -> None:
        async with first.locked(cid):
            holding.set()
            await asyncio.sleep(hold_s)
            released.append(time.perf_counter())

    holder = asyncio.create_task(hold())
    await holding.wait()
    async with second.locked(cid):
        entered = time.perf_counter()
    await holder
    return (entered - released[0]) * 1000


async def main(args: argparse.Namespace) -> dict[str, Any]:
    client = aioredis.from_url(args.redis)
    prefix = f"bench-lock-{uuid.uuid4().hex[:8]}:"
    unused = cast(Any, None)
    first, second = (
        ConversationEngine(unused, unused, unused, unused, redis=client, prefix=prefix) for _ in "ab"
    )
    report: dict[str, Any] = {"hold_ms": args.hold_ms, "trials": args.trials}
    try:
        for label, poll in (("engine", api.conversation_lock.LOCK_POLL_S), ("redis_py_default", 0.1)):
            api.conversation_lock.LOCK_POLL_S = poll
            waits = [await one_wait(first, second, args.hold_ms / 1000) for _ in range(args.trials)]
            report[f"{label}_poll_ms"] = poll * 1000
            report[f"{label}_wait_ms_p50"] = common.r(common.pct(waits, 50))
            report[f"{label}_wait_ms_max"] = common.r(max(waits))
    finally:
        await client.aclose()
    return report


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--hold-ms", type=float, default=37.0, help="how long the first worker holds it")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    out = asyncio.run(main(args))
    print(common.table(out.items(), "lock_wait"))
    common.write_json(args.json, out)
