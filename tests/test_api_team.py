"""The team around a conversation, over the real app: supervisors' accounts and what a supervisor may
do (and not), and internal notes that reach the team live (agents on the conversation, earlier
holders after a transfer, the supervisors' desk socket) and never the customer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from api.app import create_app
from tests.test_api_support import ADMIN, SELL, Api, api_settings, events, next_event, serve_in_thread

SKILLS = {"real_estate": 0.9, "empathy": 0.8, "legal": 0.7, "luxury": 0.6}
ASK = "Can I talk to a real person please?"


def _app(tmp_path: Path) -> Any:
    return create_app(api_settings(tmp_path, checkpoint_url=""))  # SQLite in tmp_path: a 2nd app restarts


async def _handoff(api: Api) -> tuple[str, str, str]:
    cid, token = await api.conversation()
    await api.say(cid, token, SELL)
    turn = await api.say(cid, token, ASK)
    assert turn["handoff"], turn
    return cid, token, str(turn["handoff"]["handoff_id"])


async def _supervisor(api: Api, supervisor_id: str = "sup-olga") -> str:
    made = await api.http.post(
        "/v1/supervisors", json={"id": supervisor_id, "name": "Olga"}, headers=Api.auth(ADMIN)
    )
    assert made.status_code == 201, made.text
    assert made.json()["supervisor_token"].startswith("sup_")
    return str(made.json()["supervisor_token"])


async def _note(api: Api, cid: str, token: str, text: str) -> dict[str, Any]:
    r = await api.http.post(f"/v1/conversations/{cid}/notes", json={"text": text}, headers=Api.auth(token))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _notes_until(ws: ClientConnection, note_id: str) -> list[str]:
    """The texts of the note events up to and including ``note_id``'s."""
    texts = []
    while True:
        event = await next_event(ws, "note_added")
        texts.append(event["note"]["text"])
        if event["note"]["id"] == note_id:
            return texts


async def test_a_supervisor_works_the_desk_but_configures_nothing(tmp_path: Path) -> None:
    with serve_in_thread(_app(tmp_path)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            sup = await _supervisor(api)
            maria = await api.agent("maria", SKILLS)
            lee = await api.agent("lee", SKILLS, status="away")
            me = {
                who: (await http.get("/v1/me", headers=Api.auth(token))).json()
                for who, token in (("sup", sup), ("maria", maria), ("admin", ADMIN))
            }
            assert (me["sup"]["role"], me["sup"]["id"], me["sup"]["display_name"]) == (
                "supervisor",
                "sup-olga",
                "Olga",
            )
            assert (me["maria"]["role"], me["maria"]["id"]) == ("agent", "maria")
            assert me["admin"]["role"] == "admin"
            # a waiting handoff, offered by the desk to maria: the supervisor sees it and moves it to lee
            cid, _, hid = await _handoff(api)
            [waiting] = (await http.get("/v1/desk/queue", headers=Api.auth(sup))).json()
            assert (waiting["handoff_id"], waiting["offered_agent_id"]) == (hid, "maria")
            detail = (await http.get(f"/v1/handoffs/{hid}", headers=Api.auth(sup))).json()
            assert detail["brief"]["summary"]
            assert (
                await http.put("/v1/agents/lee/status", json={"status": "online"}, headers=Api.auth(lee))
            ).status_code == 200
            moved = await http.post(
                f"/v1/desk/handoffs/{hid}/reassign", json={"to_agent_id": "lee"}, headers=Api.auth(sup)
            )
            assert moved.status_code == 200, moved.text
            assert moved.json()["offered_agent_id"] == "lee"
            # but a supervisor acts as no agent and changes no setting
            refused = [
                ("POST", f"/v1/handoffs/{hid}/accept", None),
                ("POST", "/v1/agents", {"id": "x", "name": "X"}),
                ("PATCH", "/v1/agents/lee", {"auto_accept": True}),
                ("PUT", "/v1/agents/lee/status", {"status": "offline"}),
                ("PUT", "/v1/saved-replies/all", {"replies": []}),
                ("POST", "/v1/policies/real_estate/publish", {"yaml": "name: x"}),
                ("POST", f"/v1/handoffs/{hid}/context", {"notes": [{"text": "x"}]}),
                ("POST", "/v1/supervisors", {"name": "Another"}),
            ]
            for method, path, body in refused:
                r = await http.request(method, path, json=body, headers=Api.auth(sup))
                assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), (method, path)
            # registering the same id again rotates the token: the old one stops working
            rotated = await _supervisor(api)
            assert (await http.get("/v1/me", headers=Api.auth(sup))).status_code == 401
            listed = (await http.get("/v1/supervisors", headers=Api.auth(ADMIN))).json()
            assert [s["id"] for s in listed] == ["sup-olga"]
            assert "token" not in json.dumps(listed)
    with serve_in_thread(_app(tmp_path)) as url:  # a restart keeps the account
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            r = await http.get("/v1/desk/live", headers=Api.auth(rotated))
            assert r.status_code == 200, r.text
            assert cid in [q["conversation_id"] for q in r.json()["queue"]]


