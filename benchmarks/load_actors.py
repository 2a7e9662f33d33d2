"""The simulated people of the handoff load benchmark: customers, agents and the relay phase.

Customers create a conversation, say "Hi" (or, with ``FirstTurns.from_dataset``, a real customer
message each, so the server reads text it has not cached), then ask for a person and stay open; agents
follow their WebSocket, fetch each offered handoff's brief and accept it. Every latency is measured on the
client's own clock (``time.perf_counter``) and collected in ``Stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import websockets

TRIGGER = "Can I talk to a real person please?"
ADMIN = "adm_bench_token"
MAX_CONCURRENT = 50  # the API's upper bound per agent
RESOLUTION = "Walked the customer through the next steps; they were happy with the answer."
REPLIES = (
    "Hi, I'm Maria from the team. I've read your conversation so far.",
    "Thanks for waiting. I can see what happened and I'm looking into it now.",
    "It's sorted on our side; you should see it within two working days.",
)

T = TypeVar("T")


@dataclass
class Stats:
    """Everything measured, keyed by conversation or message id."""

    trigger_at: dict[str, float] = field(default_factory=dict)  # handoff_id -> trigger sent
    offered_ms: dict[str, float] = field(default_factory=dict)
    brief_ms: list[float] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)
    relay_sent: dict[str, tuple[float, float]] = field(default_factory=dict)  # (perf_counter, time)
    relay_ms: list[float] = field(default_factory=list)
    # the same relay split at the event's server timestamp (taken when the turn that recorded the
    # message is done; one host, one clock): customer send -> recorded, recorded -> agent socket
    relay_recorded_ms: list[float] = field(default_factory=list)
    relay_delivered_ms: list[float] = field(default_factory=list)
    client_lag_ms: list[float] = field(default_factory=list)  # the load client's own loop delay
    accepted: dict[str, tuple[str, str]] = field(default_factory=dict)  # cid -> (agent, handoff)
    errors: list[str] = field(default_factory=list)
    turns: int = 0
    offered_event: dict[str, asyncio.Event] = field(default_factory=dict)
    # set once the agent read the handoff's brief (or failed to)
    brief_event: dict[str, asyncio.Event] = field(default_factory=dict)
    offer_at: dict[str, float] = field(default_factory=dict)

    error_count: int = 0
    shed: int = 0  # turns the server refused with 503 (at capacity) and the customer sent again
    first_turn_handoffs: int = 0  # customers whose first message already reached a person
    completed: int = 0  # handoffs the agent closed with a note after accepting (``--complete``)
    replies: int = 0  # agents' messages to their customers (``--agent-replies``)

    def error(self, what: str) -> None:
        self.error_count += 1
        if len(self.errors) < 10_000:  # keep a sample of the kinds, count them all
            self.errors.append(what)


class FirstTurns:
    """What each customer says before asking for a person, in turn (cycling)."""

    def __init__(self, texts: Sequence[str] = ("Hi",)) -> None:
        if not texts:
            msg = "no first turns"
            raise ValueError(msg)
        self.distinct = len(set(texts))
        self._cycle: Iterator[str] = itertools.cycle(texts)

    @classmethod
    def from_dataset(cls, path: Path) -> FirstTurns:
        """The ``text`` of every row of a JSONL file (Banking77's customer messages: routing_dev.jsonl)."""
        with path.open(encoding="utf-8") as rows:
            return cls([json.loads(line)["text"] for line in rows if line.strip()])

    def next(self) -> str:
        return next(self._cycle)


@dataclass
class Agent:
    """One simulated agent: a socket reader that accepts offers, writes ``replies`` messages to each
    customer it accepted and (``complete``) closes the handoff with a note, so the service remembers it
    as a resolved case."""

    agent_id: str
    token: str
    http: httpx.AsyncClient
    stats: Stats
    ws: Any = None
    complete: bool = False
    replies: int = 0

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
            wall = time.time()
            event = json.loads(text)
            body = event["text"]
            sent = self.stats.relay_sent.pop(body, None)
            if sent is not None:
                sent_perf, sent_wall = sent
                self.stats.relay_ms.append((now - sent_perf) * 1000)
                recorded = datetime.fromisoformat(event["ts"]).timestamp()
                self.stats.relay_recorded_ms.append((recorded - sent_wall) * 1000)
                self.stats.relay_delivered_ms.append((wall - recorded) * 1000)
        return seq

    async def _take(self, offer: dict[str, Any], now: float) -> None:
        hid, stats = offer["handoff_id"], self.stats
        stats.offer_at[hid] = now
        waiter = stats.offered_event.setdefault(hid, asyncio.Event())
        waiter.set()
        try:
            try:
                detail = await self.http.get(f"/v1/handoffs/{hid}", headers=self.auth)
                got = time.perf_counter()
                if detail.status_code != 200 or not detail.json().get("brief"):
                    stats.error(f"brief {detail.status_code}")
                else:
                    stats.offer_at[hid + ":brief"] = got
            finally:
                stats.brief_event.setdefault(hid, asyncio.Event()).set()
            accepted = await self.http.post(f"/v1/handoffs/{hid}/accept", headers=self.auth)
            if accepted.status_code != 200:
                stats.error(f"accept {accepted.status_code}: {accepted.text[:120]}")
                return
            for n in range(self.replies):
                said = await self.http.post(
                    f"/v1/handoffs/{hid}/reply", json={"text": REPLIES[n % len(REPLIES)]}, headers=self.auth
                )
                if said.status_code != 200:
                    stats.error(f"reply {said.status_code}: {said.text[:120]}")
                stats.replies += said.status_code == 200
            if self.complete:
                closed = await self.http.post(
                    f"/v1/handoffs/{hid}/complete", json={"note": RESOLUTION}, headers=self.auth
                )
                if closed.status_code != 200:
                    stats.error(f"complete {closed.status_code}: {closed.text[:120]}")
                stats.completed += closed.status_code == 200
            else:
                stats.accepted[offer["conversation_id"]] = (self.agent_id, hid)
        except (httpx.HTTPError, OSError) as exc:
            stats.error(f"agent {type(exc).__name__}")


async def post_turn(
    http: httpx.AsyncClient, stats: Stats, cid: str, auth: dict[str, str], text: str, timeout: float
) -> httpx.Response:
    """Post a customer turn; on 503 (the server sheds load) wait its Retry-After and send again."""
    deadline = time.perf_counter() + timeout
    while True:
        reply = await http.post(f"/v1/conversations/{cid}/messages", json={"text": text}, headers=auth)
        stats.turns += reply.status_code == 200
        if reply.status_code != 503 or time.perf_counter() > deadline:
            return reply
        stats.shed += 1
        await asyncio.sleep(float(reply.headers.get("retry-after", "1")))


async def customer(http: httpx.AsyncClient, stats: Stats, timeout: float, first: str = "Hi") -> str | None:
    """One customer: create, say ``first``, ask for a person, wait for the offer. Returns the conversation.

    Latencies start at the trigger's first attempt, so time spent refused (503) and retrying counts. A
    first message that already reached a person (a real one may: "I want to speak to someone") is the
    trigger then.
    """
    try:
        created = await http.post("/v1/conversations", json={})
        if created.status_code != 201:
            stats.error(f"create {created.status_code}")
            return None
        body = created.json()
        cid, auth = body["conversation_id"], {"Authorization": f"Bearer {body['customer_token']}"}
        started = time.perf_counter()
        turn = await post_turn(http, stats, cid, auth, first, timeout)
        if turn.status_code != 200:
            stats.error(f"first turn {turn.status_code}")
            return None
        if turn.json().get("handoff"):
            stats.first_turn_handoffs += 1
        else:
            started = time.perf_counter()
            turn = await post_turn(http, stats, cid, auth, TRIGGER, timeout)
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
        # waited on, not polled: thousands of customers polling every 10 ms took the load generator's core
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stats.brief_event.setdefault(hid, asyncio.Event()).wait(), timeout)
        if hid + ":brief" in stats.offer_at:
            stats.brief_ms.append((stats.offer_at[hid + ":brief"] - started) * 1000)
        stats.trigger_at[hid] = started
        return f"{cid} {body['customer_token']}"
    except (httpx.HTTPError, OSError, KeyError, ValueError) as exc:
        stats.error(f"customer {type(exc).__name__}")
        return None


