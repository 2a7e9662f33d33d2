"""The customer's message route without FastAPI's routing and dependency injection.

Every chat widget's turn is ``POST /v1/conversations/{conversation_id}/messages``. Through FastAPI the
request is matched against the app's routers one by one, the token's headers and the services are
solved as dependencies, and the returned model is checked again: 0.65-0.94 ms of a worker's CPU per
turn on top of the turn itself, against 0.19-0.34 ms here (``benchmarks/request_floor.py``;
benchmarks/README.md, "Twenty-fifth session"). This middleware, the innermost of the app's own (the
body limit and the request metrics wrap it as they wrap FastAPI), serves that route itself with the
same parts: the body model (``MessageIn``), the token check (``api.auth.resolve``), the one door for
turns (``TurnService``), the response model (``message_out``) and the app's exception handlers for
what the turn raises.

A request it does not take as it is goes through FastAPI unchanged, with the messages it read handed
back: another content type, a body that does not validate, a missing or unknown token, a client gone
before its body arrived. Those answers are FastAPI's, as they always were.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, HTTPExceptionHandler, Message, Receive, Scope, Send

from api.auth import Principal, resolve
from api.errors import ApiError
from api.routes.conversations import message_out
from api.schemas import MessageIn
from api.turns import CustomerTurn

if TYPE_CHECKING:
    from fastapi import FastAPI

ROUTE_PATH = "/v1/conversations/{conversation_id}/messages"
_PATH = re.compile(r"/v1/conversations/([^/]+)/messages")


class MessageFastPath:
    """Serve customer messages past FastAPI's router; everything else passes through (see the module)."""

    def __init__(self, app: ASGIApp, baton: FastAPI) -> None:
        self.app = app
        self.baton = baton
        self._route: RouteContext | None = None

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a WebSocket's whole life is awaited through every middleware's frame.
        if scope["type"] == "http" and scope["method"] == "POST":
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            match = _PATH.fullmatch(path)
            if match is not None:
                return self._serve(scope, receive, send, match.group(1))
        return self.app(scope, receive, send)

    @property
    def route(self) -> RouteContext:
        """The FastAPI route this path serves, as included in the app (its full path labels the
        request metrics, as the route FastAPI matches does)."""
        if self._route is None:
            self._route = next(
                r
                for r in iter_route_contexts(self.baton.routes)
                if r.path == ROUTE_PATH
                and isinstance(r.original_route, APIRoute)
                and "POST" in (r.original_route.methods or ())
            )
        return self._route

    async def _serve(self, scope: Scope, receive: Receive, send: Send, conversation_id: str) -> None:
        read = await _read_body(receive)  # the body limit around this middleware still counts it
        body = b"".join(m.get("body", b"") for m in read) if read[-1]["type"] == "http.request" else None
        taken = None if body is None else await self._take(scope, body)
        if taken is None:
            await self.app(scope, _replayed(read, receive), send)
            return
        principal, message = taken
        route = self.route
        endpoint = getattr(route.original_route, "endpoint", None)
        scope.update(route=route, endpoint=endpoint, path_params={"conversation_id": conversation_id})
        state = self.baton.state
        try:
            outcome = await state.turns.turn(principal, CustomerTurn(conversation_id, (message.text,)))
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # the server's error middleware answers 500, as it does for a route
            answer = handler(Request(scope, receive), exc)
            response = await answer if inspect.isawaitable(answer) else answer
            await response(scope, receive, send)
            return
        content = message_out(conversation_id, outcome).model_dump_json(by_alias=True).encode()
        headers = [(b"content-length", str(len(content)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _take(self, scope: Scope, body: bytes) -> tuple[Principal, MessageIn] | None:
        """The caller and the message when both are as FastAPI would take them; None otherwise."""
        headers = _first_headers(scope)
        if headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower() != b"application/json":
            return None  # FastAPI decides what else it reads as JSON
        try:
            message = MessageIn.model_validate_json(body)
        except ValidationError:
            return None
        token = _token(headers)
        if token is None:
            return None
        state = self.baton.state
        try:
            client = scope.get("client")
            host = client[0] if client else None
            principal = await resolve(token, state.admin_token, state.store, state.supervisors, host)
        except ApiError:
            return None
        return principal, message

    def _handler(self, exc: Exception) -> HTTPExceptionHandler | None:
        """The app's handler for ``exc`` as Starlette's exception middleware picks it (most specific
        class first); None for what only the server's error middleware handles (``Exception``, 500)."""
        handlers = self.baton.exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                handler: HTTPExceptionHandler = handlers[cls]
                return handler
        return None


def _first_headers(scope: Scope) -> dict[bytes, bytes]:
    """Each header's first value (what FastAPI's ``Header`` and Starlette's ``headers.get`` read)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers") or ():
        found.setdefault(name.lower(), value)
    return found


def _token(headers: dict[bytes, bytes]) -> str | None:
    """The bearer token as ``api.deps.get_principal`` reads it: ``Authorization: Bearer``, else
    ``x-api-key``."""
    token = None
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    api_key = headers.get(b"x-api-key", b"").decode("latin-1")
    return token or (api_key.strip() or None)


async def _read_body(receive: Receive) -> list[Message]:
    """The request's messages up to its last body part (or whatever else came instead)."""
    read = [await receive()]
    while read[-1]["type"] == "http.request" and read[-1].get("more_body", False):
        read.append(await receive())
    return read


def _replayed(read: list[Message], receive: Receive) -> Receive:
    """``receive`` with the messages already read handed back first, in order."""
    pending = list(reversed(read))

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
