"""Handoff load: N simulated customers reach a human agent over real HTTP and WebSockets.

Starts its own ``baton serve`` (temp data dir, free port) unless ``--url`` is given. M agents are
registered through the admin API, follow their WebSocket, fetch each offered handoff's brief
(``GET /v1/handoffs/{id}``) and accept it. Customers arrive at ``--rate`` new handoffs per second;
each says "Hi", then asks for a person (the real_estate policy's explicit-request rule) and stays
open. Then ``--live-pairs`` customers open their WebSocket and send messages that the holding agent
must receive (relay latency). Optionally (``--search``) batches at increasing rates find the highest
rate whose trigger -> offered p99 stays <= 100 ms.

Measured (client clock, one process, so every latency is one ``perf_counter`` difference):

* ``offered``: customer's trigger POST sent -> the agent's socket delivers the ``offer`` event.
* ``brief``: trigger POST sent -> the agent's ``GET /v1/handoffs/{id}`` returned the brief.
* ``turn``: trigger POST sent -> its response (the turn is checkpointed before it returns).
* ``relay``: customer sends ``customer_message`` on its socket -> the agent's socket delivers it.

The client shares the 2 cores with the server: its own event-loop delay is inside every figure.

    .venv/bin/python benchmarks/handoff_load.py --conversations 1000 --agents 40 --rate 100 \\
        --json benchmarks/results/load_1000.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import httpx
import websockets
from bench_server import BatonServer, drop_postgres
from load_server import latency_delta, sample_rss, server_env, server_gc, server_latency, tree_rss_mb

TRIGGER = "Can I talk to a real person please?"
ADMIN = "adm_bench_token"
MAX_CONCURRENT = 50  # the API's upper bound per agent


@dataclass
class Stats:
    """Everything measured, keyed by conversation or message id."""

    trigger_at: dict[str, float] = field(default_factory=dict)  # handoff_id -> trigger sent
    offered_ms: dict[str, float] = field(default_factory=dict)
    brief_ms: list[float] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)
    relay_sent: dict[str, float] = field(default_factory=dict)
    relay_ms: list[float] = field(default_factory=list)
    accepted: dict[str, tuple[str, str]] = field(default_factory=dict)  # cid -> (agent, handoff)
    errors: list[str] = field(default_factory=list)
    turns: int = 0
    offered_event: dict[str, asyncio.Event] = field(default_factory=dict)
    offer_at: dict[str, float] = field(default_factory=dict)

    error_count: int = 0

    def error(self, what: str) -> None:
        self.error_count += 1
        if len(self.errors) < 10_000:  # keep a sample of the kinds, count them all
            self.errors.append(what)


@dataclass
class Agent:
    """One simulated agent: a socket reader that accepts offers."""

    agent_id: str
    token: str
    http: httpx.AsyncClient
    stats: Stats
    ws: Any = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def run(self, ws_base: str, ready: asyncio.Event) -> None:
        """Follow the agent's socket; reconnect with ``since`` (counted as an error) if it drops."""
        seq = None
        while True:
            since = "" if seq is None else f"&since={seq}"
            url = f"{ws_base}/v1/agents/{self.agent_id}/ws?token={self.token}{since}"
            try:
                async with websockets.connect(url, max_queue=None, ping_interval=None) as ws:
                    ready.set()
                    async for raw in ws:
                        seq = self._handle(ws, raw if isinstance(raw, str) else raw.decode(), seq)
            except (OSError, websockets.WebSocketException) as exc:
                self.stats.error(f"agent ws {type(exc).__name__}")
            self.stats.error("agent ws dropped")
            await asyncio.sleep(0.2)

    def _handle(self, ws: Any, text: str, seq: int | None) -> int | None:
        now = time.perf_counter()
        if '"type":"ping"' in text:
            asyncio.get_running_loop().create_task(ws.send('{"type":"pong"}'))
            return seq
        if text.startswith('{"seq":'):
            seq = int(text[7 : text.index(",")])
        if '"type":"offer"' in text:
            asyncio.get_running_loop().create_task(self._take(json.loads(text), now))
        elif '"type":"customer_message"' in text:
            body = json.loads(text)["text"]
            sent = self.stats.relay_sent.pop(body, None)
            if sent is not None:
                self.stats.relay_ms.append((now - sent) * 1000)
        return seq

    async def _take(self, offer: dict[str, Any], now: float) -> None:
        hid, stats = offer["handoff_id"], self.stats
        stats.offer_at[hid] = now
        waiter = stats.offered_event.setdefault(hid, asyncio.Event())
        waiter.set()
        try:
            detail = await self.http.get(f"/v1/handoffs/{hid}", headers=self.auth)
            got = time.perf_counter()
            if detail.status_code != 200 or not detail.json().get("brief"):
                stats.error(f"brief {detail.status_code}")
            else:
                stats.offer_at[hid + ":brief"] = got
            accepted = await self.http.post(f"/v1/handoffs/{hid}/accept", headers=self.auth)
            if accepted.status_code != 200:
                stats.error(f"accept {accepted.status_code}: {accepted.text[:120]}")
            else:
                stats.accepted[offer["conversation_id"]] = (self.agent_id, hid)
        except (httpx.HTTPError, OSError) as exc:
            stats.error(f"agent {type(exc).__name__}")


