"""The agent's desk: list and read handoffs, accept, decline, reply, transfer, return, complete.

An agent acts only on handoffs offered or assigned to them; the admin may read everything.
``reply``, ``return`` and ``complete`` resume the paused graph run with an explicit command.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from api.auth import Principal, forbidden
from api.deps import DeskDep, PrincipalDep, RuntimeDep, ServiceDep, SettingsDep
from api.routes.conversations import check_length
from api.schemas import CompleteIn, DeclineIn, HandoffDetail, ReplyIn, ReturnIn, TransferIn, TurnOut
from desk.base import Desk
from desk.errors import InvalidRequest
from desk.models import Handoff, HandoffStatus
from graph.runtime import ConversationNotFound
from graph.runtime_models import TurnResult

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"])


async def visible(desk: Desk, handoff_id: str, principal: Principal, *, admin: bool = True) -> Handoff:
    """The handoff, if the caller may see it: offered or assigned to the agent, or the admin."""
    if principal.role == "customer":
        raise forbidden("access handoffs")
    handoff = await desk.get(handoff_id)
    if principal.role == "admin" and admin:
        return handoff
    if principal.role == "agent" and principal.subject in (
        handoff.assigned_agent_id,
        handoff.offered_agent_id,
    ):
        return handoff
    raise forbidden(f"act on handoff {handoff_id}")


def _agent(principal: Principal) -> str:
    if principal.role != "agent":
        raise forbidden("act as an agent")
    return principal.subject


def _turn(result: TurnResult) -> TurnOut:
    return TurnOut(
        conversation_id=result.conversation_id,
        status=result.status,
        active_agent=result.active_agent,
        replies=result.replies,
    )


@router.get("")
async def list_handoffs(
    principal: PrincipalDep, desk: DeskDep, status: HandoffStatus | None = None
) -> list[Handoff]:
    """Admin: every handoff; agent: those offered or assigned to them."""
    if principal.role == "admin":
        return await desk.list(status=status)
    return await desk.list(status=status, agent_id=_agent(principal))


@router.get("/{handoff_id}")
async def get_handoff(
    handoff_id: str, principal: PrincipalDep, desk: DeskDep, runtime: RuntimeDep
) -> HandoffDetail:
    """The handoff with its brief and the conversation's full transcript."""
    handoff = await visible(desk, handoff_id, principal)
    try:
        transcript = (await runtime.get(handoff.conversation_id)).transcript
    except ConversationNotFound:
        transcript = []
    return HandoffDetail(handoff=handoff, brief=handoff.brief, transcript=transcript)


@router.post("/{handoff_id}/accept")
async def accept(handoff_id: str, principal: PrincipalDep, desk: DeskDep, service: ServiceDep) -> Handoff:
    """Accept an offer made to you."""
    agent_id = _agent(principal)
    await visible(desk, handoff_id, principal, admin=False)
    return await service.accept(handoff_id, agent_id)


@router.post("/{handoff_id}/decline")
async def decline(
    handoff_id: str, principal: PrincipalDep, desk: DeskDep, body: Annotated[DeclineIn | None, Body()] = None
) -> Handoff:
    """Decline an offer; it goes to someone else."""
    agent_id = _agent(principal)
    await visible(desk, handoff_id, principal, admin=False)
    return await desk.decline(handoff_id, agent_id, (body or DeclineIn()).reason)


@router.post("/{handoff_id}/reply")
async def reply(
    handoff_id: str,
    body: ReplyIn,
    principal: PrincipalDep,
    desk: DeskDep,
    service: ServiceDep,
    settings: SettingsDep,
) -> TurnOut:
    """Write to the customer (resumes the paused run with ``Reply``)."""
    agent_id = _agent(principal)
    handoff = await visible(desk, handoff_id, principal, admin=False)
    check_length(body.text, settings.max_message_chars)
    return _turn(await service.reply(handoff, agent_id, body.text))


@router.post("/{handoff_id}/transfer")
async def transfer(
    handoff_id: str, body: TransferIn, principal: PrincipalDep, desk: DeskDep, runtime: RuntimeDep
) -> Handoff:
    """Transfer to another agent or a skill set; the brief and your messages go along."""
    agent_id = _agent(principal)
    handoff = await visible(desk, handoff_id, principal, admin=False)
    if (body.to_agent_id is None) == (body.to_skills is None):
        msg = "give exactly one of to_agent_id or to_skills"
        raise InvalidRequest(msg)
    view = await runtime.get(handoff.conversation_id)
    segment = [t.model_dump() for t in view.transcript if t.role == "agent"]
    return await desk.transfer(
        handoff_id,
        agent_id,
        to_agent_id=body.to_agent_id,
        to_skills=body.to_skills,
        reason=body.reason,
        human_segment=segment,
    )


@router.post("/{handoff_id}/return")
async def return_to_ai(
    handoff_id: str,
    principal: PrincipalDep,
    desk: DeskDep,
    service: ServiceDep,
    body: Annotated[ReturnIn | None, Body()] = None,
) -> TurnOut:
    """Hand the conversation back to the AI with a note (resumes the run with ``ReturnToAI``)."""
    agent_id = _agent(principal)
    handoff = await visible(desk, handoff_id, principal, admin=False)
    body = body or ReturnIn()
    return _turn(await service.return_to_ai(handoff, agent_id, body.note, body.target))


@router.post("/{handoff_id}/complete")
async def complete(
    handoff_id: str,
    principal: PrincipalDep,
    desk: DeskDep,
    service: ServiceDep,
    body: Annotated[CompleteIn | None, Body()] = None,
) -> TurnOut:
    """Close the conversation (resumes the run with ``Close``)."""
    agent_id = _agent(principal)
    handoff = await visible(desk, handoff_id, principal, admin=False)
    body = body or CompleteIn()
    return _turn(await service.complete(handoff, agent_id, body.note, body.text))
