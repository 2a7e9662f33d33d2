"""The LangGraph-compatible API is a door like REST: same tokens, same limits, same events, same desk.

Every compat route refuses a missing or unknown token (401) and a principal it is not for (403); a
customer sees only its own thread, without briefs or internal lines; an agent reads and resumes only a
thread whose handoff they accepted, and that resume goes through the desk like a REST reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from api.app import create_app
from api.engine import conv_stream
from desk.config import DeskConfig
from tests.test_api_support import ADMIN, SELL, Api, api_settings, in_process


def turn(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def key(token: str | None) -> dict[str, str]:
    return {"x-api-key": token} if token else {}


@dataclass
class World:
    app: FastAPI
    api: Api
    c1: str
    cust1: str
    c2: str
    cust2: str
    maria: str
    lee: str
    sup: str
    handoff_id: str


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """c1 waits for a human and maria accepted it; c2 is another customer's; lee is another agent."""
    config = DeskConfig(expires_after_s=600)
    app = create_app(api_settings(tmp_path, rate_limit_per_minute=1000), desk_config=config)
    async with in_process(app) as api:
        http = api.http
        maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
        lee = await api.agent("lee", {"legal": 0.9}, status="away")
        c1, cust1 = await api.conversation()
        c2, cust2 = await api.conversation()
        handoff_id = (await api.to_a_person(c1, cust1))["handoff"]["handoff_id"]
        r = await api.act(handoff_id, "accept", maria)
        assert r.status_code == 200, r.text
        await api.say(c2, cust2, "Hi")
        made = await http.post("/v1/supervisors", json={"name": "Olga"}, headers=api.auth(ADMIN))
        sup = made.json()["supervisor_token"]
        yield World(app, api, c1, cust1, c2, cust2, maria, lee, sup, handoff_id)


# a supervisor watches the desk through the console's own routes: the platform API is not theirs
PRINCIPALS = ("none", "wrong", "customer", "other_customer", "agent", "other_agent", "supervisor", "admin")


def _token(w: World, who: str) -> str | None:
    return {
        "none": None,
        "wrong": "adm_not-the-token",
        "customer": w.cust1,
        "other_customer": w.cust2,
        "agent": w.maria,
        "other_agent": w.lee,
        "supervisor": w.sup,
        "admin": ADMIN,
    }[who]


READERS = {"customer", "agent", "admin"}
ANY_TOKEN = {"customer", "other_customer", "agent", "other_agent", "supervisor", "admin"}
RESUME = {"command": {"resume": {"type": "reply", "text": "Hi Dana, Maria here."}}, "assistant_id": "baton"}
# (method, path template, body, principals allowed); every path is about c1.
MATRIX: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/assistants/baton", None, ANY_TOKEN),
    ("POST", "/assistants/search", {}, ANY_TOKEN),
    ("GET", "/threads/{c1}", None, READERS),
    ("GET", "/threads/{c1}/state", None, READERS),
    ("GET", "/threads/{c1}/history", None, READERS),
    ("POST", "/threads/{c1}/history", {"limit": 2}, READERS),
    ("GET", "/threads/{c1}/runs", None, READERS),
    (
        "POST",
        "/threads/{c1}/runs/wait",
        {"assistant_id": "baton", "input": turn("Still there?")},
        {"customer", "admin"},
    ),
    ("POST", "/threads/{c1}/runs", {"assistant_id": "baton", "input": turn("Hello?")}, {"customer", "admin"}),
    ("POST", "/threads/{c1}/runs/wait", RESUME, {"agent", "admin"}),
    ("POST", "/threads/{c1}/state", {"values": {"status": "bot"}, "as_node": "seller_bot"}, {"admin"}),
    ("PATCH", "/threads/{c1}", {"metadata": {"x": 1}}, {"admin"}),
    ("POST", "/threads", {"thread_id": "{c1}", "if_exists": "raise"}, {"admin"}),
    ("POST", "/threads/search", {}, ANY_TOKEN),
]


def _fill(value: Any, w: World) -> Any:
    if isinstance(value, str):
        return value.format(c1=w.c1)
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    return value