async def customer(http: httpx.AsyncClient, stats: Stats, timeout: float) -> str | None:
    """One customer: create, "Hi", ask for a person, wait for the offer. Returns the conversation."""
    try:
        created = await http.post("/v1/conversations", json={})
        if created.status_code != 201:
            stats.error(f"create {created.status_code}")
            return None
        body = created.json()
        cid, auth = body["conversation_id"], {"Authorization": f"Bearer {body['customer_token']}"}
        hi = await http.post(f"/v1/conversations/{cid}/messages", json={"text": "Hi"}, headers=auth)
        stats.turns += 1
        if hi.status_code != 200:
            stats.error(f"hi {hi.status_code}")
            return None
        started = time.perf_counter()
        turn = await http.post(f"/v1/conversations/{cid}/messages", json={"text": TRIGGER}, headers=auth)
        stats.turns += 1
        stats.turn_ms.append((time.perf_counter() - started) * 1000)
        handoff = turn.json().get("handoff") if turn.status_code == 200 else None
        if not handoff:
            stats.error(f"trigger {turn.status_code}: no handoff")
            return None
        hid = handoff["handoff_id"]
        waiter = stats.offered_event.setdefault(hid, asyncio.Event())
        try:
            await asyncio.wait_for(waiter.wait(), timeout)
        except TimeoutError:
            stats.error("no offer within timeout")
            return None
        stats.offered_ms[hid] = (stats.offer_at[hid] - started) * 1000
        deadline = time.perf_counter() + timeout
        while hid + ":brief" not in stats.offer_at and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        if hid + ":brief" in stats.offer_at:
            stats.brief_ms.append((stats.offer_at[hid + ":brief"] - started) * 1000)
        stats.trigger_at[hid] = started
        return f"{cid} {body['customer_token']}"
    except (httpx.HTTPError, OSError, KeyError, ValueError) as exc:
        stats.error(f"customer {type(exc).__name__}")
        return None


