"""The console's Analytics tab in real Chromium shows the service figures, per-agent performance and
outcomes per policy version after a handoff that one agent transferred to another (one accepted
handoff, not two)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from test_ui_pages import admin, browser, js_errors, new_page, shot  # noqa: F401 (browser is a fixture)
from ui_server import UiServer, readme_shot, run_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    with run_server(tmp_path_factory.mktemp("ui-analytics")) as running:
        yield running


def _agent(api: httpx.Client, agent_id: str, name: str, level: float) -> str:
    body = {"id": agent_id, "name": name, "skills": {"real_estate": level}, "status": "online"}
    r = api.post("/v1/agents", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["agent_token"])


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def transferred_handoff(server: UiServer) -> dict[str, Any]:
    """A customer asks for a person; Maria accepts and replies, transfers to Lee, Lee completes."""
    with admin(server) as api:
        maria = _agent(api, "agent-maria", "Maria Lopez", 0.95)
        lee = _agent(api, "agent-lee", "Lee Chen", 0.8)
        made = api.post("/v1/conversations").json()
        cid, customer = made["conversation_id"], made["customer_token"]
        said = api.post(
            f"/v1/conversations/{cid}/messages",
            json={"text": "I'd like to talk to a real person please"},
            headers=_as(customer),
        )
        assert said.status_code == 200, said.text
        handoff_id = api.get(f"/v1/conversations/{cid}").json()["handoffs"][-1]["id"]
        for who, action, body in (
            (maria, "accept", None),
            (maria, "reply", {"text": "Hi, I'm Maria. Let me bring in our mortgage expert."}),
            (maria, "transfer", {"to_agent_id": "agent-lee", "reason": "mortgage question"}),
            (lee, "accept", None),
            (lee, "reply", {"text": "Lee here, happy to help with the mortgage."}),
            (lee, "complete", {"note": "answered"}),
        ):
            r = api.post(f"/v1/handoffs/{handoff_id}/{action}", json=body, headers=_as(who))
            assert r.status_code == 200, (action, r.text)
        deadline = time.monotonic() + 15
        stats: dict[str, Any] = {}
        while time.monotonic() < deadline:  # desk events reach the store through the event consumer
            stats = api.get("/v1/analytics/handoffs").json()
            if stats["completed"] == 1:
                break
            time.sleep(0.2)
        return stats


def test_the_analytics_tab_shows_the_new_figures_to_an_admin(browser: Any, server: UiServer) -> None:  # noqa: F811
    from playwright.sync_api import expect

    stats = transferred_handoff(server)
    assert (stats["accepted"], stats["transfers"], stats["completed"]) == (1, 1, 1)
    assert stats["time_to_first_reply_s"]["count"] == 1
    ctx, page = new_page(browser, 1280, 1400)
    page.goto(f"{server.url}/console")
    page.fill("#c-token", server.admin_token)
    page.click("#c-signin button[type=submit]")
    page.click("#c-tab-analytics")
    tiles = page.locator("#c-service-tiles")
    expect(tiles).to_contain_text("Handoffs per hour")
    expect(tiles.locator(".tile", has_text="Accepted")).to_contain_text("1")
    expect(tiles.locator(".tile", has_text="Transfers")).to_contain_text("1")
    expect(tiles).to_contain_text("Average handle time")
    expect(tiles).to_contain_text("Time to first agent reply")
    expect(tiles.locator(".tile", has_text="Abandoned in queue")).to_contain_text("0")
    expect(page.locator("table[aria-label='Trigger share']")).to_contain_text("explicit request")
    expect(page.locator("table[aria-label='Trigger share']")).to_contain_text("100%")
    agents = page.locator("table[aria-label='Per-agent performance']")
    expect(agents.locator("tr", has_text="Maria Lopez")).to_contain_text("1 (100%)")
    expect(agents.locator("tr", has_text="Lee Chen")).to_be_visible()
    versions = page.locator("table[aria-label='Outcomes per policy version']")
    expect(versions).to_contain_text("real_estate")
    expect(versions.locator("tr", has_text="real_estate")).to_contain_text("100%")
    shot(page, "console-analytics-figures")
    readme_shot(page, "analytics.png")
    assert js_errors(page) == []
    ctx.close()