async def test_every_compat_route_needs_a_token_and_the_right_principal(world: World) -> None:
    w = world
    failures = []
    for method, template, body, allowed in MATRIX:
        path = template.format(c1=w.c1)
        for who in PRINCIPALS:
            r = await w.api.http.request(method, path, json=_fill(body, w), headers=key(_token(w, who)))
            if who in ("none", "wrong"):
                ok = r.status_code == 401 and r.json()["error"]["code"] in ("unauthorized", "invalid_token")
            elif who in allowed:
                ok = r.status_code not in (401, 403)
            else:
                ok = r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
            if not ok:
                failures.append(f"{method} {template} as {who}: {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures)


async def test_bearer_header_works_like_x_api_key(world: World) -> None:
    r = await world.api.http.get(f"/threads/{world.c1}", headers={"Authorization": f"Bearer {world.cust1}"})
    assert r.status_code == 200, r.text


async def test_no_token_cannot_delete_post_as_a_bot_or_resume(world: World) -> None:
    w = world
    http = w.api.http
    assert (await http.delete(f"/threads/{w.c1}")).status_code == 401
    as_bot = {
        "values": {"messages": [{"type": "ai", "content": "fake", "name": "seller_bot"}]},
        "as_node": "seller_bot",
    }
    assert (await http.post(f"/threads/{w.c1}/state", json=as_bot)).status_code == 401
    assert (await http.post(f"/threads/{w.c1}/runs/wait", json=RESUME)).status_code == 401
    for token in (w.cust1, w.cust2, w.lee):  # nobody but the admin deletes or writes state
        assert (await http.delete(f"/threads/{w.c1}", headers=key(token))).status_code == 403
        r = await http.post(f"/threads/{w.c1}/state", json=as_bot, headers=key(token))
        assert r.status_code == 403
    view = await w.api.http.get(f"/v1/conversations/{w.c1}", headers=Api.auth(ADMIN))
    assert all(t["text"] != "fake" for t in view.json()["transcript"])
    assert view.json()["status"] == "awaiting_human"


async def test_customer_sees_its_own_thread_without_briefs_or_internal_lines(world: World) -> None:
    w = world
    state = (await w.api.http.get(f"/threads/{w.c1}/state", headers=key(w.cust1))).json()
    assert set(state["values"]) <= {"messages", "status", "active_agent"}
    assert state["values"]["status"] == "awaiting_human"
    assert all(set(i["value"]) <= {"handoff_id"} for i in state["interrupts"])
    assert "brief" not in str(state)
    staff = (await w.api.http.get(f"/threads/{w.c1}/state", headers=key(w.maria))).json()
    assert staff["values"]["handoff"]["brief"]  # the agent who holds it sees everything
    found = (await w.api.http.post("/threads/search", json={}, headers=key(w.cust1))).json()
    assert [t["thread_id"] for t in found] == [w.c1]
    r = await w.api.http.post(
        f"/threads/{w.c1}/runs/stream",
        json={"assistant_id": "baton", "input": turn("Any news?"), "stream_mode": ["updates"]},
        headers=key(w.cust1),
    )
    assert r.status_code == 403  # updates would carry the state's private parts


async def test_agent_reads_and_resumes_only_what_they_accepted(world: World) -> None:
    w = world
    http = w.api.http
    assert (await http.get(f"/threads/{w.c2}", headers=key(w.maria))).status_code == 403
    assert (await http.get(f"/threads/{w.c1}", headers=key(w.lee))).status_code == 403
    r = await http.post(f"/threads/{w.c1}/runs/wait", json=RESUME, headers=key(w.lee))
    assert r.status_code == 403
    r = await http.post(f"/threads/{w.c1}/runs/wait", json=RESUME, headers=key(w.maria))
    assert r.status_code == 200, r.text
    assert r.json()["messages"][-1]["content"] == "Hi Dana, Maria here."
    handoff = (await http.get(f"/v1/handoffs/{w.handoff_id}", headers=Api.auth(ADMIN))).json()["handoff"]
    assert handoff["status"] == "active"  # the desk knows the agent is talking


async def test_resume_before_any_agent_accepted_is_refused(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path))
    async with in_process(app) as api:
        http = api.http
        cid, token = await api.conversation()
        await api.to_a_person(cid, token)
        r = await http.post(f"/threads/{cid}/runs/wait", json=RESUME, headers=key(ADMIN))
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "not_accepted"
        view = (await http.get(f"/v1/conversations/{cid}", headers=Api.auth(token))).json()
        assert "Maria" not in str(view["transcript"])


async def test_compat_turns_publish_events_and_reach_the_agent(world: World) -> None:
    w = world
    events = w.app.state.engine.events
    before = await events.head(conv_stream(w.c2))
    r = await w.api.http.post(
        f"/threads/{w.c2}/runs/wait",
        json={"assistant_id": "baton", **{"input": turn(SELL)}},
        headers=key(w.cust2),
    )
    assert r.status_code == 200, r.text
    published = await events.read(conv_stream(w.c2), before)
    assert '"customer_message"' in published[0]
    assert SELL[:20] in published[0]
    assert any('"bot_message"' in e and "seller_bot" in e for e in published)
    r = await w.api.http.post(
        f"/threads/{w.c1}/runs/wait",
        json={"assistant_id": "baton", "input": turn("Are you there?")},
        headers=key(w.cust1),
    )
    assert r.status_code == 200, r.text
    held = await events.read("a:maria", 0)
    assert any("Are you there?" in e for e in held)  # the agent holding c1 sees the compat turn


