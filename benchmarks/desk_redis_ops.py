"""CPU and Redis commands of the Redis desk's background and waiting-room operations.

What a scaled worker and Redis spend while nobody is being handed off, or while customers wait
because every agent is busy, on a real Redis (``BATON_REDIS_URL``, default
``redis://127.0.0.1:6379/0``; a fresh key prefix, deleted afterwards):

* ``submit, offered``: a handoff submitted while ``--agents`` agents have free slots, offered to the best
  of them (the submit, the dispatch that offers it, the read of the result), then ``accept``: the
  agent takes it (what every handoff to a person costs the desk);
* ``heartbeat``: one agent's beat (every connected agent's console answers a ping every 10 s);
* ``recovery check``: is each of ``--held`` open handoffs and ``--agents`` agents known to the desk,
  one ``get()`` / ``get_agent()`` per id (how the recovery pass asked before 90b2c93) and in bulk
  (``unknown_handoffs`` / ``unknown_agents``, when the checked-out code has them);
* ``submit, nobody free``: a handoff queued behind ``--queued`` others while ``--held`` chats fill every
  agent's slots;
* ``tick, nobody free``: the timer pass every worker runs each second, with that queue;
* ``queue_position``: what a waiting customer's widget asks, with ``--agents`` registered;
* ``console waiting poll``: the pending and the offered handoffs, which each agent's console asks for
  every 4 s (``GET /v1/desk/queue``), with that queue and the held chats.

Per call: the client's process CPU, Redis's CPU (``INFO cpu`` of the whole server: run it on a Redis
nothing else uses meanwhile) and the commands Redis ran (a script's own calls count).

    .venv/bin/python benchmarks/desk_redis_ops.py --json benchmarks/results/desk_redis_ops.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import common
import redis.asyncio as aioredis

from desk.config import DeskConfig
from desk.models import AgentSpec, HandoffRequest
from desk.redis_desk import RedisDesk, unique_prefix

REDIS_URL = os.environ.get("BATON_REDIS_URL", "redis://127.0.0.1:6379/0")


def request(handoff_id: str, skill: str) -> HandoffRequest:
    return HandoffRequest(
        handoff_id=handoff_id, conversation_id=f"c-{handoff_id}", priority=50, required_skills=[skill]
    )


def agent(agent_id: str, skill: str, slots: int = 1) -> AgentSpec:
    return AgentSpec(id=agent_id, skills={skill: 0.9}, max_concurrent=slots, status="online")


async def redis_counters(redis: aioredis.Redis) -> tuple[int, float]:
    """Commands Redis has run (``INFO`` itself left out) and its CPU seconds so far."""
    stats: Any = await redis.info("commandstats")
    cpu: Any = await redis.info("cpu")
    calls = sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")
    return calls, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


async def measure(redis: aioredis.Redis, n: int, op: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """Client CPU (ms), Redis CPU (ms) and Redis commands per call of ``op``, over ``n`` calls."""
    calls, redis_cpu = await redis_counters(redis)
    start = time.process_time()
    for _ in range(n):
        await op()
    cpu = time.process_time() - start
    calls_after, redis_cpu_after = await redis_counters(redis)
    return {
        "cpu_ms": round(cpu / n * 1000, 3),
        "redis_cpu_ms": round((redis_cpu_after - redis_cpu) / n * 1000, 3),
        "redis_commands": round((calls_after - calls) / n, 1),
    }


async def offer_path(redis: aioredis.Redis, agents: int) -> dict[str, Any]:
    """Submit (offered at once) and accept, with every agent free (a fresh prefix)."""
    desk = RedisDesk(REDIS_URL, DeskConfig(heartbeat_ttl_s=3600), prefix=unique_prefix("baton:bench:"))
    try:
        for i in range(agents):
            await desk.register_agent(agent(f"f{i:04d}", "legal", 50))  # 220 offers leave each a free slot
        count = iter(range(10**9))
        offered: list[tuple[str, str]] = []

        async def submit() -> None:
            handoff = await desk.submit(request(f"o{next(count)}", "legal"))
            assert handoff.offered_agent_id is not None
            offered.append((handoff.handoff_id, handoff.offered_agent_id))

        await measure(redis, 20, submit)  # warm: the worker's views and rankings
        out = {"submit_offered": await measure(redis, 200, submit)}
        pairs = iter(offered[-200:])

        async def accept() -> None:
            await desk.accept(*next(pairs))

        out["accept"] = await measure(redis, 200, accept)
        return out
    finally:
        await desk.clear()
        await desk.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    redis = aioredis.from_url(REDIS_URL)
    desk = RedisDesk(REDIS_URL, DeskConfig(heartbeat_ttl_s=3600), prefix=unique_prefix("baton:bench:"))
    out: dict[str, Any] = {"agents": args.agents, "held": args.held, "queued": args.queued}
    try:
        out.update(await offer_path(redis, args.agents))
        # Every slot is taken: ``--held`` chats fill the agents, so the queue below waits for a free one.
        slots = max(1, args.held // args.agents)
        ids = [f"a{i:04d}" for i in range(args.agents)]
        for agent_id in ids:
            await desk.register_agent(agent(agent_id, "legal", slots))
        held = []
        for i in range(slots * args.agents):
            handoff = await desk.submit(request(f"held{i}", "legal"))
            assert handoff.offered_agent_id is not None
            await desk.accept(handoff.handoff_id, handoff.offered_agent_id)
            held.append(handoff.handoff_id)
        out["heartbeat"] = await measure(redis, 400, lambda: desk.heartbeat(ids[0]))

        async def each() -> None:
            for handoff_id in held:
                await desk.get(handoff_id)
            for agent_id in ids:
                await desk.get_agent(agent_id)

        out["recovery_check_per_id"] = await measure(redis, 2, each)
        if hasattr(desk, "unknown_handoffs"):

            async def bulk() -> None:
                assert not await desk.unknown_handoffs(held)
                assert not await desk.unknown_agents(ids)

            out["recovery_check_bulk"] = await measure(redis, 5, bulk)
        for i in range(args.queued):
            await desk.submit(request(f"q{i}", "legal"))
        count = iter(range(10**9))
        out["submit_nobody_free"] = await measure(
            redis, 20, lambda: desk.submit(request(f"more{next(count)}", "legal"))
        )
        out["tick_nobody_free"] = await measure(redis, 20, desk.tick)
        out["queue_position"] = await measure(redis, 100, lambda: desk.queue_position("q0"))

        async def console_poll() -> None:  # an agent console's waiting list, every 4 s per console
            await desk.list(status="pending")
            await desk.list(status="offered")

        out["console_waiting_poll"] = await measure(redis, 5, console_poll)
    finally:
        await desk.clear()
        await desk.close()
        await redis.aclose()
    return out


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--held", type=int, default=600, help="accepted handoffs: they fill every agent's slots")
    p.add_argument("--queued", type=int, default=1000, help="handoffs waiting while nobody is free")
    p.add_argument("--json", default=None)
    return p.parse_args()


if __name__ == "__main__":
    options = parse()
    report = asyncio.run(main(options))
    rows = [
        (
            f"{name}: client / Redis ms CPU, commands",
            f"{v['cpu_ms']} / {v['redis_cpu_ms']}, {v['redis_commands']}",
        )
        for name, v in report.items()
        if isinstance(v, dict)
    ]
    title = f"Redis desk, {options.agents} agents, {options.held} held, {options.queued} queued"
    print(common.table(rows, title))
    common.write_json(options.json, report)
