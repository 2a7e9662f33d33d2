"""The agent's desk: list and read handoffs, accept, decline, reply, transfer, return, complete.

An agent acts only on handoffs offered or assigned to them; the admin and supervisors may read
everything. Every
action goes through the one door (``api/turns.py``); ``reply``, ``return`` and ``complete`` resume the
paused graph run with an explicit command.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status

from api import agent_handoffs, handoff_admin
from api.auth import Principal, forbidden
from api.deps import DeskDep, PrincipalDep, RuntimeDep, TurnsDep
from api.errors import ApiError, error_responses
from api.handoff_admin import escalation_of
from api.handoff_schemas import ContextIn, HandoffCreate, HandoffCreated, HandoffUpdate
from api.schemas import CompleteIn, DeclineIn, HandoffDetail, ReplyIn, ReturnIn, TransferIn, TurnOut
from api.turns import EscalationTurn, HumanTurn
from api.ws_models import agent_brief
from desk.base import Desk
from desk.errors import NotFound as DeskNotFound
from desk.models import Handoff, HandoffStatus
from graph.actions import Close, Reply, ReturnToAI
from graph.runtime import ConversationNotFound
from graph.runtime_models import TurnResult

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"], responses=error_responses(401, 403, 422))
# Every action on one handoff: it may be unknown, or in a state that does not allow the action.
_ACTION = error_responses(404, 409, 413)


async def visible(desk: Desk, handoff_id: str, principal: Principal) -> Handoff:
    """The handoff, if the caller may see it: offered or assigned to the agent, the admin or a supervisor."""
    if principal.role == "customer":
        raise forbidden("access handoffs")
    handoff = await desk.get(handoff_id)
    if principal.oversees:
        return handoff
    if principal.subject in (handoff.assigned_agent_id, handoff.offered_agent_id):
        return handoff
    raise forbidden(f"act on handoff {handoff_id}")


def _turn(result: TurnResult) -> TurnOut:
    return TurnOut(
        conversation_id=result.conversation_id,
        status=result.status,
        active_agent=result.active_agent,
        replies=result.replies,
    )


def _agent_only(principal: Principal) -> None:
    if principal.role != "agent":
        raise forbidden("act as an agent")


@router.get("")
async def list_handoffs(
    principal: PrincipalDep, desk: DeskDep, status: HandoffStatus | None = None
) -> list[Handoff]:
    """Admin and supervisors: every handoff; agent: those offered or assigned to them."""
    if principal.oversees:
        return await desk.list(status=status)
    _agent_only(principal)
    return await desk.list(status=status, agent_id=principal.subject)


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 409, 413, 503))
async def create_handoff(body: HandoffCreate, principal: PrincipalDep, turns: TurnsDep) -> HandoffCreated:
    """Hand a conversation to a person from outside the graph: a CRM, a supervisor escalating (admin).

    The conversation pauses at the human node exactly as when a rule hands off: the customer hears
    the narration, the brief is built, the desk queues and offers it. 409 when the conversation has
    not started or already waits for (or is with) a person; 422 for an unknown queue, agent or skill.
    """
    outcome = await turns.turn(principal, EscalationTurn(body.conversation_id, escalation_of(body)))
    record = outcome.result.handoff
    if record is None:  # pragma: no cover - an admitted escalation always hands off
        raise ApiError(409, "not_handed_off", f"conversation {body.conversation_id} was not handed off")
    await turns.engine.submitted(record.id)
    try:
        handoff = await turns.engine.desk.get(record.id)
    except DeskNotFound:  # recorded, but the desk was too busy to take it: the recovery pass will
        msg = f"handoff {record.id} is recorded, but the desk is too busy to queue it now; it will within a minute"
        raise ApiError(503, "desk_busy", msg) from None
    return HandoffCreated(
        handoff=handoff,
        narration=record.narration,
        queue_position=outcome.queue_position,
        expected_wait_s=outcome.expected_wait_s,
    )


@router.get("/{handoff_id}", responses=error_responses(404))
async def get_handoff(
    handoff_id: str, principal: PrincipalDep, desk: DeskDep, runtime: RuntimeDep
) -> HandoffDetail:
    """The handoff with its brief and the conversation's full transcript."""
    handoff = await visible(desk, handoff_id, principal)
    try:
        transcript = await runtime.transcript(handoff.conversation_id)
    except ConversationNotFound:
        transcript = []
    return HandoffDetail(handoff=handoff, brief=agent_brief(handoff), transcript=transcript)


