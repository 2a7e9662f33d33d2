"""One live WebSocket of the bridge: authentication, the snapshot, replay and live events, pings, reads.

The routes (``api/routes/ws.py``, ``voice.py``, ``desk_ws.py``) open a ``LiveSocket`` on a stream and
hand it what to send first and how to handle a client message; the protocol is in ``api/routes/ws.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from api.auth import Principal, resolve
from api.engine import conv_stream
from api.errors import ApiError
from api.socket_limits import SLOTS_KEY
from api.ws_models import CLIENT_MESSAGE, ClientAuth, ClientMessage, ErrorEvent, PingEvent, _Event
from desk.errors import DeskError
from graph.runtime import ConversationNotFound, NothingToRollBack, NotInterrupted

log = logging.getLogger("baton.api.ws")

_CLOSE_CODES = {401: 4401, 403: 4403, 404: 4404, 429: 4429}
_AUTH_TIMEOUT_S = 5.0
_AUTH_HINT = 'send {"type": "auth", "token": "..."} first (or an Authorization: Bearer header)'
Handler = Callable[[ClientMessage], Awaitable[None]]


def _handshake_token(ws: WebSocket) -> str | None:
    """A token sent with the handshake: ``Authorization: Bearer``, or the legacy ``?token=``."""
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return ws.query_params.get("token") or None


class LiveSocket:
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
    async def open(cls, ws: WebSocket, role: str, stream: str) -> LiveSocket:
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
    ) -> tuple[LiveSocket, Principal] | None:
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
            host = self.ws.client.host if self.ws.client else None
            principal = await resolve(
                token, app.state.admin_token, app.state.store, app.state.supervisors, host
            )
            app.state.socket_limits.take(principal, self.ws.scope.get(SLOTS_KEY))
            return principal
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
        self.start_pinging(settings.ws_ping_s)
        try:
            await self._read(settings.ws_idle_s, handler)
        except Exception:
            log.exception("%s socket reader failed", self.role)
            with contextlib.suppress(Exception):
                await self.ws.close(code=1011, reason="internal error")
        finally:
            follower.remove_done_callback(self._follower_done)
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follower
            await self.stop_pinging()
            metrics.sockets.labels(role=self.role).dec()

    def _follower_done(self, task: asyncio.Task[None]) -> None:
        """The follower stopped while the socket was open: close it (the reader then ends)."""
        if task.cancelled():
            return
        failed = task.exception()
        if isinstance(failed, WebSocketDisconnect):
            failed = None  # the client left while an event was on its way: nothing failed
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

    def start_pinging(self, every: float) -> None:
        """Ping the client every ``every`` seconds from a timer until ``stop_pinging``."""
        self._pinger = asyncio.get_running_loop().call_later(every, self._ping_now, every)

    async def stop_pinging(self) -> None:
        """Stop the pings and the short send (a ping or a close) still in flight."""
        if self._pinger is not None:
            self._pinger.cancel()
        if (aside := self._aside) is not None:
            aside.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await aside

    def _ping_now(self, every: float) -> None:
        """Send a ping from a short-lived task (a failed send is the reader's disconnect to see)."""
        self._set_aside(self._ping())
        self.start_pinging(every)

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
            except KeyError:  # Starlette's receive_text on a binary frame
                await self.error("validation_error", "invalid message: send JSON in a text frame, not binary")
                continue
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