async def test_compat_resume_is_reported_to_the_desk_so_nothing_expires(tmp_path: Path) -> None:
    """Before the one door an agent's compat reply never reached the desk, which rolled the chat back."""
    config = DeskConfig(expires_after_s=1.0, accept_timeout_s=30, heartbeat_ttl_s=60)
    app = create_app(api_settings(tmp_path, rate_limit_per_minute=1000), desk_config=config)
    async with in_process(app) as api:
        http = api.http
        maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
        cid, token = await api.conversation()
        handoff_id = (await api.to_a_person(cid, token))["handoff"]["handoff_id"]
        assert (await api.act(handoff_id, "accept", maria)).status_code == 200
        r = await http.post(f"/threads/{cid}/runs/wait", json=RESUME, headers=key(maria))
        assert r.status_code == 200, r.text
        await asyncio.sleep(2.5)  # well past the desk's expiry
        view = (await http.get(f"/v1/conversations/{cid}", headers=Api.auth(ADMIN))).json()
        assert view["status"] == "human"
        assert view["agent_id"] == "maria"
        assert not any("rolled back" in t["text"] for t in view["transcript"])


async def test_compat_turns_get_the_length_limit_rate_limit_and_load_shedding(tmp_path: Path) -> None:
    app = create_app(
        api_settings(tmp_path, rate_limit_per_minute=2, max_message_chars=100, max_concurrent_turns=1)
    )
    async with in_process(app) as api:
        http = api.http
        cid, token = await api.conversation()
        url = f"/threads/{cid}/runs/wait"
        r = await http.post(url, json={"assistant_id": "baton", "input": turn("x" * 101)}, headers=key(token))
        assert r.status_code == 422
        gate = app.state.turns.gate
        gate.running = 1  # the worker is full
        for _ in range(5):
            r = await http.post(url, json={"assistant_id": "baton", "input": turn("Hi")}, headers=key(token))
            assert r.status_code == 503
            assert r.headers["Retry-After"]
        gate.running = 0
        for _ in range(2):  # the shed turns did not use up the rate limit
            r = await http.post(url, json={"assistant_id": "baton", "input": turn("Hi")}, headers=key(token))
            assert r.status_code == 200, r.text
        r = await http.post(url, json={"assistant_id": "baton", "input": turn("Hi")}, headers=key(token))
        assert r.status_code == 429
        assert gate.running == 0


async def test_a_customers_profile_claim_never_triggers_routing(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path, rate_limit_per_minute=1000))
    async with in_process(app) as api:
        http = api.http
        claimed, token = await api.conversation(vip=True)
        out = await api.say(claimed, token, "Hi, I'd like some help with my listing")
        assert out["handoff"] is None or out["handoff"]["trigger"] != "vip"
        r = await http.post(
            f"/threads/{claimed}/runs/wait",
            json={"assistant_id": "baton", "input": {**turn("Hello again"), "customer": {"vip": True}}},
            headers=key(token),
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] != "awaiting_human"
        created = await http.post(
            "/v1/conversations", json={"customer": {"vip": True}}, headers=Api.auth(ADMIN)
        )
        vip, vip_token = created.json()["conversation_id"], created.json()["customer_token"]
        out = await api.say(vip, vip_token, "Hi, I'd like some help with my listing")
        assert out["handoff"]["trigger"] == "vip"


async def test_admin_delete_erases_transcript_stream_and_handoff(world: World) -> None:
    w = world
    events = w.app.state.engine.events
    assert await events.read(conv_stream(w.c1), 0)
    r = await w.api.http.delete(f"/threads/{w.c1}", headers=key(ADMIN))
    assert r.status_code == 204, r.text
    assert await events.read(conv_stream(w.c1), 0) == []  # the stream held the transcript too
    handoff = (await w.api.http.get(f"/v1/handoffs/{w.handoff_id}", headers=Api.auth(ADMIN))).json()
    assert handoff["handoff"]["status"] == "cancelled"
    assert (await w.api.http.get(f"/threads/{w.c1}", headers=key(ADMIN))).status_code == 404
    assert (await w.api.http.get(f"/v1/conversations/{w.c1}", headers=Api.auth(w.cust1))).status_code == 404
    again = await w.api.http.post("/threads", json={"thread_id": w.c1}, headers=key(ADMIN))
    assert again.status_code == 409  # ids are not reused: old tokens may still be cached somewhere
