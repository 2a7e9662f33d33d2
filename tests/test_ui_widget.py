"""Customer journeys in the widget, in real Chromium against a real Baton process, first click to last.

The routing policy (published through the policy API, as a product owner would) sends distress to a
person with ``no_agent: callback`` after 4 s, and keeps explicit requests queued for 10 minutes. The
journeys: nobody answers -> callback with a contact -> an agent works it in the console; leave the
queue; "New chat" while queued asks and withdraws; a reload mid-chat shows the whole history; a
colleague takes over after a transfer. No page ever shows internal text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import test_ui_pages
import yaml
from test_ui_pages import js_errors, new_page, send_widget, shot
from ui_server import UiServer, run_server

pytestmark = pytest.mark.slow
browser = test_ui_pages.browser  # the same Debian Chromium fixture (module-scoped)

DISTRESS = "Honestly I'm devastated. My ex-husband's lawyer says there's a lien on the title."
PERSON = "Can I talk to a real person please?"
SKILLS = {"real_estate": 0.9, "empathy": 0.8, "legal": 0.7, "luxury": 0.6}
INTERNAL = re.compile(
    r"rolled back|human_agent|no agent took|expired|heartbeat|accept_timeout|\brule\b", re.I
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """One Baton process whose policy decides the failure path (published through the policy API)."""
    with run_server(tmp_path_factory.mktemp("ui-widget")) as running:
        doc = yaml.safe_load(running.policy.read_text())
        doc["handoff"] = {**doc.get("handoff", {}), "no_agent": "callback", "no_agent_after_s": 4}
        for rule in doc["rules"]:
            if rule["id"] == "human_explicit_request":
                rule["no_agent_after_s"] = 600
        with admin(running) as api:
            published = api.post(
                f"/v1/policies/{doc['name']}/publish",
                json={
                    "yaml": yaml.safe_dump(doc, sort_keys=False),
                    "published_by": "tests",
                    "note": "failure path",
                },
            )
            assert published.status_code == 200, published.text
        yield running


def admin(server: UiServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=30
    )


def register(server: UiServer, agent_id: str, name: str, team: str, status: str = "online") -> str:
    with admin(server) as api:
        body = {
            "id": agent_id,
            "name": name,
            "team": team,
            "skills": SKILLS,
            "status": status,
            "max_concurrent": 3,
        }
        made = api.post("/v1/agents", json=body)
        assert made.status_code == 201, made.text
        return str(made.json()["agent_token"])


def as_agent(server: UiServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def set_status(server: UiServer, agent_id: str, status: str) -> None:
    with admin(server) as api:
        assert api.put(f"/v1/agents/{agent_id}/status", json={"status": status}).status_code == 200


def handoff_of(page: Any) -> dict[str, Any]:
    """The desk's view of the widget's current handoff (as the admin)."""
    cid = page.evaluate("window.batonWidget.session().cid")
    return dict(
        page.evaluate(
            f"fetch('/v1/conversations/{cid}/queue', {{headers: {{Authorization: "
            f"'Bearer ' + window.batonWidget.session().token}}}}).then(r => r.json())"
        )
    )


def customer_safe(page: Any) -> None:
    """Nothing internal anywhere on the customer's page, and no script errors."""
    text = page.locator("body").inner_text()
    assert not INTERNAL.search(text), INTERNAL.search(text)
    assert js_errors(page) == []


def start_handoff(page: Any, server: UiServer, trigger: str) -> None:
    page.goto(f"{server.url}/widget")
    send_widget(page, "Hi, I want to sell my house at 12 Elm Street in Brookline")
    page.locator(".msg.bot").nth(1).wait_for()
    send_widget(page, trigger)
    from playwright.sync_api import expect

    expect(page.locator("#w-queue")).to_be_visible()


