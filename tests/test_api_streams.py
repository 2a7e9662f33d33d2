"""Reconnect with replay, no-agent expiry rolled back to the AI, signed retried webhooks, idle sockets."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from desk.config import DeskConfig
from tests.test_api_console import ASK, SKILLS
from tests.test_api_support import (
    ADMIN,
    SELL,
    Api,
    api_settings,
    events,
    next_event,
    quiet,
    serve_in_thread,
)


async def _drain(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 5)


async def test_reconnect_replays_exactly_the_missed_events(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            path = f"/v1/conversations/{cid}/ws"
            async with api.ws(path, token) as ws:
                await api.say(cid, token, "Hi")
                state, *seen = await events(ws, 3)  # the state, customer_message + concierge greeting
            assert (state["type"], state["state"], state["seq"]) == ("handoff_state", "none", 0)
            assert [e["seq"] for e in seen] == [1, 2]
            last = seen[-1]["seq"]
            missed = await api.say(cid, token, SELL)  # said while the socket was down
            missed_count = missed["seq"] - last
            assert missed_count >= 3

            async with api.ws(path, token, since=last) as ws:
                state, *replay = await events(ws, 1 + missed_count)
                # the state as of the head comes first; the events after ``since`` follow it
                assert (state["snapshot"], state["seq"]) == (True, missed["seq"])
                assert [e["seq"] for e in replay] == list(range(last + 1, missed["seq"] + 1))
                assert replay[0]["type"] == "customer_message"
                assert replay[0]["text"] == SELL
                assert await quiet(ws, 0.3) == []  # nothing twice
                await ws.send(json.dumps({"type": "customer_message", "text": "What is it worth?"}))
                live = await next_event(ws, "customer_message")
                assert live["seq"] == missed["seq"] + 1

            async with api.ws(path, token, since=0) as ws:  # full history, in order
                _, *history = await events(ws, 1 + live["seq"])
                assert [e["seq"] for e in history] == list(range(1, live["seq"] + 1))
            view = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(token))).json()
            assert view["seq"] >= live["seq"]


async def test_a_held_chats_customer_line_reaches_both_streams_with_the_conversations_seq(
    tmp_path: Path,
) -> None:
    """While an agent holds the chat, a customer's line goes to the conversation's stream and the
    agent's in one write; the turn answers with the conversation's seq, never the agent's."""
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", SKILLS)
            cid, token = await api.conversation()
            await api.say(cid, token, SELL)
            hid = (await api.say(cid, token, ASK))["handoff"]["handoff_id"]
            assert (await api.act(hid, "accept", maria)).status_code == 200
            async with (
                api.ws(f"/v1/conversations/{cid}/ws", token) as customer,
                api.ws("/v1/agents/maria/ws", maria) as console,
            ):
                snapshot = await next_event(customer, "handoff_state")
                agent_head = (await next_event(console, "agent_state"))["seq"]
                turn = await api.say(cid, token, "The roof was redone last year")
                assert turn["seq"] == snapshot["seq"] + 1  # the conversation's next seq
                mine = await next_event(customer, "customer_message")
                told = await next_event(console, "customer_message")
                assert (mine["seq"], mine["text"]) == (turn["seq"], "The roof was redone last year")
                assert (told["conversation_id"], told["text"]) == (cid, mine["text"])
                assert told["seq"] > agent_head
                assert told["seq"] != turn["seq"]  # the two streams count apart