@router.patch("/{handoff_id}", responses=error_responses(404, 409, 413))
async def update_handoff(
    handoff_id: str, body: HandoffUpdate, principal: PrincipalDep, turns: TurnsDep
) -> Handoff:
    """Change priority, urgency, skills, preferred agent, campaign, lead or handle time (admin).

    A waiting handoff takes its new place in the queue at once; 409 once it has ended.
    """
    return await handoff_admin.update(turns, principal, handoff_id, body)


@router.post("/{handoff_id}/context", responses=error_responses(404, 409, 413))
async def add_context(handoff_id: str, body: ContextIn, principal: PrincipalDep, turns: TurnsDep) -> Handoff:
    """Add facts or notes the agent sees in the brief, as "added by <you>" (admin, or the agent who has it)."""
    return await handoff_admin.add_context(turns, principal, handoff_id, body)


@router.post("/{handoff_id}/accept", responses=error_responses(404, 409))
async def accept(handoff_id: str, principal: PrincipalDep, turns: TurnsDep) -> Handoff:
    """Accept an offer made to you."""
    return await agent_handoffs.accept(turns, principal, handoff_id)


@router.post("/{handoff_id}/decline", responses=_ACTION)
async def decline(
    handoff_id: str,
    principal: PrincipalDep,
    turns: TurnsDep,
    body: Annotated[DeclineIn | None, Body()] = None,
) -> Handoff:
    """Decline an offer; it goes to someone else."""
    return await agent_handoffs.decline(turns, principal, handoff_id, (body or DeclineIn()).reason)


async def _act(
    turns: TurnsDep, principal: Principal, handoff_id: str, action: Reply | ReturnToAI | Close
) -> TurnOut:
    _agent_only(principal)
    outcome = await turns.turn(principal, HumanTurn(action, handoff_id=handoff_id))
    return _turn(outcome.result)


@router.post("/{handoff_id}/reply", responses=_ACTION)
async def reply(handoff_id: str, body: ReplyIn, principal: PrincipalDep, turns: TurnsDep) -> TurnOut:
    """Write to the customer (resumes the paused run with ``Reply``)."""
    return await _act(turns, principal, handoff_id, Reply(text=body.text, agent_id=principal.subject))


@router.post("/{handoff_id}/transfer", responses=_ACTION)
async def transfer(handoff_id: str, body: TransferIn, principal: PrincipalDep, turns: TurnsDep) -> Handoff:
    """Transfer to a known agent, a queue of the policy, or skills some agent has; the brief goes along."""
    return await agent_handoffs.transfer(
        turns,
        principal,
        handoff_id,
        to_agent_id=body.to_agent_id,
        to_queue=body.to_queue,
        to_skills=body.to_skills,
        reason=body.reason,
    )


@router.post("/{handoff_id}/return", responses=_ACTION)
async def return_to_ai(
    handoff_id: str, principal: PrincipalDep, turns: TurnsDep, body: Annotated[ReturnIn | None, Body()] = None
) -> TurnOut:
    """Hand the conversation back to the AI with a note (resumes the run with ``ReturnToAI``).

    The note is for the team (kept with the handoff, shown to the bot); the customer hears a line of
    their own.
    """
    body = body or ReturnIn()
    action = ReturnToAI(note=body.note, target=body.target, agent_id=principal.subject)
    return await _act(turns, principal, handoff_id, action)


@router.post("/{handoff_id}/complete", responses=_ACTION)
async def complete(
    handoff_id: str,
    principal: PrincipalDep,
    turns: TurnsDep,
    body: Annotated[CompleteIn | None, Body()] = None,
) -> TurnOut:
    """Close the conversation (resumes the run with ``Close``)."""
    body = body or CompleteIn()
    return await _act(
        turns, principal, handoff_id, Close(note=body.note, text=body.text, agent_id=principal.subject)
    )
