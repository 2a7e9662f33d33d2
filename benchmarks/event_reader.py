"""What the scaled profile's event reader costs a worker as it follows more streams.

``RedisEventLog`` (``api/eventlog_redis.py``) gives every open socket of a worker its stream's events
through one reader task. This drives that class against a real Redis (a fresh key prefix, deleted
afterwards): for each ``--followers`` N it opens N followers on N streams, measures the process's
CPU per second while nothing is appended (``--idle-s``), then appends ``--events`` events one at a
time to streams picked in turn and waits for each to reach its follower: CPU per delivered event
(the append's own client work included), append -> delivered latency, and Redis's CPU per event
(``INFO cpu``; nothing else should use that Redis meanwhile). Run it from two checkouts to compare
two versions of the reader.

    .venv/bin/python benchmarks/event_reader.py --json benchmarks/results/event_reader.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from typing import Any

import common
import redis.asyncio as aioredis

from api.eventlog_redis import RedisEventLog
from api.ws_models import CustomerMessageEvent


async def _redis_cpu_s(r: aioredis.Redis) -> float:
    cpu: Any = await r.info("cpu")
    return float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])


async def _one_size(r: aioredis.Redis, n: int, args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"bench:reader:{uuid.uuid4().hex[:8]}:"
    log = RedisEventLog(r, prefix)
    streams = [f"s{i}" for i in range(n)]
    arrived: dict[str, asyncio.Event] = {s: asyncio.Event() for s in streams}

    async def follow(stream: str) -> None:
        async for _ in log.follow(stream, 0):
            arrived[stream].set()

    tasks = [asyncio.create_task(follow(s)) for s in streams]
    try:
        while log.followers < n:
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.5)  # the reader has placed itself and settled
        start = time.process_time()
        await asyncio.sleep(args.idle_s)
        idle_ms_per_s = (time.process_time() - start) * 1000 / args.idle_s

        latencies: list[float] = []
        redis0, start = await _redis_cpu_s(r), time.process_time()
        for i in range(args.events):
            stream = streams[i % n]
            arrived[stream].clear()
            sent = time.perf_counter()
            await log.append(stream, CustomerMessageEvent(conversation_id=stream, text=f"event {i}"))
            await asyncio.wait_for(arrived[stream].wait(), 10)
            latencies.append((time.perf_counter() - sent) * 1000)
        cpu_s, redis_s = time.process_time() - start, await _redis_cpu_s(r) - redis0
        return {
            f"idle_client_cpu_ms_per_s_{n}": common.r(idle_ms_per_s),
            f"client_cpu_us_per_event_{n}": common.r(cpu_s / args.events * 1e6, 1),
            f"redis_cpu_us_per_event_{n}": common.r(redis_s / args.events * 1e6, 1),
            f"delivered_ms_p50_{n}": common.r(common.pct(latencies, 50)),
            f"delivered_ms_p99_{n}": common.r(common.pct(latencies, 99)),
        }
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await log.aclose()
        await common.drop_redis_keys(r, prefix)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    r = aioredis.Redis.from_url(args.redis_url, max_connections=50)
    try:
        result: dict[str, Any] = {"redis_url": args.redis_url, "events": args.events, "idle_s": args.idle_s}
        for n in args.followers:
            result.update(await _one_size(r, n, args))
        return result
    finally:
        await r.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--followers", type=int, nargs="+", default=[1, 100, 500, 1000])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--idle-s", type=float, default=5.0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = asyncio.run(main(args))
    print(common.table(result.items(), "event_reader (RedisEventLog, N followers)"))
    common.write_json(args.json, result)
