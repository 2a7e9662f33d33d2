"""Handoffs defined in Python: decorator conditions, dynamic targets, and before/after hooks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import make_settings

from api.app import create_app
from graph.handoffs import HandoffContext, HandoffFallback, HandoffRegistry, HandoffRejected
from graph.runtime import BatonRuntime
from graph.state import HandoffRecord
from tests.test_api_support import ADMIN, Api, api_settings, in_process


async def test_decorated_condition_fires_after_yaml_rules(tmp_path: Path) -> None:
    registry = HandoffRegistry()

    @registry.handoff("luxury_specialist", narration="Our luxury desk will take it from here.")
    def wants_waterfront(ctx: HandoffContext) -> bool:
        return "pineapple" in ctx.text.lower()

    async with BatonRuntime.open(make_settings(tmp_path), registry=registry, checkpoint_url="memory") as rt:
        await rt.post_message("c1", "Hi")
        result = await rt.post_message("c1", "My referral code is pineapple")
    assert result.active_agent == "luxury_specialist"
    assert result.routing is not None
    assert result.routing["rule_id"] == "code:wants_waterfront"
    assert result.replies[0].text == "Our luxury desk will take it from here."


async def test_dynamic_condition_returns_the_target(tmp_path: Path) -> None:
    registry = HandoffRegistry()

    @registry.handoff()
    def route_by_keyword(ctx: HandoffContext) -> str | None:
        return "seller_bot" if "banana" in ctx.text.lower() else None

    async with BatonRuntime.open(make_settings(tmp_path), registry=registry, checkpoint_url="memory") as rt:
        await rt.post_message("c2", "Hi")
        result = await rt.post_message("c2", "The secret word is banana")
    assert result.active_agent == "seller_bot"
    assert result.handoff is not None
    assert result.handoff.trigger == "code"


async def test_before_hook_can_veto_with_a_reason(tmp_path: Path) -> None:
    registry = HandoffRegistry()
    seen: list[HandoffRecord] = []

    @registry.before_handoff
    def premium_only(ctx: HandoffContext, proposed: HandoffRecord) -> HandoffRecord | None:
        assert proposed.status == "proposed"
        assert proposed.brief == {}  # the brief is built only for a handoff that goes ahead
        if proposed.to == "luxury_specialist" and ctx.customer.get("plan") != "premium":
            raise HandoffRejected("the luxury specialist needs a premium plan")
        return None

    @registry.after_handoff
    def record(ctx: HandoffContext, handoff: HandoffRecord) -> None:
        seen.append(handoff)

    async with BatonRuntime.open(make_settings(tmp_path), registry=registry, checkpoint_url="memory") as rt:
        await rt.post_message("c3", "Hi")
        vetoed = await rt.post_message("c3", "I'm looking at oceanfront estates above 5 million")
        assert vetoed.active_agent == "concierge_bot"
        assert vetoed.routing is not None
        assert "needs a premium plan" in vetoed.routing["explanation"]
        assert seen == []
        allowed = await rt.post_message(
            "c4", "I'm looking at oceanfront estates above 5 million", customer={"plan": "premium"}
        )
    assert allowed.active_agent == "luxury_specialist"
    assert [h.to for h in seen] == []  # first assignment of a new conversation is not a handoff
    assert allowed.handoff is None


async def test_before_hook_can_enrich_the_handoff(tmp_path: Path) -> None:
    registry = HandoffRegistry()

    @registry.before_handoff
    async def add_skill(ctx: HandoffContext, proposed: HandoffRecord) -> HandoffRecord:
        return proposed.changed(required_skills=[*proposed.required_skills, "spanish"], urgency="critical")

    async with BatonRuntime.open(make_settings(tmp_path), registry=registry, checkpoint_url="memory") as rt:
        await rt.post_message("c5", "Hi")
        result = await rt.post_message("c5", "Can I speak to a person please?")
    assert result.pending_interrupt is not None
    assert "spanish" in result.pending_interrupt.required_skills
    assert result.pending_interrupt.urgency == "critical"
    assert result.pending_interrupt.brief["urgency"] == "critical"  # one urgency for handoff and brief


async def test_code_targets_are_checked_against_the_policy(tmp_path: Path) -> None:
    registry = HandoffRegistry()

    @registry.handoff("nonexistent_bot")
    def never(ctx: HandoffContext) -> bool:
        return False

    with pytest.raises(ValueError, match="nonexistent_bot"):
        async with BatonRuntime.open(make_settings(tmp_path), registry=registry, checkpoint_url="memory"):
            pass


def test_dynamic_condition_returning_true_is_an_error() -> None:
    registry = HandoffRegistry()

    @registry.handoff()
    def bad(ctx: HandoffContext) -> bool:
        return True

    with pytest.raises(TypeError, match="must return a target name"):
        asyncio.run(registry.conditions[0].fire(None))  # type: ignore[arg-type]


async def test_async_conditions_are_awaited(tmp_path: Path) -> None:
    """A coroutine condition used to be truthy and never awaited: the handoff never fired."""
    registry = HandoffRegistry()

    @registry.handoff("human_agent")
    async def looks_up(ctx: HandoffContext) -> bool:
        await asyncio.sleep(0)
        return "escrow" in ctx.text.lower()

    async with BatonRuntime.open(make_settings(tmp_path), registry=registry, checkpoint_url="memory") as rt:
        await rt.post_message("a1", "Hi")
        calm = await rt.post_message("a1", "Thanks, that is helpful.")
        assert calm.handoff is None
        fired = await rt.post_message("a1", "Where does the escrow deposit go?")
    assert fired.handoff is not None
    assert fired.handoff.rule_id == "code:looks_up"


async def test_after_hook_can_fall_back_to_another_target(tmp_path: Path) -> None:
    registry = HandoffRegistry()

    @registry.after_handoff
    def queue_closed(ctx: HandoffContext, record: HandoffRecord) -> None:
        if record.kind == "human":
            raise HandoffFallback("seller_bot", "the human queue is closed tonight")

    async with BatonRuntime.open(make_settings(tmp_path), registry=registry, checkpoint_url="memory") as rt:
        await rt.post_message("f1", "Hi")
        result = await rt.post_message("f1", "Can I speak to a person please?")
    assert result.status == "bot"
    assert result.active_agent == "seller_bot"
    assert result.handoff is not None
    assert result.handoff.to == "seller_bot"
    assert result.handoff.reason == "the human queue is closed tonight"
    assert result.routing is not None
    assert "fell back to seller_bot" in result.routing["explanation"]


async def test_the_server_runs_code_handoffs_named_in_its_settings(tmp_path: Path) -> None:
    """BATON_HANDOFF_MODULES: an async condition and an after hook from a module, in the real app."""
    app = create_app(api_settings(tmp_path, handoff_modules="tests.plugins.code_handoffs"))
    async with in_process(app) as api:
        http = api.http
        cid, token = await api.conversation()
        await api.say(cid, token, "Hi")
        turn = await api.say(cid, token, "My promo code is SPRING24")
        assert turn["handoff"]["trigger"] == "code"
        detail = await http.get(f"/v1/handoffs/{turn['handoff']['handoff_id']}", headers=Api.auth(ADMIN))
    metadata = detail.json()["handoff"]["metadata"]
    assert metadata == {"campaign": "spring-open-house", "crm_lead": "L-42"}  # condition's, then the hook's


def test_serve_refuses_a_handoff_module_it_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli

    monkeypatch.setenv("BATON_HANDOFF_MODULES", "no_such_package.handoffs")
    result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "no_such_package.handoffs" in result.output
