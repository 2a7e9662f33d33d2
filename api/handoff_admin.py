"""Seed 000's handoff API behind the one door: who may create, change, annotate and assign a handoff.

Creating one is a turn (the graph runs to the human node: brief, narration, desk), so it is an
``EscalationTurn`` that ``TurnService`` admits here and runs through the conversation engine. The
other three change only the desk handoff (each atomically, each on its audit trail):

* create and update: the admin; assign: the admin or a supervisor; agents and customers get 403;
* add context: the admin, or the agent the handoff is offered or assigned to; customers and
  supervisors never (a supervisor writes to the team in the conversation's notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from api.auth import Principal, forbidden, require_admin, require_oversight
from api.errors import ApiError
from api.handoff_schemas import ContextIn, HandoffCreate, HandoffUpdate
from desk.models import Handoff

if TYPE_CHECKING:
    from api.turns import EscalationTurn, TurnService


def actor_of(principal: Principal) -> str:
    """The name the audit trail records: 'admin', or the agent's or supervisor's id."""
    return principal.actor


def escalation_of(body: HandoffCreate) -> dict[str, Any]:
    """``BatonRuntime.escalate``'s arguments for a create request."""
    details = body.model_dump(
        exclude={"conversation_id", "reason", "target", "urgency", "trigger", "context"}, exclude_none=True
    )
    details["context_notes"] = [n.note().model_dump(mode="json") for n in body.context]
    return {
        "reason": body.reason,
        "target": body.target,
        "urgency": body.urgency,
        "trigger": body.trigger,
        "details": details,
    }


def stamped(escalation: Mapping[str, Any], actor: str) -> dict[str, Any]:
    """The escalation with its context notes signed by ``actor`` (never by what the body claims)."""
    details = dict(escalation.get("details") or {})
    now = datetime.now(UTC).isoformat()
    details["context_notes"] = [{**n, "by": actor, "at": now} for n in details.get("context_notes", [])]
    return {**escalation, "details": details}


def _invalid(field: str, message: str) -> ApiError:
    details = [{"field": field, "location": "body", "message": message}]
    return ApiError(422, "invalid_target", message, details=details)


async def admit_escalation(turns: TurnService, principal: Principal, request: EscalationTurn) -> None:
    """Admin only; a started conversation not already with a person; targets that exist.

    Raises:
        ApiError: 403 (not the admin), 404 (unknown conversation), 409 (not started, or already
            waiting for or with a person), 422 (unknown queue, agent or skills).
    """
    if principal.role != "admin":
        raise forbidden("create handoffs")
    cid = request.conversation_id
    await turns.require_known(cid)
    runtime = turns.engine.runtime
    snap = await runtime.snapshot(cid)
    if snap.interrupts or snap.values.get("status") in ("awaiting_human", "human"):
        raise ApiError(409, "awaiting_human", f"conversation {cid} is already waiting for or with a person")
    if not snap.values.get("messages"):
        raise ApiError(409, "not_started", f"conversation {cid} has not started: send a customer turn first")
    escalation = request.escalation
    policy = runtime.context.policies.current().policy
    queues = sorted(name for name, spec in policy.targets.items() if spec.kind == "human")
    target = escalation.get("target")
    if not queues:
        raise _invalid("target", f"policy {policy.name!r} has no human queue to hand to")
    if target is not None and target not in queues:
        raise _invalid("target", f"no queue {target!r}; queues: {', '.join(queues)}")
    details = escalation.get("details") or {}
    desk = turns.engine.desk
    preferred = details.get("preferred_agent_id")
    if preferred is not None and preferred not in {a.id for a in await desk.list_agents()}:
        raise _invalid("preferred_agent_id", f"no agent {preferred!r} is registered")
    asked = {*details.get("required_skills", ()), *details.get("optional_skills", ())}
    unknown = sorted(asked - await desk.known_skills())
    if unknown:
        raise _invalid("required_skills", f"no registered agent has skill(s) {', '.join(unknown)}")


async def update(turns: TurnService, principal: Principal, handoff_id: str, body: HandoffUpdate) -> Handoff:
    """Change priority, urgency, skills, preferred agent, campaign, lead or handle time (admin).

    Raises:
        ApiError: 403 (not the admin), 422 (nothing given, a null for a field that needs a value).
    """
    require_admin(principal, f"change handoff {handoff_id}")
    given = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in given.items() if v is None and k != "preferred_agent_id")
    if nulls or not given:
        field = nulls[0] if nulls else "body"
        message = f"{field} cannot be null" if nulls else "give at least one field to change"
        details = [{"field": field, "location": "body", "message": message}]
        raise ApiError(422, "validation_error", message, details=details)
    return await turns.engine.desk.update(handoff_id, actor_of(principal), given)


async def add_context(turns: TurnService, principal: Principal, handoff_id: str, body: ContextIn) -> Handoff:
    """Add facts or notes the agent sees in the brief (admin, or the agent who has the handoff)."""
    if principal.role in ("customer", "supervisor"):
        raise forbidden("change handoffs")
    desk = turns.engine.desk
    if principal.role == "agent":
        handoff = await desk.get(handoff_id)
        if principal.subject not in (handoff.assigned_agent_id, handoff.offered_agent_id):
            raise forbidden(f"act on handoff {handoff_id}")
    return await desk.add_context(handoff_id, actor_of(principal), [n.note() for n in body.notes])


async def assign(turns: TurnService, principal: Principal, agent_id: str, handoff_id: str) -> Handoff:
    """Offer a waiting handoff to ``agent_id`` now (admin, supervisor); an auto-accept agent takes it at once.

    The desk's rules for any offer hold: the agent is available, has the required skills and a free
    slot (409 otherwise); a handoff someone holds moves with a transfer instead (409).
    """
    require_oversight(principal, "assign handoffs")
    desk = turns.engine.desk
    await desk.get_agent(agent_id)  # 404 before anything changes
    actor = actor_of(principal)
    await desk.offer_to(handoff_id, agent_id, f"assigned by {actor}")
    return await desk.audit(handoff_id, actor, "assigned", {"agent_id": agent_id})
