"""WebSocket bridge: customers and agents follow their event stream live, with replay after ``since``.

``WS /v1/conversations/{id}/ws?since=SEQ`` (the conversation's customer, or the admin) and
``WS /v1/agents/{id}/ws?since=SEQ`` (that agent).

The token never needs the URL (URLs land in access logs, proxies and browser history):

* browsers send ``{"type": "auth", "token": "..."}`` as the first message, within
  ``min(5 s, ws_idle_s)`` of connecting, else the socket is closed 4401;
* other clients may send ``Authorization: Bearer <token>`` with the handshake instead;
* ``?token=`` still works for old clients; ``baton serve`` redacts it from every log line.

A bad token closes 4401, someone else's 4403. The stream head is read before the socket is accepted,
so nothing published once the client sees it open is missed. The first event is a snapshot of the
current state whose ``seq`` is that head (see ``api/ws_models.py``); then, with ``since``, exactly
the events after ``since``, in order; then live ones. The server pings every ``ws_ping_s``; a socket
that sends nothing (not even ``pong``) for ``ws_idle_s`` is closed (4408).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Literal

from fastapi import APIRouter, WebSocket

from api import agent_handoffs
from api.engine import ConversationEngine, agent_stream
from api.errors import ApiError
from api.routes.handoffs import visible
from api.turns import CustomerTurn, HumanTurn, TurnService
from api.ws_models import (
    AgentHandoff,
    AgentStateEvent,
    ClientAgentMessage,
    ClientCustomerMessage,
    ClientHandoffComplete,
    ClientMessage,
    ClientTransferRequest,
    ClientTyping,
    HandoffStateEvent,
    TypingEvent,
    agent_brief,
)
from api.ws_socket import LiveSocket
from desk.errors import DeskError
from desk.errors import NotFound as DeskNotFound
from desk.lifecycle import HELD, TERMINAL, WAITING
from desk.models import HandoffStatus
from desk.timers import offer_deadline
from graph.actions import Close, Reply
from graph.runtime import ConversationNotFound

router = APIRouter(tags=["websockets"])
log = logging.getLogger("baton.api.ws")

_AGENT_STATUSES: tuple[HandoffStatus, ...] = ("offered", "accepted", "active")  # lifecycle order


async def customer_state(engine: ConversationEngine, conversation_id: str) -> HandoffStateEvent:
    """Where the conversation's human handoff stands now: the snapshot a customer socket starts with."""
    record = await engine.store.conversation(conversation_id) or {}
    handoff_id: str | None = record.get("handoff_id")
    agent_id: str | None = record.get("agent_id")
    state, position, wait = "none", None, None
    if handoff_id:
        try:
            handoff = await engine.desk.get(handoff_id)
        except DeskNotFound:  # being submitted, or lost by a desk restart until recovery gives it back
            state = "accepted" if agent_id else "pending"
        else:
            agent_id = handoff.assigned_agent_id
            if handoff.status in TERMINAL:
                state = "ended"
            elif handoff.status in HELD:
                state = handoff.status
            elif handoff.status in WAITING:
                state = handoff.status
                position, wait = await engine.desk.queue_position(handoff_id)
            else:  # declined, timed out or transferred: being queued again
                state = "pending"
    else:
        try:
            view = await engine.runtime.get(conversation_id)
        except ConversationNotFound:  # created, nothing said yet
            view = None
        humans = [h for h in view.handoffs if h.kind == "human"] if view else []
        if humans:
            handoff_id = humans[-1].id
            # still "active" in the graph with no desk handoff: it is being queued right now
            state = "pending" if humans[-1].status == "active" else "ended"
    return HandoffStateEvent(
        snapshot=True,
        conversation_id=conversation_id,
        handoff_id=handoff_id or "",
        state=state,
        agent_id=agent_id if state in ("accepted", "active") else None,
        queue_position=position,
        expected_wait_s=wait,
    )


