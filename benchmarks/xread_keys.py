"""What one ``XREAD`` costs as it names more streams (the scaled profile's event reader until the
thirty-first session).

``RedisEventLog``'s reader task re-issued one ``XREAD`` over every stream its worker's sockets follow
after each batch it fanned out, and every 250 ms when nothing came; it now takes the streams' channels
over one subscriber connection (``api/eventlog_redis.py``, measured by ``event_reader.py``). This measures
that call against a real Redis (a fresh key prefix, deleted afterwards): ``--keys`` streams with an
entry each, read after that entry (so nothing is returned, as in an idle read or one where only other
streams moved), ``--calls`` times per size, the sizes alternated in chunks. Client process CPU per
call, and Redis's own time per call from ``INFO commandstats`` (nothing else should use that Redis).

    .venv/bin/python benchmarks/xread_keys.py --json benchmarks/results/xread_keys.json
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import common
import redis.asyncio as aioredis


async def _xread_usec(r: aioredis.Redis) -> tuple[int, int]:
    stats: Any = await r.info("commandstats")
    row = stats.get("cmdstat_xread", {})
    return int(row.get("calls", 0)), int(row.get("usec", 0))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    r = aioredis.Redis.from_url(args.redis_url)
    prefix = f"bench:xread:{uuid.uuid4().hex[:8]}:"
    sizes = sorted(set(args.keys))
    keys = [f"{prefix}{i}" for i in range(max(sizes))]
    try:
        async with r.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.xadd(key, {"d": "{}"}, id="1-1")
            await pipe.execute()
        cpu = dict.fromkeys(sizes, 0.0)
        server = dict.fromkeys(sizes, 0)
        done = dict.fromkeys(sizes, 0)
        while any(done[n] < args.calls for n in sizes):
            for n in sizes:
                streams: dict[Any, Any] = {key: "1-1" for key in keys[:n]}
                calls0, usec0 = await _xread_usec(r)
                start = time.process_time()
                for _ in range(args.chunk):
                    await r.xread(streams, count=100)
                cpu[n] += time.process_time() - start
                calls1, usec1 = await _xread_usec(r)
                server[n] += usec1 - usec0
                done[n] += calls1 - calls0
        result: dict[str, Any] = {"redis_url": args.redis_url, "calls_per_size": args.calls}
        for n in sizes:
            result[f"client_us_per_call_{n}_keys"] = common.r(cpu[n] / done[n] * 1e6, 1)
            result[f"redis_us_per_call_{n}_keys"] = common.r(server[n] / done[n], 1)
        return result
    finally:
        for start in range(0, len(keys), 1000):
            await r.delete(*keys[start : start + 1000])
        await r.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keys", type=int, nargs="+", default=[1, 10, 100, 500, 1000])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = asyncio.run(main(args))
    print(common.table(result.items(), "xread_keys (one XREAD over N followed streams)"))
    common.write_json(args.json, result)
