"""A customer waiting for a person, over the real app: the policy's no-agent choice and accept timeout
(per policy and per rule) beat desk.yaml, callbacks are real work with outcomes in analytics, leave
queue, one wait figure everywhere, agents' names, a colleague taking over, and no internal text in
anything the customer reads."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import yaml
from websockets.asyncio.client import ClientConnection

from api.app import create_app
from api.customer_lines import LEFT_QUEUE, STILL_WAITING, callback_promise
from desk.config import DeskConfig
from tests.conftest import REDIS_URL, service_missing
from tests.test_api_support import ADMIN, DISTRESS, SELL, Api, api_settings, next_event, serve_in_thread

POLICIES = Path(__file__).resolve().parent.parent / "policies"
# What only the team may read: graph markers, desk reasons, ids of nodes and rules.
INTERNAL = ("rolled back", "human_agent", "no agent took", "expired", "heartbeat", "accept_timeout", "rule")
SKILLS = {"real_estate": 0.9, "empathy": 0.8, "legal": 0.7, "luxury": 0.6}
# Slow desk defaults: whatever happens sooner was decided by the routing policy.
SLOW_DESK = DeskConfig(expires_after_s=300, accept_timeout_s=30, no_agent_policy="ai")


@pytest.fixture(params=["memory", "redis"])
async def desk_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The in-process desk, or the Redis desk (and Redis event streams) under a fresh key prefix."""
    if request.param == "memory":
        return {}
    redis = aioredis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await redis.ping()
    except (OSError, aioredis.RedisError) as exc:
        service_missing("Redis", str(exc))
    finally:
        await redis.aclose()
    return {"redis_url": REDIS_URL, "redis_prefix": f"baton-test-{uuid.uuid4().hex[:8]}:"}


