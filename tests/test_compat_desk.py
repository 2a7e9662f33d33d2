"""A human handoff started through the LangGraph-compatible API reaches the real desk too."""

from __future__ import annotations

from pathlib import Path

import httpx
from langgraph_sdk.client import LangGraphClient
from test_api_support import ADMIN, api_settings

from api.app import create_app


async def test_compat_run_handoff_is_offered_by_the_desk(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as http:
            client = LangGraphClient(http)
            thread = await client.threads.create()
            tid = str(thread["thread_id"])
            await client.runs.wait(tid, "baton", input={"messages": [{"role": "user", "content": "Hi"}]})
            result = await client.runs.wait(
                tid,
                "baton",
                input={"messages": [{"role": "user", "content": "Let me talk to a real person"}]},
            )
            assert "__interrupt__" in result
            handoff_id = result["__interrupt__"][0]["value"]["handoff_id"]
            r = await http.get(f"/v1/handoffs/{handoff_id}", headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["handoff"]["conversation_id"] == tid
    assert body["handoff"]["status"] in ("pending", "offered")
    assert body["brief"]["facts"] is not None
    assert body["transcript"][-2]["text"] == "Let me talk to a real person"