async def arrivals(http: httpx.AsyncClient, stats: Stats, n: int, rate: float, timeout: float) -> list[str]:
    """Start ``n`` customers at ``rate`` per second; wait for all of them."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(n):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(customer(http, stats, timeout)))
    done = await asyncio.gather(*tasks)
    return [c for c in done if c]


async def relay(ws_base: str, stats: Stats, pairs: list[str], messages: int, rate: float) -> None:
    """Open ``pairs`` customer sockets, then send ``messages`` each at ``rate`` messages/s overall."""
    sockets: list[tuple[str, Any]] = []

    async def drain(ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                if '"type":"ping"' in (raw if isinstance(raw, str) else raw.decode()):
                    await ws.send('{"type":"pong"}')

    readers = []
    for pair in pairs:
        cid, token = pair.split()
        try:
            ws = await websockets.connect(
                f"{ws_base}/v1/conversations/{cid}/ws?token={token}", max_queue=None, ping_interval=None
            )
        except (OSError, websockets.WebSocketException) as exc:
            stats.error(f"customer ws {type(exc).__name__}")
            continue
        sockets.append((cid, ws))
        readers.append(asyncio.create_task(drain(ws)))
    await asyncio.sleep(1.0)
    loop = asyncio.get_running_loop()
    start, k = loop.time(), 0
    for m in range(messages):
        for cid, ws in sockets:
            delay = start + k / rate - loop.time()
            k += 1
            if delay > 0:
                await asyncio.sleep(delay)
            text = f"relay {cid} {m}"
            stats.relay_sent[text] = time.perf_counter()
            try:
                await ws.send(json.dumps({"type": "customer_message", "text": text}))
            except websockets.ConnectionClosed:
                stats.error("customer ws closed")
    deadline = time.perf_counter() + 30
    while stats.relay_sent and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    for _ in stats.relay_sent:
        stats.error("relay message lost")
    for _, ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()


async def register_agents(
    http: httpx.AsyncClient, stats: Stats, count: int, ws_base: str
) -> tuple[list[Agent], list[asyncio.Task[None]]]:
    """Register ``count`` online agents with full capacity and connect their sockets."""
    agents: list[Agent] = []
    tasks = []
    admin = {"Authorization": f"Bearer {ADMIN}"}
    for i in range(count):
        body = {
            "id": f"bench-{uuid.uuid4().hex[:6]}-{i}",
            "name": f"Agent {i}",
            "skills": ["real_estate", "empathy", "legal", "luxury"],
            "max_concurrent": MAX_CONCURRENT,
            "status": "online",
        }
        reply = await http.post("/v1/agents", json=body, headers=admin)
        reply.raise_for_status()
        data = reply.json()
        agent = Agent(data["agent_id"], data["agent_token"], http, stats)
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(agent.run(ws_base, ready)))
        await asyncio.wait_for(ready.wait(), 30)
        agents.append(agent)
    return agents, tasks


def summary(stats: Stats, n: int) -> dict[str, Any]:
    """Latency percentiles of one phase."""
    offered = list(stats.offered_ms.values())
    return {
        "handoffs_offered": len(offered),
        "offered_ms_p50": common.r(common.pct(offered, 50)),
        "offered_ms_p95": common.r(common.pct(offered, 95)),
        "offered_ms_p99": common.r(common.pct(offered, 99)),
        "brief_ms_p50": common.r(common.pct(stats.brief_ms, 50)),
        "brief_ms_p99": common.r(common.pct(stats.brief_ms, 99)),
        "turn_ms_p50": common.r(common.pct(stats.turn_ms, 50)),
        "turn_ms_p99": common.r(common.pct(stats.turn_ms, 99)),
    }


async def search(
    http: httpx.AsyncClient, agents: list[Agent], rates: list[float], batch: int, timeout: float
) -> tuple[float | None, list[dict[str, Any]]]:
    """Batches at increasing rates; the highest whose offered p99 <= 100 ms (stops at the first miss)."""
    best, rows = None, []
    for rate in rates:
        stats = Stats()
        for agent in agents:
            agent.stats = stats
        await arrivals(http, stats, batch, rate, timeout)
        row = {"rate": rate, "errors": stats.error_count, **summary(stats, batch)}
        rows.append(row)
        print(f"  search rate {rate:>6.1f}/s: offered p99 {row['offered_ms_p99']} ms, errors {row['errors']}")
        p99 = row["offered_ms_p99"]
        if p99 is None or p99 > 100 or stats.errors:
            break
        best = rate
    return best, rows


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark; returns the JSON report."""
    server: BatonServer | None = None
    base = args.url
    pids: list[int] = []
    if base is None:
        env, workers = server_env(args.profile, args.redis_db)
        tmp = Path(tempfile.mkdtemp(prefix="baton-load-"))
        server = BatonServer(tmp / "data", admin_token=ADMIN, workers=workers, env=env)
        print(f"starting baton serve ({args.profile}, {workers} worker(s)) in {tmp}")
        await asyncio.to_thread(server.start, 180)
        base, pids = server.url, [server.proc.pid] if server.proc else []
    ws_base = base.replace("http", "ws", 1)
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    stats = Stats()
    gc_stats: dict[str, float] = {}
    peak, stop = [0.0], asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pids, peak, stop))
    agent_tasks: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=args.timeout) as http:
            needed = args.conversations + args.warmup + (len(args.rates) * args.batch if args.search else 0)
            n_agents = max(args.agents, math.ceil(needed / MAX_CONCURRENT))
            if n_agents != args.agents:
                print(f"raising agents to {n_agents} so {needed} handoffs fit ({MAX_CONCURRENT} each)")
            agents, agent_tasks = await register_agents(http, stats, n_agents, ws_base)
            print(f"{n_agents} agents online; warming up with {args.warmup} handoffs")
            warm = Stats()
            for agent in agents:  # agents report into the running phase's stats
                agent.stats = warm
            await arrivals(http, warm, args.warmup, 5, args.timeout)
            for agent in agents:
                agent.stats = stats
            rss_before = tree_rss_mb(pids)
            print(f"measuring: {args.conversations} handoffs at {args.rate}/s")
            scrape = await server_latency(http)
            t0 = time.perf_counter()
            open_pairs = await arrivals(http, stats, args.conversations, args.rate, args.timeout)
            elapsed = time.perf_counter() - t0
            server_ms = latency_delta(scrape, await server_latency(http))
            await asyncio.sleep(2.0)  # let the last accepts land
            rss_hold = tree_rss_mb(pids)
            held = len(stats.accepted)
            phase = summary(stats, args.conversations)
            pairs = [p for p in open_pairs if p.split()[0] in stats.accepted][: args.live_pairs]
            print(f"relay: {len(pairs)} live pairs x {args.relay_messages} messages at {args.relay_rate}/s")
            await relay(ws_base, stats, pairs, args.relay_messages, args.relay_rate)
            gc_stats = await server_gc(http)
            best, rows = (None, [])
            if args.search:
                print(f"search: batches of {args.batch} at {args.rates}")
                best, rows = await search(http, agents, args.rates, args.batch, args.timeout)
    finally:
        stop.set()
        await sampler
        for task in agent_tasks:
            task.cancel()
        if server is not None:
            await asyncio.to_thread(server.stop)
            if "BATON_CHECKPOINT_URL" in server.extra_env:
                drop_postgres(server.extra_env["BATON_CHECKPOINT_URL"])
    report: dict[str, Any] = {
        "profile": args.profile if args.url is None else "external",
        "conversations": args.conversations,
        "agents": n_agents,
        "rate": args.rate,
        "held_open": held,
        "errors": stats.error_count,
        "error_kinds": sorted({e.split(" on handoff")[0][:80] for e in stats.errors})[:20],
        **phase,
        "turns_per_s": common.r(stats.turns / elapsed if elapsed else None),
        "handoffs_per_s": common.r(len(stats.offered_ms) / elapsed if elapsed else None),
        "relay_pairs": len(pairs),
        "relay_messages": len(stats.relay_ms),
        "relay_ms_p50": common.r(common.pct(stats.relay_ms, 50)),
        "relay_ms_p99": common.r(common.pct(stats.relay_ms, 99)),
        "rss_mb_before": common.r(rss_before, 1) if pids else None,
        "rss_mb_held": common.r(rss_hold, 1) if pids else None,
        "rss_mb_peak": common.r(peak[0], 1) if pids else None,
        "kb_per_conversation": common.r((rss_hold - rss_before) * 1024 / max(held, 1), 1) if pids else None,
        "max_rate_p99_100ms": best,
        **gc_stats,
        "server_mean_ms_by_route": server_ms,
        "search": rows,
    }
    return report