async def test_notes_reach_the_team_live_and_never_the_customer(tmp_path: Path) -> None:
    with serve_in_thread(_app(tmp_path)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            sup = await _supervisor(api)
            ana = await api.agent("ana", SKILLS)
            lee = await api.agent("lee", SKILLS, status="away")
            cid, cust, hid = await _handoff(api)
            assert (await api.act(hid, "accept", ana)).status_code == 200
            async with (
                api.ws(f"/v1/conversations/{cid}/ws", cust) as customer_ws,
                api.ws("/v1/agents/ana/ws", ana) as ana_ws,
                api.ws("/v1/agents/lee/ws", lee) as lee_ws,
                api.ws("/v1/desk/ws", sup) as desk_ws,
            ):
                [snapshot] = await events(desk_ws, 1)
                assert (snapshot["type"], snapshot["role"]) == ("desk_state", "supervisor")
                for ws in (customer_ws, ana_ws, lee_ws):
                    await events(ws, 1)  # their snapshots
                first = await _note(api, cid, ana, "Spouse co-owns the house.")
                assert await _notes_until(ana_ws, first["id"]) == ["Spouse co-owns the house."]
                assert await _notes_until(desk_ws, first["id"]) == ["Spouse co-owns the house."]
                # ana hands the chat to lee; lee writes, ana (who held it) and the supervisor see it at once
                r = await http.put("/v1/agents/lee/status", json={"status": "online"}, headers=Api.auth(lee))
                assert r.status_code == 200
                moved = await api.act(hid, "transfer", ana, {"to_agent_id": "lee", "reason": "legal"})
                assert moved.status_code == 200, moved.text
                assert (await api.act(hid, "accept", lee)).status_code == 200
                second = await _note(api, cid, lee, "Lien on the title: checking.")
                assert await _notes_until(ana_ws, second["id"]) == ["Lien on the title: checking."]
                assert await _notes_until(desk_ws, second["id"]) == ["Lien on the title: checking."]
                # lee was not on the conversation at the first note: his stream starts at his own
                assert await _notes_until(lee_ws, second["id"]) == ["Lien on the title: checking."]
                third = await _note(api, cid, sup, "Offer the fee waiver.")
                assert third["author"] == "sup-olga"
                assert await _notes_until(lee_ws, third["id"]) == ["Offer the fee waiver."]
                assert await _notes_until(ana_ws, third["id"]) == ["Offer the fee waiver."]
                # what the customer's socket got meanwhile ends with the agent's reply, and holds no note
                reply = await api.act(hid, "reply", lee, {"text": "Hi, Lee here."})
                assert reply.status_code == 200, reply.text
                told = []
                while not told or told[-1].get("text") != "Hi, Lee here.":
                    [event] = await events(customer_ws, 1)
                    told.append(event)
            assert not [e for e in told if e["type"] == "note_added"]
            said = json.dumps(told)
            assert not [n for n in ("co-owns", "Lien", "fee waiver") if n in said], said
            async with api.ws(f"/v1/conversations/{cid}/ws", cust, since=0) as replay:
                head = (await events(replay, 1))[0]["seq"]
                everything = await events(replay, head)
            assert everything[-1]["text"] == "Hi, Lee here."
            assert not [e for e in everything if e["type"] == "note_added" or "co-owns" in json.dumps(e)]
            notes = (await http.get(f"/v1/conversations/{cid}/notes", headers=Api.auth(ana))).json()
            assert [n["author"] for n in notes] == ["ana", "lee", "sup-olga"]  # ana still follows it
