"""Waiting for a person and callbacks.

Customers: where they stand in the queue, leave it, ask for a callback (or give the contact a
callback needs). Agents: the callback work list, take one, record its outcome. The handlers only
translate shapes; ``api/waiting.py`` decides.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.deps import PrincipalDep
from api.errors import error_responses
from api.waiting import CallbackDone, CallbackView, ContactIn, QueueStatus, WaitingService
from desk.callbacks import Callback, CallbackStatus

router = APIRouter(tags=["callbacks"], responses=error_responses(401, 403, 422))


async def get_waiting(request: Request) -> WaitingService:
    """The waiting-customer and callback service, opened by the app's lifespan."""
    waiting: WaitingService = request.app.state.waiting
    return waiting


WaitingDep = Annotated[WaitingService, Depends(get_waiting)]


@router.get("/v1/conversations/{conversation_id}/queue", responses=error_responses(404))
async def queue_status(conversation_id: str, principal: PrincipalDep, waiting: WaitingDep) -> QueueStatus:
    """Where the customer stands: position, expected wait (from measured desk figures), agent, callback."""
    return await waiting.status(principal, conversation_id)


@router.post("/v1/conversations/{conversation_id}/queue/leave", responses=error_responses(404, 409))
async def leave_queue(conversation_id: str, principal: PrincipalDep, waiting: WaitingDep) -> QueueStatus:
    """Leave the queue: the handoff is withdrawn and the conversation goes on with the assistant."""
    return await waiting.leave(principal, conversation_id)


@router.post("/v1/conversations/{conversation_id}/callback", responses=error_responses(404, 409, 413))
async def request_callback(
    conversation_id: str, body: ContactIn, principal: PrincipalDep, waiting: WaitingDep
) -> CallbackView:
    """Ask to be called back instead of waiting, or give the contact for a callback already promised.

    The contact is a phone number (7-15 digits) or an e-mail address; anything else is a 422
    ``invalid_contact``.
    """
    return await waiting.request_callback(principal, conversation_id, body.contact)


@router.get("/v1/callbacks")
async def list_callbacks(
    principal: PrincipalDep, waiting: WaitingDep, status: CallbackStatus | None = None
) -> list[Callback]:
    """Callbacks to work, oldest first (agents and the admin)."""
    return await waiting.work_list(principal, status)


@router.post("/v1/callbacks/{callback_id}/take", responses=error_responses(404, 409))
async def take_callback(callback_id: str, principal: PrincipalDep, waiting: WaitingDep) -> Callback:
    """Take an open callback (an agent); of two agents taking it at once, one gets a 409."""
    return await waiting.take(principal, callback_id)


@router.post("/v1/callbacks/{callback_id}/complete", responses=error_responses(404, 409, 413))
async def complete_callback(
    callback_id: str, body: CallbackDone, principal: PrincipalDep, waiting: WaitingDep
) -> Callback:
    """Record how the callback went (the agent who took it, or the admin)."""
    return await waiting.complete(principal, callback_id, body)