async def test_no_agent_expiry_rolls_back_to_the_ai_visibly(tmp_path: Path) -> None:
    config = DeskConfig(expires_after_s=1.0, accept_timeout_s=1.0, no_agent_policy="ai")
    with serve_in_thread(create_app(api_settings(tmp_path), desk_config=config)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                turn = await api.to_a_person(cid, token)
                assert turn["status"] == "awaiting_human"
                assert turn["handoff"]["queue_position"] == 1  # nobody is online
                state = await next_event(ws, "handoff_state", timeout=15)
                while state["state"] != "rolled_back":
                    state = await next_event(ws, "handoff_state", timeout=15)
                bot = await next_event(ws, "bot_message")
                while bot["role"] != "bot":
                    bot = await next_event(ws, "bot_message")
                assert "nothing you've" in bot["text"]  # the policy's no-agent message
                assert (await next_event(ws, "handoff_complete"))["outcome"] == "rolled_back"
            view = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(ADMIN))).json()
            assert view["status"] == "bot"
            assert view["active_agent"] == "seller_bot"
            assert view["handoffs"][-1]["status"] == "rolled_back"
            mine = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(token))).json()
            assert not [t for t in mine["transcript"] if "rolled back" in t["text"]]  # internal line
            after = await api.say(cid, token, "OK, thanks")
            assert after["status"] == "bot"
            stats = (await http.get("/v1/analytics/handoffs", headers=api.auth(ADMIN))).json()
            assert stats["rollbacks"] == 1
            assert stats["completion_rate"] == 0
            metrics = (await http.get("/metrics")).text
            assert "baton_rollbacks_total 1.0" in metrics
            # requests are labelled by route template and status, not by raw path
            messages = 'route="/v1/conversations/{conversation_id}/messages",status="200"'
            assert f'baton_http_requests_total{{method="POST",{messages}}} 4.0' in metrics
            assert 'route="/v1/analytics/handoffs",status="200"' in metrics
            assert cid not in metrics


async def test_webhooks_are_signed_and_retried(tmp_path: Path) -> None:
    received: list[tuple[bytes, str]] = []
    attempts: dict[bytes, int] = {}
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        attempts[body] = attempts.get(body, 0) + 1
        if attempts[body] < 3:  # the first two deliveries of every event fail
            return Response(status_code=503)
        received.append((body, request.headers["x-baton-signature"]))
        return Response(status_code=204)

    secret = "hook-secret"
    with serve_in_thread(receiver) as hook_url:
        settings = api_settings(
            tmp_path, webhook_urls=f"{hook_url}/hook", webhook_secret=secret, webhook_backoff_s=0.05
        )
        with serve_in_thread(create_app(settings)) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                api = Api(url, http)
                cid, token = await api.conversation()
                t0 = asyncio.get_running_loop().time()
                await api.to_a_person(cid, token)
                assert asyncio.get_running_loop().time() - t0 < 20  # turns never wait for webhooks
                for _ in range(100):
                    if received:
                        break
                    await asyncio.sleep(0.1)
    assert received
    body, signature = received[0]
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    event = json.loads(body)
    assert event["type"] == "handoff_created"
    assert event["conversation_id"] == cid
    assert attempts[body] == 3


async def test_silent_socket_is_closed_and_pings_are_sent(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, ws_ping_s=0.2, ws_idle_s=1.0)
    with serve_in_thread(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                assert (await next_event(ws, "ping", timeout=2))["type"] == "ping"
                for _ in range(4):  # answering pings keeps the socket open past the idle limit
                    await ws.send('{"type": "pong"}')
                    await next_event(ws, "ping", timeout=2)
                await ws.send('{"type": "bogus"}')
                error = await next_event(ws, "error")
                assert error["code"] == "validation_error"
                with pytest.raises(ConnectionClosed) as closed:
                    await _drain(ws)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4408
            metrics = (await http.get("/metrics")).text
            assert 'baton_websockets_idle_closed_total{role="customer"} 1.0' in metrics


@pytest.mark.parametrize("freeze", [True, False])
def test_start_up_objects_are_frozen_and_gc_pauses_are_timed(tmp_path: Path, freeze: bool) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    try:
        with serve_in_thread(create_app(api_settings(tmp_path, gc_freeze=freeze))) as url:
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
            assert (gc.get_freeze_count() > 0) is freeze
            assert gc.get_threshold()[0] == 10_000  # young collections: see Settings.gc_young_threshold
            gc.collect()  # every pause is timed, by generation
            metrics = httpx.get(f"{url}/metrics", timeout=10).text
            assert 'baton_gc_pause_seconds_count{generation="2"}' in metrics
            longest = next(line for line in metrics.splitlines() if line.startswith("baton_gc_pause_longest"))
            assert float(longest.split()[-1]) > 0
        assert not [cb for cb in gc.callbacks if getattr(cb, "__qualname__", "") == "Metrics._on_gc"]
        assert gc.get_threshold() == before  # the process's own thresholds are back
    finally:
        gc.unfreeze()  # the test process builds many apps; frozen objects would never be freed
