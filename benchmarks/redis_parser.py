"""Client CPU of the Redis desk's reads with redis-py's pure-Python reply parser and with hiredis.

A real ``RedisDesk`` on a real Redis (a fresh key prefix, deleted afterwards) with ``--agents`` agents
online, twice: once on a client whose pool uses redis-py's pure-Python RESP parser, once on hiredis (the
default whenever ``hiredis`` is installed). Each round lists every agent (a pipelined HMGET per agent and
a ZMSCORE, as a dispatch reads its candidates), reads one handoff and the event stream. The two clients
alternate in chunks; process CPU per round and per Redis command (counted from the server's ``INFO
commandstats``, so nothing else should use that Redis meanwhile) are reported.

    .venv/bin/python benchmarks/redis_parser.py --json benchmarks/results/redis_parser.json
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import common
import redis.asyncio as aioredis
from redis._parsers import _AsyncHiredisParser, _AsyncRESP2Parser

from desk.models import AgentSpec, HandoffRequest
from desk.redis_desk import RedisDesk

PARSERS: dict[str, Any] = {"python": _AsyncRESP2Parser, "hiredis": _AsyncHiredisParser}


async def _commands(r: aioredis.Redis) -> int:
    stats: Any = await r.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values())


async def _round(desk: RedisDesk, handoff_id: str) -> None:
    await desk.list_agents()
    await desk.get(handoff_id)
    await desk.events_since(None, limit=20)


async def run(url: str, agents: int, rounds: int, chunk: int) -> dict[str, Any]:
    prefix = f"baton:bench:{uuid.uuid4().hex[:8]}:"
    desks = {
        name: RedisDesk(
            aioredis.Redis(connection_pool=aioredis.ConnectionPool.from_url(url, parser_class=p)),
            prefix=prefix,
        )
        for name, p in PARSERS.items()
    }
    setup = desks["hiredis"]
    for i in range(agents):
        spec = AgentSpec(
            id=f"agent-{i}", skills={"billing": 0.8, "sales": 0.5}, max_concurrent=3, status="online"
        )
        await setup.register_agent(spec)
    handoff = await setup.submit(
        HandoffRequest(handoff_id="h-1", conversation_id="c-1", required_skills=["billing"])
    )
    probe = aioredis.Redis.from_url(url)
    cpu = dict.fromkeys(desks, 0.0)
    calls = dict.fromkeys(desks, 0)
    done = dict.fromkeys(desks, 0)
    try:
        for name in desks:  # connect and load the scripts outside the measurement
            await _round(desks[name], handoff.handoff_id)
        for start in range(0, rounds, chunk):
            order = list(desks) if (start // chunk) % 2 == 0 else list(desks)[::-1]
            for name in order:
                before = await _commands(probe)
                started = time.process_time()
                for _ in range(chunk):
                    await _round(desks[name], handoff.handoff_id)
                cpu[name] += time.process_time() - started
                calls[name] += await _commands(probe) - before - 1  # the INFO call itself
                done[name] += chunk
    finally:
        await common.drop_redis_keys(probe, prefix)
        for desk in desks.values():
            await desk.close()
        await probe.aclose()
    out: dict[str, Any] = {"agents": agents, "rounds": rounds}
    for name in desks:
        out[f"{name}_ms_per_round"] = round(cpu[name] / done[name] * 1000, 3)
        out[f"{name}_us_per_command"] = round(cpu[name] / calls[name] * 1e6, 2)
        out[f"{name}_commands_per_round"] = round(calls[name] / done[name], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = asyncio.run(run(args.redis_url, args.agents, args.rounds, args.chunk))
    print(common.table(result.items(), "redis_parser (client process CPU)"))
    common.write_json(args.json, result)


if __name__ == "__main__":
    main()
