"""Handoffs defined in code: ``@handoff`` conditions and ``before_handoff``/``after_handoff`` hooks.

For teams that prefer Python to YAML. Registered conditions are evaluated together with the policy's
rules (after them, before the default), and the routing decision records which one fired.

    registry = HandoffRegistry()

    @registry.handoff("luxury_specialist", urgency="high")
    def wants_estate(ctx: HandoffContext) -> bool:
        return "estate" in ctx.text.lower()

    @registry.before_handoff
    def premium_only(ctx: HandoffContext, proposed: HandoffRecord) -> HandoffRecord | None:
        if proposed.to == "luxury_specialist" and ctx.customer.get("plan") != "premium":
            raise HandoffRejected("the luxury specialist needs a premium plan")
        return None

A hook sees the proposed ``HandoffRecord`` (``status="proposed"``, no brief yet) and may return an
amended copy (``proposed.changed(urgency="high")``); ``after_handoff`` hooks see the completed record.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph.signals import Signals
from graph.state import HandoffRecord
from graph.transcript import Turn
from policies.models import Urgency


class HandoffRejected(Exception):
    """Raised by a ``before_handoff`` hook to veto a handoff; ``reason`` is recorded and shown."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class HandoffContext:
    """What a condition or hook sees about the conversation."""

    text: str
    signals: Signals
    turns: Sequence[Turn]
    active_agent: str
    customer: Mapping[str, Any] = field(default_factory=dict)


ConditionFn = Callable[[HandoffContext], "bool | str | None"]
BeforeHook = Callable[
    [HandoffContext, HandoffRecord], "HandoffRecord | Awaitable[HandoffRecord | None] | None"
]
AfterHook = Callable[[HandoffContext, HandoffRecord], "Awaitable[None] | None"]


@dataclass(frozen=True)
class CodeHandoff:
    """A registered condition: fixed ``target``, or dynamic (the function returns the target name)."""

    name: str
    fn: ConditionFn
    target: str | None
    urgency: Urgency
    required_skills: tuple[str, ...]
    narration: str
    metadata: Mapping[str, Any]

    def fire(self, ctx: HandoffContext) -> str | None:
        """Return the target this condition hands to for ``ctx``, or ``None``."""
        result = self.fn(ctx)
        if isinstance(result, str):
            return result or None
        if result is True:
            if self.target is None:
                msg = f"dynamic handoff {self.name!r} returned True; it must return a target name or None"
                raise TypeError(msg)
            return self.target
        return None


class HandoffRegistry:
    """Holds code-defined handoff conditions and hooks; passed to the graph through its context."""

    def __init__(self) -> None:
        self.conditions: list[CodeHandoff] = []
        self.before: list[BeforeHook] = []
        self.after: list[AfterHook] = []

    def handoff(
        self,
        target: str | None = None,
        *,
        urgency: Urgency = "medium",
        required_skills: Sequence[str] = (),
        narration: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Callable[[ConditionFn], ConditionFn]:
        """Register a condition; with no ``target`` the function returns the target (or ``None``)."""

        def register(fn: ConditionFn) -> ConditionFn:
            self.conditions.append(
                CodeHandoff(
                    name=getattr(fn, "__name__", "condition"),
                    fn=fn,
                    target=target,
                    urgency=urgency,
                    required_skills=tuple(required_skills),
                    narration=narration,
                    metadata=dict(metadata or {}),
                )
            )
            return fn

        return register

    def before_handoff(self, fn: BeforeHook) -> BeforeHook:
        """Register a hook run before every handoff (may enrich the draft or raise HandoffRejected)."""
        self.before.append(fn)
        return fn

    def after_handoff(self, fn: AfterHook) -> AfterHook:
        """Register a hook run after a handoff was recorded."""
        self.after.append(fn)
        return fn

    def static_targets(self) -> set[str]:
        """Targets named in decorators, checked against the policy at start-up."""
        return {c.target for c in self.conditions if c.target is not None}

    def first_match(self, ctx: HandoffContext) -> tuple[CodeHandoff, str] | None:
        """The first registered condition that fires, with its target."""
        for cond in self.conditions:
            target = cond.fire(ctx)
            if target:
                return cond, target
        return None

    async def run_before(self, ctx: HandoffContext, proposed: HandoffRecord) -> HandoffRecord:
        """Apply every ``before_handoff`` hook in order; a hook may raise ``HandoffRejected``."""
        for hook in self.before:
            result = hook(ctx, proposed)
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, HandoffRecord):
                proposed = result
        return proposed

    async def run_after(self, ctx: HandoffContext, record: HandoffRecord) -> None:
        """Notify every ``after_handoff`` hook."""
        for hook in self.after:
            result = hook(ctx, record)
            if inspect.isawaitable(result):
                await result


default_registry = HandoffRegistry()
handoff = default_registry.handoff
before_handoff = default_registry.before_handoff
after_handoff = default_registry.after_handoff
