"""The whole story over the real app: customer -> bots -> human agent (live sockets) -> back to the AI."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.app import create_app
from tests.test_api_support import (
    ADMIN,
    DISTRESS,
    SELL,
    Api,
    api_settings,
    next_event,
    quiet,
    serve_in_thread,
    serve_subprocesses,
)

NOTE = "Lien is a paid-off mortgage the bank never released; title company is clearing it."


async def story(api: Api) -> None:
    maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
    lee = await api.agent("lee", {"legal": 0.9})
    cid, token = await api.conversation(name="Dana")
    async with (
        api.ws(f"/v1/conversations/{cid}/ws", token, since=0) as customer,
        api.ws("/v1/agents/maria/ws", maria) as agent,
    ):
        first = await api.say(cid, token, "Hi")
        assert first["active_agent"] == "concierge_bot"
        assert (await next_event(customer, "customer_message"))["text"] == "Hi"
        bot = await api.say(cid, token, SELL)
        assert bot["active_agent"] == "seller_bot"
        assert bot["handoff"]["kind"] == "bot"

        turn = await api.say(cid, token, DISTRESS)
        assert turn["status"] == "awaiting_human"
        handoff = turn["handoff"]
        assert handoff["kind"] == "human"
        assert handoff["narration"]
        assert handoff["queue_position"] is not None
        hid = handoff["handoff_id"]
        said = await next_event(customer, "bot_message")
        while said["text"] != handoff["narration"]:
            said = await next_event(customer, "bot_message")
        state = await next_event(customer, "handoff_state")
        while state["handoff_id"] != hid:
            state = await next_event(customer, "handoff_state")
        assert state["message"] == ""  # the narration was said once, by the bot
        assert state["seq"] > said["seq"]

        offer = await next_event(agent, "offer")
        assert offer["handoff_id"] == hid
        assert offer["conversation_id"] == cid
        assert any(f["value"] == "12 Oak Street" for f in offer["brief"]["facts"])
        r = await api.http.get("/v1/handoffs", headers=api.auth(lee))
        assert r.status_code == 200
        assert r.json() == []
        assert (await api.act(hid, "accept", lee)).status_code == 403

        detail = await api.http.get(f"/v1/handoffs/{hid}", headers=api.auth(maria))
        assert detail.status_code == 200
        assert detail.json()["transcript"][0]["text"] == "Hi"
        assert detail.json()["brief"]["facts"]

        r = await api.act(hid, "accept", maria)
        assert r.status_code == 200, r.text
        assert (await next_event(customer, "handoff_state"))["state"] == "accepted"

        await customer.send('{"type": "customer_message", "text": "Hello? Is anyone there?"}')
        seen = await next_event(agent, "customer_message")
        assert seen["text"] == "Hello? Is anyone there?"
        assert seen["conversation_id"] == cid

        await agent.send(
            f'{{"type": "agent_message", "handoff_id": "{hid}", "text": "Hi Dana, I am Maria."}}'
        )
        said = await next_event(customer, "agent_message")
        assert said["text"] == "Hi Dana, I am Maria."
        assert said["agent_id"] == "maria"

        r = await api.act(hid, "return", maria, {"note": NOTE})
        assert r.status_code == 200, r.text
        assert r.json()["active_agent"] == "seller_bot"
        back = await next_event(customer, "bot_message")
        assert back["role"] == "bot"
        assert NOTE not in back["text"]  # the note is for the team; the customer hears the bot's own line
        note = await next_event(agent, "bot_message")
        while note["role"] != "system":
            note = await next_event(agent, "bot_message")
        assert NOTE in note["text"]
        done = await next_event(customer, "handoff_complete")
        assert done["outcome"] == "returned_to_ai"
        assert (await next_event(agent, "handoff_complete"))["handoff_id"] == hid

        after = await api.say(cid, token, "Thanks! What happens next?")
        assert after["active_agent"] == "seller_bot"
        assert after["handoff"] is None  # the bot knows the human handled the lien
        assert not [e for e in await quiet(agent, 0.3) if e["type"] == "customer_message"]

    view = (await api.http.get(f"/v1/conversations/{cid}", headers=api.auth(ADMIN))).json()
    assert [h["status"] for h in view["handoffs"]] == ["completed", "returned"]
    assert view["handoffs"][-1]["note"] == NOTE
    mine = (await api.http.get(f"/v1/conversations/{cid}", headers=api.auth(token))).json()
    assert mine["handoffs"] == []  # briefs and notes are the team's
    assert NOTE not in str(mine)
    assert {t["role"] for t in view["transcript"]} >= {"customer", "bot", "agent"}
    r = await api.http.post(f"/v1/conversations/{cid}/csat", json={"rating": 5}, headers=api.auth(token))
    assert r.status_code == 200
    stats = (await api.http.get("/v1/analytics/handoffs", headers=api.auth(ADMIN))).json()
    assert stats["human_handoffs"] == 1
    assert stats["conversations"] == 1
    assert stats["returned_by_agent"] == 1
    assert stats["csat"]["average"] == 5
    assert stats["time_to_accept_s"]["count"] == 1


async def test_whole_story_in_process(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await story(Api(url, http))


@pytest.mark.slow
async def test_whole_story_against_baton_serve(tmp_path: Path) -> None:
    env = {
        "BATON_DATA_DIR": str(tmp_path / "baton"),
        "BATON_OFFLINE": "true",
        "BATON_ADMIN_TOKEN": ADMIN,
        "BATON_CHECKPOINT_URL": f"sqlite:///{tmp_path / 'cp.sqlite'}",
        "BATON_DESK_TICK_S": "0.2",
    }
    with serve_subprocesses(env) as [url]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await story(Api(url, http))
