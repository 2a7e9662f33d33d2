"""The agent socket takes the actions REST takes: transfer a held chat, complete it (seed 000's protocol)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from api.app import create_app
from tests.test_api_support import ADMIN, Api, api_settings, next_event, serve_in_thread


async def test_agent_socket_transfers_and_completes(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
            cid, token = await api.conversation()
            hid = (await api.to_a_person(cid, token))["handoff"]["handoff_id"]
            assert (await api.act(hid, "accept", maria)).status_code == 200
            lee = await api.agent("agent-lee", {"legal": 0.9, "real_estate": 0.5})
            async with (
                api.ws("/v1/agents/maria/ws", maria) as agent,
                api.ws("/v1/agents/agent-lee/ws", lee) as other,
            ):
                await agent.send(
                    json.dumps({"type": "transfer_request", "handoff_id": hid, "to_agent_id": "lee"})
                )
                refused = await next_event(agent, "error")
                assert refused["code"] == "invalid_target"  # the id typed without its prefix
                await agent.send(
                    json.dumps(
                        {
                            "type": "transfer_request",
                            "handoff_id": hid,
                            "to_agent_id": "agent-lee",
                            "reason": "lien",
                        }
                    )
                )
                offered = await next_event(other, "transfer_request")
                assert offered["handoff_id"] == hid
                assert offered["from_agent_id"] == "maria"
            assert (await api.act(hid, "accept", lee)).status_code == 200
            async with api.ws("/v1/agents/agent-lee/ws", lee) as other:
                await other.send(
                    json.dumps({"type": "handoff_complete", "handoff_id": hid, "note": "lien cleared"})
                )
                done = await next_event(other, "handoff_complete")
                assert done["outcome"] == "completed"
            view = (await http.get(f"/v1/conversations/{cid}", headers=Api.auth(ADMIN))).json()
            assert view["status"] == "closed"
            desk = (await http.get(f"/v1/handoffs/{hid}", headers=Api.auth(ADMIN))).json()["handoff"]
            assert desk["status"] == "completed"