def test_nobody_answers_so_the_customer_gets_a_callback_that_an_agent_works(
    browser: Any, server: UiServer
) -> None:
    from playwright.sync_api import expect

    ctx, widget = new_page(browser, 420, 760)
    start_handoff(widget, server, DISTRESS)
    expect(widget.locator("#w-queue-text")).to_contain_text("No agent is free")
    expect(widget.locator("#w-typing")).to_have_text("")  # nobody is typing for a queue
    expect(widget.locator("#w-with")).to_contain_text("Waiting for an agent")
    shot(widget, "widget-queued")
    # 4 s later the policy's callback applies: one line says so and the contact form opens
    expect(widget.locator("#w-cb-form")).to_be_visible(timeout=20_000)
    promise = widget.locator(".msg .bubble", has_text="will call you back")
    expect(promise).to_have_count(1)
    expect(widget.locator(".msg .bubble", has_text="All our agents are busy")).to_have_count(1)
    widget.fill("#w-cb-contact", "tomorrow")
    widget.click("#w-cb-form button[type=submit]")
    expect(widget.locator("#w-cb-error")).to_contain_text("phone number")
    expect(widget.locator("#w-cb-contact")).to_have_attribute("aria-invalid", "true")
    widget.fill("#w-cb-contact", "+49 151 1234567")
    widget.click("#w-cb-form button[type=submit]")
    expect(widget.locator(".msg.system .bubble").last).to_have_text(
        "Thanks! One of our agents will call you back at +491511234567."
    )
    expect(widget.locator("#w-queue-text")).to_contain_text("We'll call you back at +491511234567")
    expect(widget.locator("#w-cb-form")).to_be_hidden()
    shot(widget, "widget-callback")
    bots = widget.locator(".msg.bot").count()
    send_widget(widget, "Thanks. Meanwhile, what documents will I need?")
    expect(widget.locator(".msg.bot")).to_have_count(bots + 1)  # the assistant carries on
    customer_safe(widget)

    # the callback is work in the console: take it, call, record the outcome
    token = register(server, "agent-cb", "Priya", "sales")
    console_ctx, console = new_page(browser)
    console.goto(f"{server.url}/console")
    console.fill("#c-agent", "agent-cb")
    console.fill("#c-token", token)
    console.click("#c-signin button[type=submit]")
    item = console.locator("#c-callbacks .queue-item", has_text="+491511234567")
    expect(item).to_be_visible()
    item.get_by_role("button", name="Take").click()
    expect(item.get_by_role("button", name="Complete")).to_be_visible()
    item.get_by_label("Outcome").select_option("reached")
    item.get_by_label("Note for the team").fill("Booked a valuation")
    shot(console, "console-callbacks")
    item.get_by_role("button", name="Complete").click()
    expect(console.locator("#c-callbacks .cb-status")).to_have_text("Outcome recorded.")
    expect(item).to_have_count(0)
    with admin(server) as api:
        stats = api.get("/v1/analytics/handoffs").json()["callbacks"]
        assert stats["outcomes"].get("reached") == 1
    set_status(server, "agent-cb", "offline")
    assert js_errors(console) == []
    console_ctx.close()
    ctx.close()


