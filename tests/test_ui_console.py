"""The agent console in real Chromium, from the first click to the last: notifications, a missed offer
picked from the queue, saved replies (admin edits, agent inserts), the customer's history, an internal
note the customer never sees (their page open at the same time), transfer by picking from a list, and a
supervisor's reassignment on the live desk. Small things: unique ids, a favicon, chart text and tap
targets. Screenshots land in ``test-artifacts/ui/`` (the README's too; ``make screenshots`` writes
those to ``docs/screenshots``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import service_missing
from test_ui_pages import ARGS, ARTIFACTS, CHROMIUM, TIMEOUT_MS, admin, js_errors, new_page, send_widget, shot
from ui_server import UiServer, readme_shot, run_server

pytestmark = pytest.mark.slow
SKILLS = {"real_estate": 0.9, "empathy": 0.8, "legal": 0.7, "luxury": 0.6}
ACCEPT_TIMEOUT_S = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """One Baton process with a short accept timeout (so an offer can be missed within a test)."""
    tmp = tmp_path_factory.mktemp("ui-console")
    desk = tmp / "desk.yaml"
    desk.write_text(f"accept_timeout_s: {ACCEPT_TIMEOUT_S}\nexpires_after_s: 600\nmax_offers: 5\n")
    with run_server(tmp, env={"BATON_DESK_CONFIG": str(desk)}) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, as in test_ui_pages.py."""
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


@pytest.fixture(autouse=True)
def clean_desk(server: UiServer) -> Iterator[None]:
    """Each journey starts on an empty desk: what a test left open goes back to the AI, agents go offline."""
    yield
    with admin(server) as api:
        for handoff in api.get("/v1/handoffs").json():
            if handoff["status"] in ("pending", "offered", "accepted", "active"):
                api.post(
                    f"/v1/conversations/{handoff['conversation_id']}/rollback", json={"reason": "test over"}
                )
        for agent in api.get("/v1/agents").json():
            api.put(f"/v1/agents/{agent['id']}/status", json={"status": "offline"})


def register(server: UiServer, agent_id: str, name: str, status: str = "online", cap: int = 3) -> str:
    with admin(server) as api:
        body = {"id": agent_id, "name": name, "skills": SKILLS, "max_concurrent": cap, "status": status}
        made = api.post("/v1/agents", json=body)
        assert made.status_code == 201, made.text
        return str(made.json()["agent_token"])


def set_status(server: UiServer, agent_id: str, status: str) -> None:
    with admin(server) as api:
        assert api.put(f"/v1/agents/{agent_id}/status", json={"status": status}).status_code == 200


def sign_in(chromium: Any, server: UiServer, agent_id: str | None, token: str) -> tuple[Any, Any]:
    from playwright.sync_api import expect

    ctx, page = new_page(chromium, 1280, 1000)
    page.goto(f"{server.url}/console")
    if agent_id:
        page.fill("#c-agent", agent_id)
    page.fill("#c-token", token)
    page.click("#c-signin button[type=submit]")
    if agent_id:
        expect(page.locator("body")).to_have_attribute("data-conn", "open")
    return ctx, page


def customer(chromium: Any, server: UiServer, customer_id: str | None = None) -> tuple[Any, Any, str]:
    """A customer asking for a person in the widget; returns the conversation id."""
    from playwright.sync_api import expect

    ctx, page = new_page(chromium, 420, 760)
    if customer_id:  # the site created the conversation with a trusted customer id (admin token)
        with admin(server) as api:
            made = api.post(
                "/v1/conversations", json={"customer": {"id": customer_id, "name": "Dana"}}
            ).json()
        page.add_init_script(
            f"sessionStorage.getItem('baton.widget') || sessionStorage.setItem('baton.widget', "
            f"JSON.stringify({{cid: '{made['conversation_id']}', token: '{made['customer_token']}'}}))"
        )
    page.goto(f"{server.url}/widget")
    if customer_id:  # resumed: no greeting of its own
        expect(page.locator("body")).to_have_attribute("data-conn", "open")
    else:
        expect(page.locator(".msg.bot")).to_have_count(1)  # the greeting
    bots = page.locator(".msg.bot").count()
    send_widget(page, "Hi, I want to sell my house at 12 Elm Street in Brookline")
    expect(page.locator(".msg.bot").nth(bots)).to_be_visible()
    send_widget(page, "Can I talk to a real person please?")
    expect(page.locator("#w-queue")).to_be_visible()
    cid = str(page.evaluate("window.batonWidget.session().cid"))
    return ctx, page, cid


