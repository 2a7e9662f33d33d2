"""WebSocket bridge: customers and agents follow their event stream live, with replay after ``since``.

``WS /v1/conversations/{id}/ws?token=&since=SEQ`` (the conversation's customer) and
``WS /v1/agents/{id}/ws?token=&since=SEQ`` (that agent). Without ``since`` only new events are sent;
with it, exactly the events after ``SEQ`` first, in order, then live ones. The server pings every
``ws_ping_s``; a socket that sends nothing (not even ``pong``) for ``ws_idle_s`` is closed (4408).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from api.auth import Principal, resolve
from api.engine import ConversationEngine, agent_stream, conv_stream
from api.errors import ApiError
from api.routes.handoffs import visible
from api.turns import CustomerTurn, HumanTurn, TurnService, check_length
from api.ws_models import (
    CLIENT_MESSAGE,
    ClientAgentMessage,
    ClientCustomerMessage,
    ClientMessage,
    ClientTyping,
    ErrorEvent,
    PingEvent,
    TypingEvent,
)
from desk.errors import DeskError
from graph.actions import Reply
from graph.runtime import ConversationNotFound, NothingToRollBack, NotInterrupted

router = APIRouter(tags=["websockets"])
log = logging.getLogger("baton.api.ws")

_CLOSE_CODES = {401: 4401, 403: 4403, 404: 4404}
Handler = Callable[[ClientMessage], Awaitable[None]]


class _Socket:
    """One connection: a send lock, the follower, the pinger and the reader."""

    def __init__(self, ws: WebSocket, role: str) -> None:
        self.ws = ws
        self.role = role
        self.app = ws.app
        self._send_lock = asyncio.Lock()

    async def send(self, text: str) -> None:
        async with self._send_lock:
            await self.ws.send_text(text)

    async def error(self, code: str, message: str) -> None:
        await self.send(ErrorEvent(code=code, message=message).model_dump_json())

    async def refuse(self, exc: ApiError) -> None:
        await self.error(exc.code, exc.message)
        await self.ws.close(code=_CLOSE_CODES.get(exc.status, 4400), reason=exc.message[:120])

    async def run(self, stream: str, since: int | None, handler: Handler) -> None:
        events = self.app.state.engine.events
        start = await events.head(stream) if since is None else max(0, since)
        settings = self.app.state.settings
        metrics = self.app.state.metrics
        metrics.sockets.labels(role=self.role).inc()
        tasks = [
            asyncio.create_task(self._follow(events.follow(stream, start))),
            asyncio.create_task(self._ping(settings.ws_ping_s)),
            asyncio.create_task(self._read(settings.ws_idle_s, handler)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("%s socket task failed", self.role, exc_info=task.exception())
                    with contextlib.suppress(Exception):
                        await self.ws.close(code=1011, reason="internal error")
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            metrics.sockets.labels(role=self.role).dec()

    async def _follow(self, stream: object) -> None:
        async for data in stream:  # type: ignore[attr-defined]
            await self.send(data)

    async def _ping(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.send(PingEvent().model_dump_json())

    async def _read(self, idle: float, handler: Handler) -> None:
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.receive_text(), timeout=idle)
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


async def _principal(sock: _Socket, token: str | None) -> Principal | None:
    app = sock.app
    try:
        return await resolve(token, app.state.admin_token, app.state.store)
    except ApiError as exc:
        await sock.refuse(exc)
        return None


@router.websocket("/v1/conversations/{conversation_id}/ws")
async def customer_socket(
    ws: WebSocket, conversation_id: str, token: str | None = None, since: int | None = None
) -> None:
    """The customer's live view of a conversation; customer messages may be sent here too."""
    await ws.accept()
    sock = _Socket(ws, "customer")
    principal = await _principal(sock, token)
    if principal is None:
        return
    if not (principal.is_customer_of(conversation_id) or principal.role == "admin"):
        await sock.refuse(
            ApiError(403, "forbidden", f"this token may not access conversation {conversation_id}")
        )
        return
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

    await sock.run(conv_stream(conversation_id), since, handle)


@router.websocket("/v1/agents/{agent_id}/ws")
async def agent_socket(
    ws: WebSocket, agent_id: str, token: str | None = None, since: int | None = None
) -> None:
    """The agent's live stream: offers, transfers, customer messages of held conversations."""
    await ws.accept()
    sock = _Socket(ws, "agent")
    principal = await _principal(sock, token)
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
        elif isinstance(message, ClientTyping) and message.handoff_id:
            handoff = await visible(engine.desk, message.handoff_id, principal)
            await engine.publish(handoff.conversation_id, TypingEvent(role="agent", agent_id=agent_id))
        elif isinstance(message, ClientCustomerMessage):
            raise ApiError(403, "forbidden", "customer messages go through the conversation socket")

    await sock.run(agent_stream(agent_id), since, handle)
