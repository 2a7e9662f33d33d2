"""Router: reads each customer turn, extracts signals, applies the policy, hands off with Command.

Order of decision: the policy's rules (file order), then conditions registered in code, then "stay
with the current agent" (or the policy's default for a new conversation). A thread waiting for a human
is never re-routed: the turn is recorded and the human node pauses again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from graph.context import build_brief
from graph.deps import BatonContext
from graph.handoffs import HandoffContext, HandoffDraft, HandoffRejected
from graph.priority import URGENCY_MULTIPLIER, handoff_priority
from graph.signals import Signals
from graph.state import BatonState, ConsultTask, HandoffRecord, RoutingDecision
from graph.transcript import to_turns
from nodes.names import BOT_NODES, CONSULT, HUMAN_AGENT, BotName
from policies.evaluator import first_match
from policies.loader import LoadedPolicy
from policies.models import Rule

Goto = BotName | Literal["human_agent", "consult"]
DESTINATIONS: tuple[str, ...] = (*BOT_NODES, HUMAN_AGENT, CONSULT)

_TRIGGER_REASON = {
    "explicit_request": "the customer asked for a person",
    "sentiment_based": "the customer is upset",
    "complexity_based": "the case is too complex for automation",
    "qualification_based": "the lead is qualified",
    "repeated_failure": "automated help failed repeatedly",
    "vip": "VIP customer",
}


def _draft_from_rule(rule: Rule, signals: Signals) -> HandoffDraft:
    assert rule.target is not None
    reason = rule.description or _TRIGGER_REASON.get(rule.trigger, f"rule {rule.id}")
    if signals.evidence:
        reason += f" ({'; '.join(signals.evidence[:3])})"
    return HandoffDraft(
        target=rule.target,
        rule_id=rule.id,
        reason=reason,
        trigger=rule.trigger,
        urgency=rule.urgency,
        required_skills=rule.required_skills,
        optional_skills=rule.optional_skills,
        narration=rule.narration,
    )


def _decide(
    loaded: LoadedPolicy, ctx: BatonContext, hctx: HandoffContext, context: dict[str, Any]
) -> tuple[HandoffDraft | None, Rule | None, str]:
    """Return (handoff draft or None to stay, matched consult rule, explanation)."""
    policy = loaded.policy
    rule = first_match(policy, context)
    if rule is not None and rule.consult:
        return None, rule, f"rule {rule.id}: consult {', '.join(rule.consult)}"
    if rule is not None:
        return _draft_from_rule(rule, hctx.signals), None, f"rule {rule.id} matched"
    code = ctx.registry.first_match(hctx)
    if code is not None:
        cond, target = code
        draft = HandoffDraft(
            target=target,
            rule_id=f"code:{cond.name}",
            reason=f"code condition {cond.name}",
            trigger="code",
            urgency=cond.urgency,
            required_skills=list(cond.required_skills),
            narration=cond.narration,
            metadata=dict(cond.metadata),
        )
        return draft, None, f"code condition {cond.name} fired"
    if hctx.active_agent:
        return None, None, "no rule fired; staying with the current agent"
    default = policy.default
    draft = HandoffDraft(
        target=default.target,
        rule_id="default",
        reason="new conversation",
        trigger="intent_based",
        narration=default.narration,
    )
    return draft, None, "no rule fired; default target"


def _case_start(state: BatonState) -> int:
    """Customer turns before the last human handoff ended: the human already dealt with those."""
    ended = max(
        (h.get("ended_at", 0) for h in state.get("handoffs", {}).values() if h["kind"] == "human"), default=0
    )
    return sum(1 for m in state["messages"][:ended] if m.type == "human")


def _manual_draft(loaded: LoadedPolicy, escalation: dict[str, Any]) -> HandoffDraft:
    """A handoff someone asked for outside the policy (an escalate button, an admin, an eval)."""
    targets = loaded.policy.targets
    target = escalation.get("target") or next(
        (name for name, spec in targets.items() if spec.kind == "human"), loaded.policy.entry
    )
    if target not in targets:
        msg = f"cannot escalate to {target!r}: not a target of policy {loaded.policy.name!r}"
        raise ValueError(msg)
    return HandoffDraft(
        target=target,
        rule_id="manual",
        reason=str(escalation.get("reason") or "manual escalation"),
        trigger=str(escalation.get("trigger") or "explicit_request"),
        urgency=escalation.get("urgency") or "medium",
    )


def _narration(draft: HandoffDraft, loaded: LoadedPolicy, kind: str) -> str:
    if draft.narration:
        return draft.narration
    target = loaded.policy.targets[draft.target]
    who = target.description or draft.target.replace("_", " ")
    if kind == "human":
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

    loaded = ctx.policies.current()
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
    }
    hctx = HandoffContext(text=latest, signals=signals, turns=turns, active_agent=active, customer=customer)
    update: dict[str, Any] = {"signals": signals.model_dump(), "status": "bot", "escalation": None}
    escalation = state.get("escalation")
    draft: HandoffDraft | None
    if escalation:
        draft, consult_rule = _manual_draft(loaded, escalation), None
        explanation = f"manual escalation: {draft.reason}"
    else:
        draft, consult_rule, explanation = _decide(loaded, ctx, hctx, context)

    if consult_rule is not None:
        asker = active or policy.entry
        update["routing"] = RoutingDecision(
            target=asker,
            rule_id=consult_rule.id,
            policy=policy.name,
            policy_version=loaded.version,
            handoff=False,
            explanation=explanation,
        )
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

    if draft is not None and draft.target != active:
        try:
            draft = await ctx.registry.run_before(hctx, draft)
        except HandoffRejected as exc:
            explanation += f"; handoff to {draft.target} vetoed: {exc.reason}"
            draft = None
    if draft is None or draft.target == active:
        target = active or policy.entry
        update["routing"] = RoutingDecision(
            target=target,
            rule_id="stay" if draft is None else draft.rule_id,
            policy=policy.name,
            policy_version=loaded.version,
            handoff=False,
            explanation=explanation,
        )
        return Command(goto=target, update=update)  # type: ignore[arg-type]

    target_spec = policy.targets[draft.target]
    kind: Literal["bot", "human"] = target_spec.kind
    node = HUMAN_AGENT if kind == "human" else draft.target
    # The first assignment of a new conversation to a bot hands nothing over: no brief needed.
    first_assignment = not active and kind == "bot"
    update["routing"] = RoutingDecision(
        target=draft.target,
        rule_id=draft.rule_id,
        policy=policy.name,
        policy_version=loaded.version,
        handoff=not first_assignment,
        explanation=explanation,
    )
    if first_assignment:
        return Command(goto=node, update={**update, "active_agent": draft.target})  # type: ignore[arg-type]

    brief = await build_brief(
        turns,
        target=draft.target,
        sections=target_spec.sections,
        model=ctx.model,
        budget_tokens=ctx.settings.brief_budget_tokens,
        signals=signals.model_dump(),
        retriever=ctx.retriever,
    )
    urgency = draft.urgency
    if URGENCY_MULTIPLIER[urgency] > URGENCY_MULTIPLIER[brief.urgency]:
        brief = brief.model_copy(update={"urgency": urgency})  # the rule knows why this is urgent
    narration = _narration(draft, loaded, kind)
    record = HandoffRecord(
        id=uuid.uuid4().hex,
        from_agent=active or "router",
        to=draft.target,
        kind=kind,
        queue=draft.target if kind == "human" else "",
        reason=draft.reason,
        trigger=draft.trigger,
        urgency=urgency,
        priority=handoff_priority(
            urgency=urgency,
            lead_score=signals.lead_score,
            sentiment=signals.sentiment,
            explicit_request=draft.trigger == "explicit_request",
        ),
        required_skills=sorted({*draft.required_skills, *target_spec.skills}),
        optional_skills=draft.optional_skills,
        rule_id=draft.rule_id,
        policy_version=loaded.version,
        narration=narration,
        created_at=datetime.now(UTC).isoformat(),
        status="active",
        brief=brief.model_dump(mode="json", exclude={"transcript"}),
        message_index=len(messages) - 1,
    )
    speaker = active or policy.entry
    update.update(
        handoff=record,
        handoffs={record["id"]: record},
        messages=[AIMessage(narration, name=speaker)],
        active_agent=HUMAN_AGENT if kind == "human" else draft.target,
        status="awaiting_human" if kind == "human" else "bot",
    )
    await ctx.registry.run_after(hctx, record)
    return Command(goto=node, update=update)  # type: ignore[arg-type]
