"""The same "Hi" handoffs, one after another and with idle time between them: the server's CPU per handoff.

``handoff_load.py`` paces handoffs at a rate, so the worker idles between requests (at 20/s, most of
the time). This script runs one handoff at a time against one ``baton serve`` (embedded, offline):
a customer creates a conversation, says "Hi", asks for a person; the agent the offer reaches (its
WebSocket open, as in the console) reads the brief and accepts. Between handoffs it waits ``--gaps``
milliseconds (rounds alternate the gaps). Server CPU comes from ``/proc`` around each request, so
each step's share is there too (the clock ticks every 10 ms: a step's figure is a mean over many).

    .venv/bin/python benchmarks/paced_cost.py --handoffs 300 --gaps 0,50 --rounds 2 \\
        --json benchmarks/results/paced_cost.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import common
import httpx
import websockets
from bench_server import BatonServer, tree_pids
from cpu_account import cpu_ms
from load_actors import MAX_CONCURRENT, register_agent

ADMIN = "adm_paced"
STEPS = ("create", "hi", "trigger", "brief", "accept")


class Desk:
    """The agents, each following its socket; the offers they receive, by handoff."""

    def __init__(self, server: BatonServer, tokens: dict[str, str]) -> None:
        self.server = server
        self.tokens = tokens
        self.offered: dict[str, asyncio.Future[str]] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def offer_of(self, handoff_id: str) -> asyncio.Future[str]:
        return self.offered.setdefault(handoff_id, asyncio.get_running_loop().create_future())

    async def follow(self, agent_id: str) -> None:
        url = f"{self.server.ws_url}/v1/agents/{agent_id}/ws?token={self.tokens[agent_id]}"
        async with websockets.connect(url, max_queue=None, ping_interval=None) as ws:
            async for raw in ws:
                event = json.loads(raw)
                if event.get("type") == "ping":
                    await ws.send('{"type":"pong"}')
                elif event.get("type") == "offer":
                    offer = self.offer_of(event["handoff_id"])
                    if not offer.done():
                        offer.set_result(agent_id)


async def handoff(http: httpx.AsyncClient, desk: Desk, pids: list[int]) -> dict[str, float]:
    """One "Hi" handoff, request by request; the server's CPU (ms) of each step."""
    spent: dict[str, float] = {}

    async def step(name: str, call: Callable[[], Coroutine[Any, Any, httpx.Response]]) -> httpx.Response:
        before = sum(cpu_ms(p) for p in pids)
        reply = await call()
        spent[name] = sum(cpu_ms(p) for p in pids) - before
        reply.raise_for_status()
        return reply

    created = (await step("create", lambda: http.post("/v1/conversations", json={}))).json()
    path = f"/v1/conversations/{created['conversation_id']}/messages"
    customer = {"Authorization": f"Bearer {created['customer_token']}"}
    await step("hi", lambda: http.post(path, json={"text": "Hi"}, headers=customer))
    trigger = {"text": "Can I talk to a real person please?"}
    turn = (await step("trigger", lambda: http.post(path, json=trigger, headers=customer))).json()
    handoff_id = turn["handoff"]["handoff_id"]
    agent_id = await asyncio.wait_for(desk.offer_of(handoff_id), 30)
    agent = {"Authorization": f"Bearer {desk.tokens[agent_id]}"}
    await step("brief", lambda: http.get(f"/v1/handoffs/{handoff_id}", headers=agent))
    await step("accept", lambda: http.post(f"/v1/handoffs/{handoff_id}/accept", headers=agent))
    return spent


async def main(args: argparse.Namespace) -> dict[str, Any]:
    gaps = [float(g) for g in args.gaps.split(",")]
    env = {"BATON_RATE_LIMIT_PER_MINUTE": "100000", **common.NO_CLIENT_LIMITS_ENV}
    tmp = Path(tempfile.mkdtemp(prefix="baton-paced-"))
    server = BatonServer(tmp / "data", admin_token=ADMIN, env=env)
    await asyncio.to_thread(server.start, 300)
    assert server.proc is not None
    try:
        pids = tree_pids(server.proc.pid)
        total = args.warmup + args.handoffs * args.rounds * len(gaps)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            agents = [
                await register_agent(http, f"paced-{i}", f"Agent {i}", ADMIN)
                for i in range(total // MAX_CONCURRENT + 1)
            ]
            tokens = dict(agents)
            desk = Desk(server, tokens)
            desk.tasks = [asyncio.create_task(desk.follow(a)) for a in tokens]
            await asyncio.sleep(1)
            for _ in range(args.warmup):
                await handoff(http, desk, pids)
            out: dict[str, Any] = {}
            for _ in range(args.rounds):
                for gap in gaps:
                    steps = dict.fromkeys(STEPS, 0.0)
                    before = sum(cpu_ms(p) for p in pids)
                    started = time.perf_counter()
                    for _ in range(args.handoffs):
                        for name, ms in (await handoff(http, desk, pids)).items():
                            steps[name] += ms
                        await asyncio.sleep(gap / 1000)
                    spent = sum(cpu_ms(p) for p in pids) - before
                    key = f"gap_{gap:g}ms"
                    out.setdefault(f"{key}_cpu_ms_per_handoff", []).append(round(spent / args.handoffs, 2))
                    for name, ms in steps.items():
                        out.setdefault(f"{key}_{name}_ms", []).append(round(ms / args.handoffs, 2))
                    out.setdefault(f"{key}_seconds", []).append(round(time.perf_counter() - started, 1))
            for task in desk.tasks:
                task.cancel()
    finally:
        await asyncio.to_thread(server.stop)
    return {"handoffs_per_round": args.handoffs, "rounds": args.rounds, **out}


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--handoffs", type=int, default=300, help="handoffs per round and gap")
    p.add_argument("--gaps", default="0,50", help="milliseconds of idle after each handoff, comma-separated")
    p.add_argument("--rounds", type=int, default=2, help="rounds; each runs every gap in turn")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--json", default=None, help="write the report here")
    return p.parse_args()


if __name__ == "__main__":
    options = parse()
    result = asyncio.run(main(options))
    print(common.table(result.items(), "paced_cost (server CPU per handoff, ms)"))
    common.write_json(options.json, result)
