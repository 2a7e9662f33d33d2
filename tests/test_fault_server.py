"""Fault tests against a real ``baton serve`` subprocess: kill -9, dropped sockets, agents that vanish."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench_server import (
    TRIGGER,
    BatonServer,
    Customer,
    RedisProcess,
    admin,
    agent_ws,
    customer_ws,
    drop_postgres,
    fresh_postgres,
    new_customer,
    register,
    say,
)
from conftest import POSTGRES_URL, _postgres_ok, service_missing

pytestmark = pytest.mark.slow
_databases: list[str] = []
_redises: list[RedisProcess] = []


@pytest.fixture
async def servers() -> AsyncIterator[list[BatonServer]]:
    """Servers started by a test; all stopped at teardown."""
    started: list[BatonServer] = []
    yield started
    for server in started:
        await asyncio.to_thread(server.stop)
    while _databases:
        drop_postgres(_databases.pop())
    while _redises:
        _redises.pop().kill()


async def start(servers: list[BatonServer], server: BatonServer) -> BatonServer:
    servers.append(server)
    await asyncio.to_thread(server.start, 180)
    return server


async def scaled_env(tmp_path: Path, redis: RedisProcess | None = None) -> dict[str, str]:
    """Postgres checkpoints and a dedicated Redis (started here unless given)."""
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    if redis is None:
        redis = RedisProcess(tmp_path / "redis", appendonly=True).start()
        _redises.append(redis)
    url = fresh_postgres(POSTGRES_URL)  # a server recovers every unfinished handoff it finds there
    _databases.append(url)
    return {"BATON_CHECKPOINT_URL": url, "BATON_REDIS_URL": redis.url, "BATON_REDIS_PREFIX": "fault:"}


async def handoff_started(http: httpx.AsyncClient) -> tuple[Customer, str]:
    """A customer who said hello and asked for a person; the acknowledged handoff id."""
    customer = await new_customer(http)
    await say(http, customer, "Hi, I'm Dana and I want to sell my 3 bedroom house in Brookline")
    turn = await say(http, customer, TRIGGER)
    assert turn["handoff"] is not None
    assert turn["handoff"]["kind"] == "human"
    return customer, turn["handoff"]["handoff_id"]


async def wait_until(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll an async ``check`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            msg = f"condition not met within {timeout}s (last: {value!r})"
            raise AssertionError(msg)
        await asyncio.sleep(every)


# -- kill -9 mid-handoff ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "profile",
    [
        "embedded",  # the in-memory desk is rebuilt at start-up from the stored agents and checkpoints
        "scaled",
    ],
)
async def test_kill9_mid_handoff_agent_can_resume(
    profile: str, tmp_path: Path, servers: list[BatonServer]
) -> None:
    env = await scaled_env(tmp_path) if profile == "scaled" else {}
    server = await start(servers, BatonServer(tmp_path / "data", env=env))
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        agent = await register(http, server, "maria", status="offline")
        customer, handoff_id = await handoff_started(http)

        await asyncio.to_thread(server.kill9)
        await asyncio.to_thread(server.start, 180)

        # The admin's view: a customer is not shown the brief.
        view = (await http.get(f"/v1/conversations/{customer.cid}", headers=admin(server))).json()
        assert view["status"] == "awaiting_human"
        assert [t["text"] for t in view["transcript"] if t["role"] == "customer"][-1] == TRIGGER
        assert view["handoff"]["id"] == handoff_id
        assert view["handoff"]["brief"], "the brief is checkpointed with the handoff"

        status = await http.put(
            f"/v1/agents/{agent.agent_id}/status", json={"status": "online"}, headers=agent.auth
        )
        assert status.status_code == 200, status.text
        accepted = await http.post(f"/v1/handoffs/{handoff_id}/accept", headers=agent.auth)
        assert accepted.status_code == 200, accepted.text
        detail = (await http.get(f"/v1/handoffs/{handoff_id}", headers=agent.auth)).json()
        # The agent's brief is the checkpointed one plus the request fields and notes added from outside.
        shown = {k: v for k, v in detail["brief"].items() if k not in ("request", "added")}
        assert shown == view["handoff"]["brief"]
        assert detail["brief"]["added"] == []
        reply = await http.post(
            f"/v1/handoffs/{handoff_id}/reply", json={"text": "Hi Dana, Maria here."}, headers=agent.auth
        )
        assert reply.status_code == 200, reply.text
        after = (await http.get(f"/v1/conversations/{customer.cid}", headers=customer.auth)).json()
        assert after["transcript"][-1]["text"] == "Hi Dana, Maria here."
        assert after["transcript"][-1]["role"] == "agent"


@pytest.mark.parametrize("profile", ["embedded", "scaled"])
async def test_kill9_after_accept_the_agent_keeps_the_chat(
    profile: str, tmp_path: Path, servers: list[BatonServer]
) -> None:
    """A restart is not the agent's doing: the accepted chat stays theirs, nobody else is offered it.

    The server stays down longer than the heartbeat TTL: no console could heartbeat meanwhile, so the
    downtime must not count as the agents' silence.
    """
    ttl_s = 8.0
    desk = tmp_path / "desk.yaml"
    desk.write_text(f"heartbeat_ttl_s: {ttl_s}\n", encoding="utf-8")
    env = {"BATON_DESK_CONFIG": str(desk), "BATON_DESK_TICK_S": "0.2"}
    if profile == "scaled":
        env |= await scaled_env(tmp_path)
    server = await start(servers, BatonServer(tmp_path / "data", env=env))
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        maria = await register(http, server, "maria")
        customer, handoff_id = await handoff_started(http)
        accepted = await http.post(f"/v1/handoffs/{handoff_id}/accept", headers=maria.auth)
        assert accepted.status_code == 200, accepted.text
        lee = await register(http, server, "lee")  # free when the restart comes: a candidate for an offer
        first = await http.post(
            f"/v1/handoffs/{handoff_id}/reply", json={"text": "Hi Dana, Maria here."}, headers=maria.auth
        )
        assert first.status_code == 200, first.text
        for agent in (maria, lee):
            beat = await http.post(f"/v1/agents/{agent.agent_id}/heartbeat", headers=agent.auth)
            assert beat.status_code == 200, beat.text

        await asyncio.to_thread(server.kill9)
        await asyncio.sleep(ttl_s + 1)
        await asyncio.to_thread(server.start, 180)
        for agent in (maria, lee):  # the consoles reconnect
            beat = await http.post(f"/v1/agents/{agent.agent_id}/heartbeat", headers=agent.auth)
            assert beat.status_code == 200, beat.text

        detail = (await http.get(f"/v1/handoffs/{handoff_id}", headers=admin(server))).json()
        assert detail["handoff"]["status"] == "active"
        assert detail["handoff"]["assigned_agent_id"] == maria.agent_id
        holder = (await http.get(f"/v1/agents/{maria.agent_id}", headers=maria.auth)).json()
        assert holder["active_handoff_ids"] == [handoff_id], "her capacity counts the chat"
        other = (await http.get(f"/v1/agents/{lee.agent_id}", headers=lee.auth)).json()
        assert other["offered_handoff_ids"] == []
        again = await http.post(
            f"/v1/handoffs/{handoff_id}/reply", json={"text": "Still here, Dana."}, headers=maria.auth
        )
        assert again.status_code == 200, again.text
        view = (await http.get(f"/v1/conversations/{customer.cid}", headers=customer.auth)).json()
        assert [t["text"] for t in view["transcript"] if t["role"] == "agent"] == [
            "Hi Dana, Maria here.",
            "Still here, Dana.",
        ]


async def test_kill9_mid_handoff_keeps_turn_handoff_and_brief(
    tmp_path: Path, servers: list[BatonServer]
) -> None:
    """Embedded profile: what the customer was acknowledged survives SIGKILL (SQLite checkpoints)."""
    server = await start(servers, BatonServer(tmp_path / "data"))
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        customer, handoff_id = await handoff_started(http)
        # The admin's view: a customer is not shown the brief.
        before = (await http.get(f"/v1/conversations/{customer.cid}", headers=admin(server))).json()

        await asyncio.to_thread(server.kill9)
        await asyncio.to_thread(server.start, 180)

        after = (await http.get(f"/v1/conversations/{customer.cid}", headers=admin(server))).json()
        assert after["transcript"] == before["transcript"]
        assert after["status"] == "awaiting_human"
        assert after["handoff"]["id"] == handoff_id
        assert after["handoff"]["brief"] == before["handoff"]["brief"]
        assert after["seq"] == before["seq"], "the event log survived too"
        replay = await customer_ws(server, customer, since=0).open()
        try:
            await replay.wait(lambda e: e["seq"] == before["seq"])
            assert [e["seq"] for e in replay.events] == list(range(1, before["seq"] + 1))
        finally:
            await replay.close()


# -- WebSocket drops -------------------------------------------------------------------------------
async def test_socket_drop_on_either_side_loses_and_duplicates_nothing(
    tmp_path: Path, servers: list[BatonServer]
) -> None:
    server = await start(servers, BatonServer(tmp_path / "data"))
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        agent = await register(http, server, "maria")
        agent_sock = await agent_ws(server, agent).open()
        customer, handoff_id = await handoff_started(http)
        await agent_sock.wait(lambda e: e["type"] == "offer" and e["handoff_id"] == handoff_id)
        accepted = await http.post(f"/v1/handoffs/{handoff_id}/accept", headers=agent.auth)
        assert accepted.status_code == 200, accepted.text
        cust_sock = await customer_ws(server, customer, since=0).open()
        # the client offers permessage-deflate (websockets' default); `baton serve` declines it
        assert "permessage-deflate" in cust_sock.ws.request.headers["Sec-WebSocket-Extensions"]
        assert "Sec-WebSocket-Extensions" not in cust_sock.ws.response.headers
        seen_customer: list[dict[str, Any]] = []
        seen_agent: list[dict[str, Any]] = []

        for k in range(6):
            if k == 2:  # the customer's connection dies; both sides keep writing
                await cust_sock.drop()
                seen_customer += cust_sock.events
            if k == 4:  # the agent's connection dies; both sides keep writing
                await agent_sock.drop()
                seen_agent += agent_sock.events
            if k in (4, 5):
                reply = await http.post(
                    f"/v1/handoffs/{handoff_id}/reply", json={"text": f"agent {k}"}, headers=agent.auth
                )
                assert reply.status_code == 200, reply.text
            else:
                await agent_sock.send(
                    {"type": "agent_message", "handoff_id": handoff_id, "text": f"agent {k}"}
                )
            live = agent_sock if k in (2, 3) else cust_sock  # a socket that is connected now
            await live.wait(lambda e, k=k: e.get("text") == f"agent {k}")
            if k in (2, 3):
                await say(http, customer, f"customer {k}")
            else:
                await cust_sock.send({"type": "customer_message", "text": f"customer {k}"})
            await live.wait(lambda e, k=k: e.get("text") == f"customer {k}")
            if k == 3:  # reconnect from the last seq the customer saw
                cust_sock = await customer_ws(
                    server, customer, since=max(e["seq"] for e in seen_customer)
                ).open()
            if k == 5:
                agent_sock = await agent_ws(server, agent, since=max(e["seq"] for e in seen_agent)).open()

        await agent_sock.wait(lambda e: e.get("text") == "customer 5")
        await cust_sock.wait(lambda e: e.get("text") == "customer 5")
        seen_customer += cust_sock.events
        seen_agent += agent_sock.events
        truth_c = await customer_ws(server, customer, since=0).open()
        truth_a = await agent_ws(server, agent, since=0).open()
        await truth_c.wait(lambda e: e["seq"] == seen_customer[-1]["seq"])
        await truth_a.wait(lambda e: e["seq"] == seen_agent[-1]["seq"])
        for sock in (cust_sock, agent_sock, truth_c, truth_a):
            await sock.close()

    for seen, truth in ((seen_customer, truth_c.events), (seen_agent, truth_a.events)):
        seqs = [e["seq"] for e in seen]
        assert seqs == sorted(set(seqs)), "no event twice, in order"
        assert seqs == list(range(seqs[0], seqs[-1] + 1)), "no gap"
        assert seen == [e for e in truth if e["seq"] >= seqs[0]], "exactly the stored events"
    texts = [e.get("text") for e in seen_customer]
    assert [t for t in texts if t and t.startswith("agent ")] == [f"agent {k}" for k in range(6)]
    assert [t for t in texts if t and t.startswith("customer ")] == [f"customer {k}" for k in range(6)]
    agent_texts = [e.get("text") for e in seen_agent if e["type"] == "customer_message"]
    assert agent_texts == [f"customer {k}" for k in range(6)]


# -- Redis restart during assignment ---------------------------------------------------------------
@pytest.mark.services
@pytest.mark.parametrize(
    "appendonly",
    [True, False],
    ids=["aof", "no-persistence"],
)
async def test_redis_restart_during_assignment(
    appendonly: bool, tmp_path: Path, servers: list[BatonServer]
) -> None:
    redis = RedisProcess(tmp_path / "redis", appendonly=appendonly).start()
    try:
        env = await scaled_env(tmp_path, redis)
        server = await start(servers, BatonServer(tmp_path / "data", env=env))
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            maria = await register(http, server, "maria")  # no socket: the offer waits for her
            lee = await register(http, server, "lee")
            customer, handoff_id = await handoff_started(http)
            offered = (await http.get(f"/v1/handoffs/{handoff_id}", headers=admin(server))).json()
            holder = offered["handoff"]["offered_agent_id"]
            assert holder in (maria.agent_id, lee.agent_id)

            redis.kill()
            await asyncio.sleep(0.5)
            redis.start()

            async def ready() -> bool:
                return (await http.get("/readyz")).status_code == 200

            await wait_until(ready)
            first, second = (maria, lee) if holder == maria.agent_id else (lee, maria)
            results = await asyncio.gather(
                http.post(f"/v1/handoffs/{handoff_id}/accept", headers=first.auth),
                http.post(f"/v1/handoffs/{handoff_id}/accept", headers=second.auth),
            )
            codes = sorted(r.status_code for r in results)
            assert codes[0] == 200, [r.text for r in results]
            assert codes[1] in (403, 409), "assigned once"
            listed = (await http.get("/v1/handoffs", headers=admin(server))).json()
            mine = [h for h in listed if h["conversation_id"] == customer.cid]
            assert len(mine) == 1
            assert mine[0]["status"] == "accepted"
            assert mine[0]["assigned_agent_id"] == first.agent_id
            view = (await http.get(f"/v1/conversations/{customer.cid}", headers=customer.auth)).json()
            assert view["status"] == "awaiting_human"
    finally:
        redis.kill()


# -- an agent vanishes -----------------------------------------------------------------------------
async def test_vanished_agent_handoff_is_requeued(tmp_path: Path, servers: list[BatonServer]) -> None:
    desk = tmp_path / "desk.yaml"
    desk.write_text("heartbeat_ttl_s: 3\naccept_timeout_s: 60\n", encoding="utf-8")
    env = {"BATON_DESK_CONFIG": str(desk), "BATON_DESK_TICK_S": "0.2", "BATON_WS_PING_S": "0.5"}
    server = await start(servers, BatonServer(tmp_path / "data", env=env))
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        ghost = await register(http, server, "ghost")
        lee = await register(http, server, "lee", status="offline")
        customer, handoff_id = await handoff_started(http)
        await http.post(f"/v1/agents/{ghost.agent_id}/heartbeat", headers=ghost.auth)
        accepted = await http.post(f"/v1/handoffs/{handoff_id}/accept", headers=ghost.auth)
        assert accepted.status_code == 200, accepted.text
        watcher = await customer_ws(server, customer, since=0).open()
        lee_sock = await agent_ws(server, lee).open()  # answers pings: heartbeats every 0.5 s
        try:
            await http.put(f"/v1/agents/{lee.agent_id}/status", json={"status": "online"}, headers=lee.auth)
            # ghost never heartbeats again: after the TTL the desk re-queues the handoff and offers it
            offer = await lee_sock.wait(lambda e: e["type"] == "offer" and e["handoff_id"] == handoff_id, 30)
            assert offer["brief"], "the brief goes along"
            await watcher.wait(lambda e: e["type"] == "handoff_state" and e["state"] == "pending", 10)
            ghost_view = (await http.get(f"/v1/agents/{ghost.agent_id}", headers=ghost.auth)).json()
            assert ghost_view["status"] == "offline"
            assert handoff_id not in ghost_view["active_handoff_ids"]
            taken = await http.post(f"/v1/handoffs/{handoff_id}/accept", headers=lee.auth)
            assert taken.status_code == 200, taken.text
            assert taken.json()["assigned_agent_id"] == lee.agent_id
        finally:
            await watcher.close()
            await lee_sock.close()