def accept_first_offer(console: Any, cid: str | None = None) -> None:
    from playwright.sync_api import expect

    offer = console.locator(
        f"#c-queue .queue-item[data-conversation='{cid}']" if cid else "#c-queue .queue-item"
    ).first
    expect(offer).to_be_visible()
    offer.get_by_role("button", name="Accept").click()
    expect(console.locator("#c-summary")).not_to_be_empty()


def test_notifications_count_offers_and_customer_messages(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    token = register(server, "agent-nia", "Nia")
    console_ctx, console = sign_in(chromium, server, "agent-nia", token)
    expect(console).to_have_title("Baton · Agent console")
    assert console.request.get(f"{server.url}/favicon.ico").status == 200
    icon = console.locator("link[rel~='icon']")
    expect(icon).to_have_attribute("data-count", "0")
    widget_ctx, widget, cid = customer(chromium, server)
    expect(console).to_have_title("(1) Baton · Agent console")  # the offer
    expect(icon).to_have_attribute("data-count", "1")
    assert console.locator("link[rel~='icon']").get_attribute("href").startswith("data:image/png")
    accept_first_offer(console, cid)
    expect(console).to_have_title("Baton · Agent console")
    # the agent switches to another tab; the customer writes
    console.evaluate(
        "Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    send_widget(widget, "Are you still there?")
    expect(console).to_have_title("(1) Baton · Agent console")
    expect(icon).to_have_attribute("data-count", "1")
    console.evaluate(
        "Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    expect(console).to_have_title("Baton · Agent console")
    # the switch follows, and stores, the agent's notification preferences
    expect(console.locator("#c-sound")).to_have_text("Sound on")
    console.click("#c-sound")
    expect(console.locator("#c-sound")).to_have_attribute("aria-pressed", "false")
    with admin(server) as api:
        for _ in range(50):
            if api.get("/v1/agents/agent-nia").json()["notifications"]["sound"] is False:
                break
            console.wait_for_timeout(100)
        assert api.get("/v1/agents/agent-nia").json()["notifications"]["sound"] is False
    assert js_errors(console) == []
    set_status(server, "agent-nia", "offline")
    for ctx in (console_ctx, widget_ctx):
        ctx.close()


def test_a_missed_offer_is_shown_and_picked_from_the_queue(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    token = register(server, "agent-mo", "Mo")
    console_ctx, console = sign_in(chromium, server, "agent-mo", token)
    widget_ctx, widget, cid = customer(chromium, server)
    expect(console.locator("#c-queue .queue-item")).to_have_count(1)
    # nobody clicks: the offer lapses, is marked missed, and stays pickable while the customer waits
    missed = console.locator(f"#c-waiting .queue-item.missed[data-conversation='{cid}']")
    expect(missed).to_be_visible(timeout=(ACCEPT_TIMEOUT_S + 10) * 1000)
    expect(missed.locator(".pill.missed")).to_have_text("missed")
    expect(console.locator("#c-queue .queue-item")).to_have_count(0)
    expect(console.locator("#c-error")).to_contain_text("missed an offer")
    shot(console, "console-missed")
    missed.get_by_role("button", name="Pick").click()
    expect(console.locator("#c-summary")).not_to_be_empty()
    expect(widget.locator(".msg.system").last).to_contain_text("joined")
    expect(console.locator("#c-waiting .queue-item")).to_have_count(0)
    assert js_errors(console) == []
    set_status(server, "agent-mo", "offline")
    for ctx in (console_ctx, widget_ctx):
        ctx.close()


def test_saved_replies_admin_edits_agent_inserts(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    admin_ctx, desk = sign_in(chromium, server, None, server.admin_token)
    desk.click("#c-tab-live")
    expect(desk.locator("#c-tab-live")).to_have_attribute("aria-selected", "true")
    desk.fill("#c-replies-team", "real_estate")
    desk.locator("#c-replies-team").dispatch_event("change")
    desk.fill(
        "#c-replies-text",
        "Valuation | I can book a free valuation visit this week.\nHours | We are open 9 to 6.",
    )
    desk.click("#c-replies-save")
    expect(desk.locator(".replies-form .notice")).to_contain_text("Saved 2 replies")
    token = register(server, "agent-sol", "Sol")
    console_ctx, console = sign_in(chromium, server, "agent-sol", token)
    widget_ctx, widget, cid = customer(chromium, server)
    accept_first_offer(console, cid)
    reply = console.locator("#c-saved button", has_text="Valuation")
    expect(reply).to_be_visible()
    expect(console.locator(".openers").first).to_be_visible()  # beside the generated openers
    reply.click()
    expect(console.locator("#c-text")).to_have_value("I can book a free valuation visit this week.")
    console.press("#c-text", "Enter")
    expect(widget.locator(".msg.agent .bubble").last).to_have_text(
        "I can book a free valuation visit this week."
    )
    assert js_errors(console) + js_errors(desk) == []
    set_status(server, "agent-sol", "offline")
    for ctx in (admin_ctx, console_ctx, widget_ctx):
        ctx.close()


def test_customer_history_and_internal_note(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    token = register(server, "agent-ivy", "Ivy")
    console_ctx, console = sign_in(chromium, server, "agent-ivy", token)
    # an earlier conversation of customer crm-7, completed with a note
    first_ctx, _, first_cid = customer(chromium, server, "crm-7")
    accept_first_offer(console, first_cid)
    console.click("#c-actions summary:has-text('Complete')")
    console.fill("#c-f-complete-note", "valuation booked for Friday")
    console.click("#c-actions button:has-text('Complete')")
    expect(console.locator("#c-actions .notice")).to_contain_text("Completed")
    first_ctx.close()
    # the same customer comes back
    widget_ctx, widget, cid = customer(chromium, server, "crm-7")
    accept_first_offer(console, cid)
    history = console.locator("#c-history")
    expect(history.locator(f"[data-conversation='{first_cid}']")).to_be_visible()
    past = history.locator(".past-handoff").first
    expect(past).to_contain_text("closed by the agent")
    expect(past).to_contain_text("valuation booked for Friday")
    expect(console.locator("#c-customer")).to_contain_text("crm-7")
    # ... and the brief itself lists that conversation, one line, in the 5- and the 30-second view
    expect(console.locator("#c-brief")).to_contain_text("1 earlier conversation(s)")
    expect(console.locator(f"#c-earlier [data-conversation='{first_cid}']")).to_contain_text(
        "closed by the agent"
    )
    # an internal note, with the customer's page open
    note = "Spouse co-owns the house: confirm before quoting."
    console.fill("#c-note-text", note)
    console.click("#c-note-add")
    expect(console.locator("#c-notes .note")).to_contain_text(note)
    console.fill("#c-text", "Welcome back! I see we spoke before.")
    console.press("#c-text", "Enter")
    expect(widget.locator(".msg.agent .bubble").last).to_have_text("Welcome back! I see we spoke before.")
    expect(widget.get_by_text("Spouse co-owns", exact=False)).to_have_count(0)
    widget.reload()
    expect(widget.locator("body")).to_have_attribute("data-conn", "open")
    expect(widget.locator(".msg.agent .bubble").last).to_have_text("Welcome back! I see we spoke before.")
    expect(widget.get_by_text("Spouse co-owns", exact=False)).to_have_count(0)
    console.reload()
    expect(console.locator("body")).to_have_attribute("data-conn", "open")
    console.locator("#c-mine button").first.click()
    expect(console.locator("#c-notes .note")).to_contain_text(note)  # kept with the conversation
    ids = console.evaluate("[...document.querySelectorAll('[id]')].map((n) => n.id)")
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    shot(console, "console-panels")
    assert js_errors(console) + js_errors(widget) == []
    set_status(server, "agent-ivy", "offline")
    for ctx in (console_ctx, widget_ctx):
        ctx.close()


def test_a_value_the_customer_changed_reads_as_changed(chromium: Any, server: UiServer) -> None:
    """The customer corrects the address before asking for a person: the agent's brief tells the new
    one (with the old one struck through in the facts), and the customer's page never shows the note."""
    from playwright.sync_api import expect

    token = register(server, "agent-max", "Max")
    console_ctx, console = sign_in(chromium, server, "agent-max", token)
    widget_ctx, widget = new_page(chromium, 420, 760)
    widget.goto(f"{server.url}/widget")
    expect(widget.locator(".msg.bot")).to_have_count(1)  # the greeting
    for text in ("Hi, I want to sell my house at 12 Elm Street in Brookline", "Sorry, I meant 14 Elm Street"):
        bots = widget.locator(".msg.bot").count()
        send_widget(widget, text)
        expect(widget.locator(".msg.bot").nth(bots)).to_be_visible()
    send_widget(widget, "Can I talk to a real person please?")
    expect(widget.locator("#w-queue")).to_be_visible()
    cid = str(widget.evaluate("window.batonWidget.session().cid"))
    accept_first_offer(console, cid)
    expect(console.locator("#c-summary")).to_contain_text("14 Elm Street (was 12 Elm Street)")
    console.click("#c-thirty > summary")
    changed = console.locator("#c-thirty .fact-changed")
    expect(changed).to_have_count(1)
    expect(changed).to_have_text("12 Elm Street")
    fact = console.locator("#c-thirty li").filter(has=console.locator(".fact-changed"))
    expect(fact).to_contain_text("changed to 14 Elm Street")
    expect(widget.get_by_text("was 12 Elm Street", exact=False)).to_have_count(0)
    assert js_errors(console) + js_errors(widget) == []
    set_status(server, "agent-max", "offline")
    for ctx in (console_ctx, widget_ctx):
        ctx.close()


def test_transfer_by_picking_from_the_list(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    token = register(server, "agent-ana", "Ana")
    lee = register(server, "agent-lee", "Lee", status="offline")
    console_ctx, console = sign_in(chromium, server, "agent-ana", token)
    lee_ctx, lee_console = sign_in(chromium, server, "agent-lee", lee)
    widget_ctx, widget, cid = customer(chromium, server)
    accept_first_offer(console, cid)
    lee_console.click("#c-presence")  # Lee goes online after the offer went to Ana
    expect(lee_console.locator("#c-presence")).to_have_attribute("aria-pressed", "true")
    console.click("#c-transfer summary")
    option = console.locator("#c-transfer-to option[value='agent:agent-lee']")
    expect(option).to_contain_text("Lee (agent-lee) · online · 0/3")
    expect(console.locator("#c-transfer-to optgroup[label='Queues'] option").first).to_be_attached()
    console.select_option("#c-transfer-to", "agent:agent-lee")
    console.fill("#c-f-transfer-reason", "Lee knows Brookline")
    console.click("#c-transfer button[type=submit]")
    expect(console.locator("#c-actions .notice")).to_contain_text("Transferred")
    accept_first_offer(lee_console, cid)
    lee_console.fill("#c-text", "Hi, Lee here.")
    lee_console.press("#c-text", "Enter")
    expect(widget.locator(".msg.agent .bubble").last).to_have_text("Hi, Lee here.")
    assert js_errors(console) + js_errors(lee_console) == []
    set_status(server, "agent-ana", "offline")
    set_status(server, "agent-lee", "offline")
    for ctx in (console_ctx, lee_ctx, widget_ctx):
        ctx.close()


def test_supervisor_reassigns_from_the_live_desk(chromium: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    token = register(server, "agent-kim", "Kim")
    other = register(server, "agent-raj", "Raj", status="offline")
    console_ctx, console = sign_in(chromium, server, "agent-kim", token)
    raj_ctx, raj = sign_in(chromium, server, "agent-raj", other)
    widget_ctx, widget, cid = customer(chromium, server)
    accept_first_offer(console, cid)
    raj.click("#c-presence")  # Raj comes online after Kim took the chat
    expect(raj.locator("#c-presence")).to_have_attribute("aria-pressed", "true")
    holder, target, target_id = console, raj, "agent-raj"
    sup_ctx, sup = sign_in(chromium, server, None, server.admin_token)
    expect(sup.locator("#c-tab-analytics")).to_be_visible()
    sup.click("#c-tab-live")
    expect(sup.locator("#c-live")).to_contain_text("Conversations with agents")
    expect(sup.locator("#c-live tr[data-agent]")).not_to_have_count(0)
    held = sup.locator("#c-live section[aria-label='Conversations with agents'] tr[data-handoff]")
    row = held.filter(has_text="agent-kim").first
    expect(row).to_be_visible()
    shot(sup, "console-live")
    row.locator("select").select_option(target_id)
    row.get_by_role("button", name="Reassign").click()
    expect(holder.locator("#c-actions .notice")).to_contain_text("supervisor moved")
    accept_first_offer(target, cid)
    target.fill("#c-text", "I'm taking over, hello!")
    target.press("#c-text", "Enter")
    expect(widget.locator(".msg.agent .bubble").last).to_have_text("I'm taking over, hello!")
    # an agent has no analytics tab (it would only answer 403) and no live desk
    expect(console.locator("#c-tab-analytics")).to_be_hidden()
    expect(console.locator("#c-tab-live")).to_be_hidden()
    assert js_errors(sup) + js_errors(console) + js_errors(raj) == []
    for agent_id in ("agent-kim", "agent-raj"):
        set_status(server, agent_id, "offline")
    for ctx in (console_ctx, raj_ctx, widget_ctx, sup_ctx):
        ctx.close()


def test_small_things(chromium: Any, server: UiServer) -> None:
    """Register form makes offline agents; chart text >= 12 px; tap targets >= 44 px; line-number contrast."""
    from playwright.sync_api import expect

    ctx, page = sign_in(chromium, server, None, server.admin_token)  # the admin lands on analytics
    expect(page.locator("#c-tab-analytics")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".tile").first).to_be_visible()
    page.fill("#c-reg-name", "Newbie")
    page.fill("#c-reg-id", "agent-newbie")
    page.click("section[aria-label='Register an agent'] button[type=submit]")
    expect(page.locator("section[aria-label='Register an agent'] .notice")).to_contain_text("offline")
    with admin(server) as api:
        assert api.get("/v1/agents/agent-newbie").json()["status"] == "offline"
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(200)
        sizes = page.evaluate(
            "[...document.querySelectorAll('.chart svg text')].map((t) => t.getBoundingClientRect().height)"
        )
        font_px = page.evaluate(
            "[...document.querySelectorAll('.chart svg')].map((s) => parseFloat(getComputedStyle(s).fontSize)"
            " * s.clientWidth / s.viewBox.baseVal.width)"
        )
        assert sizes, "the charts have text"
        assert min(font_px) >= 12, font_px
        small = page.evaluate(
            "[...document.querySelectorAll('button, input, select, summary, .topbar nav a')]"
            ".filter((b) => b.offsetParent && !b.classList.contains('fact-link'))"
            ".map((b) => [b.textContent || b.id, b.getBoundingClientRect().height])"
            ".filter(([, h]) => h < 44)"
        )
        assert small == [], small
    shot(page, "console-analytics-small")
    ctx.close()
    pctx, editor = new_page(chromium, 1280, 900)
    editor.goto(f"{server.url}/policies")
    colors = editor.evaluate(
        "(() => { const g = document.querySelector('#p-gutter') || document.querySelector('.gutter');"
        " const s = getComputedStyle(g); return [s.color, s.backgroundColor]; })()"
    )
    assert contrast(*colors) >= 4.5, colors
    pctx.close()


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two ``rgb(...)`` colours."""

    def lum(css: str) -> float:
        r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_readme_console_screenshots(chromium: Any, server: UiServer) -> None:
    """Take the README's console screenshot (a held chat with the customer panel) small enough for git."""
    from playwright.sync_api import expect

    token = register(server, "agent-maria", "Maria")
    console_ctx, console = sign_in(chromium, server, "agent-maria", token)
    widget_ctx, widget, cid = customer(chromium, server, "crm-7")
    accept_first_offer(console, cid)
    console.fill("#c-text", "Hi, I'm Maria. I can see you're selling 12 Elm Street.")
    console.press("#c-text", "Enter")
    expect(widget.locator(".msg.agent .bubble").last).to_be_visible()
    console.fill("#c-note-text", "Customer came back: see the earlier valuation.")
    console.click("#c-note-add")
    expect(console.locator("#c-notes .note")).to_have_count(1)
    console.set_viewport_size({"width": 1280, "height": 1180})  # down to the customer's history
    readme_shot(console, "console.png")
    with admin(server) as api:  # a supervisor's live desk, the conversation open with the team's note
        made = api.post("/v1/supervisors", json={"id": "sup-olga", "name": "Olga"}).json()
    sup_ctx, sup = sign_in(chromium, server, None, made["supervisor_token"])
    held = sup.locator(f"#c-live tr[data-conversation='{cid}']")
    held.get_by_role("button", name="Open").click()
    expect(sup.locator("#lv-conversation .note")).to_have_count(1)
    sup.set_viewport_size({"width": 1280, "height": 900})
    readme_shot(sup, "console-live.png")
    sup_ctx.close()
    set_status(server, "agent-maria", "offline")
    for ctx in (console_ctx, widget_ctx):
        ctx.close()


def test_policy_editor_keeps_the_draft_and_shows_a_refused_file(chromium: Any, server: UiServer) -> None:
    """A reload keeps an unsaved draft; an invalid edit made on disk is shown, with its problems."""
    from playwright.sync_api import expect

    ctx, page = new_page(chromium, 1280, 1000)
    page.goto(f"{server.url}/policies")
    page.fill("#p-token", server.admin_token)
    page.click("#p-signin button[type=submit]")
    editor = page.locator("#p-yaml")
    expect(editor).to_have_value(re.compile(r"^# Routing policy"))
    original = editor.input_value()
    draft = original.replace("rules:\n", "rules:\n  # a thought for later\n", 1)
    editor.fill(draft)
    expect(page.locator("#p-state")).to_contain_text("Valid draft")
    page.reload()
    expect(editor).to_have_value(draft)
    expect(page.locator("#p-draft")).to_contain_text("Restored your unsaved draft")
    page.locator("#p-draft").get_by_role("button", name="Discard it").click()
    expect(editor).to_have_value(original)
    page.reload()
    expect(editor).to_have_value(original)  # discarded for good
    # someone edits the file on disk and breaks it: the service keeps serving, the editor says so
    on_disk = server.policy.read_text(encoding="utf-8")
    broken = on_disk.replace('op: ">"', 'op: "bigger"', 1)
    server.policy.write_text(broken, encoding="utf-8")
    try:
        page.reload()
        expect(page.locator("#p-disk")).to_contain_text("refused (1 problem)")
        page.locator("#p-disk").get_by_role("button", name="Open the refused file").click()
        expect(editor).to_have_value(broken)
        bad_line = next(n for n, line in enumerate(broken.splitlines(), 1) if '"bigger"' in line)
        expect(page.locator("#p-issues .issue")).to_have_count(1)
        expect(page.locator("#p-issues .issue").first).to_contain_text(f"Line {bad_line}")
        expect(page.locator("#p-issues .issue").first).to_contain_text("unknown operator 'bigger'")
        shot(page, "policies-refused")
    finally:
        server.policy.write_text(on_disk, encoding="utf-8")
    assert js_errors(page) == []
    ctx.close()
