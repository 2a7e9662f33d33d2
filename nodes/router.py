"""Router: reads each customer turn, extracts signals, applies the policy, hands off with Command.

Order of decision: the policy's rules (file order), then conditions registered in code, then an open
item the customer takes up (:mod:`graph.open_items`), then "stay with the current agent" (or the
policy's default for a new conversation). A thread waiting for a human is never re-routed: the turn
is recorded and the human node pauses again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from graph.context import build_brief
from graph.context.history import BriefPast, earlier_conversations, intent_reading, intent_readings
from graph.deps import BatonContext
from graph.handoff_fields import CRITICAL_SENTIMENT, from_escalation, seed_fields
from graph.handoffs import HandoffContext, HandoffFallback, HandoffRejected
from graph.language.needs import reply_to_offer
from graph.open_items import OpenItem, pending_items, settle, taken_up, with_open_items
from graph.priority import URGENCY_MULTIPLIER, handoff_priority
from graph.signals import Signals
from graph.state import BatonState, ConsultTask, HandoffRecord, RoutingDecision
from graph.textutil import off_loop
from graph.transcript import Turn, to_turns
from graph.turn_times import TIME_FIELDS, case_opened, conversation_times, stamp
from nodes.names import BOT_NODES, CONSULT, HUMAN_AGENT, BotName
from policies.evaluator import first_match
from policies.experiments import Arm, routing_policy
from policies.loader import LoadedPolicy
from policies.models import Rule, Urgency

log = logging.getLogger("baton.router")
Goto = BotName | Literal["human_agent", "consult"]
DESTINATIONS: tuple[str, ...] = (*BOT_NODES, HUMAN_AGENT, CONSULT)

_TRIGGER_REASON = {
    "explicit_request": "the customer asked for a person",
    "sentiment_based": "the customer is upset",
    "complexity_based": "the case is too complex for automation",
    "qualification_based": "the lead is qualified",
    "repeated_failure": "automated help failed repeatedly",
    "time_based": "the conversation went on too long without a resolution",
    "vip": "VIP customer",
}


@dataclass(frozen=True)
class _Turn:
    """What a proposal needs to know about the turn being routed."""

    loaded: LoadedPolicy
    active: str
    message_index: int
    signals: Signals
    arm: Arm | None = None
    open_items: tuple[OpenItem, ...] = ()  # pending ones
    answer: str = ""  # how the turn answers an offered open item: "yes", "no" or ""
    customer: Mapping[str, Any] | None = None


def _propose(
    turn: _Turn,
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


def _from_rule(turn: _Turn, rule: Rule) -> HandoffRecord:
    assert rule.target is not None
    reason = rule.description or _TRIGGER_REASON.get(rule.trigger, f"rule {rule.id}")
    if turn.signals.evidence:
        reason += f" ({'; '.join(str(e) for e in turn.signals.evidence[:3])})"
    return _propose(
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


async def _decide(
    turn: _Turn, ctx: BatonContext, hctx: HandoffContext, context: dict[str, Any]
) -> tuple[HandoffRecord | None, Rule | None, str]:
    """Return (proposed handoff or None to stay, matched consult rule, explanation)."""
    policy = turn.loaded.policy
    rule = first_match(policy, context)
    if rule is not None and rule.consult:
        return None, rule, f"rule {rule.id}: consult {', '.join(rule.consult)}"
    if rule is not None:
        return _from_rule(turn, rule), None, f"rule {rule.id} matched"
    code = await ctx.registry.first_match(hctx)
    if code is not None:
        cond, target = code
        proposed = _propose(
            turn,
            target,
            rule_id=f"code:{cond.name}",
            reason=f"code condition {cond.name}",
            trigger="code",
            urgency=cond.urgency,
            required_skills=cond.required_skills,
            narration=cond.narration,
            metadata=cond.metadata,
        )
        return proposed, None, f"code condition {cond.name} fired"
    item = taken_up(turn.open_items, turn.signals.intents, turn.answer, hctx.active_agent)
    if item is not None:
        reason = f"the customer's open item: {item.text!r}"
        proposed = _propose(turn, item.target, rule_id="open_item", reason=reason, trigger="intent_based")
        return proposed, None, f"open item {item.intent} (turn {item.turn}) taken up by {item.target}"
    if hctx.active_agent:
        return None, None, "no rule fired; staying with the current agent"
    default = policy.default
    proposed = _propose(
        turn,
        default.target,
        rule_id="default",
        reason="new conversation",
        trigger="intent_based",
        narration=default.narration,
    )
    return proposed, None, "no rule fired; default target"


def _case_start(state: BatonState) -> int:
    """Customer turns before the last human handoff ended: the human already dealt with those."""
    return sum(1 for m in state["messages"][: case_opened(state)] if m.type == "human")


def _manual(turn: _Turn, escalation: dict[str, Any]) -> HandoffRecord:
    """A handoff someone asked for outside the policy (an escalate button, an admin, an eval)."""
    targets = turn.loaded.policy.targets
    target = escalation.get("target") or next(
        (name for name, spec in targets.items() if spec.kind == "human"), turn.loaded.policy.entry
    )
    if target not in targets:
        msg = f"cannot escalate to {target!r}: not a target of policy {turn.loaded.policy.name!r}"
        raise ValueError(msg)
    return _propose(
        turn,
        target,
        rule_id="manual",
        reason=str(escalation.get("reason") or "manual escalation"),
        trigger=str(escalation.get("trigger") or "explicit_request"),
        urgency=escalation.get("urgency") or "medium",
        required_skills=escalation.get("required_skills") or (),
        optional_skills=escalation.get("optional_skills") or (),
    )


def _narration(proposed: HandoffRecord, loaded: LoadedPolicy) -> str:
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


async def router(state: BatonState, *, runtime: Runtime[BatonContext]) -> Command[Goto]:
    """Route the latest customer turn (see module docstring)."""
    ctx = runtime.context
    status = state.get("status", "bot")
    if status in ("awaiting_human", "human"):
        return Command(goto=HUMAN_AGENT)

    loaded, arm = _experiment_arm(ctx.policies.current(), runtime)
    policy = loaded.policy
    messages = state["messages"]
    turns = to_turns(messages)
    customer_texts = [t.text for t in turns if t.role == "customer"]
    customer = state.get("customer", {})
    signals = await ctx.signals.extract(customer_texts, customer, loaded, since=_case_start(state))
    active = state.get("active_agent", "")
    if status == "closed":
        active = ""  # a closed conversation that gets a new turn starts over with routing
    latest = customer_texts[-1] if customer_texts else ""
    context: dict[str, Any] = {
        **signals.model_dump(exclude={"evidence"}),
        "active_agent": active,
        "turn_count": len(customer_texts),
        "status": status,
        "text": latest,
        "customer": customer,
        **conversation_times(state, ctx.clock()),
    }
    hctx = HandoffContext(text=latest, signals=signals, turns=turns, active_agent=active, customer=customer)
    update: dict[str, Any] = {"signals": signals.model_dump(), "status": "bot", "escalation": None}
    update["intent_log"] = [intent_reading(signals.intent, signals.intent_confidence, len(messages) - 1)]
    escalation = state.get("escalation")
    items = tuple(pending_items(state))
    answer = await off_loop(reply_to_offer, latest) if any(i.status == "offered" for i in items) else ""
    turn = _Turn(loaded, active, len(messages) - 1, signals, arm, items, answer, customer)
    proposed: HandoffRecord | None
    if escalation:
        proposed, consult_rule = _manual(turn, escalation), None
        explanation = f"manual escalation: {proposed.reason}"
    else:
        proposed, consult_rule, explanation = await _decide(turn, ctx, hctx, context)
        if proposed is not None and proposed.trigger == "time_based":  # say which times it read
            explanation += " (" + ", ".join(f"{k}={context[k]}" for k in TIME_FIELDS) + ")"

    if consult_rule is not None:
        asker = active or policy.entry
        _decided(update, turn, asker, consult_rule.id, explanation, handoff=False)
        update["active_agent"] = asker
        sends = [
            Send(
                CONSULT,
                ConsultTask(
                    specialist=name,
                    asker=asker,
                    question=latest,
                    messages=list(messages),
                    collected=state.get("collected", {}),
                    turn=len(messages) - 1,
                ),
            )
            for name in consult_rule.consult
        ]
        return Command(goto=sends, update=update)

    if proposed is not None and proposed.to != active:
        try:
            proposed = await ctx.registry.run_before(hctx, proposed)
        except HandoffRejected as exc:
            explanation += f"; handoff to {proposed.to} vetoed: {exc.reason}"
            proposed = None
    if proposed is None or proposed.to == active:
        target = active or policy.entry
        rule_id = "stay" if proposed is None else proposed.rule_id
        _decided(update, turn, target, rule_id, explanation, handoff=False)
        return Command(goto=target, update=update)  # type: ignore[arg-type]

    # The first assignment of a new conversation to a bot hands nothing over: no brief needed.
    if not active and policy.targets[proposed.to].kind == "bot":
        _decided(update, turn, proposed.to, proposed.rule_id, explanation, handoff=False)
        return Command(goto=proposed.to, update={**update, "active_agent": proposed.to})  # type: ignore[arg-type]

    info = getattr(runtime, "execution_info", None)
    past = BriefPast(
        intent_readings([*state.get("intent_log", []), *update["intent_log"]]), info.thread_id if info else ""
    )
    record = await _complete(proposed, turns, signals, ctx, loaded, past, items)
    try:
        record = await ctx.registry.run_after(hctx, record)
    except HandoffFallback as fallback:
        if fallback.target not in policy.targets or fallback.target == active:
            log.warning(
                "after_handoff fell back to %r, which this policy cannot hand to; ignored", fallback.target
            )
        else:
            explanation += f"; fell back to {fallback.target}: {fallback.reason}"
            instead = _propose(
                turn,
                fallback.target,
                rule_id=f"{proposed.rule_id}:fallback",
                reason=fallback.reason,
                trigger=proposed.trigger,
                urgency=proposed.urgency,
                metadata=proposed.metadata,
            )
            record = await _complete(instead, turns, signals, ctx, loaded, past, items)
    if escalation:  # a caller outside the graph gave these: they win over the router's own reading
        record = record.changed(
            **from_escalation(escalation), priority=escalation.get("priority") or record.priority
        )
    _decided(update, turn, record.to, record.rule_id, explanation, handoff=True)
    speaker = active or policy.entry
    update.update(
        handoff=record.to_state(),
        handoffs={record.id: record.to_state()},
        messages=[stamp(AIMessage(record.narration, name=speaker), ctx.clock())],
        active_agent=HUMAN_AGENT if record.kind == "human" else record.to,
        status="awaiting_human" if record.kind == "human" else "bot",
    )
    node = HUMAN_AGENT if record.kind == "human" else record.to
    return Command(goto=node, update=update)  # type: ignore[arg-type]


def _decided(
    update: dict[str, Any], turn: _Turn, target: str, rule_id: str, explanation: str, *, handoff: bool
) -> None:
    """Record the routing decision in ``update``, with what it changes in the open items."""
    policy, signals, customer = turn.loaded.policy, turn.signals, turn.customer or {}
    rule = next((r for r in policy.rules if r.id == rule_id), None)
    items = settle(turn.open_items, policy, rule, signals, target, turn.message_index, customer, turn.answer)
    if opened := [i["intent"] for i in items.values() if i["status"] == "open"]:
        explanation += f"; left open for later: {', '.join(opened)}"
    if items:
        update["open_items"] = items
    update["routing"] = _decision(turn.loaded, turn.arm, target, rule_id, explanation, handoff=handoff)


def _decision(
    loaded: LoadedPolicy, arm: Arm | None, target: str, rule_id: str, explanation: str, *, handoff: bool
) -> RoutingDecision:
    decision = RoutingDecision(
        target=target,
        rule_id=rule_id,
        policy=loaded.policy.name,
        policy_version=loaded.version,
        handoff=handoff,
        explanation=explanation,
    )
    if arm is not None:
        decision["experiment"], decision["variant"] = arm.experiment, arm.variant
    return decision


def _experiment_arm(loaded: LoadedPolicy, runtime: Runtime[BatonContext]) -> tuple[LoadedPolicy, Arm | None]:
    """The policy this conversation routes with: its variant's while the policy's experiment runs.

    The variant follows from the thread id alone (policies/experiments.py), so it is the same on every
    turn, after a restart and on every worker.
    """
    info = getattr(runtime, "execution_info", None)
    policy, arm = routing_policy(loaded.policy, (info.thread_id if info else None) or "")
    return (replace(loaded, policy=policy) if arm else loaded), arm


async def _complete(
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
        narration=_narration(proposed.changed(kind=kind), loaded),
        status="active",
        brief=brief.model_dump(mode="json", exclude={"transcript"}),
        **seed_fields(proposed, signals, len(turns)),
    )
