"""The desk as people see it: the waiting queue, transfer targets, and the supervisor's live view.

* ``GET /v1/desk/queue``: handoffs waiting for a person. An agent sees the pending ones they could
  take (and picks one with ``POST /v1/handoffs/{id}/accept``), marked ``missed`` when their own offer
  lapsed; the admin and supervisors see every waiting one and who it is offered to.
* ``GET /v1/desk/transfer-targets``: colleagues with presence and load, the policy's queues and the
  skills some agent has: what a transfer may name.
* ``GET /v1/desk/live`` and ``POST /v1/desk/handoffs/{id}/reassign``: the supervisors' (and the
  admin's) view of agents, queue and held conversations, and moving a conversation to the agent they
  pick.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import Principal, forbidden, require_oversight
from api.deps import DeskDep, EngineDep, PrincipalDep
from api.engine import agent_stream
from api.errors import ApiError, error_responses
from api.ws_models import HandoffStateEvent
from desk import assign
from desk.base import Desk
from desk.config import DeskConfig
from desk.lifecycle import HELD, WAITING
from desk.models import Agent, AgentId, Handoff, HandoffStatus

router = APIRouter(prefix="/v1/desk", tags=["desk"], responses=error_responses(401, 403, 422))


class WaitingItem(BaseModel):
    """A handoff waiting for a person, as the queue shows it."""

    handoff_id: str
    conversation_id: str
    status: str = Field(examples=["pending"])
    priority: int
    urgency: str
    required_skills: list[str]
    waited_s: float = Field(description="Seconds since it was handed to people (or re-queued).")
    summary: str = Field(default="", description="The brief's summary (or the reason).")
    goal: str = ""
    missed: bool = Field(default=False, description="Offered to the caller before, and the offer lapsed.")
    offered_agent_id: str | None = Field(
        default=None, description="Admin and supervisors only: who it is offered to now."
    )


class AgentLoad(BaseModel):
    """An agent with presence and load (what a transfer picker and the live view show)."""

    id: str
    display_name: str
    status: str
    load: int = Field(description="Held conversations plus open offers.")
    held: int
    max_concurrent: int
    skills: list[str]
    available: bool = Field(description="Online, heartbeat fresh, in schedule, with a free slot.")


class QueueTarget(BaseModel):
    """A human queue of the policy and the skills it needs."""

    name: str
    skills: list[str]


class TransferTargets(BaseModel):
    """Everything a transfer may name."""

    agents: list[AgentLoad]
    queues: list[QueueTarget]
    skills: list[str]


class HeldItem(BaseModel):
    """A conversation an agent holds."""

    handoff_id: str
    conversation_id: str
    agent_id: str
    status: str
    since_s: float = Field(description="Seconds since it was accepted.")
    summary: str = ""


class LiveDesk(BaseModel):
    """The supervisor's view, as of ``at``."""

    at: datetime
    agents: list[AgentLoad]
    queue: list[WaitingItem]
    held: list[HeldItem]


class ReassignIn(BaseModel):
    """Move a conversation (waiting or held) to this agent."""

    to_agent_id: AgentId
    reason: str = Field(default="", max_length=500, examples=["Lee knows this customer"])


def _now() -> datetime:
    return datetime.now(UTC)


def _brief_text(handoff: Handoff, key: str) -> str:
    value = handoff.brief.get(key) if isinstance(handoff.brief, dict) else None
    return str(value) if value else ""


def _waiting(handoff: Handoff, now: datetime, viewer: str | None) -> WaitingItem:
    missed = viewer is not None and any(
        o.agent_id == viewer and o.outcome == "timed_out" for o in handoff.offers
    )
    return WaitingItem(
        handoff_id=handoff.handoff_id,
        conversation_id=handoff.conversation_id,
        status=handoff.status,
        priority=handoff.priority,
        urgency=handoff.urgency,
        required_skills=list(handoff.required_skills),
        waited_s=round(assign.waited_s(handoff, now), 1),
        summary=_brief_text(handoff, "summary") or handoff.reason,
        goal=_brief_text(handoff, "goal"),
        missed=missed,
        offered_agent_id=handoff.offered_agent_id if viewer is None else None,
    )


def _load(agent: Agent, now: datetime, config: DeskConfig) -> AgentLoad:
    return AgentLoad(
        id=agent.id,
        display_name=agent.display_name or agent.id,
        status=agent.status,
        load=agent.load,
        held=len(agent.active_handoff_ids),
        max_concurrent=agent.max_concurrent,
        skills=sorted(agent.skills),
        available=assign.is_available(agent, now, config),
    )


def _staff(principal: Principal) -> None:
    if principal.role == "customer":
        raise forbidden("see the desk")


def _queue_order(handoffs: list[Handoff]) -> list[Handoff]:
    return sorted(handoffs, key=assign.queue_key)


