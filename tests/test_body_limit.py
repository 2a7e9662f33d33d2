"""``BodySizeLimit``: a body over the limit is a 413 with the JSON envelope, declared or streamed; a body
within it reaches the app and costs no refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

import api.limits
from api.errors import error_response
from api.limits import BodySizeLimit


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def _call(app: BodySizeLimit, chunks: list[bytes], declared: int | None) -> tuple[int, bytes]:
    headers = [(b"host", b"x")] + ([(b"content-length", str(declared).encode())] if declared else [])
    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    built: list[int] = []

    def counting(status: int, *args: Any, **kwargs: Any) -> Any:
        built.append(status)
        return error_response(status, *args, **kwargs)

    monkeypatch.setattr(api.limits, "error_response", counting)
    return built


async def test_a_body_within_the_limit_reaches_the_app_and_builds_no_refusal(refusals: list[int]) -> None:
    app = BodySizeLimit(_echo, max_bytes=10)
    assert await _call(app, [b"hello", b"world"], declared=10) == (200, b"helloworld")
    assert refusals == []


@pytest.mark.parametrize("declared", [11, None], ids=["declared", "streamed"])
async def test_a_body_over_the_limit_is_a_413_envelope(refusals: list[int], declared: int | None) -> None:
    app = BodySizeLimit(_echo, max_bytes=10)
    status, body = await _call(app, [b"hello", b"world!"], declared=declared)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert refusals == [413]
