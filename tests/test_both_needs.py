"""Seed 003's "both needs -> support first" (issue 15 §5): a problem and a sales question in one message
reach the problem's specialist first; the sales question stays an open item that every brief lists, that
the bot offers once the problem is dealt with, and that sales takes up without asking again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import POLICIES, make_settings
from test_api_support import ADMIN, api_settings, in_process

from api.app import create_app
from graph.open_items import OpenItem, open_items
from graph.runtime import BatonRuntime
from graph.signal_service import SignalService
from graph.signals import CONDITION_FIELDS
from policies.evaluator import first_match
from policies.loader import LoadedPolicy, PolicyError, load_policy, load_policy_text

BOTH = "I was double charged last month, and also I'd like to upgrade to the Enterprise plan"
ASK_FOR_A_PERSON = "Can I talk to a real person please?"


@pytest.fixture(scope="module")
def support() -> LoadedPolicy:
    return load_policy(POLICIES / "support.yaml", fields=CONDITION_FIELDS)


def _route(loaded: LoadedPolicy, text: str) -> tuple[str | None, str | None, list[str]]:
    """(rule, target, intents) of a new conversation's first turn, as the router evaluates it."""
    signals = SignalService().analyzer_for(loaded).analyze([text])
    context = {
        **signals.model_dump(exclude={"evidence"}),
        "active_agent": "",
        "turn_count": 1,
        "status": "bot",
        "text": text,
        "customer": {},
    }
    rule = first_match(loaded.policy, context)
    return (rule.id, rule.target, signals.intents) if rule else (None, None, signals.intents)


ROUTES = [
    # message, rule that fires, target
    (BOTH, "both_needs_billing_first", "billing_bot"),
    (
        "I'd like to upgrade to the Enterprise plan, and also I was double charged last month",
        "both_needs_billing_first",
        "billing_bot",
    ),
    (
        "I was double charged last month. I'd also like to upgrade to the Enterprise plan.",
        "both_needs_billing_first",
        "billing_bot",
    ),
    (
        "There's a charge I don't recognize, and I'm also curious about upgrading to your Pro plan.",
        "both_needs_billing_first",
        "billing_bot",
    ),
    (
        "The app keeps crashing when I log in, and I'd also like to hear about enterprise pricing",
        "both_needs_tech_first",
        "tech_bot",
    ),
    (
        "My package hasn't arrived yet and I want to add more seats to my plan",
        "both_needs_support_first",
        "support_bot",
    ),
    ("I don't want to upgrade, I just need a refund", "billing", "billing_bot"),
    ("I'd like to upgrade to the Enterprise plan", "sales", "sales_bot"),
    ("I'm on the Basic plan and want to switch to Pro", "sales", "sales_bot"),
    ("I was charged twice this month", "billing", "billing_bot"),
]


@pytest.mark.parametrize(("text", "rule", "target"), ROUTES, ids=[r[0][:48] for r in ROUTES])
def test_both_needs_go_to_the_problem_first(support: LoadedPolicy, text: str, rule: str, target: str) -> None:
    fired, to, intents = _route(support, text)
    assert (fired, to) == (rule, target), intents
    both = rule.startswith("both_needs_")
    assert ("upgrade_interest" in intents and len(intents) >= 2) is both


def test_a_declined_need_is_no_need(support: LoadedPolicy) -> None:
    *_, intents = _route(support, "I don't want to upgrade, I just need a refund")
    assert intents == ["billing_issue"]
    signals = SignalService().analyzer_for(support).analyze(["I don't want to upgrade, I just need a refund"])
    declined = [e for e in signals.evidence if e.signal == "intents" and e.negated]
    assert [e.text for e in declined] == ["I don't want to upgrade"]


def test_intents_is_a_list_field_tested_with_contains() -> None:
    text = (POLICIES / "support.yaml").read_text()
    wrong_op = text.replace(
        "{field: intents, op: contains, value: tech_issue}", "{field: intents, op: ==, value: tech_issue}"
    )
    with pytest.raises(PolicyError, match="holds a list; test it with 'contains'"):
        load_policy_text(wrong_op, "support.yaml", fields=CONDITION_FIELDS)
    not_a_list = text.replace(
        "{field: intents, op: contains, value: tech_issue}",
        "{field: intent, op: contains, value: tech_issue}",
    )
    with pytest.raises(PolicyError, match="'contains' tests a list field"):
        load_policy_text(not_a_list, "support.yaml", fields=CONDITION_FIELDS)
    unknown = text.replace("value: tech_issue}", "value: tech_isue}", 1)
    with pytest.raises(PolicyError, match="unknown intent 'tech_isue'"):
        load_policy_text(unknown, "support.yaml", fields=CONDITION_FIELDS)


# --- through the graph: the open item, the brief, the offer, sales -------------------------------


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[BatonRuntime]:
    async with BatonRuntime.open(make_settings(tmp_path, "support.yaml"), checkpoint_url="memory") as runtime:
        yield runtime


async def _items(rt: BatonRuntime, cid: str) -> list[OpenItem]:
    state = await rt.graph.aget_state({"configurable": {"thread_id": cid}})
    return open_items(state.values)


