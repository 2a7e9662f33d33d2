"""Customer-facing conversation endpoints (and the admin's checkpoints and rollback).

Turns go through the one door (``api/turns.py``); these handlers only translate shapes.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Request, status

from api.auth import CUSTOMER_PREFIX, forbidden, new_token, require_admin, sent_admin_token, trusted_profile
from api.console_store import console_store
from api.deps import EngineDep, PrincipalDep, RuntimeDep, SettingsDep, StoreDep, TurnsDep
from api.engine import TurnOutcome, conv_stream
from api.errors import error_responses
from api.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationOut,
    CsatIn,
    HandoffInfo,
    MessageIn,
    MessageOut,
    Ok,
    RollbackIn,
    TurnOut,
)
from api.text_clean import clean_values
from api.turns import CustomerTurn
from graph.runtime import ConversationNotFound
from graph.runtime_models import CheckpointInfo

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 413, 422, 429))
async def create_conversation(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    body: Annotated[ConversationCreate | None, Body()] = None,
) -> ConversationCreated:
    """Start a conversation; the returned customer token is the only way to talk in it.

    Without the admin token, a client address may start ``client_conversations_per_minute`` a minute
    (429 with ``Retry-After`` past that).

    Profile fields that change routing (``vip``, ``plan``) count only when the admin sends them or the
    profile carries a valid ``profile_signature``; anyone else's are kept as an unverified claim.
    """
    if not sent_admin_token(request):
        await request.app.state.client_limits.new_conversation(
            request.client.host if request.client else None
        )
    conversation_id = f"c-{uuid.uuid4().hex}"
    token = new_token(CUSTOMER_PREFIX)
    profile = {}
    if body and body.customer:
        sent = body.customer.model_dump(exclude_none=True)
        # cleaned once its signature, over what was sent, is checked
        profile = clean_values(await trusted_profile(request, settings, sent, body.profile_signature))
    await store.add_conversation(conversation_id, token, profile)
    customer = profile.get("id")  # trusted only: an unverified id sits under "claimed"
    await console_store(request).remember_customer(
        conversation_id, customer if isinstance(customer, str) else None
    )
    return ConversationCreated(conversation_id=conversation_id, customer_token=token)


@router.post("/{conversation_id}/messages", responses=error_responses(401, 403, 404, 409, 413, 422, 429, 503))
async def post_message(
    conversation_id: str, body: MessageIn, principal: PrincipalDep, turns: TurnsDep
) -> MessageOut:
    """Send a customer message; returns the bots' replies and any handoff it started.

    The turn is checkpointed (synchronously) before this returns.
    """
    # A JSON body with a known token is served before FastAPI's router (api/http_fastpath.py): the
    # same door and the same shapes; this handler answers what that path hands on.
    return message_out(
        conversation_id, await turns.turn(principal, CustomerTurn(conversation_id, (body.text,)))
    )


def message_out(conversation_id: str, outcome: TurnOutcome) -> MessageOut:
    """A customer turn's outcome as the API answers it."""
    result = outcome.result
    handoff = None
    if result.handoff:
        handoff = HandoffInfo.of(result.handoff, outcome.queue_position, outcome.expected_wait_s)
    return MessageOut(
        conversation_id=conversation_id,
        status=result.status,
        active_agent=result.active_agent,
        replies=result.replies,
        handoff=handoff,
        seq=outcome.seq,
    )


@router.get("/{conversation_id}", responses=error_responses(401, 403, 404, 422))
async def get_conversation(
    conversation_id: str, principal: PrincipalDep, runtime: RuntimeDep, turns: TurnsDep, engine: EngineDep
) -> ConversationOut:
    """Transcript and status (the conversation's customer, the agent holding it, or the admin)."""
    await turns.require_read(principal, conversation_id)
    record = await turns.require_known(conversation_id)
    seq = await engine.events.head(conv_stream(conversation_id))
    try:
        view = await runtime.get(conversation_id)
    except ConversationNotFound:  # created, nothing said yet
        return ConversationOut(
            conversation_id=conversation_id, status="bot", active_agent="", transcript=[], seq=seq
        )
    if principal.is_customer_of(conversation_id):
        # The customer sees what was said to them: no internal lines, no briefs or agents' notes.
        return ConversationOut(
            conversation_id=conversation_id,
            status=view.status,
            active_agent=view.active_agent,
            transcript=[t for t in view.transcript if t.role != "system"],
            agent_id=record.get("agent_id"),
            seq=seq,
        )
    return ConversationOut(
        conversation_id=conversation_id,
        status=view.status,
        active_agent=view.active_agent,
        transcript=view.transcript,
        handoff=view.handoff,
        handoffs=view.handoffs,
        agent_id=record.get("agent_id"),
        seq=seq,
    )


@router.get("/{conversation_id}/checkpoints", responses=error_responses(401, 403, 404, 422))
async def list_checkpoints(
    conversation_id: str, principal: PrincipalDep, runtime: RuntimeDep, limit: int = 100
) -> list[CheckpointInfo]:
    """The conversation's checkpoints, newest first (admin)."""
    require_admin(principal, "list checkpoints")
    return await runtime.checkpoints(conversation_id, limit=max(1, min(limit, 1000)))


@router.post("/{conversation_id}/rollback", responses=error_responses(401, 403, 404, 409, 413, 422))
async def rollback(
    conversation_id: str,
    principal: PrincipalDep,
    turns: TurnsDep,
    body: Annotated[RollbackIn | None, Body()] = None,
) -> TurnOut:
    """Return a conversation in a human handoff to the AI now (admin); the desk handoff is cancelled."""
    body = body or RollbackIn()
    result = await turns.rollback(principal, conversation_id, body.reason, body.notice)
    return TurnOut(
        conversation_id=conversation_id,
        status=result.status,
        active_agent=result.active_agent,
        replies=result.replies,
    )


@router.post("/{conversation_id}/csat", responses=error_responses(401, 403, 404, 413, 422))
async def csat(
    conversation_id: str, body: CsatIn, principal: PrincipalDep, store: StoreDep, turns: TurnsDep
) -> Ok:
    """Rate the conversation (its customer); feeds the analytics."""
    if not principal.is_customer_of(conversation_id):
        raise forbidden(f"rate conversation {conversation_id}")
    await turns.require_known(conversation_id)
    await store.set_csat(conversation_id, body.rating, body.comment)
    return Ok()
