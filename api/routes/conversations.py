"""Customer-facing conversation endpoints (and the admin's checkpoints and rollback)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, status

from api.auth import CUSTOMER_PREFIX, Principal, new_token, require_admin, require_conversation
from api.deps import LimiterDep, PrincipalDep, RuntimeDep, ServiceDep, SettingsDep, StoreDep
from api.errors import ApiError
from api.handoffs import conv_stream
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
from graph.runtime import ConversationNotFound
from graph.runtime_models import CheckpointInfo

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])


async def _known(store: StoreDep, conversation_id: str, principal: Principal, *, admin: bool = True) -> None:
    require_conversation(principal, conversation_id, admin=admin)
    if not await store.has_conversation(conversation_id):
        raise ConversationNotFound(conversation_id)


def check_length(text: str, limit: int, field: str = "text") -> None:
    """422 naming ``field`` when ``text`` is over the configured limit."""
    if len(text) > limit:
        raise ApiError(
            422,
            "validation_error",
            f"invalid request: {field}",
            details=[{"field": field, "location": "body", "message": f"at most {limit} characters"}],
        )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_conversation(
    store: StoreDep, body: Annotated[ConversationCreate | None, Body()] = None
) -> ConversationCreated:
    """Start a conversation; the returned customer token is the only way to talk in it."""
    conversation_id = f"c-{uuid.uuid4().hex}"
    token = new_token(CUSTOMER_PREFIX)
    profile = body.customer.model_dump(exclude_none=True) if body and body.customer else {}
    await store.add_conversation(conversation_id, token, profile)
    return ConversationCreated(conversation_id=conversation_id, customer_token=token)


@router.post("/{conversation_id}/messages")
async def post_message(
    conversation_id: str,
    body: MessageIn,
    principal: PrincipalDep,
    store: StoreDep,
    service: ServiceDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> MessageOut:
    """Send a customer message; returns the bots' replies and any handoff it started.

    The turn is checkpointed (synchronously) before this returns.
    """
    await _known(store, conversation_id, principal, admin=False)
    check_length(body.text, settings.max_message_chars)
    await limiter.check(conversation_id)
    outcome = await service.customer_message(conversation_id, body.text)
    result = outcome.result
    handoff = None
    if result.handoff:
        h = result.handoff
        handoff = HandoffInfo(
            handoff_id=h["id"],
            kind=h["kind"],
            to=h["to"],
            trigger=h["trigger"],
            urgency=h["urgency"],
            priority=h["priority"],
            narration=h["narration"],
            status="pending" if h["kind"] == "human" else h["status"],
            queue_position=outcome.queue_position,
            expected_wait_s=outcome.expected_wait_s,
        )
    return MessageOut(
        conversation_id=conversation_id,
        status=result.status,
        active_agent=result.active_agent,
        replies=result.replies,
        handoff=handoff,
        seq=outcome.seq,
    )


@router.get("/{conversation_id}")
async def get_conversation(
    conversation_id: str, principal: PrincipalDep, store: StoreDep, runtime: RuntimeDep, service: ServiceDep
) -> ConversationOut:
    """Transcript and status (the conversation's customer, or the admin)."""
    await _known(store, conversation_id, principal)
    record = await store.conversation(conversation_id) or {}
    seq = await service.events.head(conv_stream(conversation_id))
    try:
        view = await runtime.get(conversation_id)
    except ConversationNotFound:  # created, nothing said yet
        return ConversationOut(
            conversation_id=conversation_id, status="bot", active_agent="", transcript=[], seq=seq
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


@router.get("/{conversation_id}/checkpoints")
async def list_checkpoints(
    conversation_id: str, principal: PrincipalDep, runtime: RuntimeDep, limit: int = 100
) -> list[CheckpointInfo]:
    """The conversation's checkpoints, newest first (admin)."""
    require_admin(principal, "list checkpoints")
    return await runtime.checkpoints(conversation_id, limit=max(1, min(limit, 1000)))


@router.post("/{conversation_id}/rollback")
async def rollback(
    conversation_id: str,
    principal: PrincipalDep,
    service: ServiceDep,
    body: Annotated[RollbackIn | None, Body()] = None,
) -> TurnOut:
    """Return a conversation in a human handoff to the AI now (admin); the desk handoff is cancelled."""
    require_admin(principal, "roll back conversations")
    body = body or RollbackIn()
    result = await service.admin_rollback(conversation_id, body.reason, body.notice)
    return TurnOut(
        conversation_id=conversation_id,
        status=result.status,
        active_agent=result.active_agent,
        replies=result.replies,
    )


@router.post("/{conversation_id}/csat")
async def csat(conversation_id: str, body: CsatIn, principal: PrincipalDep, store: StoreDep) -> Ok:
    """Rate the conversation (its customer); feeds the analytics."""
    await _known(store, conversation_id, principal, admin=False)
    await store.set_csat(conversation_id, body.rating, body.comment)
    return Ok()
