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

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from api import agent_handoffs
from api.auth import Principal, resolve
from api.engine import ConversationEngine, agent_stream, conv_stream
from api.errors import ApiError
from api.routes.handoffs import visible
from api.turns import CustomerTurn, HumanTurn, TurnService, check_length
from api.ws_models import (
    CLIENT_MESSAGE,
    AgentHandoff,
    AgentStateEvent,
    ClientAgentMessage,
    ClientAuth,
    ClientCustomerMessage,
    ClientHandoffComplete,
    ClientMessage,
    ClientTransferRequest,
    ClientTyping,
    ErrorEvent,
    HandoffStateEvent,
    PingEvent,
    TypingEvent,
    _Event,
    agent_brief,
)
from desk.errors import DeskError
from desk.errors import NotFound as DeskNotFound
from desk.lifecycle import HELD, TERMINAL, WAITING
from desk.models import HandoffStatus
from desk.ops import offer_deadline
from graph.actions import Close, Reply
from graph.runtime import ConversationNotFound, NothingToRollBack, NotInterrupted

router = APIRouter(tags=["websockets"])
log = logging.getLogger("baton.api.ws")

_CLOSE_CODES = {401: 4401, 403: 4403, 404: 4404}
_AUTH_TIMEOUT_S = 5.0
_AGENT_STATUSES: tuple[HandoffStatus, ...] = ("offered", "accepted", "active")  # lifecycle order
_AUTH_HINT = 'send {"type": "auth", "token": "..."} first (or an Authorization: Bearer header)'
Handler = Callable[[ClientMessage], Awaitable[None]]


def _handshake_token(ws: WebSocket) -> str | None:
    """A token sent with the handshake: ``Authorization: Bearer``, or the legacy ``?token=``."""
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return ws.query_params.get("token") or None


