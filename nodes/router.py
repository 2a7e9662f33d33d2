"""Router: reads each customer turn, extracts signals, applies the policy, hands off with Command.

Order of decision: the policy's rules (file order), then conditions registered in code, then an open
item the customer takes up (:mod:`graph.open_items`), then "stay with the current agent" (or the
policy's default for a new conversation). A thread waiting for a human never gets here (the graph's
entry in ``graph.builder`` sends its turns to the human node, which records them and pauses again).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from graph.context.history import BriefPast, intent_reading, intent_readings
from graph.deps import BatonContext
from graph.handoff_fields import from_escalation
from graph.handoffs import HandoffContext, HandoffFallback, HandoffRejected
from graph.language.needs import reply_to_offer
from graph.open_items import pending_items, settle, taken_up
from graph.state import BatonState, ConsultTask, HandoffRecord, RoutingDecision
from graph.textutil import off_loop_unless_cached
from graph.transcript import to_turns
from graph.turn_times import TIME_FIELDS, case_opened, conversation_times, stamp
from nodes.names import BOT_NODES, CONSULT, HUMAN_AGENT, BotName
from nodes.router_proposals import RoutedTurn, complete, from_rule, manual, propose
from policies.evaluator import first_match
from policies.experiments import Arm, routing_policy
from policies.loader import LoadedPolicy
from policies.models import Rule

log = logging.getLogger("baton.router")
Goto = BotName | Literal["human_agent", "consult"]
DESTINATIONS: tuple[str, ...] = (*BOT_NODES, HUMAN_AGENT, CONSULT)


async def _decide(
    turn: RoutedTurn, ctx: BatonContext, hctx: HandoffContext, context: dict[str, Any]
) -> tuple[HandoffRecord | None, Rule | None, str]:
    """Return (proposed handoff or None to stay, matched consult rule, explanation)."""
    policy = turn.loaded.policy
    rule = first_match(policy, context)
    if rule is not None and rule.consult:
        return None, rule, f"rule {rule.id}: consult {', '.join(rule.consult)}"
    if rule is not None:
        return from_rule(turn, rule), None, f"rule {rule.id} matched"
    code = await ctx.registry.first_match(hctx)
    if code is not None:
        cond, target = code
        proposed = propose(
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
        proposed = propose(turn, item.target, rule_id="open_item", reason=reason, trigger="intent_based")
        return proposed, None, f"open item {item.intent} (turn {item.turn}) taken up by {item.target}"
    if hctx.active_agent:
        return None, None, "no rule fired; staying with the current agent"
    default = policy.default
    proposed = propose(
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


async def router(state: BatonState, *, runtime: Runtime[BatonContext]) -> Command[Goto]:
    """Route the latest customer turn (see module docstring)."""
    ctx = runtime.context
    status = state.get("status", "bot")  # never a held one: those runs start at the human node

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
    offered = any(i.status == "offered" for i in items)
    answer = await off_loop_unless_cached(reply_to_offer, latest) if offered else ""
    turn = RoutedTurn(loaded, active, len(messages) - 1, signals, arm, items, answer, customer)
    proposed: HandoffRecord | None
    if escalation:
        proposed, consult_rule = manual(turn, escalation), None
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
    record = await complete(proposed, turns, signals, ctx, loaded, past, items)
    try:
        record = await ctx.registry.run_after(hctx, record)
    except HandoffFallback as fallback:
        if fallback.target not in policy.targets or fallback.target == active:
            log.warning(
                "after_handoff fell back to %r, which this policy cannot hand to; ignored", fallback.target
            )
        else:
            explanation += f"; fell back to {fallback.target}: {fallback.reason}"
            instead = propose(
                turn,
                fallback.target,
                rule_id=f"{proposed.rule_id}:fallback",
                reason=fallback.reason,
                trigger=proposed.trigger,
                urgency=proposed.urgency,
                metadata=proposed.metadata,
            )
            record = await complete(instead, turns, signals, ctx, loaded, past, items)
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
    update: dict[str, Any], turn: RoutedTurn, target: str, rule_id: str, explanation: str, *, handoff: bool
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
