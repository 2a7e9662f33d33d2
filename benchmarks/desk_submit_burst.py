"""How many optimistic commits a burst of concurrent submits costs the Redis desk.

Two ``RedisDesk`` instances (two workers) on a fresh key prefix of a real Redis, ``--agents`` online
agents, then ``--burst`` handoffs submitted at once, alternating between the two. Each submit reads
the desk, picks an agent and commits with a version check (``desk/redis_desk.py``'s ``_atomic``); a
commit whose documents another worker changed meanwhile is lost and the submit runs again. Prints the
commits sent and lost per submit, over how many agents the offers spread, the burst's wall time
(first submit sent to last one committed), and how long an agent's accept of an offer made before the
burst takes when it arrives 5 ms into it (another desk operation waiting behind the burst).

    .venv/bin/python benchmarks/desk_submit_burst.py --burst 20 50 200 --json benchmarks/results/desk_submit_burst.json
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextvars
import time
import uuid
from typing import Any

import common
import redis.asyncio as aioredis

from desk.models import AgentSpec, HandoffRequest
from desk.redis_desk import RedisDesk

_PROBE: contextvars.ContextVar[bool] = contextvars.ContextVar("probe", default=False)


async def _accept_during(desk: RedisDesk, handoff_id: str, agent_id: str) -> float:
    """An agent accepting an offer made before the burst, 5 ms into it: how long the accept takes."""
    _PROBE.set(True)  # its commits are not the submits' (this task's context only)
    await asyncio.sleep(0.005)
    started = time.perf_counter()
    await desk.accept(handoff_id, agent_id)
    return (time.perf_counter() - started) * 1000


async def _burst(r: aioredis.Redis, agents: int, burst: int) -> dict[str, Any]:
    prefix = f"bench:burst:{uuid.uuid4().hex[:8]}:"
    desks = [RedisDesk(r, prefix=prefix), RedisDesk(r, prefix=prefix)]
    commits: list[int] = []
    for desk in desks:
        real = desk._commit

        async def counted(*args: Any, _real: Any = real, **options: Any) -> Any:
            result = await _real(*args, **options)
            if not _PROBE.get():
                commits.append(int(result[0]))
            return result

        desk._commit = counted  # type: ignore[method-assign]
    try:
        for i in range(agents):
            spec = AgentSpec(id=f"ag{i}", skills={"x": 0.9}, max_concurrent=5, status="online")
            await desks[0].register_agent(spec)
        probe, _ = await desks[0].submit_placed(HandoffRequest(handoff_id="probe", conversation_id="cp"))
        commits.clear()
        started = time.perf_counter()
        _, accept_ms = await asyncio.gather(
            asyncio.gather(
                *(
                    desks[i % 2].submit_placed(HandoffRequest(handoff_id=f"h{i}", conversation_id=f"c{i}"))
                    for i in range(burst)
                )
            ),
            _accept_during(desks[0], "probe", probe.offered_agent_id or ""),
        )
        wall_ms = (time.perf_counter() - started) * 1000
        offered = collections.Counter()
        for i in range(burst):
            handoff = await desks[0].get(f"h{i}")
            offered[handoff.offered_agent_id or handoff.assigned_agent_id or handoff.status] += 1
        return {
            f"commits_per_submit_{burst}": common.r(len(commits) / burst, 2),
            f"lost_per_submit_{burst}": common.r(commits.count(0) / burst, 2),
            f"agents_offered_{burst}": len(offered),
            f"burst_ms_{burst}": common.r(wall_ms, 1),
            f"accept_during_ms_{burst}": common.r(accept_ms, 1),
        }
    finally:
        await common.drop_redis_keys(r, prefix)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    r = aioredis.from_url(args.redis_url, max_connections=2000)
    try:
        result: dict[str, Any] = {"redis_url": args.redis_url, "agents": args.agents}
        for burst in args.burst:
            result.update(await _burst(r, args.agents, burst))
        return result
    finally:
        await r.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--burst", type=int, nargs="+", default=[1, 20, 50, 200])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = asyncio.run(main(args))
    print(common.table(result.items(), "desk_submit_burst (two Redis desks, concurrent submits)"))
    common.write_json(args.json, result)
