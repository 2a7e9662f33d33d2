"""How a socket proves who it is, and that no token reaches a log line.

Browsers send the token in the first message (``{"type": "auth", "token": ...}``); other clients may
send ``Authorization: Bearer``; old clients' ``?token=`` still works and is redacted from every line
``baton serve`` writes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api.app import create_app
from tests.test_api_support import (
    ADMIN,
    Api,
    api_settings,
    events,
    next_event,
    serve_in_thread,
    serve_subprocesses,
)


async def _refusal(ws: ClientConnection) -> tuple[dict[str, Any], int]:
    """The error event a refused socket gets, and the close code that follows it."""
    error = json.loads(await asyncio.wait_for(ws.recv(), 10))
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return error, closed.value.rcvd.code


async def test_the_token_comes_in_the_first_message_a_bearer_header_or_the_old_query(
    tmp_path: Path,
) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            for via in ("message", "header", "query"):
                async with api.ws(f"/v1/conversations/{cid}/ws", token, via=via) as ws:
                    state = (await events(ws, 1))[0]
                    assert state["type"] == "handoff_state", via
                    assert state["snapshot"] is True
                    await ws.send(json.dumps({"type": "customer_message", "text": f"via {via}"}))
                    said = await next_event(ws, "customer_message")
                    assert said["text"] == f"via {via}"
                    await ws.send(json.dumps({"type": "auth", "token": token}))  # once is enough
                    again = await next_event(ws, "error")
                    assert again["code"] == "conflict"
                    assert token not in again["message"]
                    await ws.send(b"\x00binary")  # an error event, and the socket stays open
                    binary = await next_event(ws, "error")
                    assert binary["code"] == "validation_error"
                    assert "text frame" in binary["message"]
                    await ws.send(json.dumps({"type": "customer_message", "text": f"still {via}"}))
                    assert (await next_event(ws, "customer_message"))["text"] == f"still {via}"
            async with api.ws(f"/v1/conversations/{cid}/ws", ADMIN, via="header") as ws:
                assert (await events(ws, 1))[0]["snapshot"] is True  # the admin may follow any conversation


async def test_a_socket_that_does_not_authenticate_first_is_closed_4401(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, ws_ping_s=0.1, ws_idle_s=1.0)
    with serve_in_thread(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            _, other = await api.conversation()
            ws_url = url.replace("http", "ws", 1) + f"/v1/conversations/{cid}/ws"
            async with connect(ws_url) as ws:  # says nothing: no pings, no events, closed at the deadline
                error, code = await _refusal(ws)
            assert (error["type"], error["code"], code) == ("error", "unauthorized", 4401)
            assert "auth" in error["message"]
            first_messages: list[tuple[str, int]] = [
                (json.dumps({"type": "customer_message", "text": "let me in"}), 4401),
                ("not json", 4401),
                (json.dumps({"type": "auth", "token": ""}), 4401),
                (json.dumps({"type": "auth", "token": "cus_bogus"}), 4401),
                (json.dumps({"type": "auth", "token": other}), 4403),
            ]
            for first, expected in first_messages:
                async with connect(ws_url) as ws:
                    await ws.send(first)
                    error, code = await _refusal(ws)
                assert error["type"] == "error"
                assert code == expected, first
                assert other not in error["message"]
            view = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(token))).json()
            assert view["transcript"] == []  # the unauthenticated message was not taken as a turn
            assert view["seq"] == 0


@pytest.mark.slow
async def test_tokens_in_the_url_never_reach_the_server_log(tmp_path: Path) -> None:
    env = {
        "BATON_DATA_DIR": str(tmp_path / "baton"),
        "BATON_OFFLINE": "true",
        "BATON_ADMIN_TOKEN": ADMIN,
        "BATON_CHECKPOINT_URL": f"sqlite:///{tmp_path / 'cp.sqlite'}",
    }
    logs: list[Path] = []
    with serve_subprocesses(env, logs=logs) as [url]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            for secret in (token, ADMIN):
                async with api.ws(f"/v1/conversations/{cid}/ws", secret, since=0, via="query") as ws:
                    assert (await events(ws, 1))[0]["snapshot"] is True
            assert (await http.get(f"/healthz?token={ADMIN}&x=1")).status_code == 200
            with pytest.raises(InvalidStatus):  # refused at the handshake: logged by uvicorn's error logger
                async with connect(url.replace("http", "ws", 1) + f"/v1/nowhere/ws?token={token}"):
                    pass
    text = logs[0].read_text(errors="replace")
    logs[0].unlink()
    assert f"/v1/conversations/{cid}/ws?since=0&token=[redacted]" in text  # the lines were written
    assert "/healthz?token=[redacted]&x=1" in text
    assert "/v1/nowhere/ws?token=[redacted]" in text
    assert token not in text
    assert ADMIN not in text