_OPEN: tuple[HandoffStatus, ...] = ("pending", "offered", "accepted", "active")


async def _open(desk: Desk, statuses: frozenset[HandoffStatus]) -> list[Handoff]:
    """Open handoffs in ``statuses`` (each read only touches open handoffs, never the finished)."""
    found: list[Handoff] = []
    for status in _OPEN:
        if status in statuses:
            found += await desk.list(status=status)
    return found


@router.get("/queue")
async def queue(principal: PrincipalDep, desk: DeskDep) -> list[WaitingItem]:
    """Waiting handoffs: an agent's pickable ones (pending, skills held), or every waiting one (admin,
    supervisors)."""
    _staff(principal)
    now = _now()
    waiting = await _open(desk, WAITING)
    if principal.oversees:
        return [_waiting(h, now, None) for h in _queue_order(waiting)]
    agent = await desk.get_agent(principal.subject)
    mine = [h for h in waiting if h.status == "pending" and all(s in agent.skills for s in h.required_skills)]
    return [_waiting(h, now, agent.id) for h in _queue_order(mine)]


@router.get("/transfer-targets")
async def transfer_targets(principal: PrincipalDep, desk: DeskDep, engine: EngineDep) -> TransferTargets:
    """Colleagues (presence, load), the policy's human queues and the skills some agent has."""
    _staff(principal)
    now = _now()
    agents = [_load(a, now, desk.config) for a in await desk.list_agents() if a.id != principal.subject]
    policy = engine.runtime.context.policies.current().policy
    queues = [
        QueueTarget(name=name, skills=list(spec.skills))
        for name, spec in sorted(policy.targets.items())
        if spec.kind == "human"
    ]
    return TransferTargets(agents=agents, queues=queues, skills=sorted(await desk.known_skills()))


@router.get("/live")
async def live(principal: PrincipalDep, desk: DeskDep) -> LiveDesk:
    """Agents with status and load, the queue with waits, and who holds what (admin, supervisors)."""
    require_oversight(principal, "see the live desk")
    now = _now()
    handoffs = await _open(desk, WAITING | HELD)
    held = [
        HeldItem(
            handoff_id=h.handoff_id,
            conversation_id=h.conversation_id,
            agent_id=h.assigned_agent_id or "",
            status=h.status,
            since_s=round((now - (h.timestamp("accepted") or h.created_at)).total_seconds(), 1),
            summary=_brief_text(h, "summary") or h.reason,
        )
        for h in handoffs
        if h.status in HELD
    ]
    return LiveDesk(
        at=now,
        agents=[_load(a, now, desk.config) for a in await desk.list_agents()],
        queue=[_waiting(h, now, None) for h in _queue_order([h for h in handoffs if h.status in WAITING])],
        held=held,
    )


@router.post("/handoffs/{handoff_id}/reassign", responses=error_responses(404, 409))
async def reassign(
    handoff_id: str, body: ReassignIn, principal: PrincipalDep, desk: DeskDep, engine: EngineDep
) -> Handoff:
    """Offer a waiting handoff to the agent picked, or move a held one to them (admin, supervisors).

    A held conversation goes as a transfer from its agent (the brief and their messages go along, the
    customer hears they are being transferred) and that agent is told a supervisor moved it.
    """
    require_oversight(principal, "reassign handoffs")
    handoff = await desk.get(handoff_id)
    known = {a.id for a in await desk.list_agents()}
    if body.to_agent_id not in known:  # a well-formed id of nobody: not found, like an unknown handoff
        msg = f"no agent {body.to_agent_id!r}"
        detail = [{"field": "to_agent_id", "location": "body", "message": msg}]
        raise ApiError(404, "not_found", msg, details=detail)
    reason = body.reason or "reassigned by a supervisor"
    if handoff.status in WAITING:
        return await desk.offer_to(handoff_id, body.to_agent_id, reason)
    if handoff.status not in HELD or handoff.assigned_agent_id is None:
        raise ApiError(409, "conflict", f"handoff {handoff_id} is {handoff.status}; nothing to reassign")
    holder = handoff.assigned_agent_id
    if holder == body.to_agent_id:
        raise ApiError(409, "conflict", f"agent {holder} already holds handoff {handoff_id}")
    transcript = await engine.runtime.transcript(handoff.conversation_id)
    segment = [t.model_dump() for t in transcript if t.role == "agent"]
    moved = await desk.transfer(
        handoff_id, holder, to_agent_id=body.to_agent_id, reason=reason, human_segment=segment
    )
    told = HandoffStateEvent(
        conversation_id=handoff.conversation_id,
        handoff_id=handoff_id,
        state="reassigned",
        agent_id=body.to_agent_id,
        message=f"A supervisor moved this conversation to {body.to_agent_id}: {reason}",
    )
    await engine.events.append(agent_stream(holder), told)
    return moved