class _Socket:
    """One connection: a send lock, the follower, the pinger and the reader."""

    def __init__(self, ws: WebSocket, role: str, stream: str, head: int) -> None:
        self.ws = ws
        self.role = role
        self.app = ws.app
        self.stream = stream
        self.head = head
        self._send_lock = asyncio.Lock()
        self._pinger: asyncio.TimerHandle | None = None
        self._aside: asyncio.Task[None] | None = None  # the latest short-lived send: a ping or a close

    @classmethod
    async def open(cls, ws: WebSocket, role: str, stream: str) -> _Socket:
        """Read the stream head, then accept.

        In this order, whatever is published once the client sees the socket open (and before it
        has authenticated) comes after the head, so it is sent.
        """
        head = await ws.app.state.engine.events.head(stream)
        await ws.accept()
        return cls(ws, role, stream, head)

    @classmethod
    async def for_customer(
        cls, ws: WebSocket, role: str, conversation_id: str
    ) -> tuple[_Socket, Principal] | None:
        """Open a socket on a conversation's stream for its customer (or an admin).

        None when it was refused: no or bad token (4401), someone else's conversation (4403).
        """
        sock = await cls.open(ws, role, conv_stream(conversation_id))
        principal = await sock.authenticate()
        if principal is None:
            return None
        if not (principal.is_customer_of(conversation_id) or principal.role == "admin"):
            await sock.refuse(
                ApiError(403, "forbidden", f"this token may not access conversation {conversation_id}")
            )
            return None
        return sock, principal

    async def send(self, text: str) -> None:
        async with self._send_lock:
            await self.ws.send_text(text)

    async def error(self, code: str, message: str) -> None:
        await self.send(ErrorEvent(code=code, message=message).model_dump_json())

    async def refuse(self, exc: ApiError) -> None:
        await self.error(exc.code, exc.message)
        await self.ws.close(code=_CLOSE_CODES.get(exc.status, 4400), reason=exc.message[:120])

    async def authenticate(self) -> Principal | None:
        """Who is connecting; None when the socket was refused (4401) or went away."""
        app = self.app
        try:
            token = _handshake_token(self.ws) or await self._first_message_token()
            return await resolve(token, app.state.admin_token, app.state.store, app.state.supervisors)
        except ApiError as exc:
            await self.refuse(exc)
        except (WebSocketDisconnect, RuntimeError):
            pass
        return None

    async def _first_message_token(self) -> str:
        timeout = min(_AUTH_TIMEOUT_S, self.app.state.settings.ws_idle_s)
        try:
            raw = await asyncio.wait_for(self.ws.receive_text(), timeout=timeout)
        except TimeoutError:
            raise ApiError(
                401, "unauthorized", f"no auth message within {timeout:g}s: {_AUTH_HINT}"
            ) from None
        except KeyError:  # a binary frame
            raise ApiError(401, "unauthorized", _AUTH_HINT) from None
        try:
            return ClientAuth.model_validate_json(raw).token
        except ValidationError:  # never echoed: the message may hold a token
            raise ApiError(401, "unauthorized", _AUTH_HINT) from None

    async def run(self, since: int | None, state: Callable[[], Awaitable[_Event]], handler: Handler) -> None:
        """Send the snapshot ``state()`` stamped with the head, then follow the stream from ``since``.

        A ``since`` beyond the head (the stream was reset) is the head.
        """
        start = self.head if since is None else min(max(0, since), self.head)
        try:
            snapshot = await state()
        except Exception:
            log.exception("%s socket: could not read the current state", self.role)
            with contextlib.suppress(Exception):
                await self.ws.close(code=1011, reason="internal error")
            return
        snapshot.seq = self.head
        settings = self.app.state.settings
        metrics = self.app.state.metrics
        metrics.sockets.labels(role=self.role).inc()
        events = self.app.state.engine.events
        # The connection's own task reads, pings are a timer, only the follower is a task of its own:
        # every live socket's tasks and coroutine chains are walked by each full collection (four
        # tasks were ~205 GC-tracked objects per socket, these two ~177; benchmarks/README.md).
        follower = asyncio.create_task(
            self._follow(snapshot.model_dump_json(), events.follow(self.stream, start))
        )
        follower.add_done_callback(self._follower_done)
        self._ping_later(settings.ws_ping_s)
        try:
            await self._read(settings.ws_idle_s, handler)
        except Exception:
            log.exception("%s socket reader failed", self.role)
            with contextlib.suppress(Exception):
                await self.ws.close(code=1011, reason="internal error")
        finally:
            if self._pinger is not None:
                self._pinger.cancel()
            follower.remove_done_callback(self._follower_done)
            for task in (follower, self._aside):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            metrics.sockets.labels(role=self.role).dec()

    def _follower_done(self, task: asyncio.Task[None]) -> None:
        """The follower stopped while the socket was open: close it (the reader then ends)."""
        if task.cancelled():
            return
        failed = task.exception()
        if failed is not None:
            log.error("%s socket follower failed", self.role, exc_info=failed)
        self._set_aside(self._close(1011 if failed else 1000))

    async def _close(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, reason="internal error" if code == 1011 else "")

    async def _follow(self, snapshot: str, stream: AsyncIterator[str]) -> None:
        await self.send(snapshot)  # first: the follower only starts after it
        async for data in stream:
            await self.send(data)

    def _set_aside(self, send: Coroutine[Any, Any, None]) -> None:
        """Run a short send as a task, held only while it runs (a done task keeps its coroutine)."""
        task = asyncio.create_task(send)
        self._aside = task
        task.add_done_callback(self._aside_done)

    def _aside_done(self, task: asyncio.Task[None]) -> None:
        if self._aside is task:
            self._aside = None

    def _ping_later(self, every: float) -> None:
        self._pinger = asyncio.get_running_loop().call_later(every, self._ping_now, every)

    def _ping_now(self, every: float) -> None:
        """Send a ping from a short-lived task (a failed send is the reader's disconnect to see)."""
        self._set_aside(self._ping())
        self._ping_later(every)

    async def _ping(self) -> None:
        with contextlib.suppress(Exception):
            await self.send(PingEvent().model_dump_json())

    async def _read(self, idle: float, handler: Handler) -> None:
        while True:
            try:
                # Not wait_for: its inner task kept the disconnect's traceback in a reference cycle
                # with the socket, so every closed socket left ~100 objects for a full collection.
                async with asyncio.timeout(idle):
                    raw = await self.ws.receive_text()
            except TimeoutError:
                log.warning("%s socket silent for %.0fs; closing", self.role, idle)
                self.app.state.metrics.idle_closed.labels(role=self.role).inc()
                with contextlib.suppress(Exception):
                    await self.ws.close(code=4408, reason="idle")
                return
            except (WebSocketDisconnect, RuntimeError):
                return
            try:
                message = CLIENT_MESSAGE.validate_json(raw)
            except ValidationError as exc:
                fields = ", ".join(".".join(map(str, e["loc"])) or "message" for e in exc.errors())
                await self.error("validation_error", f"invalid message: {fields}")
                continue
            if isinstance(message, ClientAuth):
                await self.error("conflict", "this socket is already authenticated")
                continue
            try:
                await handler(message)
            except ApiError as exc:
                await self.error(exc.code, exc.message)
            except DeskError as exc:
                await self.error(exc.code, str(exc))
            except (NotInterrupted, NothingToRollBack, ConversationNotFound) as exc:
                await self.error("conflict", str(exc))
            except Exception:
                log.exception("%s socket handler failed", self.role)
                await self.error("internal_error", "the server failed to handle this message")


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
    opened = await _Socket.for_customer(ws, "customer", conversation_id)
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
    sock = await _Socket.open(ws, "agent", agent_stream(agent_id))
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
            check_length(message.text, app.state.settings.max_message_chars)
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
            check_length(message.text, app.state.settings.max_message_chars)
            close = Close(note=message.note, text=message.text, agent_id=agent_id)
            await turns.turn(principal, HumanTurn(close, handoff_id=message.handoff_id))
        elif isinstance(message, ClientTyping) and message.handoff_id:
            handoff = await visible(engine.desk, message.handoff_id, principal)
            await engine.publish(handoff.conversation_id, TypingEvent(role="agent", agent_id=agent_id))
        elif isinstance(message, ClientCustomerMessage):
            raise ApiError(403, "forbidden", "customer messages go through the conversation socket")

    await sock.run(since, lambda: agent_state(engine, agent_id), handle)
