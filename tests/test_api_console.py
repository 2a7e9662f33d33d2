"""The agent console's routes against the real app: missed offer then pick from the queue, internal
notes (never reaching the customer), saved replies, the customer panel, transfer targets, the live
desk and a supervisor's reassignment. Notes and saved replies survive a restart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from conftest import service_missing
from test_desk_helpers import REDIS_URL

from api.app import create_app
from desk.actions import HandoffActions
from desk.config import DeskConfig
from desk.models import Handoff
from tests.conftest import POLICIES
from tests.test_api_support import ADMIN, SELL, Api, api_settings, next_event, quiet, serve_in_thread

SKILLS = {"real_estate": 0.9, "empathy": 0.8, "legal": 0.7, "luxury": 0.6}
ASK = "Can I talk to a real person please?"
NOTE = "Internal: spouse co-owns the house, confirm before quoting."


def _app(tmp_path: Path, backend: dict[str, Any] | None = None, **desk: Any) -> Any:
    # SQLite checkpoints and API store in tmp_path, so a second app on the same dir is a restart
    settings = api_settings(tmp_path, checkpoint_url="", **(backend or {}))
    return create_app(settings, desk_config=DeskConfig(**desk) if desk else None)


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.services)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """The in-process desk, or the scaled profile's Redis desk on a key prefix of its own."""
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


async def _handoff(api: Api, cid: str, token: str) -> str:
    await api.say(cid, token, SELL)
    turn = await api.say(cid, token, ASK)
    assert turn["handoff"], turn
    return str(turn["handoff"]["handoff_id"])


async def _trusted_conversation(api: Api, customer_id: str) -> tuple[str, str]:
    r = await api.http.post(
        "/v1/conversations", json={"customer": {"id": customer_id, "name": "Dana"}}, headers=Api.auth(ADMIN)
    )
    assert r.status_code == 201, r.text
    return r.json()["conversation_id"], r.json()["customer_token"]


