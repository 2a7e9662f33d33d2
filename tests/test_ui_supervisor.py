"""Supervisors and the team in real Chromium: a supervisor (their own token, not the admin's) moves a
waiting handoff to the colleague they pick, sees the desk and analytics but nothing that configures
Baton; internal notes appear live on every page that has the conversation open (the agent holding
it, the agent who handed it over, the supervisor's live desk) and never in the customer's widget.

The policy here gives agents 10 minutes to accept (``handoff.accept_timeout_s``), so no offer lapses
while a journey runs, whatever the machine's load.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from test_ui_console import accept_first_offer, chromium, customer, register, set_status, sign_in
from test_ui_pages import admin, js_errors, shot
from ui_server import ROOT, UiServer, run_server

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the browser fixture, shared with the console journeys


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    tmp = tmp_path_factory.mktemp("ui-supervisor")
    policy = yaml.safe_load((ROOT / "policies" / "real_estate.yaml").read_text(encoding="utf-8"))
    policy["handoff"] = {**policy.get("handoff", {}), "accept_timeout_s": 600}
    path = tmp / "supervised.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    with run_server(tmp, env={"BATON_POLICY": str(path)}) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_desk(server: UiServer) -> Iterator[None]:
    """What a journey left open goes back to the AI; its agents go offline."""
    yield
    with admin(server) as api:
        for handoff in api.get("/v1/handoffs").json():
            if handoff["status"] in ("pending", "offered", "accepted", "active"):
                api.post(f"/v1/conversations/{handoff['conversation_id']}/rollback", json={"reason": "over"})
        for agent in api.get("/v1/agents").json():
            set_status(server, agent["id"], "offline")


def supervisor(server: UiServer, supervisor_id: str, name: str) -> str:
    with admin(server) as api:
        made = api.post("/v1/supervisors", json={"id": supervisor_id, "name": name})
        assert made.status_code == 201, made.text
        return str(made.json()["supervisor_token"])


def sign_in_supervisor(chromium: Any, server: UiServer, token: str) -> tuple[Any, Any]:
    """The token alone: the console asks whose it is and opens the live desk."""
    from playwright.sync_api import expect

    ctx, page = sign_in(chromium, server, None, token)
    expect(page.locator("body")).to_have_attribute("data-conn", "open")  # the desk's socket
    return ctx, page


def test_a_supervisor_reassigns_a_waiting_handoff(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    sup_token = supervisor(server, "sup-olga", "Olga")
    kim_ctx, kim = sign_in(chromium, server, "agent-kim", register(server, "agent-kim", "Kim"))
    raj_ctx, raj = sign_in(
        chromium, server, "agent-raj", register(server, "agent-raj", "Raj", status="offline")
    )
    widget_ctx, widget, cid = customer(chromium, server)
    offered = kim.locator(f"#c-queue .queue-item[data-conversation='{cid}']")
    expect(offered).to_be_visible()  # the desk offered it to Kim; she has not answered
    raj.click("#c-presence")  # Raj comes online after the offer went to Kim
    expect(raj.locator("#c-presence")).to_have_attribute("aria-pressed", "true")

    sup_ctx, sup = sign_in_supervisor(chromium, server, sup_token)
    expect(sup.locator("#c-who")).to_have_text("Olga (supervisor)")
    expect(sup.locator("#c-tab-live")).to_have_attribute("aria-selected", "true")  # lands on the live desk
    expect(sup.locator("#c-tab-analytics")).to_be_visible()
    for hidden in ("#c-tab-desk", "#c-policies", "#c-presence"):
        expect(sup.locator(hidden)).to_be_hidden()
    row = sup.locator(f"#c-live section[aria-label='Queue'] tr[data-conversation='{cid}']")
    expect(row.locator(".offered-to")).to_have_text("agent-kim")
    expect(sup.locator("#c-replies-team")).to_have_count(0)  # saved replies are the admin's to edit
    row.locator("select").select_option("agent-raj")
    row.get_by_role("button", name="Reassign").click()
    expect(row.locator(".offered-to")).to_have_text("agent-raj")
    expect(offered).to_have_count(0)  # withdrawn from Kim
    accept_first_offer(raj, cid)
    raj.fill("#c-text", "Hi, Raj here. I'll take it from here.")
    raj.press("#c-text", "Enter")
    expect(widget.locator(".msg.agent .bubble").last).to_have_text("Hi, Raj here. I'll take it from here.")
    expect(widget.locator(".msg.system .bubble", has_text="Raj")).to_have_count(1)  # who joined
    small = sup.evaluate(
        "[...document.querySelectorAll('button, input, select, summary, .topbar nav a')]"
        ".filter((b) => b.offsetParent).map((b) => [b.textContent || b.id, b.getBoundingClientRect().height])"
        ".filter(([, h]) => h < 44)"
    )
    assert small == [], small  # tap targets, the live desk's Open and Reassign included
    shot(sup, "console-supervisor")
    # the supervisor's analytics: the figures, without the admin's agent registration
    sup.click("#c-tab-analytics")
    expect(sup.locator(".tile").first).to_be_visible()
    expect(sup.locator("section[aria-label='Register an agent']")).to_have_count(0)
    assert js_errors(sup) + js_errors(kim) + js_errors(raj) == []
    for ctx in (kim_ctx, raj_ctx, widget_ctx, sup_ctx):
        ctx.close()


def test_notes_appear_live_for_the_team_and_never_for_the_customer(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    sup_token = supervisor(server, "sup-ines", "Ines")
    ana_ctx, ana = sign_in(chromium, server, "agent-ana", register(server, "agent-ana", "Ana"))
    leo_ctx, leo = sign_in(
        chromium, server, "agent-leo", register(server, "agent-leo", "Leo", status="offline")
    )
    widget_ctx, widget, cid = customer(chromium, server)
    widget.evaluate("window.seen = []; window.batonWidget.on((e) => window.seen.push(e))")
    accept_first_offer(ana, cid)
    sup_ctx, sup = sign_in_supervisor(chromium, server, sup_token)
    held = sup.locator(
        f"#c-live section[aria-label='Conversations with agents'] tr[data-conversation='{cid}']"
    )
    held.get_by_role("button", name="Open").click()
    pane = sup.locator(f"#lv-conversation[data-conversation='{cid}']")
    expect(pane.locator("#lv-summary")).not_to_be_empty()  # the brief
    expect(pane.locator(".msg").first).to_be_visible()  # the transcript

    def add_note(page: Any, text: str) -> None:
        page.fill("#c-note-text", text)
        page.click("#c-note-add")

    first, second, third = (
        "Spouse co-owns the house.",
        "Lien on the title: checking.",
        "Offer the fee waiver.",
    )
    add_note(ana, first)
    expect(pane.locator(".note")).to_have_count(1)
    expect(pane.locator(".note").first).to_contain_text(first)  # no reload: over the desk's socket
    # Ana hands the chat to Leo, who reads her note; his note appears on her page and the supervisor's
    leo.click("#c-presence")
    expect(leo.locator("#c-presence")).to_have_attribute("aria-pressed", "true")
    ana.click("#c-transfer summary")
    expect(ana.locator("#c-transfer-to option[value='agent:agent-leo']")).to_be_enabled()
    ana.select_option("#c-transfer-to", "agent:agent-leo")
    ana.click("#c-transfer button[type=submit]")
    expect(ana.locator("#c-actions .notice")).to_contain_text("Transferred")
    accept_first_offer(leo, cid)
    expect(leo.locator("#c-notes .note")).to_have_count(1)
    add_note(leo, second)
    for page_notes in (ana.locator("#c-notes .note"), pane.locator(".note")):
        expect(page_notes).to_have_count(2)
        expect(page_notes.last).to_contain_text(second)
    # the supervisor writes to the team from the live desk
    add_note(sup, third)
    for page_notes in (ana.locator("#c-notes .note"), leo.locator("#c-notes .note")):
        expect(page_notes).to_have_count(3)
        expect(page_notes.last).to_contain_text(third)
        expect(page_notes.last).to_contain_text("sup-ines")
    leo.fill("#c-text", "Hi, Leo here.")
    leo.press("#c-text", "Enter")
    expect(widget.locator(".msg.agent .bubble").last).to_have_text("Hi, Leo here.")
    seen = widget.evaluate("window.seen")
    assert seen, "the widget follows the conversation"
    assert not [e for e in seen if e["type"] == "note_added"]
    for text in (first, second, third):
        assert text not in str(seen)
        expect(widget.get_by_text(text, exact=False)).to_have_count(0)
    widget.reload()
    expect(widget.locator(".msg.agent .bubble").last).to_have_text("Hi, Leo here.")  # the whole history
    for text in (first, second, third):
        expect(widget.get_by_text(text, exact=False)).to_have_count(0)
    shot(sup, "console-supervisor-notes")
    assert js_errors(sup) + js_errors(ana) + js_errors(leo) + js_errors(widget) == []
    for ctx in (ana_ctx, leo_ctx, widget_ctx, sup_ctx):
        ctx.close()
