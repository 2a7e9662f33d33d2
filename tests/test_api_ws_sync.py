"""State sync on (re)connect: the stream head is read before a socket is live, and a snapshot comes first.

The snapshot (``handoff_state`` with ``snapshot: true`` on a conversation socket, ``agent_state`` on
an agent socket) carries the seq of the stream head: every later event has a higher seq, and with
``since`` the events after ``since`` follow it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from api.app import create_app
from tests.test_api_support import (
    ADMIN,
    DISTRESS,
    SELL,
    Api,
    api_settings,
    events,
    next_event,
    quiet,
    serve_in_thread,
)


async def _first(api: Api, path: str, token: str, since: int | None = None) -> dict[str, Any]:
    """The first event of a fresh connection."""
    async with api.ws(path, token, since=since) as ws:
        return (await events(ws, 1))[0]


async def _head(api: Api, cid: str, token: str) -> int:
    r = await api.http.get(f"/v1/conversations/{cid}", headers=api.auth(token))
    assert r.status_code == 200, r.text
    return int(r.json()["seq"])


async def test_an_event_published_before_the_socket_authenticates_is_delivered(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            path = f"/v1/conversations/{cid}/ws"
            async with (
                connect(url.replace("http", "ws", 1) + path) as late,  # handshake done, not authenticated
                api.ws(path, token, via="header") as early,
            ):
                assert (await events(early, 1))[0]["snapshot"] is True
                # published (early hears it) while late has not sent its auth message: after the head
                # the server read for late, so late must get it
                await early.send(json.dumps({"type": "typing"}))
                typing = await next_event(early, "typing")
                await late.send(json.dumps({"type": "auth", "token": token}))
                state = (await events(late, 1))[0]
                assert state["type"] == "handoff_state"
                assert (state["snapshot"], state["state"], state["seq"]) == (True, "none", 0)
                assert (await events(late, 1))[0] == typing
                assert await quiet(late, 0.3) == []
    assert (typing["seq"], typing["role"]) == (1, "customer")


async def test_a_fresh_socket_starts_with_the_current_state_and_its_seq(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8}, status="away")
            cid, token = await api.conversation()
            conv, agent_path = f"/v1/conversations/{cid}/ws", "/v1/agents/maria/ws"
            for text in ("Hi", SELL):
                await api.say(cid, token, text)
            assert (await _first(api, conv, token))["state"] == "none"
            turn = await api.say(cid, token, DISTRESS)
            hid = turn["handoff"]["handoff_id"]

            waiting = await _first(api, conv, token)  # nobody online: in the queue
            assert waiting["type"] == "handoff_state"
            assert waiting["snapshot"] is True
            assert (waiting["state"], waiting["handoff_id"]) == ("pending", hid)
            assert waiting["queue_position"] == 1
            assert waiting["seq"] == await _head(api, cid, token)
            assert waiting["message"] == ""  # the narration was said once; a snapshot says nothing new

            async with api.ws(agent_path, maria) as agent:
                away = (await events(agent, 1))[0]
                assert away["type"] == "agent_state"
                assert (away["agent_id"], away["status"], away["handoffs"]) == ("maria", "away", [])
                r = await http.put(
                    "/v1/agents/maria/status", json={"status": "online"}, headers=api.auth(maria)
                )
                assert r.status_code == 200, r.text
                offer = await next_event(agent, "offer")
            offered = await _first(api, agent_path, maria)
            assert offered["type"] == "agent_state"
            assert (offered["status"], offered["seq"]) == ("online", offer["seq"])
            [held] = offered["handoffs"]
            assert (held["handoff_id"], held["conversation_id"], held["status"]) == (hid, cid, "offered")
            assert held["expires_at"] is not None
            assert held["brief"] == offer["brief"]
            customer = await _first(api, conv, token)
            assert (customer["state"], customer["queue_position"]) == ("offered", 0)

            assert (await api.act(hid, "accept", maria)).status_code == 200
            accepted = await _first(api, conv, token)
            assert (accepted["state"], accepted["agent_id"]) == ("accepted", "maria")
            assert accepted["seq"] == await _head(api, cid, token)
            assert [h["status"] for h in (await _first(api, agent_path, maria))["handoffs"]] == ["accepted"]
            r = await api.act(hid, "reply", maria, {"text": "Hi, Maria here."})
            assert r.status_code == 200, r.text
            assert (await _first(api, conv, ADMIN))["state"] == "active"

            assert (await api.act(hid, "return", maria, {"note": "done"})).status_code == 200
            ended = await _first(api, conv, token)
            assert (ended["state"], ended["handoff_id"]) == ("ended", hid)
            assert ended["seq"] == await _head(api, cid, token)
            assert (await _first(api, agent_path, maria))["handoffs"] == []


async def test_since_beyond_the_head_is_the_head(tmp_path: Path) -> None:
    """A client ahead of the stream (it was reset) is told the head and still gets what comes next."""
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            first = await api.say(cid, token, "Hi")
            async with api.ws(f"/v1/conversations/{cid}/ws", token, since=first["seq"] + 50) as ws:
                state = (await events(ws, 1))[0]
                assert (state["snapshot"], state["seq"]) == (True, first["seq"])
                await api.say(cid, token, "Anyone there?")
                said = await next_event(ws, "customer_message")
                assert (said["text"], said["seq"]) == ("Anyone there?", first["seq"] + 1)
