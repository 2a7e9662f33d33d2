"""The WebSocket routes are served past the middleware stack, and only when nothing is unusual."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_api_support import api_settings

from api.app import create_app


def _scope(path: str, query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
    }


async def _never() -> dict[str, Any]:  # pragma: no cover - the coroutines are not run
    raise AssertionError


async def _drop(message: dict[str, Any]) -> None:  # pragma: no cover
    raise AssertionError


@pytest.mark.parametrize(
    ("path", "query", "endpoint", "arguments"),
    [
        ("/v1/conversations/c-1/ws", b"since=3", "customer_socket", {"conversation_id": "c-1", "since": 3}),
        ("/v1/conversations/c-1/voice", b"", "voice_socket", {"conversation_id": "c-1", "since": None}),
        ("/v1/agents/agent-1/ws", b"token=x&since=-1", "agent_socket", {"agent_id": "agent-1", "since": -1}),
        ("/v1/desk/ws", b"", "desk_socket", {"since": None}),
    ],
)
def test_a_socket_route_is_its_endpoint_with_nothing_above_it(
    tmp_path: Path, path: str, query: bytes, endpoint: str, arguments: dict[str, Any]
) -> None:
    app = create_app(api_settings(tmp_path))
    call = app.direct_socket(_scope(path, query), _never, _drop)
    try:
        assert call.cr_code.co_name == endpoint  # type: ignore[attr-defined]
        given = call.cr_frame.f_locals  # type: ignore[attr-defined]
        assert {k: v for k, v in given.items() if k != "ws"} == arguments
        assert given["ws"].app is app  # what the endpoints read their services from
        assert given["ws"].path_params == {k: v for k, v in arguments.items() if k != "since"}
    finally:
        call.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/conversations/c-1/ws", b"since=abc"),  # FastAPI refuses it (1008), as it always did
        ("/v1/nowhere/ws", b""),  # no such route: FastAPI's close
    ],
)
def test_anything_else_goes_through_fastapi(tmp_path: Path, path: str, query: bytes) -> None:
    app = create_app(api_settings(tmp_path))
    assert app.direct_socket(_scope(path, query), _never, _drop) is None
