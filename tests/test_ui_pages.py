"""The web pages in a real headless Chromium against a real Baton process (offline, real_estate policy).

Covers the customer widget, the agent console and the policy editor end to end: a handoff to a person,
accept, messages both ways, a dropped connection that replays exactly the missed messages, reload
resume, return to the AI, CSAT into analytics; an invalid policy edit that cannot be published and a
valid one that changes routing. Screenshots land in ``test-artifacts/ui/``.
"""

from __future__ import annotations

import http.server
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import service_missing
from ui_server import UiServer, run_server

CHROMIUM = os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "ui"
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """One Baton process for the module."""
    with run_server(tmp_path_factory.mktemp("ui-server")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        service_missing("playwright", str(exc))
    if not Path(CHROMIUM).exists():
        service_missing("chromium", f"{CHROMIUM} is missing (run .ci/browser.sh)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def shot(page: Any, name: str) -> None:
    """Save a screenshot of the page's current state (scrolled to the top)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def admin(server: UiServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=30
    )


ERRORS: dict[int, list[str]] = {}
SOCKETS: dict[int, list[str]] = {}


def new_page(browser: Any, width: int = 1280, height: int = 860) -> tuple[Any, Any]:
    """A fresh context (own sessionStorage) and page; JavaScript errors, what the CSP blocked and
    socket URLs are collected."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = ERRORS.setdefault(id(page), [])
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # what the page's Content-Security-Policy blocked (a style, a media URL) fails silently otherwise
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "Security Policy" in m.text else None,
    )
    sockets = SOCKETS.setdefault(id(page), [])
    page.on("websocket", lambda ws: sockets.append(ws.url))
    return context, page


def js_errors(page: Any) -> list[str]:
    """Uncaught JavaScript errors seen on ``page``."""
    return ERRORS.get(id(page), [])


def socket_urls(page: Any) -> list[str]:
    """The URL of every WebSocket ``page`` opened."""
    return SOCKETS.get(id(page), [])


def send_widget(page: Any, text: str) -> None:
    page.fill("#w-input", text)
    page.press("#w-input", "Enter")


def test_handoff_round_trip(browser: Any, server: UiServer) -> None:
    """Widget -> handoff -> console accept -> chat both ways -> drop/replay -> return -> CSAT."""
    from playwright.sync_api import expect

    with admin(server) as api:
        made = api.post(
            "/v1/agents",
            json={
                "id": "agent-maria",
                "name": "Maria",
                "skills": {"real_estate": 0.9, "empathy": 0.8, "legal": 0.7, "luxury": 0.6},
                "max_concurrent": 2,
                "status": "online",
            },
        )
        assert made.status_code == 201, made.text
        agent_token = made.json()["agent_token"]

    console_ctx, console = new_page(browser)
    console.goto(f"{server.url}/console")
    console.fill("#c-agent", "agent-maria")
    console.fill("#c-token", agent_token)
    console.click("#c-signin button[type=submit]")
    expect(console.locator("#c-presence")).to_have_attribute("aria-pressed", "true")
    expect(console.locator("body")).to_have_attribute("data-conn", "open")

    widget_ctx, widget = new_page(browser, 420, 760)
    widget.goto(f"{server.url}/widget")
    send_widget(widget, "Hi, I want to sell my house at 12 Elm Street in Brookline")
    expect(widget.locator(".msg.bot").nth(1)).to_be_visible()
    expect(widget.locator(".msg.customer.pending")).to_have_count(0)
    send_widget(widget, "Can I talk to a real person please?")
    expect(widget.locator(".msg .bubble", has_text="won't need to repeat anything")).to_have_count(1)
    expect(widget.locator("#w-queue")).to_be_visible()
    shot(widget, "widget-handoff")

    offer = console.locator("#c-queue .queue-item").first
    expect(offer).to_be_visible()
    expect(offer.locator(".countdown")).to_have_text(re.compile(r"\d+s"))
    shot(console, "console-offer")

    # reloaded pages get where things stand from the state each socket starts with
    console.reload()
    expect(console.locator("body")).to_have_attribute("data-conn", "open")
    expect(offer).to_be_visible()
    expect(offer.locator(".countdown")).to_have_text(re.compile(r"\d+s"))
    widget.reload()
    expect(widget.locator("body")).to_have_attribute("data-conn", "open")
    expect(widget.locator("#w-queue")).to_contain_text("An agent is about to join")

    offer.get_by_role("button", name="Accept").click()
    expect(widget.locator(".msg.system").last).to_have_text("Maria joined the chat.")
    expect(widget.locator("#w-queue")).to_be_hidden()

    # progressive disclosure: 5-second view visible, 30-second view opens, facts link to turns
    expect(console.locator("#c-summary")).not_to_be_empty()
    console.click("#c-thirty summary")
    links = console.locator("#c-thirty .fact-link")
    if links.count():
        links.first.click()
        expect(console.locator("#c-transcript .msg.flash")).to_have_count(1)
    opener = console.locator(".openers button").first
    if opener.count():
        opener.click()
        expect(console.locator("#c-text")).not_to_have_value("")
    console.fill("#c-text", "Hi, I'm Maria. I can see you're selling 12 Elm Street.")
    console.press("#c-text", "Enter")
    expect(widget.locator(".msg.agent .bubble").last).to_have_text(
        "Hi, I'm Maria. I can see you're selling 12 Elm Street."
    )
    expect(widget.locator(".msg.agent .who").last).to_have_text("Maria")
    expect(widget.locator("#w-with")).to_contain_text("chatting with Maria")

    # typing both ways
    widget.type("#w-input", "Gre")
    expect(console.locator("#c-typing")).to_contain_text("Customer is typing")
    console.type("#c-text", "On")
    expect(widget.locator("#w-typing")).to_contain_text("Maria is typing")
    console.fill("#c-text", "")
    widget.fill("#w-input", "")
    send_widget(widget, "Great, when can you visit?")
    expect(console.locator("#c-transcript .bubble").last).to_have_text("Great, when can you visit?")
    shot(console, "console-chat")

    # network drop: the widget misses two agent messages and gets each exactly once on reconnect
    widget_ctx.set_offline(True)
    widget.evaluate("window.batonWidget.stream.drop()")
    expect(widget.locator("body")).not_to_have_attribute("data-conn", "open")
    missed = ["Friday at 10am works for me.", "I'll bring the comparable sales."]
    for text in missed:
        console.fill("#c-text", text)
        console.press("#c-text", "Enter")
        expect(console.locator("#c-transcript .bubble").last).to_have_text(text)
    widget.wait_for_timeout(500)
    for text in missed:
        expect(widget.get_by_text(text, exact=True)).to_have_count(0)
    widget_ctx.set_offline(False)
    expect(widget.locator("body")).to_have_attribute("data-conn", "open")
    for text in missed:
        expect(widget.get_by_text(text, exact=True)).to_have_count(1)
    resumed_from = widget.evaluate("window.batonWidget.stream.log.at(-1).since")
    assert resumed_from > 0
    widget.wait_for_timeout(300)
    for text in missed:
        expect(widget.get_by_text(text, exact=True)).to_have_count(1)

    # reload: sessionStorage resumes the same conversation, without duplicates
    widget.reload()
    expect(widget.locator("body")).to_have_attribute("data-conn", "open")
    said = ["Great, when can you visit?", "Hi, I'm Maria. I can see you're selling 12 Elm Street.", *missed]
    for text in said:
        expect(widget.get_by_text(text, exact=True)).to_have_count(1)
    expect(widget.locator("#w-with")).to_contain_text("chatting with Maria")
    console.reload()  # the conversation is still the agent's: the console's socket state says so
    expect(console.locator("body")).to_have_attribute("data-conn", "open")
    console.locator("#c-mine button").first.click()
    expect(console.locator("#c-transcript .bubble").last).to_have_text(missed[-1])

    # return to the AI with a note, then the customer rates the conversation
    console.click("#c-actions summary:has-text('Return to AI')")
    console.fill("#c-f-note", "Valuation visit booked Friday 10am.")
    console.click("#c-actions button:has-text('Return to AI')")
    expect(console.locator("#c-actions .notice")).to_contain_text("Returned")
    expect(widget.locator("#w-csat")).to_be_visible()
    shot(widget, "widget-csat")
    widget.get_by_role("button", name="Rate 5 out of 5").click()
    expect(widget.locator("#w-csat")).to_contain_text("Thanks")
    shot(widget, "widget")
    assert js_errors(widget) == []
    assert js_errors(console) == []
    customer_token = widget.evaluate("window.batonWidget.session().token")
    for page, secret in ((widget, customer_token), (console, agent_token)):  # sent in the first message
        assert socket_urls(page)
        assert not [u for u in socket_urls(page) if "token" in u or secret in u]

    # analytics (admin): the handoff, its trigger and the rating show up
    analytics_ctx, analytics = new_page(browser, 1280, 1000)
    analytics.goto(f"{server.url}/console")
    analytics.fill("#c-token", server.admin_token)
    analytics.click("#c-signin button[type=submit]")
    expect(analytics.locator(".tile").first).to_be_visible()
    expect(analytics.locator(".tile", has_text="CSAT")).to_contain_text("5 / 5")
    expect(analytics.locator(".chart", has_text="Trigger mix")).to_contain_text("explicit_request")
    shot(analytics, "console-analytics")
    assert js_errors(analytics) == []

    # phone width still works
    console.set_viewport_size({"width": 390, "height": 800})
    expect(console.locator("#c-composer")).to_be_visible()
    shot(console, "console-phone")
    for ctx in (console_ctx, widget_ctx, analytics_ctx):
        ctx.close()


PENGUIN_RULE = (
    "rules:\n"
    "  - id: penguin_lovers\n"
    "    description: penguin fans go to the luxury desk\n"
    "    when: {field: text, op: matches, value: penguin}\n"
    "    target: luxury_specialist\n"
)


def test_policy_editor(browser: Any, server: UiServer) -> None:
    """An invalid edit shows its line and cannot be published; a valid one changes routing."""
    from playwright.sync_api import expect

    context, page = new_page(browser, 1280, 1000)
    page.goto(f"{server.url}/policies")
    page.fill("#p-token", server.admin_token)
    page.click("#p-signin button[type=submit]")
    editor = page.locator("#p-yaml")
    expect(editor).to_have_value(re.compile(r"^# Routing policy"))
    expect(page.locator("#p-publish")).to_be_disabled()
    original = editor.input_value()

    broken = original.replace(
        "  - id: human_explicit_request\n", "  - id: human_explicit_request\n    colour: red\n", 1
    )
    bad_line = broken.splitlines().index("    colour: red") + 1
    editor.fill(broken)
    issue = page.locator("#p-issues .issue").first
    expect(issue).to_contain_text(f"Line {bad_line}")
    expect(page.locator("#p-gutter .bad")).to_have_text([str(bad_line)])
    expect(page.locator("#p-publish")).to_be_disabled()
    expect(page.locator("#p-state")).to_contain_text("cannot publish")
    issue.click()
    shot(page, "policies-invalid")

    draft = original.replace("rules:\n", PENGUIN_RULE, 1)
    editor.fill(draft)
    expect(page.locator("#p-issues")).to_contain_text("No problems")
    expect(page.locator("#p-diff .add").first).to_be_visible()
    expect(page.locator("#p-diff")).to_contain_text("+  - id: penguin_lovers")
    page.fill("#p-msg", "Do you have a penguin friendly house?")
    page.click("#p-try button[type=submit]")
    expect(page.locator("#p-verdict")).to_contain_text("penguin_lovers fires and routes to luxury_specialist")
    expect(page.locator("#p-result tr.fired")).to_contain_text("penguin_lovers")
    page.fill("#p-by", "dana")
    page.fill("#p-note", "penguins to the luxury desk")
    expect(page.locator("#p-publish")).to_be_enabled()
    page.click("#p-publish")
    expect(page.locator("#p-state")).to_contain_text("Published version")
    expect(page.locator("#p-versions li")).to_have_count(2)
    expect(page.locator("#p-versions li").first).to_contain_text("dana")
    expect(page.locator("#p-versions li").first).to_contain_text("serving")
    shot(page, "policies")

    # the published policy routes a new widget conversation
    wctx, widget = new_page(browser, 420, 760)
    widget.goto(f"{server.url}/widget")
    send_widget(widget, "Do you have a penguin friendly house?")
    expect(widget.locator(".msg.bot .who").last).to_have_text("Luxury specialist")
    wctx.close()

    # one click back to the first version
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#p-versions li").last.get_by_role("button", name=re.compile("Roll back")).click()
    expect(page.locator("#p-state")).to_contain_text("Rolled back")
    expect(page.locator("#p-versions li")).to_have_count(3)
    expect(editor).to_have_value(original)
    assert server.policy.read_text(encoding="utf-8") == original
    assert js_errors(page) == []
    context.close()


@contextmanager
def foreign_site(html: str) -> Iterator[str]:
    """Another origin (its own port) serving one page, like a customer's website."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}/"
    finally:
        site.shutdown()
        site.server_close()


def test_widget_sends_again_when_the_service_sheds_load(browser: Any, server: UiServer) -> None:
    """A 503 with Retry-After (a worker at capacity) is retried; the message is not marked failed."""
    from playwright.sync_api import expect

    context, page = new_page(browser, 420, 760)
    refused: list[str] = []

    def shed_first(route: Any) -> None:
        if route.request.method == "POST" and not refused:
            refused.append(route.request.post_data or "")
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body='{"error":{"code":"overloaded","message":"the service is busy"}}',
            )
        else:
            route.continue_()

    page.route("**/v1/conversations/*/messages", shed_first)
    page.goto(f"{server.url}/widget")
    send_widget(page, "Hi, I want to sell my flat")
    expect(page.locator(".msg.bot").nth(1)).to_be_visible()
    expect(page.locator(".msg.customer.pending")).to_have_count(0)
    expect(page.locator(".msg.customer.failed")).to_have_count(0)
    expect(page.locator(".msg.customer")).to_have_count(1)
    assert len(refused) == 1
    assert "sell my flat" in refused[0]
    assert js_errors(page) == []
    context.close()


def test_embed_loader(browser: Any, server: UiServer) -> None:
    """One <script> tag on a foreign page adds a launcher that opens the widget in an iframe."""
    from playwright.sync_api import expect

    context, page = new_page(browser, 1000, 760)
    host = (
        "<!doctype html><title>Acme Realty</title><h1>Acme Realty</h1><p>Homes in Brookline.</p>"
        f"<script src='{server.url}/widget.js' async></script>"
    )
    with foreign_site(host) as url:
        page.goto(url)
        launcher = page.locator("#baton-widget button.launch")
        expect(launcher).to_have_text("Chat with us")
        launcher.click()
        expect(launcher).to_have_attribute("aria-expanded", "true")
        frame = page.frame_locator("#baton-widget iframe")
        frame.locator("#w-input").fill("Hello")
        frame.locator("#w-input").press("Enter")
        expect(frame.locator(".msg.bot").nth(1)).to_be_visible()
        widget = next(f for f in page.frames if f.url.startswith(f"{server.url}/widget"))
        # The voice button works in the frame: the host page delegates the microphone to it.
        assert widget.evaluate("document.featurePolicy.allowsFeature('microphone')") is True
        shot(page, "widget-embed")
        assert js_errors(page) == []
        context.close()


def test_the_composer_waits_for_the_widget_script(browser: Any, server: UiServer) -> None:
    """Until the widget's script runs, Enter cannot submit the form natively (a reload that loses the text)."""
    from playwright.sync_api import expect

    context, page = new_page(browser)
    page.route("**/ui/widget-app.js", lambda route: route.abort())
    page.goto(f"{server.url}/widget")
    expect(page.locator("#w-input")).to_be_disabled()
    expect(page.locator("#w-form button[type=submit]")).to_be_disabled()
    page.unroute("**/ui/widget-app.js")
    page.reload()
    send_widget(page, "Hello")
    expect(page.locator(".msg.bot").nth(1)).to_be_visible()
    assert "text=" not in page.url
    context.close()


def test_a_sign_in_before_the_console_script_runs_keeps_the_token_out_of_the_url(
    browser: Any, server: UiServer
) -> None:
    """A native submit of the sign-in form (script not run yet) must not put the token in the URL."""
    context, page = new_page(browser)
    page.route("**/ui/console-app.js", lambda route: route.abort())
    page.goto(f"{server.url}/console")
    page.fill("#c-agent", "agent-maria")
    page.fill("#c-token", "agt_secret_token_value")
    with page.expect_navigation():
        page.press("#c-token", "Enter")
    assert "agt_secret_token_value" not in page.url
    assert "agent-maria" not in page.url
    context.close()


def test_screenshots_are_small() -> None:
    """README screenshots stay small (they live in git)."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    for png in docs.glob("*.png"):
        assert png.stat().st_size < 150_000, png
