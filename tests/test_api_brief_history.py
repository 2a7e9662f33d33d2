"""A returning customer's handoff brief lists their earlier conversation, through the real app and graph.

The graph asks the service for the customer's earlier conversations when it briefs a handoff
(``BatonContext.history``, set by ``api/app.py``); they are found by the trusted customer id only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from api.app import create_app
from tests.test_api_console import ASK, SKILLS
from tests.test_api_support import ADMIN, SELL, Api, api_settings, serve_in_thread


async def _trusted(api: Api, customer_id: str) -> tuple[str, str]:
    r = await api.http.post(
        "/v1/conversations", json={"customer": {"id": customer_id}}, headers=Api.auth(ADMIN)
    )
    assert r.status_code == 201, r.text
    return r.json()["conversation_id"], r.json()["customer_token"]


async def _handed_off(api: Api, cid: str, token: str) -> str:
    await api.say(cid, token, SELL)
    turn = await api.say(cid, token, ASK)
    assert turn["handoff"], turn
    return str(turn["handoff"]["handoff_id"])


async def test_a_returning_customers_brief_lists_the_earlier_conversation(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path, checkpoint_url=""))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", SKILLS, status="online")
            started = datetime.now(UTC).date().isoformat()
            first, first_token = await _trusted(api, "crm-7")
            h1 = await _handed_off(api, first, first_token)
            first_brief = (await http.get(f"/v1/handoffs/{h1}", headers=Api.auth(ADMIN))).json()["brief"]
            assert first_brief.get("earlier", []) == [], "a first conversation has no history"
            assert (await api.act(h1, "accept", maria)).status_code == 200
            done = await api.act(h1, "complete", maria, {"note": "valuation booked", "text": "Bye!"})
            assert done.status_code == 200, done.text
            second, second_token = await _trusted(api, "crm-7")
            h2 = await _handed_off(api, second, second_token)
            r = await http.get(f"/v1/handoffs/{h2}", headers=Api.auth(maria))  # the agent it is offered to
            assert r.status_code == 200, r.text
            [earlier] = r.json()["brief"]["earlier"]
            assert earlier["conversation_id"] == first
            assert earlier["outcome"] == "closed by the agent"
            assert earlier["date"] in {started, datetime.now(UTC).date().isoformat()}
            assert earlier["summary"].split()[:3] == first_brief["summary"].split()[:3], "its brief's summary"
            # the same id claimed without a signature links nothing
            made = (await http.post("/v1/conversations", json={"customer": {"id": "crm-7"}})).json()
            claimed = made["conversation_id"]
            h_claimed = await _handed_off(api, claimed, made["customer_token"])
            claimed_brief = (await http.get(f"/v1/handoffs/{h_claimed}", headers=Api.auth(ADMIN))).json()[
                "brief"
            ]
            assert claimed_brief.get("earlier", []) == []
