"""What a handoff the router decides carries: the proposal, then its brief, priority and narration.

A proposal (:func:`propose`, from a policy rule, a code condition, an open item or a manual
escalation) has no brief yet, so ``before_handoff`` hooks can amend or veto it cheaply; a proposal
that stands is completed by :func:`complete` with the brief, the handoff's urgency and priority and
what the customer is told.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graph.context import build_brief
from graph.context.history import BriefPast, earlier_conversations
from graph.deps import BatonContext
from graph.handoff_fields import CRITICAL_SENTIMENT, seed_fields
from graph.open_items import OpenItem, with_open_items
from graph.priority import URGENCY_MULTIPLIER, handoff_priority
from graph.signals import Signals
from graph.state import HandoffRecord
from graph.textutil import off_loop
from graph.transcript import Turn
from policies.experiments import Arm
from policies.loader import LoadedPolicy
from policies.models import Rule, Urgency

TRIGGER_REASON = {
    "explicit_request": "the customer asked for a person",
    "sentiment_based": "the customer is upset",
    "complexity_based": "the case is too complex for automation",
    "qualification_based": "the lead is qualified",
    "repeated_failure": "automated help failed repeatedly",
    "time_based": "the conversation went on too long without a resolution",
    "vip": "VIP customer",
}


@dataclass(frozen=True)
class RoutedTurn:
    """What a proposal needs to know about the turn being routed."""

    loaded: LoadedPolicy
    active: str
    message_index: int
    signals: Signals
    arm: Arm | None = None
    open_items: tuple[OpenItem, ...] = ()  # pending ones
    answer: str = ""  # how the turn answers an offered open item: "yes", "no" or ""
    customer: Mapping[str, Any] | None = None


def propose(
    turn: RoutedTurn,
    target: str,
    *,
    rule_id: str,
    reason: str,
    trigger: str,
    urgency: Urgency = "medium",
    required_skills: Sequence[str] = (),
    optional_skills: Sequence[str] = (),
    narration: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> HandoffRecord:
    """A proposed handoff (no brief yet) that ``before_handoff`` hooks may amend or veto."""
    spec = turn.loaded.policy.targets[target]
    return HandoffRecord(
        id=uuid.uuid4().hex,
        from_agent=turn.active or "router",
        to=target,
        kind=spec.kind,
        queue=target if spec.kind == "human" else "",
        reason=reason,
        trigger=trigger,
        urgency=urgency,
        required_skills=sorted({*required_skills, *spec.skills}),
        optional_skills=list(optional_skills),
        rule_id=rule_id,
        policy_version=turn.loaded.version,
        narration=narration,
        created_at=datetime.now(UTC).isoformat(),
        status="proposed",
        message_index=turn.message_index,
        metadata=dict(metadata or {}),
        experiment=turn.arm.experiment if turn.arm else "",
        variant=turn.arm.variant if turn.arm else "",
    )


def from_rule(turn: RoutedTurn, rule: Rule) -> HandoffRecord:
    """The proposal of a matched policy rule; its reason names the signals' evidence."""
    assert rule.target is not None
    reason = rule.description or TRIGGER_REASON.get(rule.trigger, f"rule {rule.id}")
    if turn.signals.evidence:
        reason += f" ({'; '.join(str(e) for e in turn.signals.evidence[:3])})"
    return propose(
        turn,
        rule.target,
        rule_id=rule.id,
        reason=reason,
        trigger=rule.trigger,
        urgency=rule.urgency,
        required_skills=rule.required_skills,
        optional_skills=rule.optional_skills,
        narration=rule.narration,
    )


def manual(turn: RoutedTurn, escalation: dict[str, Any]) -> HandoffRecord:
    """A handoff someone asked for outside the policy (an escalate button, an admin, an eval)."""
    targets = turn.loaded.policy.targets
    target = escalation.get("target") or next(
        (name for name, spec in targets.items() if spec.kind == "human"), turn.loaded.policy.entry
    )
    if target not in targets:
        msg = f"cannot escalate to {target!r}: not a target of policy {turn.loaded.policy.name!r}"
        raise ValueError(msg)
    return propose(
        turn,
        target,
        rule_id="manual",
        reason=str(escalation.get("reason") or "manual escalation"),
        trigger=str(escalation.get("trigger") or "explicit_request"),
        urgency=escalation.get("urgency") or "medium",
        required_skills=escalation.get("required_skills") or (),
        optional_skills=escalation.get("optional_skills") or (),
    )


def narration_for(proposed: HandoffRecord, loaded: LoadedPolicy) -> str:
    """What the customer is told: the rule's narration, else a line naming who takes over."""
    if proposed.narration:
        return proposed.narration
    target = loaded.policy.targets[proposed.to]
    who = target.description or proposed.to.replace("_", " ")
    if proposed.kind == "human":
        return (
            f"I'm connecting you with {who}. They'll see our whole conversation, "
            "so you won't need to repeat anything."
        )
    return f"Let me bring in our {who}. They have all the context from our conversation."


async def complete(
    proposed: HandoffRecord,
    turns: list[Turn],
    signals: Signals,
    ctx: BatonContext,
    loaded: LoadedPolicy,
    past: BriefPast,
    items: Sequence[OpenItem] = (),
) -> HandoffRecord:
    """The proposal made a handoff: its target's kind, queue and skills, the brief (listing the open
    ``items``), priority, narration."""
    target_spec = loaded.policy.targets[proposed.to]
    kind = target_spec.kind  # a hook may have changed the target: its kind and queue follow it
    brief = await build_brief(
        turns,
        target=proposed.to,
        sections=target_spec.sections,
        model=ctx.model,
        budget_tokens=ctx.settings.brief_budget_tokens,
        signals=signals.model_dump(),
        retriever=ctx.retriever,
        intents=past.intents,
        earlier=await earlier_conversations(ctx.history, past.conversation_id),
    )
    if any(item.pending for item in items):  # refitting the brief around them counts tokens: CPU
        brief = await off_loop(with_open_items, brief, items, ctx.settings.brief_budget_tokens)
    # One urgency for the handoff and its brief: the most urgent of the rule's, the brief's and the
    # sentiment's reading (seed 000: very negative sentiment is critical).
    readings = [
        proposed.urgency,
        brief.urgency,
        *(["critical"] if signals.sentiment < CRITICAL_SENTIMENT else []),
    ]
    urgency = max(readings, key=URGENCY_MULTIPLIER.__getitem__)
    brief = brief.model_copy(update={"urgency": urgency})
    return proposed.changed(
        kind=kind,
        queue=proposed.to if kind == "human" else "",
        urgency=urgency,
        priority=handoff_priority(
            urgency=urgency,
            lead_score=signals.lead_score,
            sentiment=signals.sentiment,
            explicit_request=proposed.trigger == "explicit_request",
        ),
        required_skills=sorted({*proposed.required_skills, *target_spec.skills}),
        narration=narration_for(proposed.changed(kind=kind), loaded),
        status="active",
        brief=brief.model_dump(mode="json", exclude={"transcript"}),
        **seed_fields(proposed, signals, len(turns)),
    )
