"""A product owner's experiment in the policy editor, in real Chromium against a real Baton process:
declare variants, start, see it running with a conversation counted, promote B, the live policy has B's rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from test_experiments import EXPERIMENT, SELL_18M
from test_ui_pages import browser, js_errors, new_page, send_widget, shot  # noqa: F401 (browser: a fixture)
from ui_server import UiServer, run_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """Its own Baton process: promotion changes the policy for good."""
    with run_server(tmp_path_factory.mktemp("ui-experiments")) as running:
        yield running


def test_a_product_owner_runs_and_promotes_an_experiment(browser: Any, server: UiServer) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context, page = new_page(browser, 1280, 1100)
    page.goto(f"{server.url}/policies")
    page.fill("#p-token", server.admin_token)
    page.click("#p-signin button[type=submit]")
    editor = page.locator("#p-yaml")
    expect(editor).to_have_value(re.compile(r"^# Routing policy"))
    expect(page.locator("#p-exp-none")).to_contain_text("No experiment")

    # declare the experiment in the draft and publish it (not running yet)
    editor.fill(editor.input_value() + EXPERIMENT.format(status="draft"))
    expect(page.locator("#p-issues")).to_contain_text("No problems")
    page.fill("#p-by", "dana")
    page.fill("#p-note", "luxury threshold experiment")
    page.click("#p-publish")
    expect(page.locator("#p-exp-status")).to_have_text("draft")
    expect(page.locator("#p-exp-variants tr[data-variant=lower_threshold]")).to_contain_text(
        "rule luxury_interest: when, narration"
    )

    page.click("#p-exp-start")
    expect(page.locator("#p-exp-status")).to_have_text("running")
    expect(page.locator("#p-versions li").first).to_contain_text("experiment luxury_threshold: start")
    expect(editor).to_have_value(re.compile(r"status: running"))

    # a customer arrives while it runs: their conversation is counted in one variant
    wctx, widget = new_page(browser, 420, 760)
    widget.goto(f"{server.url}/widget")
    send_widget(widget, SELL_18M)
    # the variant decides who answers: the seller bot (control) or the luxury specialist (1.5M threshold)
    expect(widget.locator(".msg.bot .who").last).to_have_text(
        re.compile("Seller specialist|Luxury specialist")
    )
    wctx.close()
    page.reload()
    expect(page.locator("#p-exp-status")).to_have_text("running")
    counted = page.locator("#p-exp-outcomes tbody tr").first
    expect(counted).to_contain_text(re.compile(r"Conversations\s*(1\s*0|0\s*1)"))
    expect(page.locator("#p-exp-verdict")).to_contain_text("not enough data yet")
    shot(page, "policies-experiment")

    page.fill("#p-by", "dana")  # who publishes the promotion
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Promote variant lower_threshold").click()
    expect(page.locator("#p-state")).to_contain_text("Promoted lower_threshold")
    expect(page.locator("#p-exp-none")).to_be_visible()
    expect(editor).not_to_have_value(re.compile(r"experiment:\n"))
    expect(editor).to_have_value(re.compile(r"1500000"))
    expect(page.locator("#p-versions li").first).to_contain_text("promote lower_threshold")
    expect(page.locator("#p-versions li").first).to_contain_text("dana")

    # the live policy routes with B's rule for every conversation now
    with httpx.Client(base_url=server.url, timeout=30) as http:
        live = http.get(
            "/v1/policies/real_estate", headers={"Authorization": f"Bearer {server.admin_token}"}
        ).json()
    assert "property_value, op: '>=', value: 1500000" in live["yaml"] or "value: 1500000" in live["yaml"]
    wctx, widget = new_page(browser, 420, 760)
    widget.goto(f"{server.url}/widget")
    send_widget(widget, SELL_18M)
    expect(widget.locator(".msg.bot .who").last).to_have_text("Luxury specialist")
    wctx.close()
    assert js_errors(page) == []
    context.close()