async def agent_state(engine: ConversationEngine, agent_id: str) -> AgentStateEvent:
    """The agent's status and the handoffs offered to or held by them: the agent socket's snapshot."""
    desk = engine.desk
    try:
        status = (await desk.get_agent(agent_id)).status
    except DeskNotFound:  # a desk that lost its agents until recovery registers them again
        status = "offline"
    # By open status (a status-less list reads every handoff the desk keeps), in lifecycle order: one
    # that moves on between two reads is seen twice, and the later read wins.
    found = {
        h.handoff_id: h
        for wanted in _AGENT_STATUSES
        for h in await desk.list(status=wanted, agent_id=agent_id)
    }
    mine: list[AgentHandoff] = []
    for h in found.values():
        expires_at = None
        kind: Literal["offered", "accepted", "active"]
        if h.status == "offered" and h.offered_agent_id == agent_id:
            kind = "offered"
            expires_at = offer_deadline(h, desk.config)  # as the offer event computed it
        elif h.status in ("accepted", "active") and h.assigned_agent_id == agent_id:
            kind = "accepted" if h.status == "accepted" else "active"
        else:
            continue
        mine.append(
            AgentHandoff(
                handoff_id=h.handoff_id,
                conversation_id=h.conversation_id,
                status=kind,
                priority=h.priority,
                urgency=h.urgency,
                required_skills=h.required_skills,
                reason=h.reason,
                expires_at=expires_at,
                brief=agent_brief(h),  # the same view as the offer
            )
        )
    return AgentStateEvent(agent_id=agent_id, status=status, handoffs=mine)


@router.websocket("/v1/conversations/{conversation_id}/ws")
async def customer_socket(ws: WebSocket, conversation_id: str, since: int | None = None) -> None:
    """The customer's live view of a conversation; customer messages may be sent here too."""
    opened = await LiveSocket.for_customer(ws, "customer", conversation_id)
    if opened is None:
        return
    sock, principal = opened
    app = ws.app
    engine: ConversationEngine = app.state.engine
    turns: TurnService = app.state.turns

    async def handle(message: ClientMessage) -> None:
        if isinstance(message, ClientCustomerMessage):
            await turns.turn(principal, CustomerTurn(conversation_id, (message.text,)))
        elif isinstance(message, ClientTyping):
            record = await engine.store.conversation(conversation_id) or {}
            await engine.publish(
                conversation_id, TypingEvent(role="customer"), agent_id=record.get("agent_id")
            )
        elif isinstance(message, ClientAgentMessage):
            raise ApiError(403, "forbidden", "agent messages go through the agent socket")

    await sock.run(since, lambda: customer_state(engine, conversation_id), handle)


@router.websocket("/v1/agents/{agent_id}/ws")
async def agent_socket(ws: WebSocket, agent_id: str, since: int | None = None) -> None:
    """The agent's live stream: offers, transfers, customer messages of held conversations."""
    sock = await LiveSocket.open(ws, "agent", agent_stream(agent_id))
    principal = await sock.authenticate()
    if principal is None:
        return
    if not principal.is_agent(agent_id):
        await sock.refuse(ApiError(403, "forbidden", f"this token may not follow agent {agent_id}"))
        return
    app = ws.app
    engine: ConversationEngine = app.state.engine
    turns: TurnService = app.state.turns

    async def handle(message: ClientMessage) -> None:
        with contextlib.suppress(DeskError):
            await engine.desk.heartbeat(agent_id)
        if isinstance(message, ClientAgentMessage):
            action = Reply(text=message.text, agent_id=agent_id)
            await turns.turn(principal, HumanTurn(action, handoff_id=message.handoff_id))
        elif isinstance(message, ClientTransferRequest):
            await agent_handoffs.transfer(
                turns,
                principal,
                message.handoff_id,
                to_agent_id=message.to_agent_id,
                to_queue=message.to_queue,
                to_skills=message.to_skills,
                reason=message.reason,
            )
        elif isinstance(message, ClientHandoffComplete):
            close = Close(note=message.note, text=message.text, agent_id=agent_id)
            await turns.turn(principal, HumanTurn(close, handoff_id=message.handoff_id))
        elif isinstance(message, ClientTyping) and message.handoff_id:
            handoff = await visible(engine.desk, message.handoff_id, principal)
            await engine.publish(handoff.conversation_id, TypingEvent(role="agent", agent_id=agent_id))
        elif isinstance(message, ClientCustomerMessage):
            raise ApiError(403, "forbidden", "customer messages go through the conversation socket")

    await sock.run(since, lambda: agent_state(engine, agent_id), handle)