def policy_file(tmp_path: Path, handoff: dict[str, Any], rule: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "policy.yaml"
    shutil.copy(POLICIES / "real_estate.yaml", path)
    doc = yaml.safe_load(path.read_text())
    doc["handoff"] = {**doc.get("handoff", {}), **handoff}
    for item in doc["rules"]:
        if item["id"] == "human_distress":
            item.update(rule or {})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


async def history(api: Api, cid: str, token: str) -> list[dict[str, Any]]:
    """Every event the customer's stream holds, as a reload replays it."""
    async with api.ws(f"/v1/conversations/{cid}/ws", token, since=0) as ws:
        head = json.loads(await ws.recv())["seq"]
        out: list[dict[str, Any]] = []
        while len(out) < head:
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if event.get("seq"):
                out.append(event)
        return out


def lines(events: list[dict[str, Any]]) -> list[str]:
    """What the customer reads: messages and state lines."""
    out = []
    for e in events:
        if e["type"] in ("bot_message", "agent_message", "customer_message"):
            out.append(e["text"])
        elif e["type"] == "handoff_state" and e.get("message"):
            out.append(e["message"])
    return out


def assert_customer_safe(events: list[dict[str, Any]]) -> None:
    said = [t for e in events if e["type"] != "customer_message" for t in lines([e])]
    leaks = [t for t in said if any(word in t.lower() for word in INTERNAL)]
    assert not leaks, leaks
    assert not [e for e in events if e["type"] == "bot_message" and e.get("role") == "system"]


async def until_state(ws: ClientConnection, state: str, timeout: float = 20) -> dict[str, Any]:
    event = await next_event(ws, "handoff_state", timeout)
    while event["state"] != state:
        event = await next_event(ws, "handoff_state", timeout)
    return event


async def hand_off(api: Api, cid: str, token: str) -> dict[str, Any]:
    turn = await api.to_a_person(cid, token)
    assert turn["status"] == "awaiting_human"
    return turn


async def register(api: Api, agent_id: str, name: str, team: str, status: str = "online") -> str:
    body = {"id": agent_id, "name": name, "team": team, "skills": SKILLS, "status": status}
    r = await api.http.post("/v1/agents", json=body, headers=api.auth(ADMIN))
    assert r.status_code == 201, r.text
    return str(r.json()["agent_token"])


async def test_policy_callback_beats_the_desk_and_becomes_work_with_an_outcome(
    tmp_path: Path, desk_settings: dict[str, Any]
) -> None:
    policy = policy_file(tmp_path, {"no_agent": "callback", "no_agent_after_s": 1})
    app = create_app(api_settings(tmp_path, policy=policy, **desk_settings), desk_config=SLOW_DESK)
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                await hand_off(api, cid, token)
                await until_state(ws, "callback")  # after ~1 s, not the desk's 300
                done = await next_event(ws, "handoff_complete")
                assert done["outcome"] == "callback"
            status = (await http.get(f"/v1/conversations/{cid}/queue", headers=api.auth(token))).json()
            assert status["state"] == "callback"
            assert status["callback"]["contact_needed"] is True

            r = await http.post(
                f"/v1/conversations/{cid}/callback", json={"contact": "call me"}, headers=api.auth(token)
            )
            assert r.status_code == 422
            assert r.json()["error"]["code"] == "invalid_contact"
            assert r.json()["error"]["details"][0]["field"] == "contact"
            r = await http.post(
                f"/v1/conversations/{cid}/callback",
                json={"contact": "+49 151 1234567"},
                headers=api.auth(token),
            )
            assert r.status_code == 200, r.text
            assert (r.json()["contact"], r.json()["contact_needed"]) == ("+491511234567", False)

            said = await history(api, cid, token)
            assert_customer_safe(said)
            told = lines(said)
            assert sum(callback_promise(None) in t for t in told) == 1  # once per state change, never twice
            assert sum("+491511234567" in t for t in told) == 1
            apology = "all our agents are busy"
            assert sum(apology in t.lower() for t in told) == 1

            maria = await register(api, "maria", "Maria", "sales")
            lee = await register(api, "lee", "Lee", "legal")
            assert (await http.get("/v1/callbacks", headers=api.auth(token))).status_code == 403
            work = (await http.get("/v1/callbacks?status=open", headers=api.auth(maria))).json()
            mine = next(c for c in work if c["conversation_id"] == cid)
            assert (mine["reason"], mine["contact"]["value"]) == ("no_agent", "+491511234567")
            assert mine["brief"]  # the handoff's brief travels with it
            cb = mine["id"]
            assert (await http.post(f"/v1/callbacks/{cb}/take", headers=api.auth(maria))).status_code == 200
            assert (await http.post(f"/v1/callbacks/{cb}/take", headers=api.auth(lee))).status_code == 409
            outcome = {"outcome": "reached", "note": "Booked a valuation"}
            r = await http.post(f"/v1/callbacks/{cb}/complete", json=outcome, headers=api.auth(lee))
            assert r.status_code == 409
            r = await http.post(f"/v1/callbacks/{cb}/complete", json=outcome, headers=api.auth(maria))
            assert (r.status_code, r.json()["status"]) == (200, "done")
            stats = (await http.get("/v1/analytics/handoffs", headers=api.auth(ADMIN))).json()
            assert stats["callbacks"]["requested"] == 1
            assert stats["callbacks"]["outcomes"] == {"reached": 1}
            after = await api.say(cid, token, "Thanks, talk soon")
            assert after["status"] == "bot"


async def test_a_rules_queue_choice_beats_the_policys_and_the_customer_can_leave(
    tmp_path: Path, desk_settings: dict[str, Any]
) -> None:
    policy = policy_file(
        tmp_path, {"no_agent": "callback"}, rule={"no_agent": "queue", "no_agent_after_s": 1}
    )
    app = create_app(api_settings(tmp_path, policy=policy, **desk_settings), desk_config=SLOW_DESK)
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                turn = await hand_off(api, cid, token)
                handoff_id = turn["handoff"]["handoff_id"]
                notice = await next_event(ws, "handoff_state")
                while notice["message"] != STILL_WAITING:
                    notice = await next_event(ws, "handoff_state")
                assert notice["state"] == "pending"
            status = (await http.get(f"/v1/conversations/{cid}/queue", headers=api.auth(token))).json()
            assert (status["state"], status["position"], status["callback"]) == ("waiting", 1, None)
            assert status["expected_wait_s"] is None  # nobody is online who could take it

            left = await http.post(f"/v1/conversations/{cid}/queue/leave", headers=api.auth(token))
            assert (left.status_code, left.json()["state"]) == (200, "none")
            desk = (await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))).json()
            assert desk["handoff"]["status"] == "cancelled"
            again = await http.post(f"/v1/conversations/{cid}/queue/leave", headers=api.auth(token))
            assert (again.status_code, again.json()["error"]["code"]) == (409, "not_waiting")
            said = await history(api, cid, token)
            assert_customer_safe(said)
            assert sum(LEFT_QUEUE in t for t in lines(said)) == 1
            assert [e["outcome"] for e in said if e["type"] == "handoff_complete"] == ["withdrawn"]
            assert (await api.say(cid, token, "What's my house worth?"))["status"] == "bot"


async def test_one_wait_figure_everywhere_and_a_callback_instead_of_waiting(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path), desk_config=SLOW_DESK)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await register(api, "maria", "Maria", "sales")
            first, first_token = await api.conversation()
            offered = (await hand_off(api, first, first_token))["handoff"]["handoff_id"]
            assert (await api.act(offered, "accept", maria)).status_code == 200  # maria is now full

            cid, token = await api.conversation(email="dana@example.com")
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                turn = await hand_off(api, cid, token)
                pending = await until_state(ws, "pending")
            status = (await http.get(f"/v1/conversations/{cid}/queue", headers=api.auth(token))).json()
            agent = (await http.get("/v1/agents/maria", headers=api.auth(ADMIN))).json()
            measured = agent["performance"]["avg_accept_s"]
            assert measured > 0
            expected = SLOW_DESK.default_handle_time_s + measured  # one full round, then maria answers
            assert status["position"] == turn["handoff"]["queue_position"] == pending["queue_position"] == 1
            for figure in (
                status["expected_wait_s"],
                turn["handoff"]["expected_wait_s"],
                pending["expected_wait_s"],
            ):
                assert abs(figure - expected) < 0.1

            r = await http.post(
                f"/v1/conversations/{cid}/callback", json={"contact": "nope"}, headers=api.auth(token)
            )
            assert r.status_code == 422
            r = await http.post(
                f"/v1/conversations/{cid}/callback",
                json={"contact": "Dana@Example.com"},
                headers=api.auth(token),
            )
            assert (r.status_code, r.json()["contact"]) == (200, "dana@example.com")
            desk = (
                await http.get(f"/v1/handoffs/{turn['handoff']['handoff_id']}", headers=api.auth(ADMIN))
            ).json()
            assert desk["handoff"]["status"] == "cancelled"
            said = await history(api, cid, token)
            assert_customer_safe(said)
            assert sum("dana@example.com" in t for t in lines(said)) == 1
            work = (await http.get("/v1/callbacks", headers=api.auth(maria))).json()
            assert [c["reason"] for c in work if c["conversation_id"] == cid] == ["requested"]