async def register_agent(
    http: httpx.AsyncClient, agent_id: str, name: str, admin_token: str = ADMIN
) -> tuple[str, str]:
    """Register an online agent with every skill the real_estate policy asks for and the API's full
    capacity; its id and token."""
    body = {
        "id": agent_id,
        "name": name,
        "skills": ["real_estate", "empathy", "legal", "luxury"],
        "max_concurrent": MAX_CONCURRENT,
        "status": "online",
    }
    reply = await http.post("/v1/agents", json=body, headers={"Authorization": f"Bearer {admin_token}"})
    reply.raise_for_status()
    data = reply.json()
    return data["agent_id"], data["agent_token"]


def _clients(http: httpx.AsyncClient | Sequence[httpx.AsyncClient]) -> list[httpx.AsyncClient]:
    """One client or several, as a list to take turns on."""
    return [http] if isinstance(http, httpx.AsyncClient) else list(http)


async def paced(calls: Iterable[Callable[[], Coroutine[Any, Any, T]]], rate: float) -> list[T]:
    """Start each call as a task, ``rate`` per second on a fixed schedule (a slow one does not delay
    the next); wait for all and return their results in order."""
    loop = asyncio.get_running_loop()
    start, tasks = loop.time(), []
    for i, call in enumerate(calls):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(call()))
    return list(await asyncio.gather(*tasks))


