"""Seed 000's handoff API through the real app and graph, on the in-process and the Redis desk.

Create a handoff from outside the graph (a CRM), update it, add context, assign it to an agent, and
configure agents (schedule, auto-accept, notifications): success, 401/403 per role, 404/409/422.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from test_api_support import ADMIN, Api
from test_desk_api import desk_settings, serving

__all__ = ["desk_settings"]  # the fixture: both desks

SKILLS = {"real_estate": 0.9, "empathy": 0.9}
NOTE = {"kind": "fact", "key": "plan", "text": "Premium, renews in March"}


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"]
    assert error["message"]
    return dict(error)


async def started(api: Api) -> tuple[str, str]:
    """A conversation the bot is handling (one customer turn)."""
    cid, token = await api.conversation()
    assert (await api.say(cid, token, "Hi, I'm thinking about selling my flat"))["status"] == "bot"
    return cid, token


async def create(api: Api, cid: str, token: str | None = ADMIN, **body: Any) -> httpx.Response:
    return await api.http.post("/v1/handoffs", json={"conversation_id": cid, **body}, headers=api.auth(token))


async def eventually(check: Any, tries: int = 100) -> Any:
    """Poll ``check()`` until it returns something truthy (desk events are consumed in the background)."""
    for _ in range(tries):
        if value := await check():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_a_crm_hands_a_conversation_to_a_person(tmp_path: Any, desk_settings: dict[str, Any]) -> None:
    async with serving(tmp_path, **desk_settings) as (http, api):
        maria = await api.agent("maria", SKILLS)
        cid, customer = await started(api)
        r = await create(
            api,
            cid,
            reason="hot lead from the spring campaign",
            trigger="qualification_based",
            urgency="high",
            campaign_id="spring-26",
            lead_id="L-10442",
            ai_confidence=0.7,
            context=[NOTE],
        )
        assert r.status_code == 201, r.text
        out = r.json()
        handoff = out["handoff"]
        hid = handoff["handoff_id"]
        assert (handoff["campaign_id"], handoff["lead_id"], handoff["trigger_source"]) == (
            "spring-26",
            "L-10442",
            "system",
        )
        assert handoff["ai_confidence"] == 0.7  # the caller's value wins over the classifier's
        assert handoff["estimated_handle_time_min"] is not None  # seed 000's estimate filled in
        assert handoff["offered_agent_id"] == "maria"  # the desk offered it like any handoff
        assert [(a["actor"], a["action"]) for a in handoff["audit"]] == [("admin", "created")]
        assert out["narration"]
        # The graph paused at the human node, as for a rule's handoff: status, record and the narration.
        view = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(ADMIN))).json()
        assert view["status"] == "awaiting_human"
        assert view["handoff"]["id"] == hid
        assert view["handoff"]["campaign_id"] == "spring-26"
        assert view["handoff"]["rule_id"] == "manual"
        assert view["transcript"][-1]["text"] == out["narration"]
        # The agent sees the brief with the CRM's note, grounded by who added it.
        assert (await api.act(hid, "accept", maria)).status_code == 200
        detail = (await http.get(f"/v1/handoffs/{hid}", headers=api.auth(maria))).json()
        assert detail["brief"]["summary"]
        assert [(n["key"], n["text"], n["by"]) for n in detail["brief"]["added"]] == [
            ("plan", NOTE["text"], "admin")
        ]
        assert detail["brief"]["request"]["lead_id"] == "L-10442"
        # and the run resumes with the agent's reply, through the same door as any other handoff
        reply = await api.act(hid, "reply", maria, {"text": "Hi, Maria here."})
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == "human"
        # the customer got the narration and sees the agent
        turns = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(customer))).json()["transcript"]
        assert [t["text"] for t in turns][-2:] == [out["narration"], "Hi, Maria here."]


async def test_create_refusals(tmp_path: Any, desk_settings: dict[str, Any]) -> None:
    async with serving(tmp_path, **desk_settings) as (_, api):
        maria = await api.agent("maria", SKILLS)
        cid, customer = await started(api)
        assert error_of(await create(api, cid, None), 401)
        assert error_of(await create(api, cid, customer), 403)["code"] == "forbidden"
        assert error_of(await create(api, cid, maria), 403)["code"] == "forbidden"
        assert error_of(await create(api, "no-such-conversation"), 404)
        fresh, _ = await api.conversation()
        assert error_of(await create(api, fresh), 409)["code"] == "not_started"
        bad = error_of(await create(api, cid, target="seller_bot"), 422)
        assert bad["details"][0]["field"] == "target"
        bad = error_of(await create(api, cid, preferred_agent_id="lee"), 422)
        assert bad["details"][0]["field"] == "preferred_agent_id"
        bad = error_of(await create(api, cid, required_skills=["underwater_basket_weaving"]), 422)
        assert bad["details"][0]["field"] == "required_skills"
        assert error_of(await create(api, cid, priority=101), 422)["code"] == "validation_error"
        assert error_of(await create(api, cid, handoff_reason="x"), 422)["code"] == "validation_error"
        assert (await create(api, cid, priority=77)).json()["handoff"]["priority"] == 77
        assert error_of(await create(api, cid), 409)["code"] == "awaiting_human"


async def test_update_a_waiting_handoff(tmp_path: Any, desk_settings: dict[str, Any]) -> None:
    async with serving(tmp_path, **desk_settings) as (http, api):
        maria = await api.agent("maria", SKILLS, status="offline")
        cid, customer = await started(api)
        hid = (await create(api, cid)).json()["handoff"]["handoff_id"]
        path = f"/v1/handoffs/{hid}"
        change = {"priority": 95, "urgency": "critical", "preferred_agent_id": "maria", "lead_id": "L-1"}
        assert error_of(await http.patch(path, json=change), 401)
        assert error_of(await http.patch(path, json=change, headers=api.auth(customer)), 403)
        assert error_of(await http.patch(path, json=change, headers=api.auth(maria)), 403)
        assert error_of(await http.patch("/v1/handoffs/nope", json=change, headers=api.auth(ADMIN)), 404)
        assert error_of(await http.patch(path, json={}, headers=api.auth(ADMIN)), 422)
        assert error_of(await http.patch(path, json={"priority": None}, headers=api.auth(ADMIN)), 422)
        unknown = await http.patch(path, json={"preferred_agent_id": "lee"}, headers=api.auth(ADMIN))
        assert error_of(unknown, 422)["code"] == "invalid_request"
        r = await http.patch(path, json=change, headers=api.auth(ADMIN))
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["priority"], got["urgency"], got["preferred_agent_id"], got["lead_id"]) == (
            95,
            "critical",
            "maria",
            "L-1",
        )
        assert got["audit"][-1]["actor"] == "admin"
        assert got["audit"][-1]["changes"] == change
        cleared = await http.patch(path, json={"preferred_agent_id": None}, headers=api.auth(ADMIN))
        assert cleared.json()["preferred_agent_id"] is None
        await http.post(f"/v1/conversations/{cid}/rollback", json={"reason": "t"}, headers=api.auth(ADMIN))
        assert error_of(await http.patch(path, json=change, headers=api.auth(ADMIN)), 409)


async def test_add_context(tmp_path: Any, desk_settings: dict[str, Any]) -> None:
    async with serving(tmp_path, **desk_settings) as (http, api):
        maria = await api.agent("maria", SKILLS)
        lee = await api.agent("lee", {"legal": 0.9}, status="offline")
        cid, customer = await started(api)
        hid = (await create(api, cid)).json()["handoff"]["handoff_id"]
        path = f"/v1/handoffs/{hid}/context"
        body = {"notes": [NOTE]}
        assert error_of(await http.post(path, json=body), 401)
        assert error_of(await http.post(path, json=body, headers=api.auth(customer)), 403)
        assert error_of(await http.post(path, json=body, headers=api.auth(lee)), 403)
        assert error_of(await http.post("/v1/handoffs/nope/context", json=body, headers=api.auth(ADMIN)), 404)
        assert error_of(await http.post(path, json={"notes": []}, headers=api.auth(ADMIN)), 422)
        claim = {"notes": [{**NOTE, "by": "the ceo"}]}  # who added it comes from the token, never the body
        assert error_of(await http.post(path, json=claim, headers=api.auth(ADMIN)), 422)
        r = await http.post(
            path, json={"notes": [{"text": "Prefers a call after 6pm"}]}, headers=api.auth(maria)
        )
        assert r.status_code == 200, r.text  # the agent it is offered to may add notes
        assert (await http.post(path, json=body, headers=api.auth(ADMIN))).status_code == 200
        detail = (await http.get(f"/v1/handoffs/{hid}", headers=api.auth(maria))).json()
        assert [(n["text"], n["by"]) for n in detail["brief"]["added"]] == [
            ("Prefers a call after 6pm", "maria"),
            (NOTE["text"], "admin"),
        ]
        assert [a["action"] for a in detail["handoff"]["audit"]] == [
            "created",
            "context_added",
            "context_added",
        ]
        await http.post(f"/v1/conversations/{cid}/rollback", json={"reason": "t"}, headers=api.auth(ADMIN))
        assert error_of(await http.post(path, json=body, headers=api.auth(ADMIN)), 409)


async def test_assign_to_an_agent(tmp_path: Any, desk_settings: dict[str, Any]) -> None:
    async with serving(tmp_path, **desk_settings) as (http, api):
        maria = await api.agent("maria", SKILLS)
        lee = await api.agent("lee", {"real_estate": 0.3})
        cid, customer = await started(api)
        hid = (await create(api, cid)).json()["handoff"]["handoff_id"]  # offered to maria, the best match
        body = {"handoff_id": hid}
        assert error_of(await http.post("/v1/agents/lee/assign", json=body), 401)
        for token in (customer, maria, lee):
            assert error_of(await http.post("/v1/agents/lee/assign", json=body, headers=api.auth(token)), 403)
        admin = api.auth(ADMIN)
        assert error_of(await http.post("/v1/agents/nobody/assign", json=body, headers=admin), 404)
        assert error_of(
            await http.post("/v1/agents/lee/assign", json={"handoff_id": "x"}, headers=admin), 404
        )
        assert error_of(await http.post("/v1/agents/lee/assign", json={}, headers=admin), 422)
        r = await http.post("/v1/agents/lee/assign", json=body, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["offered_agent_id"] == "lee"
        assert r.json()["audit"][-1] == {**r.json()["audit"][-1], "actor": "admin", "action": "assigned"}
        assert (await api.act(hid, "accept", lee)).status_code == 200
        # held: it moves only with a transfer
        assert error_of(await http.post("/v1/agents/maria/assign", json=body, headers=admin), 409)


async def test_agent_settings_schedule_auto_accept_notifications(
    tmp_path: Any, desk_settings: dict[str, Any]
) -> None:
    async with serving(tmp_path, **desk_settings) as (http, api):
        never = {"timezone": "UTC", "weekly": {}, "exceptions": []}  # no slot: never in schedule
        created = await http.post(
            "/v1/agents",
            json={"id": "maria", "name": "Maria", "skills": SKILLS, "status": "online", "schedule": never},
            headers=api.auth(ADMIN),
        )
        assert created.status_code == 201, created.text  # a schedule is part of the profile now
        maria = created.json()["agent_token"]
        lee = await api.agent("lee", {"legal": 0.9}, status="offline")
        cid, customer = await started(api)
        hid = (await create(api, cid)).json()["handoff"]["handoff_id"]
        handoff = (await http.get(f"/v1/handoffs/{hid}", headers=api.auth(ADMIN))).json()["handoff"]
        assert handoff["status"] == "pending"  # outside her schedule: no offer
        path = "/v1/agents/maria"
        settings = {
            "schedule": None,
            "auto_accept": True,
            "notifications": {"desktop": True, "min_priority": 60},
        }
        assert error_of(await http.patch(path, json=settings), 401)
        assert error_of(await http.patch(path, json=settings, headers=api.auth(customer)), 403)
        assert error_of(await http.patch(path, json=settings, headers=api.auth(lee)), 403)
        assert error_of(await http.patch("/v1/agents/nobody", json=settings, headers=api.auth(ADMIN)), 404)
        bad = await http.patch(path, json={"schedule": {"timezone": "Mars/Olympus"}}, headers=api.auth(maria))
        assert error_of(bad, 422)["details"][0]["field"].startswith("schedule")
        assert error_of(await http.patch(path, json={"auto_accept": None}, headers=api.auth(maria)), 422)
        r = await http.patch(path, json=settings, headers=api.auth(maria))
        assert r.status_code == 200, r.text
        agent = r.json()
        assert (agent["schedule"], agent["auto_accept"]) == (None, True)
        assert agent["notifications"]["desktop"] is True
        assert agent["notifications"]["min_priority"] == 60
        assert (await http.get(path, headers=api.auth(maria))).json()["notifications"]["min_priority"] == 60
        # in schedule now, and auto-accept: the waiting handoff is hers at once, the customer is told
        handoff = (await http.get(f"/v1/handoffs/{hid}", headers=api.auth(ADMIN))).json()["handoff"]
        assert (handoff["status"], handoff["assigned_agent_id"]) == ("accepted", "maria")

        async def told() -> bool:
            view = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(ADMIN))).json()
            return bool(view["agent_id"] == "maria")

        await eventually(told)
        reply = await api.act(hid, "reply", maria, {"text": "Hi, Maria here."})
        assert reply.status_code == 200, reply.text
