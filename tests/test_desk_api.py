"""The desk as agents meet it through the API: agent ids, replies that race, transfer targets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from conftest import REDIS_URL, service_missing
from test_api_support import ADMIN, Api, api_settings, in_process

from api.app import create_app

SKILLS = {"real_estate": 0.9, "empathy": 0.9, "legal": 0.9, "luxury": 0.9}
ASK_FOR_A_PERSON = "Can I talk to a real person please?"


@asynccontextmanager
async def serving(tmp_path: Path, **settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Api]]:
    app = create_app(api_settings(tmp_path, **settings))
    async with in_process(app) as api:
        yield api.http, api


async def held_by_maria(api: Api) -> tuple[str, str]:
    """maria's token and the id of a handoff she accepted."""
    maria = await api.agent("maria", SKILLS)
    cid, token = await api.conversation()
    handoff_id = (await api.say(cid, token, ASK_FOR_A_PERSON))["handoff"]["handoff_id"]
    accepted = await api.act(handoff_id, "accept", maria)
    assert accepted.status_code == 200, accepted.text
    return maria, handoff_id


# -- agent ids -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "agent_id", ["a/b", "../../etc/passwd", "", " ", "  maria", "x" * 500, "a..b", "lee?x=1", "%2e%2e"]
)
async def test_an_agent_id_that_could_not_be_reached_is_refused_with_422(
    tmp_path: Path, agent_id: str
) -> None:
    async with serving(tmp_path) as (http, api):
        body = {"id": agent_id, "name": "X", "skills": ["legal"]}
        created = await http.post("/v1/agents", json=body, headers=api.auth(ADMIN))
        assert created.status_code == 422, created.text
        error = created.json()["error"]
        assert error["code"] == "validation_error"
        assert [d["field"] for d in error["details"]] == ["id"]
        assert (await http.get("/v1/agents", headers=api.auth(ADMIN))).json() == []


async def test_a_valid_agent_id_is_created_and_reachable(tmp_path: Path) -> None:
    async with serving(tmp_path) as (http, api):
        token = await api.agent("agent-lee.2_b", SKILLS)
        reached = await http.get("/v1/agents/agent-lee.2_b", headers=api.auth(token))
        assert reached.status_code == 200, reached.text


# -- replies that race right after accept ---------------------------------------------------------
@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.services)])
async def desk_settings(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """The in-process desk, or the scaled profile's Redis desk (on its own key prefix)."""
    if request.param == "embedded":
        yield {}
        return
    redis = aioredis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await redis.ping()
    except (OSError, aioredis.RedisError) as exc:
        await redis.aclose()
        service_missing("Redis", str(exc))
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    try:
        yield {"redis_url": REDIS_URL, "redis_prefix": prefix}
    finally:
        keys = [key async for key in redis.scan_iter(f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_ten_replies_right_after_accept_all_go_through(
    tmp_path: Path, desk_settings: dict[str, Any]
) -> None:
    async with serving(tmp_path, **desk_settings) as (http, api):
        maria, handoff_id = await held_by_maria(api)
        texts = [f"reply {i}" for i in range(10)]
        replies = await asyncio.gather(*(api.act(handoff_id, "reply", maria, {"text": t}) for t in texts))
        assert [r.status_code for r in replies] == [200] * 10, [
            r.text for r in replies if r.status_code != 200
        ]
        detail = (await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))).json()
        assert detail["handoff"]["status"] == "active"
        assert [h["to_status"] for h in detail["handoff"]["history"]].count("active") == 1
        agent_turns = [t["text"] for t in detail["transcript"] if t["role"] == "agent"]
        assert sorted(agent_turns) == sorted(texts)


# -- transfer targets ------------------------------------------------------------------------------
async def test_a_transfer_to_an_agent_id_nobody_has_is_refused_with_422(tmp_path: Path) -> None:
    async with serving(tmp_path) as (http, api):
        maria, handoff_id = await held_by_maria(api)
        await api.agent("agent-lee", SKILLS)
        moved = await api.act(handoff_id, "transfer", maria, {"to_agent_id": "lee"})  # without its prefix
        assert moved.status_code == 422, moved.text
        assert "'lee'" in moved.json()["error"]["message"]
        detail = (await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))).json()
        assert detail["handoff"]["status"] == "accepted"
        assert detail["handoff"]["assigned_agent_id"] == "maria"


async def test_a_transfer_to_skills_nobody_has_is_refused_naming_them(tmp_path: Path) -> None:
    async with serving(tmp_path) as (http, api):
        maria, handoff_id = await held_by_maria(api)
        moved = await api.act(handoff_id, "transfer", maria, {"to_skills": ["legal", "astrology"]})
        assert moved.status_code == 422, moved.text
        assert "astrology" in moved.json()["error"]["message"]
        detail = (await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))).json()
        assert detail["handoff"]["assigned_agent_id"] == "maria"