async def test_a_missed_offer_shows_and_can_be_picked_from_the_queue(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    with serve_in_thread(_app(tmp_path, backend, accept_timeout_s=1.0, expires_after_s=120.0)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", SKILLS)
            sales = await api.agent("sam", {"sales": 0.9})
            cid, cust = await api.conversation()
            async with api.ws("/v1/agents/maria/ws", maria) as ws:
                hid = await _handoff(api, cid, cust)
                offer = await next_event(ws, "offer")
                assert offer["handoff_id"] == hid
                withdrawn = await next_event(ws, "handoff_state")
                assert (withdrawn["state"], withdrawn["message"]) == ("offer_withdrawn", "accept_timeout")
            r = await http.get("/v1/desk/queue", headers=Api.auth(maria))
            assert r.status_code == 200, r.text
            [item] = r.json()
            assert (item["handoff_id"], item["status"], item["missed"]) == (hid, "pending", True)
            assert item["offered_agent_id"] is None
            assert (await http.get("/v1/desk/queue", headers=Api.auth(sales))).json() == []  # lacks skills
            assert (await http.get("/v1/desk/queue", headers=Api.auth(cust))).status_code == 403
            admin_view = (await http.get("/v1/desk/queue", headers=Api.auth(ADMIN))).json()
            assert [i["handoff_id"] for i in admin_view] == [hid]
            assert (await api.act(hid, "accept", sales)).status_code == 409  # the desk's check
            taken = await api.act(hid, "accept", maria)
            assert taken.status_code == 200, taken.text
            assert taken.json()["assigned_agent_id"] == "maria"
            assert (await api.act(hid, "accept", maria)).status_code == 409
            assert (await http.get("/v1/desk/queue", headers=Api.auth(maria))).json() == []


async def test_an_agent_accepting_an_offer_that_moved_on_hears_why(
    tmp_path: Path, backend: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Maria answers after her offer timed out and Lee was offered it: 409 saying so, not a 403;
    Kim, never offered it, may not act on it (403). The handoff is read for that only when the desk
    refuses: Lee's accept is the desk's one transaction."""
    reads: list[str] = []
    get = HandoffActions.get

    async def counted_get(self: HandoffActions, handoff_id: str) -> Handoff:
        reads.append(handoff_id)
        return await get(self, handoff_id)

    monkeypatch.setattr(HandoffActions, "get", counted_get)
    with serve_in_thread(_app(tmp_path, backend, accept_timeout_s=1.0, expires_after_s=120.0)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", SKILLS)
            cid, cust = await api.conversation()
            async with api.ws("/v1/agents/maria/ws", maria) as ws:
                hid = await _handoff(api, cid, cust)
                assert (await next_event(ws, "offer"))["handoff_id"] == hid
                lee = await api.agent("lee", SKILLS)
                async with api.ws("/v1/agents/lee/ws", lee) as lee_ws:
                    withdrawn = await next_event(ws, "handoff_state")
                    assert (withdrawn["state"], withdrawn["message"]) == ("offer_withdrawn", "accept_timeout")
                    assert (await next_event(lee_ws, "offer"))["handoff_id"] == hid
                    late = await api.act(hid, "accept", maria)
                    assert late.status_code == 409, late.text
                    error = late.json()["error"]
                    assert error["code"] == "offer_ended"
                    assert "timed out" in error["message"]
                    assert "offered now" in error["message"]
                    kim = await api.agent("kim", SKILLS)
                    reads.clear()
                    assert (await api.act(hid, "accept", kim)).status_code == 403
                    assert reads == [hid]
                    reads.clear()
                    taken = await api.act(hid, "accept", lee)
                    assert taken.status_code == 200, taken.text
                    assert reads == []


async def test_internal_notes_never_reach_the_customer(tmp_path: Path) -> None:
    with serve_in_thread(_app(tmp_path)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", SKILLS)
            lee = await api.agent("lee", {"legal": 0.9})
            cid, cust = await api.conversation()
            hid = await _handoff(api, cid, cust)
            assert (await api.act(hid, "accept", maria)).status_code == 200
            async with api.ws(f"/v1/conversations/{cid}/ws", cust) as customer_ws:
                await next_event(customer_ws, "handoff_state")  # the snapshot
                r = await http.post(
                    f"/v1/conversations/{cid}/notes", json={"text": NOTE}, headers=Api.auth(maria)
                )
                assert r.status_code == 201, r.text
                assert r.json()["author"] == "maria"
                assert await quiet(customer_ws, 1.0) == []
            for who in (cust, lee):
                assert (
                    await http.get(f"/v1/conversations/{cid}/notes", headers=Api.auth(who))
                ).status_code == 403
                r = await http.post(
                    f"/v1/conversations/{cid}/notes", json={"text": "x"}, headers=Api.auth(who)
                )
                assert r.status_code == 403
            notes = (await http.get(f"/v1/conversations/{cid}/notes", headers=Api.auth(ADMIN))).json()
            assert [n["text"] for n in notes] == [NOTE]
            seen = await http.get(f"/v1/conversations/{cid}", headers=Api.auth(cust))
            assert seen.status_code == 200
            assert "spouse" not in seen.text
            async with api.ws(f"/v1/conversations/{cid}/ws", cust, since=0) as replay:
                everything = await quiet(replay, 1.0)
            assert everything, "the customer's stream replays the conversation"
            assert not [e for e in everything if "spouse" in json.dumps(e)]
            r = await http.post(f"/v1/conversations/{cid}/notes", json={"text": ""}, headers=Api.auth(maria))
            assert r.status_code == 422
            assert (
                await http.get("/v1/conversations/c-nope/notes", headers=Api.auth(ADMIN))
            ).status_code == 404
    with serve_in_thread(_app(tmp_path)) as url:  # a restart keeps them
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            notes = (await http.get(f"/v1/conversations/{cid}/notes", headers=Api.auth(ADMIN))).json()
            assert [n["text"] for n in notes] == [NOTE]


async def test_saved_replies_per_team(tmp_path: Path) -> None:
    greeting = {"title": "Greeting", "text": "Hi, thanks for waiting. I'm here to help."}
    valuation = {"title": "Valuation", "text": "I can book a free valuation visit this week."}
    with serve_in_thread(_app(tmp_path)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", {"real_estate": 0.9})
            _, cust = await api.conversation()
            for team, replies in (("all", [greeting]), ("real_estate", [valuation]), ("legal", [valuation])):
                r = await http.put(
                    f"/v1/saved-replies/{team}", json={"replies": replies}, headers=Api.auth(ADMIN)
                )
                assert r.status_code == 200, r.text
            mine = (await http.get("/v1/saved-replies", headers=Api.auth(maria))).json()["teams"]
            assert mine == {"all": [greeting], "real_estate": [valuation]}
            assert set((await http.get("/v1/saved-replies", headers=Api.auth(ADMIN))).json()["teams"]) == {
                "all",
                "legal",
                "real_estate",
            }
            for token in (maria, cust):
                r = await http.put("/v1/saved-replies/all", json={"replies": []}, headers=Api.auth(token))
                assert r.status_code == 403
            assert (await http.get("/v1/saved-replies", headers=Api.auth(cust))).status_code == 403
            bad = await http.put("/v1/saved-replies/Bad Team", json={"replies": []}, headers=Api.auth(ADMIN))
            assert bad.status_code == 422
            empty = await http.put(
                "/v1/saved-replies/all",
                json={"replies": [{"title": "", "text": "x"}]},
                headers=Api.auth(ADMIN),
            )
            assert empty.status_code == 422
            r = await http.put("/v1/saved-replies/legal", json={"replies": []}, headers=Api.auth(ADMIN))
            assert set(r.json()["teams"]) == {"all", "real_estate"}
    with serve_in_thread(_app(tmp_path)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            after = (await http.get("/v1/saved-replies", headers=Api.auth(ADMIN))).json()["teams"]
            assert after == {"all": [greeting], "real_estate": [valuation]}


async def test_customer_panel_lists_earlier_conversations_by_trusted_id(tmp_path: Path) -> None:
    with serve_in_thread(_app(tmp_path)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", SKILLS, status="online")
            first, first_token = await _trusted_conversation(api, "crm-42")
            h1 = await _handoff(api, first, first_token)
            assert (await api.act(h1, "accept", maria)).status_code == 200
            done = await api.act(h1, "complete", maria, {"note": "valuation booked Friday", "text": "Bye!"})
            assert done.status_code == 200, done.text
            # someone else claiming the same id without a signature links nothing
            claimed = await http.post("/v1/conversations", json={"customer": {"id": "crm-42"}})
            claimed_id = claimed.json()["conversation_id"]
            second, second_token = await _trusted_conversation(api, "crm-42")
            h2 = await _handoff(api, second, second_token)
            assert (await api.act(h2, "accept", maria)).status_code == 200
            r = await http.get(f"/v1/conversations/{second}/customer", headers=Api.auth(maria))
            assert r.status_code == 200, r.text
            panel = r.json()
            assert panel["customer_id"] == "crm-42"
            assert panel["profile"]["name"] == "Dana"
            assert panel["facts"], "this conversation's brief facts"
            [earlier] = panel["earlier"]
            assert earlier["conversation_id"] == first
            assert earlier["first_message"] == SELL
            [past] = [h for h in earlier["handoffs"] if h["kind"] == "human"]
            assert past["handoff_id"] == h1
            assert past["summary"]
            assert (past["outcome"], past["note"]) == ("closed by the agent", "valuation booked Friday")
            assert claimed_id not in r.text
            for token in (second_token, first_token):
                assert (
                    await http.get(f"/v1/conversations/{second}/customer", headers=Api.auth(token))
                ).status_code == 403
            other = await api.agent("lee", {"legal": 0.9})
            assert (
                await http.get(f"/v1/conversations/{second}/customer", headers=Api.auth(other))
            ).status_code == 403


async def _accepted(api: Api, token: str) -> tuple[str, str]:
    cid, cust = await api.conversation()
    hid = await _handoff(api, cid, cust)
    r = await api.act(hid, "accept", token)
    assert r.status_code == 200, r.text
    return cid, hid


async def test_transfer_targets_live_desk_and_reassign(tmp_path: Path, backend: dict[str, Any]) -> None:
    with serve_in_thread(_app(tmp_path, backend)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", SKILLS)
            lee = await api.agent("lee", SKILLS, status="away")
            cid, hid = await _accepted(api, maria)
            targets = (await http.get("/v1/desk/transfer-targets", headers=Api.auth(maria))).json()
            [colleague] = targets["agents"]
            assert (colleague["id"], colleague["status"], colleague["load"], colleague["available"]) == (
                "lee",
                "away",
                0,
                False,
            )
            assert "human_agent" in [q["name"] for q in targets["queues"]]
            assert "real_estate" in targets["skills"]
            assert (await http.get("/v1/desk/transfer-targets", headers=Api.auth(cid))).status_code in (
                401,
                403,
            )
            assert (await http.get("/v1/desk/live", headers=Api.auth(maria))).status_code == 403
            live = (await http.get("/v1/desk/live", headers=Api.auth(ADMIN))).json()
            loads = {a["id"]: (a["status"], a["held"]) for a in live["agents"]}
            assert loads == {"maria": ("online", 1), "lee": ("away", 0)}
            assert [(h["handoff_id"], h["agent_id"]) for h in live["held"]] == [(hid, "maria")]
            body = {"to_agent_id": "lee", "reason": "Lee knows this street"}
            busy = await http.post(f"/v1/desk/handoffs/{hid}/reassign", json=body, headers=Api.auth(ADMIN))
            assert busy.status_code == 409  # lee is away
            r = await http.put("/v1/agents/lee/status", json={"status": "online"}, headers=Api.auth(lee))
            assert r.status_code == 200
            refused = await http.post(f"/v1/desk/handoffs/{hid}/reassign", json=body, headers=Api.auth(maria))
            assert refused.status_code == 403
            async with (
                api.ws("/v1/agents/maria/ws", maria) as maria_ws,
                api.ws("/v1/agents/lee/ws", lee) as lee_ws,
            ):
                await next_event(maria_ws, "agent_state")
                await next_event(lee_ws, "agent_state")
                r = await http.post(f"/v1/desk/handoffs/{hid}/reassign", json=body, headers=Api.auth(ADMIN))
                assert r.status_code == 200, r.text
                assert (r.json()["status"], r.json()["offered_agent_id"]) == ("offered", "lee")
                told = await next_event(maria_ws, "handoff_state")
                assert (told["state"], told["handoff_id"]) == ("reassigned", hid)
                offer = await next_event(lee_ws, "offer")
                assert offer["handoff_id"] == hid
            unknown = await http.post(
                f"/v1/desk/handoffs/{hid}/reassign", json={"to_agent_id": "nobody"}, headers=Api.auth(ADMIN)
            )
            assert unknown.status_code == 404
            assert (await api.act(hid, "accept", lee)).status_code == 200
            assert (await api.act(hid, "complete", lee, {"note": "done"})).status_code == 200
            # a waiting one: offered by the desk to maria, moved to lee by the supervisor
            await http.put("/v1/agents/lee/status", json={"status": "away"}, headers=Api.auth(lee))
            _, waiting = await _waiting(api)
            await http.put("/v1/agents/lee/status", json={"status": "online"}, headers=Api.auth(lee))
            assert (await http.get(f"/v1/handoffs/{waiting}", headers=Api.auth(ADMIN))).json()["handoff"][
                "offered_agent_id"
            ] == "maria"
            r = await http.post(
                f"/v1/desk/handoffs/{waiting}/reassign", json={"to_agent_id": "lee"}, headers=Api.auth(ADMIN)
            )
            assert r.status_code == 200, r.text
            assert r.json()["offered_agent_id"] == "lee"


async def _waiting(api: Api) -> tuple[str, str]:
    cid, cust = await api.conversation()
    return cid, await _handoff(api, cid, cust)


async def test_an_agent_registered_without_a_status_starts_offline(tmp_path: Path) -> None:
    """The console's register form sends no status: the new agent must not get offers before signing in."""
    with serve_in_thread(_app(tmp_path)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            body = {"id": "new", "name": "New", "skills": ["real_estate"]}
            r = await http.post("/v1/agents", json=body, headers=Api.auth(ADMIN))
            assert r.status_code == 201
            agent = (await http.get("/v1/agents/new", headers=Api.auth(ADMIN))).json()
            assert agent["status"] == "offline"


async def test_a_policy_file_refused_on_disk_is_reported(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    good = (POLICIES / "real_estate.yaml").read_text(encoding="utf-8")
    policy.write_text(good, encoding="utf-8")
    app = create_app(api_settings(tmp_path, checkpoint_url="", policy=policy))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            path = "/v1/policies/real_estate/disk"
            first = (await http.get(path, headers=Api.auth(ADMIN))).json()
            assert first["refused"] is False
            broken = good.replace('op: ">"', 'op: "bigger"', 1)
            policy.write_text(broken, encoding="utf-8")
            r = await http.get(path, headers=Api.auth(ADMIN))
            assert r.status_code == 200, r.text
            disk = r.json()
            assert (disk["refused"], disk["serving_version"], disk["yaml"]) == (
                True,
                first["serving_version"],
                broken,
            )
            [issue] = disk["issues"]
            assert issue["message"].startswith("unknown operator 'bigger'")
            maria = await Api(url, http).agent("maria", SKILLS)
            assert (await http.get(path, headers=Api.auth(maria))).status_code == 403
            policy.write_text(good, encoding="utf-8")
            assert (await http.get(path, headers=Api.auth(ADMIN))).json()["refused"] is False
