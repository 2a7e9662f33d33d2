"""The WebSocket routes without the HTTP layers: a live socket's coroutine chain, short.

A socket's handler is awaited through every layer above it for as long as the socket is open, and each
layer is a coroutine frame (with its cells and locals) that every full garbage collection walks. Through
FastAPI, Starlette's middleware and its routers that was 20 frames per live socket, ~60% of what a
full collection walked with 1,000 sockets open (the relay's p99, benchmarks/README.md). The middleware
does nothing for a WebSocket (error pages, body limits, request metrics are HTTP's; the sockets check
their own tokens), so ``BatonApp`` calls a WebSocket route's endpoint directly. Anything the fast path
does not understand (a ``since`` that is not a number, an endpoint with dependencies) goes through
FastAPI as before, so its errors are FastAPI's.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI
from fastapi.routing import APIRouter, APIWebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from api.socket_limits import SLOTS_KEY

_NUMBER = re.compile(r"-?\d{1,18}")
_Route = tuple[re.Pattern[str], dict[str, Any], Callable[..., Awaitable[None]], bool]


def _direct(route: APIWebSocketRoute) -> bool:
    """Whether the endpoint takes only the socket, its path parameters and ``since``."""
    if route.dependencies:
        return False
    names = list(inspect.signature(route.endpoint).parameters)
    return bool(names) and set(names[1:]) <= set(route.param_convertors) | {"since"}


class BatonApp(FastAPI):
    """FastAPI, with WebSocket routes served past the middleware stack (see the module docstring)."""

    _socket_routes: tuple[_Route, ...] = ()

    def serve_sockets_directly(self, *routers: APIRouter) -> None:
        """Serve the WebSocket routes of ``routers`` (included without a prefix) past the stack."""
        self._socket_routes += tuple(
            (
                r.path_regex,
                r.param_convertors,
                r.endpoint,
                "since" in inspect.signature(r.endpoint).parameters,
            )
            for router in routers
            for r in router.routes
            if isinstance(r, APIWebSocketRoute) and _direct(r)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # One frame here instead of FastAPI's, Starlette's, every middleware's and the routers'.
        # (A plain function returning the endpoint's awaitable would add none, but servers take a
        # non-async __call__ for an ASGI 2 app.)
        if scope["type"] == "websocket":
            # The slots the socket takes once authenticated (api/socket_limits.py), given back however
            # its handler ends.
            slots: list[str] = []
            scope = {**scope, SLOTS_KEY: slots}
            try:
                direct = self.direct_socket(scope, receive, send)
                await (direct if direct is not None else super().__call__(scope, receive, send))
            finally:
                self.state.socket_limits.release(slots)
            return
        await super().__call__(scope, receive, send)

    def direct_socket(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None] | None:
        """The endpoint's call for a WebSocket this app serves directly; None: FastAPI serves it."""
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        for regex, convertors, endpoint, takes_since in self._socket_routes:
            match = regex.match(path)
            if match is None:
                continue
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            since = query.get("since", [None])[-1]
            if since is not None and not _NUMBER.fullmatch(since):
                return None  # FastAPI refuses it (1008) as it always did
            params = {k: convertors[k].convert(v) for k, v in match.groupdict().items()}
            kwargs = {**params, **({"since": int(since) if since else None} if takes_since else {})}
            socket = WebSocket({**scope, "app": self, "path_params": params}, receive, send)
            return endpoint(socket, **kwargs)
        return None