def test_leave_queue_withdraws_and_the_assistant_carries_on(browser: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    ctx, widget = new_page(browser, 420, 760)
    start_handoff(widget, server, PERSON)
    expect(widget.locator("#w-leave")).to_be_visible()
    send_widget(widget, "I'll wait a bit")
    expect(widget.locator(".msg.customer.pending")).to_have_count(0)
    expect(widget.locator("#w-typing")).to_have_text("")
    widget.click("#w-leave")
    expect(widget.locator("#w-queue")).to_be_hidden()
    expect(widget.locator(".msg .bubble", has_text="You've left the queue")).to_have_count(1)
    expect(widget.locator("#w-with")).to_contain_text("back with our")
    assert handoff_of(widget)["state"] == "none"
    bots = widget.locator(".msg.bot").count()
    send_widget(widget, "What's my house worth?")
    expect(widget.locator(".msg.bot")).to_have_count(bots + 1)
    customer_safe(widget)
    ctx.close()


def test_new_chat_while_queued_asks_and_withdraws(browser: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    ctx, widget = new_page(browser, 420, 760)
    start_handoff(widget, server, PERSON)
    cid = widget.evaluate("window.batonWidget.session().cid")
    widget.click("#w-new")
    expect(widget.locator("#w-confirm")).to_be_visible()
    widget.click("#w-confirm-no")
    expect(widget.locator("#w-confirm")).to_be_hidden()
    assert handoff_of(widget)["state"] in ("waiting", "offered")
    widget.click("#w-new")
    widget.click("#w-confirm-yes")
    expect(widget.locator(".msg")).to_have_count(1)  # a fresh greeting only
    expect(widget.locator("#w-queue")).to_be_hidden()
    with admin(server) as api:
        left = [h for h in api.get("/v1/handoffs").json() if h["conversation_id"] == cid]
        assert [h["status"] for h in left] == ["cancelled"]  # no agent gets an offer from it
    customer_safe(widget)
    ctx.close()


def test_reload_mid_chat_shows_the_whole_history_and_a_colleague_takes_over(
    browser: Any, server: UiServer
) -> None:
    from playwright.sync_api import expect

    maria = register(server, "agent-maria2", "Maria", "sales")
    ctx, widget = new_page(browser, 420, 760)
    start_handoff(widget, server, PERSON)
    cid = widget.evaluate("window.batonWidget.session().cid")
    with admin(server) as api:
        handoff_id = next(
            h["handoff_id"] for h in api.get("/v1/handoffs").json() if h["conversation_id"] == cid
        )
    with as_agent(server, maria) as agent:
        assert agent.post(f"/v1/handoffs/{handoff_id}/accept").status_code == 200
        joined = widget.locator(".msg.system .bubble", has_text="Maria from our sales team joined the chat.")
        expect(joined).to_have_count(1)
        expect(widget.locator("#w-queue")).to_be_hidden()
        assert (
            agent.post(f"/v1/handoffs/{handoff_id}/reply", json={"text": "Hi, Maria here."}).status_code
            == 200
        )
    expect(widget.locator(".msg.agent .who").last).to_have_text("Maria")
    send_widget(widget, "Hi Maria, thanks")
    expect(widget.locator(".msg.customer.pending")).to_have_count(0)
    expect(widget.locator("#w-typing")).to_have_text("")  # a person answers: no "Assistant is typing"

    widget.reload()
    expect(widget.locator("body")).to_have_attribute("data-conn", "open")
    for text in (
        "Hi! How can we help today?",
        "Maria from our sales team joined the chat.",
        "Hi, Maria here.",
        "Hi Maria, thanks",
        PERSON,
    ):
        expect(widget.get_by_text(text, exact=True)).to_have_count(1)
    expect(widget.locator("#w-with")).to_contain_text("chatting with Maria")
    shot(widget, "widget-reloaded")

    lee = register(server, "agent-lee2", "Lee", "legal")
    with as_agent(server, maria) as agent:
        moved = agent.post(f"/v1/handoffs/{handoff_id}/transfer", json={"to_agent_id": "agent-lee2"})
        assert moved.status_code == 200, moved.text
    expect(widget.locator(".msg.system .bubble", has_text="transferred to a colleague")).to_have_count(1)
    with as_agent(server, lee) as agent:
        assert agent.post(f"/v1/handoffs/{handoff_id}/accept").status_code == 200
        took = widget.locator(
            ".msg.system .bubble", has_text="Lee from our legal team has taken over the chat."
        )
        expect(took).to_have_count(1)
        expect(widget.locator("#w-with")).to_contain_text("chatting with Lee")
        assert (
            agent.post(
                f"/v1/handoffs/{handoff_id}/reply", json={"text": "Lee here, about the lien."}
            ).status_code
            == 200
        )
        expect(widget.locator(".msg.agent .who").last).to_have_text("Lee")
        done = agent.post(
            f"/v1/handoffs/{handoff_id}/complete", json={"note": "sorted", "text": "Bye for now!"}
        )
        assert done.status_code == 200, done.text
    expect(widget.locator("#w-with")).to_contain_text("The agent has finished")
    expect(widget.locator("#w-csat")).to_be_visible()
    expect(widget.locator("#w-typing")).to_have_text("")
    shot(widget, "widget-transferred")
    customer_safe(widget)
    for agent_id in ("agent-maria2", "agent-lee2"):
        set_status(server, agent_id, "offline")
    ctx.close()
