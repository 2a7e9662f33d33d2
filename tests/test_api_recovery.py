"""Desk recovery: after a restart or a wiped Redis, agents come back with the status they last set and
the chats they held."""

from __future__ import annotations

import asyncio
import json
import time
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

from api import recovery
from api.app import create_app
from api.engine import conv_stream
from desk.config import DeskConfig
from desk.errors import Busy
from desk.models import AgentSpec


async def _statuses(tmp_path: Path, change: dict[str, str] | None = None) -> dict[str, str]:
    """Start the in-process service on ``tmp_path``, optionally set statuses, return every agent's."""
    app = create_app(api_settings(tmp_path))
    async with in_process(app) as api:
        http = api.http
        for agent_id, status in (change or {}).items():
            token = await api.agent(agent_id, {"real_estate": 0.9}, status="online")
            r = await http.put(
                f"/v1/agents/{agent_id}/status", json={"status": status}, headers=api.auth(token)
            )
            assert r.status_code == 200, r.text
        listed = (await http.get("/v1/agents", headers=api.auth(ADMIN))).json()
    return {a["id"]: a["status"] for a in listed}


SKILLS = {"real_estate": 0.9, "empathy": 0.9, "legal": 0.9, "luxury": 0.9}
ASK_FOR_A_PERSON = "Can I talk to a real person please?"


def _durable(tmp_path: Path) -> Any:
    """Settings whose checkpoints survive the app (SQLite), like a restarted embedded server."""
    return api_settings(tmp_path, checkpoint_url=f"sqlite:///{tmp_path / 'checkpoints.sqlite'}")


@asynccontextmanager
async def _serving(tmp_path: Path) -> AsyncIterator[tuple[Any, httpx.AsyncClient, Api]]:
    """One life of the embedded service on ``tmp_path``: (app, client, helpers)."""
    app = create_app(_durable(tmp_path))
    async with in_process(app) as api:
        yield app, api.http, api


@pytest.mark.parametrize("replied", [False, True], ids=["accepted", "active"])
async def test_a_restart_gives_a_held_chat_back_to_its_agent(tmp_path: Path, replied: bool) -> None:
    async with _serving(tmp_path) as (_, http, api):
        maria = await api.agent("maria", SKILLS)
        cid, token = await api.conversation()
        turn = await api.say(cid, token, ASK_FOR_A_PERSON)
        handoff_id = turn["handoff"]["handoff_id"]
        assert (await api.act(handoff_id, "accept", maria)).status_code == 200
        if replied:
            assert (await api.act(handoff_id, "reply", maria, {"text": "Maria here."})).status_code == 200
        await api.agent("lee", SKILLS)  # free when the restart comes: a candidate for an offer
        before = (await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))).json()
    async with _serving(tmp_path) as (_, http, api):
        detail = (await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))).json()
        assert detail["handoff"]["status"] == ("active" if replied else "accepted")
        assert detail["handoff"]["assigned_agent_id"] == "maria"
        assert detail["handoff"]["brief"] == before["handoff"]["brief"], "the brief comes back too"
        agents = {a["id"]: a for a in (await http.get("/v1/agents", headers=api.auth(ADMIN))).json()}
        assert agents["maria"]["active_handoff_ids"] == [handoff_id]
        assert agents["lee"]["offered_handoff_ids"] == []
        again = await api.act(handoff_id, "reply", maria, {"text": "Still here."})
        assert again.status_code == 200, again.text


async def test_a_routine_pass_over_a_whole_desk_reads_no_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _serving(tmp_path) as (app, _, api):
        maria = await api.agent("maria", SKILLS)
        held = []
        for _ in range(3):
            cid, token = await api.conversation()
            held.append((await api.say(cid, token, ASK_FOR_A_PERSON))["handoff"]["handoff_id"])
        assert (await api.act(held[0], "accept", maria)).status_code == 200
        desk = app.state.desk
        reads: list[str] = []
        for name in ("get", "get_agent"):
            real = getattr(desk, name)

            async def counted(one: str, _real: Any = real) -> Any:
                reads.append(one)
                return await _real(one)

            monkeypatch.setattr(desk, name, counted)
        assert await recovery.recover(app.state.engine) == (0, 0)
        assert reads == []
        assert [h for h, _ in await app.state.store.open_handoffs(app.state.engine.prefix)] == held


async def test_a_stored_profile_with_an_id_from_before_the_id_rule_does_not_stop_a_restart(
    tmp_path: Path,
) -> None:
    async with _serving(tmp_path) as (app, _, api):
        await api.agent("maria", SKILLS)
        legacy = AgentSpec.model_construct(id="ops/legacy", status="online")  # stored before the rule
        await app.state.store.set_agent_profile("ops/legacy", legacy.model_dump_json())
    async with _serving(tmp_path) as (_, http, api):
        listed = (await http.get("/v1/agents", headers=api.auth(ADMIN))).json()
        assert [a["id"] for a in listed] == ["maria"]


async def test_restarted_desk_restores_each_agents_last_status(tmp_path: Path) -> None:
    before = await _statuses(tmp_path, {"maria": "online", "lee": "away", "kim": "offline"})
    assert before == {"maria": "online", "lee": "away", "kim": "offline"}
    # A new process: the in-process desk starts empty and is rebuilt from the API store.
    assert await _statuses(tmp_path) == before


