"""A socket's follower ends: a client gone mid-send is a normal close, anything else an error."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from api.ws_socket import LiveSocket


class _Ws:
    def __init__(self) -> None:
        self.app = SimpleNamespace()
        self.closed: list[int] = []

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed.append(code)


async def _end_with(failure: BaseException, caplog: pytest.LogCaptureFixture) -> tuple[list[int], list[Any]]:
    ws = _Ws()
    sock = LiveSocket(ws, "customer", "conv:c-1", 0)  # type: ignore[arg-type]

    async def follow() -> None:
        raise failure

    task = asyncio.create_task(follow())
    with pytest.raises(type(failure)):
        await task
    with caplog.at_level(logging.ERROR, logger="api.ws_socket"):
        sock._follower_done(task)
        await asyncio.sleep(0)  # the close runs as a short task
        await asyncio.sleep(0)
    return ws.closed, [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_client_gone_while_an_event_was_sent_is_no_error(caplog: pytest.LogCaptureFixture) -> None:
    closed, errors = await _end_with(WebSocketDisconnect(code=1006), caplog)
    assert closed == [1000]
    assert errors == []


async def test_a_follower_that_fails_is_logged_and_closes_1011(caplog: pytest.LogCaptureFixture) -> None:
    closed, errors = await _end_with(RuntimeError("the stream broke"), caplog)
    assert closed == [1011]
    assert [r.getMessage() for r in errors] == ["customer socket follower failed"]
