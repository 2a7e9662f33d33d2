"""The console's handoff view in real Chromium for a handoff a CRM created: the request fields and the
facts added from outside, each shown as "added by" whoever added it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import service_missing
from test_ui_pages import ARGS, ARTIFACTS, CHROMIUM, TIMEOUT_MS, admin, js_errors, new_page
from ui_server import UiServer, run_server

pytestmark = pytest.mark.slow
SKILLS = {"real_estate": 0.9, "empathy": 0.8}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    with run_server(tmp_path_factory.mktemp("ui-handoff-api")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:
        service_missing("playwright", str(exc))
    if not Path(CHROMIUM).exists():
        service_missing("chromium", f"{CHROMIUM} is missing (run .ci/browser.sh)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def test_a_crm_handoff_shows_its_request_and_added_facts(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    with admin(server) as api:
        made = api.post(
            "/v1/agents", json={"id": "agent-ann", "name": "Ann", "skills": SKILLS, "status": "online"}
        )
        token = made.json()["agent_token"]
        conversation = api.post("/v1/conversations").json()
        cid = conversation["conversation_id"]
        said = api.post(f"/v1/conversations/{cid}/messages", json={"text": "Hi, I'd like to sell my flat"})
        assert said.status_code == 200, said.text
    ctx, console = new_page(chromium, 1280, 1000)
    console.goto(f"{server.url}/console")
    console.fill("#c-agent", "agent-ann")
    console.fill("#c-token", token)
    console.click("#c-signin button[type=submit]")
    expect(console.locator("body")).to_have_attribute("data-conn", "open")
    with admin(server) as api:
        created = api.post(
            "/v1/handoffs",
            json={
                "conversation_id": cid,
                "reason": "hot lead",
                "campaign_id": "spring-26",
                "lead_id": "L-10442",
                "context": [{"kind": "fact", "key": "plan", "text": "Premium, renews in March"}],
            },
        )
        assert created.status_code == 201, created.text
    offer = console.locator(f"#c-queue .queue-item[data-conversation='{cid}']").first
    expect(offer).to_be_visible()
    offer.get_by_role("button", name="Accept").click()
    brief = console.locator("#c-thirty")
    expect(brief).to_contain_text("plan: Premium, renews in March (added by admin)")
    expect(brief).to_contain_text("campaign: spring-26")
    expect(brief).to_contain_text("lead: L-10442")
    expect(brief).to_contain_text("trigger source: system")
    assert js_errors(console) == []
    ctx.close()