async def _billing_done(rt: BatonRuntime, cid: str) -> str:
    """Open with both needs, then answer the billing bot until it has what it needs; its last reply."""
    first = await rt.post_message(cid, BOTH)
    assert first.active_agent == "billing_bot"
    assert first.routing is not None
    assert first.routing["rule_id"] == "both_needs_billing_first"
    reply = first.replies[-1].text
    assert "you'd like to upgrade to the Enterprise plan" in reply  # noted, not dropped
    assert "sales specialist" in reply
    await rt.post_message(cid, "jane@example.com")
    done = await rt.post_message(cid, "I'd like a refund please")
    assert done.active_agent == "billing_bot"
    return done.replies[-1].text


async def test_the_sales_question_is_kept_as_an_open_item_with_its_turn(rt: BatonRuntime) -> None:
    await rt.post_message("c", BOTH)
    [item] = await _items(rt, "c")
    assert (item.intent, item.target, item.status, item.turn) == ("upgrade_interest", "sales_bot", "open", 0)
    assert BOTH[item.start : item.end] == item.text == "also I'd like to upgrade to the Enterprise plan"
    view = await rt.get("c")
    # the billing bot took the billing problem, not the sales question, as what the customer asks for
    assert view.collected["charge"]["value"] == "I was double charged last month"
    assert "outcome" not in view.collected


async def test_a_person_who_takes_over_sees_the_open_item_in_the_brief(rt: BatonRuntime) -> None:
    await rt.post_message("c", BOTH)
    result = await rt.post_message("c", ASK_FOR_A_PERSON)
    assert result.handoff is not None
    assert result.handoff.to == "support_agent"
    questions = result.handoff.brief["open_questions"]
    assert any("sales specialist" in q and "upgrade to the Enterprise plan" in q for q in questions)
    assert result.handoff.brief["token_count"] <= rt.context.settings.brief_budget_tokens


async def test_once_billing_is_done_sales_is_offered_and_takes_it_up_without_asking_again(
    rt: BatonRuntime,
) -> None:
    done = await _billing_done(rt, "c")
    assert "shall I bring in our sales specialist" in done
    assert [i.status for i in await _items(rt, "c")] == ["offered"]

    result = await rt.post_message("c", "Yes please")
    assert result.active_agent == "sales_bot"
    assert result.handoff is not None
    assert result.handoff.rule_id == "open_item"
    assert any("upgrade to the Enterprise plan" in q for q in result.handoff.brief["open_questions"])
    opening = result.replies[-1].text
    assert "Enterprise plan" in opening
    assert "Which plan are you on today?" in opening  # the current plan was never said
    view = await rt.get("c")
    assert view.collected["wanted_plan"]["value"] == "Enterprise plan"
    assert "plan" not in view.collected  # "upgrade to the Enterprise plan" is not the current plan
    assert [i.status for i in await _items(rt, "c")] == ["taken"]

    nxt = await rt.post_message("c", "We're on the Standard plan")
    assert "current plan: Standard plan" in nxt.replies[-1].text
    assert "Enterprise" not in nxt.replies[-1].text.split("?")[-1]


async def test_a_declined_offer_is_not_made_again(rt: BatonRuntime) -> None:
    await _billing_done(rt, "c")
    result = await rt.post_message("c", "No thanks")
    assert result.active_agent == "billing_bot"
    assert [i.status for i in await _items(rt, "c")] == ["declined"]
    later = await rt.post_message("c", "Thanks for your help")
    assert "sales specialist" not in later.replies[-1].text


async def test_turning_to_the_open_question_takes_it_up(rt: BatonRuntime) -> None:
    await rt.post_message("c", BOTH)
    result = await rt.post_message("c", "Actually, what would the Enterprise plan cost for 20 users?")
    assert result.active_agent == "sales_bot"
    assert [i.status for i in await _items(rt, "c")] == ["taken"]


async def test_one_need_leaves_nothing_open(rt: BatonRuntime) -> None:
    result = await rt.post_message("c", "I don't want to upgrade, I just need a refund")
    assert result.active_agent == "billing_bot"
    assert await _items(rt, "c") == []
    assert "sales" not in result.replies[-1].text


# --- through the API --------------------------------------------------------------------------------


async def test_api_turn_routes_support_first_and_the_agent_sees_the_open_item(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path, policy="support.yaml"))
    async with in_process(app) as api:
        http = api.http
        cid, token = await api.conversation()
        turn: dict[str, Any] = await api.say(cid, token, BOTH)
        assert turn["active_agent"] == "billing_bot"
        assert turn["handoff"] is None  # the first assignment hands nothing over
        assert "Enterprise plan" in turn["replies"][-1]["text"]
        turn = await api.say(cid, token, ASK_FOR_A_PERSON)
        handoff_id = turn["handoff"]["handoff_id"]
        detail = await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(ADMIN))
        assert detail.status_code == 200, detail.text
        questions = detail.json()["handoff"]["brief"]["open_questions"]
        assert any("sales specialist" in q and "Enterprise plan" in q for q in questions)
