"""Handoffs defined in Python: decorator conditions, dynamic targets, and before/after hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_settings

from graph.handoffs import HandoffContext, HandoffRegistry, HandoffRejected
from graph.runtime import BatonRuntime
from graph.state import HandoffRecord


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
        registry.conditions[0].fire(None)  # type: ignore[arg-type]
