"""Rules the one door enforces for every entrance: targets checked before anything changes, the desk and
the graph changed together, state writes validated, profiles that change routing only when trusted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from api.app import create_app
from api.auth import profile_signature
from tests.test_api_support import ADMIN, Api, api_settings, in_process

SECRET = "profile-test-secret"


@dataclass
class Held:
    app: FastAPI
    api: Api
    cid: str
    token: str
    maria: str
    handoff_id: str

    async def state(self) -> tuple[str, str]:
        """(graph status, desk status) of the conversation's handoff."""
        view = (await self.api.http.get(f"/v1/conversations/{self.cid}", headers=Api.auth(ADMIN))).json()
        desk = (await self.api.http.get(f"/v1/handoffs/{self.handoff_id}", headers=Api.auth(ADMIN))).json()
        return view["status"], desk["handoff"]["status"]


@pytest.fixture
async def held(tmp_path: Path) -> AsyncIterator[Held]:
    """A conversation whose human handoff maria accepted; lee (legal) is online too."""
    settings = api_settings(tmp_path, rate_limit_per_minute=1000, profile_secret=SECRET)
    app = create_app(settings)
    async with in_process(app) as api:
        http = api.http
        maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
        cid, token = await api.conversation()
        handoff_id = (await api.to_a_person(cid, token))["handoff"]["handoff_id"]
        # A slow machine can take longer than the heartbeat window over the three turns above.
        await http.post("/v1/agents/maria/heartbeat", headers=Api.auth(maria))
        assert (await api.act(handoff_id, "accept", maria)).status_code == 200
        await api.agent("agent-lee", {"legal": 0.9})
        yield Held(app, api, cid, token, maria, handoff_id)


async def test_return_to_an_unknown_bot_is_422_and_changes_nothing(held: Held) -> None:
    for target in ("no_such_bot", "human_agent", "router"):
        r = await held.api.act(held.handoff_id, "return", held.maria, {"note": "done", "target": target})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_target"
        assert await held.state() == ("awaiting_human", "accepted")
    r = await held.api.act(held.handoff_id, "reply", held.maria, {"text": "Still here, Dana."})
    assert r.status_code == 200, r.text  # the agent still holds the chat


async def test_complete_and_rollback_at_once_leave_desk_and_graph_agreeing(held: Held) -> None:
    http = held.api.http
    complete = held.api.act(held.handoff_id, "complete", held.maria, {"note": "done"})
    rollback = http.post(f"/v1/conversations/{held.cid}/rollback", json={}, headers=Api.auth(ADMIN))
    done, rolled = await asyncio.gather(complete, rollback)
    assert sorted([done.status_code, rolled.status_code]) == [200, 409]
    graph, desk = await held.state()
    if done.status_code == 200:
        assert (graph, desk) == ("closed", "completed")
    else:
        assert (graph, desk) == ("bot", "cancelled")
    for _ in range(50):  # desk events reach the analytics through the event consumer
        stats = (await http.get("/v1/analytics/handoffs", headers=Api.auth(ADMIN))).json()
        if stats["completed"] or stats["completion_rate"] is not None:
            break
        await asyncio.sleep(0.1)
    assert stats["completed"] == (1 if done.status_code == 200 else 0)


async def test_transfer_targets_must_exist(held: Held) -> None:
    api = held.api
    for body, field in (
        ({"to_agent_id": "lee"}, "to_agent_id"),  # typed without its prefix
        ({"to_skills": ["underwater_basket_weaving"]}, "to_skills"),
        ({"to_queue": "no_such_queue"}, "to_queue"),
        ({"to_agent_id": "agent-lee", "to_skills": ["legal"]}, "target"),
        ({}, "target"),
    ):
        r = await api.act(held.handoff_id, "transfer", held.maria, body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"][0]["field"] == field
        assert (await held.state())[1] == "accepted"
    r = await api.act(held.handoff_id, "transfer", held.maria, {"to_agent_id": "lee"})
    assert "agent-lee" in r.json()["error"]["message"]  # a hint at the id they meant
    r = await api.act(
        held.handoff_id, "transfer", held.maria, {"to_agent_id": "agent-lee", "reason": "legal"}
    )
    assert r.status_code == 200, r.text


async def test_bad_state_writes_are_422(held: Held) -> None:
    http = held.api.http
    key = {"x-api-key": ADMIN}
    cid, token = await held.api.conversation()
    await held.api.say(cid, token, "Hi")
    for body in (
        {"values": {"messages": 123}, "as_node": "seller_bot"},
        {"values": {"messages": [{"nonsense": True}]}, "as_node": "seller_bot"},
        {"values": {"status": "bot"}, "as_node": "no_such_node"},
        {"values": {"status": "bot"}, "as_node": "human_agent"},
    ):
        r = await http.post(f"/threads/{cid}/state", json=body, headers=key)
        assert r.status_code == 422, (body, r.text)
    run = {"assistant_id": "baton", "input": {"messages": [{"role": "user", "content": "Hi"}]}}
    for limit in ("abc", -1, 0, True, 10**9):
        r = await http.post(
            f"/threads/{cid}/runs/wait", json={**run, "config": {"recursion_limit": limit}}, headers=key
        )
        assert r.status_code == 422, (limit, r.text)
    for query in ("limit=-1", "limit=0", "limit=abc", "limit=100000"):
        r = await http.get(f"/threads/{cid}/history?{query}", headers=key)
        assert r.status_code == 422, (query, r.text)


async def _vip_turn(api: Api, body: dict[str, Any], headers: dict[str, str] | None = None) -> str | None:
    r = await api.http.post("/v1/conversations", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    cid, token = r.json()["conversation_id"], r.json()["customer_token"]
    out = await api.say(cid, token, "Hi, I'd like some help with my listing")
    return out["handoff"]["trigger"] if out["handoff"] else None


async def test_routing_profile_fields_need_the_admin_or_a_signature(held: Held) -> None:
    api = held.api
    profile = {"vip": True, "name": "Dana"}
    assert await _vip_turn(api, {"customer": profile}) != "vip"  # a claim is evidence, not a trigger
    assert await _vip_turn(api, {"customer": profile}, Api.auth(ADMIN)) == "vip"
    signed = {"customer": profile, "profile_signature": profile_signature(profile, SECRET)}
    assert await _vip_turn(api, signed) == "vip"
    forged = {"customer": profile, "profile_signature": profile_signature(profile, "guessed")}
    r = await api.http.post("/v1/conversations", json=forged)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_signature"
    r = await api.http.post("/v1/conversations", json={"customer": profile}, headers=Api.auth(held.token))
    assert r.status_code == 401  # only the admin's token vouches for a profile


@pytest.mark.parametrize("limit", [100, 5000])
async def test_the_configured_message_limit_is_what_rest_accepts_and_documents(
    tmp_path: Path, limit: int
) -> None:
    app = create_app(api_settings(tmp_path, max_message_chars=limit))
    async with in_process(app) as api:
        http = api.http
        schema = (await http.get("/openapi.json")).json()["components"]["schemas"]
        assert schema["MessageIn"]["properties"]["text"]["maxLength"] == limit
        assert schema["ReplyIn"]["properties"]["text"]["maxLength"] == limit
        cid, token = await api.conversation()
        url = f"/v1/conversations/{cid}/messages"
        ok = await http.post(
            url, json={"text": "I'd like to sell my house. " * (limit // 30)}, headers=Api.auth(token)
        )
        assert ok.status_code == 200, ok.text
        long = await http.post(url, json={"text": "x" * (limit + 1)}, headers=Api.auth(token))
        assert long.status_code == 422
