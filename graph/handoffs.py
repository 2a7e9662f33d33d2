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

import importlib
import importlib.metadata
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


ConditionFn = Callable[[HandoffContext], "bool | str | Awaitable[bool | str | None] | None"]
BeforeHook = Callable[
    [HandoffContext, HandoffRecord], "HandoffRecord | Awaitable[HandoffRecord | None] | None"
]
AfterHook = Callable[
    [HandoffContext, HandoffRecord], "HandoffRecord | Awaitable[HandoffRecord | None] | None"
]
ENTRY_POINT_GROUP = "baton.handoffs"


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

    async def fire(self, ctx: HandoffContext) -> str | None:
        """Return the target this condition hands to for ``ctx``, or ``None`` (async conditions awaited)."""
        result = self.fn(ctx)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            return result or None
        if result is True:
            if self.target is None:
                msg = f"dynamic handoff {self.name!r} returned True; it must return a target name or None"
                raise TypeError(msg)
            return self.target
        return None


class HandoffFallback(Exception):
    """Raised by an ``after_handoff`` hook: hand to ``target`` instead (e.g. the queue is closed)."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"fall back to {target}: {reason}")


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
        """Register a hook run on the completed handoff before it is committed.

        It may return an amended copy (``record.changed(...)``) or raise ``HandoffFallback`` to hand to
        another target instead.
        """
        self.after.append(fn)
        return fn

    def merge(self, other: HandoffRegistry) -> None:
        """Add another registry's conditions and hooks after this one's."""
        self.conditions.extend(other.conditions)
        self.before.extend(other.before)
        self.after.extend(other.after)

    def static_targets(self) -> set[str]:
        """Targets named in decorators, checked against the policy at start-up."""
        return {c.target for c in self.conditions if c.target is not None}

    async def first_match(self, ctx: HandoffContext) -> tuple[CodeHandoff, str] | None:
        """The first registered condition that fires, with its target."""
        for cond in self.conditions:
            target = await cond.fire(ctx)
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

    async def run_after(self, ctx: HandoffContext, record: HandoffRecord) -> HandoffRecord:
        """Apply every ``after_handoff`` hook in order; a hook may raise ``HandoffFallback``."""
        for hook in self.after:
            result = hook(ctx, record)
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, HandoffRecord):
                record = result
        return record


class HandoffLoadError(ImportError):
    """A module named in BATON_HANDOFF_MODULES (or an entry point) could not be loaded."""


def load_registry(modules: Sequence[str], *, entry_points: bool = True) -> HandoffRegistry:
    """The code handoffs a server runs: the package decorators', each module's, each entry point's.

    A module (or an entry point's object) may provide ``register(registry)`` (called with the
    registry) or a ``registry`` (a ``HandoffRegistry``, merged); a module with neither registers at
    import through this package's ``@handoff``/``@before_handoff``/``@after_handoff`` decorators.

    Raises:
        HandoffLoadError: A module or an entry point cannot be loaded.
    """
    sources: list[object] = []
    for name in modules:
        try:
            sources.append(importlib.import_module(name))
        except Exception as exc:
            msg = f"cannot load code handoffs from module {name!r}: {exc}"
            raise HandoffLoadError(msg) from exc
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                sources.append(ep.load())
            except Exception as exc:
                msg = f"cannot load code handoffs from entry point {ep.name!r} ({ep.value}): {exc}"
                raise HandoffLoadError(msg) from exc
    registry = HandoffRegistry()
    registry.merge(default_registry)  # imports above may have used the decorators
    for source in sources:
        provided = source if isinstance(source, HandoffRegistry) else getattr(source, "registry", None)
        register = getattr(source, "register", None)
        if isinstance(provided, HandoffRegistry):
            registry.merge(provided)
        elif callable(register):
            register(registry)
        elif callable(source) and not isinstance(source, type) and not inspect.ismodule(source):
            source(registry)  # an entry point naming a register function
    return registry


default_registry = HandoffRegistry()
handoff = default_registry.handoff
before_handoff = default_registry.before_handoff
after_handoff = default_registry.after_handoff