async def test_customers_read_who_joined_and_who_took_over(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path), desk_config=SLOW_DESK)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await register(api, "maria", "Maria", "sales")
            cid, token = await api.conversation()
            handoff_id = (await hand_off(api, cid, token))["handoff"]["handoff_id"]
            lee = await register(api, "lee", "Lee", "legal")  # after the offer went to maria
            assert (await api.act(handoff_id, "accept", maria)).status_code == 200
            assert (
                await api.act(handoff_id, "reply", maria, {"text": "Hi Dana, Maria here."})
            ).status_code == 200
            moved = await api.act(handoff_id, "transfer", maria, {"to_agent_id": "lee", "reason": "lien"})
            assert moved.status_code == 200, moved.text
            assert (await api.act(handoff_id, "accept", lee)).status_code == 200
            status = (await http.get(f"/v1/conversations/{cid}/queue", headers=api.auth(token))).json()
            assert (status["state"], status["agent_name"]) == ("with_agent", "Lee")
            said = await history(api, cid, token)
            assert_customer_safe(said)
            told = lines(said)
            joined = told.index("Maria from our sales team joined the chat.")
            moving = told.index("You're being transferred to a colleague who can help further.")
            took = told.index("Lee from our legal team has taken over the chat.")
            assert joined < moving < took
            names = [e["agent_name"] for e in said if e["type"] == "handoff_state" and e.get("agent_name")]
            assert names == ["Maria", "Lee"]


async def test_the_bot_does_not_ask_again_what_was_answered_while_queued(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path), desk_config=SLOW_DESK)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            await api.say(cid, token, "Hi")
            asked = await api.say(cid, token, SELL)
            question = "When would you ideally like to sell?"
            assert question in asked["replies"][-1]["text"]
            await api.say(cid, token, DISTRESS)
            await api.say(cid, token, "We'd like to sell by June.")  # answered while waiting
            left = await http.post(f"/v1/conversations/{cid}/queue/leave", headers=api.auth(token))
            assert left.status_code == 200
            said = await history(api, cid, token)
            after = [
                e["text"]
                for e in said[[e["type"] for e in said].index("handoff_complete") - 2 :]
                if e["type"] == "bot_message"
            ]
            assert after
            assert all(question not in text for text in after)
            view = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(ADMIN))).json()
            assert view["status"] == "bot"


async def test_carrying_on_with_the_ai_says_the_policys_line_once(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, {"no_agent": "ai", "no_agent_after_s": 1})
    app = create_app(
        api_settings(tmp_path, policy=policy),
        desk_config=SLOW_DESK.model_copy(update={"no_agent_policy": "callback"}),
    )
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                await hand_off(api, cid, token)
                await until_state(ws, "rolled_back")
                assert (await next_event(ws, "handoff_complete"))["outcome"] == "rolled_back"
            said = await history(api, cid, token)
            assert_customer_safe(said)
            line = yaml.safe_load(policy.read_text())["handoff"]["no_agent_message"]
            assert sum(line in t for t in lines(said)) == 1  # the state change is told once


async def test_the_rules_accept_timeout_travels_with_the_handoff_to_the_offer(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, {"accept_timeout_s": 50}, rule={"accept_timeout_s": 7})
    app = create_app(api_settings(tmp_path, policy=policy), desk_config=SLOW_DESK)
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await register(api, "maria", "Maria", "sales")
            cid, token = await api.conversation()
            async with api.ws("/v1/agents/maria/ws", maria) as agent:
                handoff_id = (await hand_off(api, cid, token))["handoff"]["handoff_id"]
                offer = await next_event(agent, "offer")
            detail = (await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))).json()
            assert (
                detail["handoff"]["accept_timeout_s"] == 7
            )  # the rule's, not the policy's 50 or the desk's 30
            offered_at = datetime.fromisoformat(detail["handoff"]["offers"][0]["offered_at"])
            assert datetime.fromisoformat(offer["expires_at"]) - offered_at == timedelta(seconds=7)
            async with api.ws("/v1/agents/maria/ws", maria) as agent:
                snapshot = json.loads(await agent.recv())  # a reconnecting console reads the same deadline
            assert [h["expires_at"] for h in snapshot["handoffs"]] == [offer["expires_at"]]