async def arrivals(
    http: httpx.AsyncClient | Sequence[httpx.AsyncClient],
    stats: Stats,
    n: int,
    rate: float,
    timeout: float,
    first: FirstTurns | None = None,
) -> list[str]:
    """Start ``n`` customers at ``rate`` per second, each saying ``first``'s next text; wait for all.

    Given several clients, customer ``i`` uses client ``i mod len``: customers whose requests travel
    on connections of their own, as browsers' do, instead of one pool's first idle connection.
    """
    pools = _clients(http)
    first = first or FirstTurns()
    calls = (partial(customer, pools[i % len(pools)], stats, timeout, first.next()) for i in range(n))
    return [c for c in await paced(calls, rate) if c]


async def loop_lag(samples: list[float], period: float = 0.005) -> None:
    """How late this process's loop wakes a ``period`` sleep: the client's delay inside its latencies."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(period)
        samples.append((time.perf_counter() - start - period) * 1000)


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
    lag = asyncio.create_task(loop_lag(stats.client_lag_ms))
    start, k = loop.time(), 0
    for m in range(messages):
        for cid, ws in sockets:
            delay = start + k / rate - loop.time()
            k += 1
            if delay > 0:
                await asyncio.sleep(delay)
            text = f"relay {cid} {m}"
            stats.relay_sent[text] = (time.perf_counter(), time.time())
            try:
                await ws.send(json.dumps({"type": "customer_message", "text": text}))
            except websockets.ConnectionClosed:
                stats.error("customer ws closed")
    deadline = time.perf_counter() + 30
    while stats.relay_sent and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    lag.cancel()
    for _ in stats.relay_sent:
        stats.error("relay message lost")
    for _, ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()


async def register_agents(
    http: httpx.AsyncClient | Sequence[httpx.AsyncClient],
    stats: Stats,
    count: int,
    ws_base: str,
    complete: bool = False,
    replies: int = 0,
) -> tuple[list[Agent], list[asyncio.Task[None]]]:
    """Register ``count`` online agents with full capacity and connect their sockets (they write
    ``replies`` messages to each customer they accept and, with ``complete``, then close the handoff).

    Given several clients, agent ``i`` reads briefs and accepts on client ``i mod len``, as consoles
    each have connections of their own: on one pool every agent's request took its first idle
    connection, so with ``SO_REUSEPORT`` workers they all reached the worker that connection hashed to.
    """
    pools = _clients(http)
    http = pools[0]
    agents: list[Agent] = []
    tasks = []
    for i in range(count):
        agent_id, token = await register_agent(http, f"bench-{uuid.uuid4().hex[:6]}-{i}", f"Agent {i}")
        agent = Agent(
            agent_id,
            token,
            pools[i % len(pools)],
            stats,
            complete=complete,
            replies=replies,
        )
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(agent.run(ws_base, ready)))
        await asyncio.wait_for(ready.wait(), 30)
        agents.append(agent)
    return agents, tasks