async def test_an_agent_whose_heartbeat_expired_is_restored_offline(tmp_path: Path) -> None:
    """The stored status follows the desk: a console closed without signing out is not "online"."""
    quick = DeskConfig(heartbeat_ttl_s=0.5)
    app = create_app(api_settings(tmp_path), desk_config=quick)
    async with in_process(app) as api:
        http = api.http
        await api.agent("maria", {"real_estate": 0.9}, status="online")  # never heartbeats again
        deadline = time.monotonic() + 10
        while (await http.get("/v1/agents/maria", headers=api.auth(ADMIN))).json()["status"] != "offline":
            assert time.monotonic() < deadline, "the desk never noticed the missing heartbeat"
            await asyncio.sleep(0.1)
        # The status change reaches the store through the desk's event stream.
        while '"status":"offline"' not in "".join(await app.state.store.agent_profiles()):
            assert time.monotonic() < deadline, "the store still holds the old status"
            await asyncio.sleep(0.05)
    assert await _statuses(tmp_path) == {"maria": "offline"}


@pytest.mark.services
async def test_a_wiped_redis_desk_is_noticed_and_rebuilt_before_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = aioredis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await redis.ping()
    except (OSError, aioredis.RedisError) as exc:
        await redis.aclose()
        service_missing("Redis", str(exc))
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    # The periodic pass is an hour away: only noticing the wipe can bring the desk back.
    settings = api_settings(tmp_path, redis_url=REDIS_URL, redis_prefix=prefix, desk_recover_s=3600)
    app = create_app(settings)
    # The background pass waits for ``go`` so the test sees the service while the desk is empty.
    go = asyncio.Event()
    real_recover = recovery.recover

    async def gated_recover(service: Any) -> tuple[int, int]:
        await go.wait()
        return await real_recover(service)

    monkeypatch.setattr(recovery, "recover", gated_recover)
    try:
        async with in_process(app) as api:
            http = api.http
            await api.agent("maria", {"real_estate": 0.9}, status="online")
            assert (await http.get("/readyz")).status_code == 200
            # A routine pass over an intact desk keeps the service ready while it runs.
            service = app.state.engine
            seen: list[bool] = []
            profiles = service.store.agent_profiles

            async def watched_profiles() -> list[str]:
                seen.append(await recovery.desk_intact(service))
                return await profiles()

            monkeypatch.setattr(service.store, "agent_profiles", watched_profiles)
            await real_recover(service)
            assert seen == [True]

            await redis.delete(*[key async for key in redis.scan_iter(f"{prefix}*")])
            gone = await http.get("/readyz")
            assert gone.status_code == 503
            assert gone.json()["checks"]["desk"].startswith("error")
            go.set()

            deadline = time.monotonic() + 10
            while (await http.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, "desk not rebuilt"
                await asyncio.sleep(0.1)
            agents = (await http.get("/v1/agents", headers=api.auth(ADMIN))).json()
            assert [(a["id"], a["status"]) for a in agents] == [("maria", "online")]
    finally:
        keys = [key async for key in redis.scan_iter(f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def _busy_twice(desk: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the desk refuse its next two submits as a Redis desk that lost every race; returns the
    count of refusals (one item, updated in place)."""
    real = desk.submit_placed
    refused = [0]

    async def contended(request: Any) -> Any:
        if refused[0] < 2:
            refused[0] += 1
            raise Busy("desk operation lost 200 races in a row; try again")
        return await real(request)

    monkeypatch.setattr(desk, "submit_placed", contended)
    return refused


async def test_a_handoff_the_desk_is_too_busy_to_take_is_submitted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk whose shared state kept changing under the submit (Redis, under heavy load) raises Busy:
    the customer's turn still succeeds, they are told they wait for a person, and the desk gets the
    handoff from a retry."""
    async with _serving(tmp_path) as (app, http, api):
        maria = await api.agent("maria", SKILLS)
        refused = _busy_twice(app.state.engine.desk, monkeypatch)
        cid, token = await api.conversation()
        turn = await api.say(cid, token, ASK_FOR_A_PERSON)
        handoff_id = turn["handoff"]["handoff_id"]
        told = [json.loads(e) for e in await app.state.engine.events.read(conv_stream(cid), 0)]
        assert [e["state"] for e in told if e["type"] == "handoff_state"] == ["pending"]
        deadline = time.monotonic() + 10
        while (r := await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))).status_code == 404:
            assert time.monotonic() < deadline, "the desk never got the handoff"
            await asyncio.sleep(0.05)
        assert refused == [2]
        assert r.json()["handoff"]["status"] in {"offered", "pending"}
        await app.state.engine.submitted(handoff_id)  # the retry has told the customer too
        told = [json.loads(e) for e in await app.state.engine.events.read(conv_stream(cid), 0)]
        placed = [e for e in told if e["type"] == "handoff_state"][1:]
        assert len(placed) == 1, "once the desk has it, the customer hears where they stand"
        assert placed[0]["queue_position"] is not None
        assert (await api.act(handoff_id, "accept", maria)).status_code == 200


async def test_an_escalation_waits_for_a_busy_desk_to_take_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _serving(tmp_path) as (app, http, api):
        await api.agent("maria", SKILLS)
        refused = _busy_twice(app.state.engine.desk, monkeypatch)
        cid, token = await api.conversation()
        await api.say(cid, token, "Hi")
        r = await http.post("/v1/handoffs", json={"conversation_id": cid}, headers=api.auth(ADMIN))
        assert r.status_code == 201, r.text
        assert refused == [2]
        assert r.json()["handoff"]["conversation_id"] == cid


async def test_a_busy_desk_answers_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _serving(tmp_path) as (app, _, api):
        maria = await api.agent("maria", SKILLS)
        cid, token = await api.conversation()
        handoff_id = (await api.say(cid, token, ASK_FOR_A_PERSON))["handoff"]["handoff_id"]

        async def busy(*_: Any) -> Any:
            raise Busy("desk operation lost 200 races in a row; try again")

        monkeypatch.setattr(app.state.engine.desk, "accept_by", busy)
        r = await api.act(handoff_id, "accept", maria)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1"
        assert r.json()["error"]["code"] == "desk_busy"