def parse() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conversations", type=int, default=1000, help="handoffs to create and hold open")
    p.add_argument("--agents", type=int, default=20, help="agents (raised so every handoff fits)")
    p.add_argument("--rate", type=float, default=100.0, help="new handoffs per second")
    p.add_argument("--profile", choices=["embedded", "scaled"], default="embedded")
    p.add_argument("--url", default=None, help="target an already running server (127.0.0.1 only)")
    p.add_argument("--json", default=None, help="write the report here")
    p.add_argument("--live-pairs", type=int, default=1000, help="customer sockets in the relay phase")
    p.add_argument("--relay-messages", type=int, default=3, help="messages per live pair")
    p.add_argument("--relay-rate", type=float, default=50.0, help="relay messages per second overall")
    p.add_argument("--search", action="store_true", help="search max rate with offered p99 <= 100 ms")
    p.add_argument(
        "--rates", type=lambda s: [float(x) for x in s.split(",")], default=[10, 20, 40, 60, 80, 100]
    )
    p.add_argument("--batch", type=int, default=200, help="handoffs per search batch")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--connections", type=int, default=200, help="HTTP connection pool size")
    p.add_argument("--timeout", type=float, default=60.0, help="per request / per offer timeout (s)")
    p.add_argument("--redis-db", type=int, default=7)
    args = p.parse_args()
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        p.error("--url must point at this machine (127.0.0.1 / localhost)")
    return args


if __name__ == "__main__":
    options = parse()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    result = asyncio.run(main(options))
    skip = {"search", "error_kinds", "server_mean_ms_by_route"}
    print(common.table(((k, v) for k, v in result.items() if k not in skip), "handoff_load"))
    print("server-side mean ms by route (one worker):", result["server_mean_ms_by_route"])
    if result["error_kinds"]:
        print("errors:", result["error_kinds"])
    common.write_json(options.json, result)
