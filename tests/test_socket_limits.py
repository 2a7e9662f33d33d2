"""How many WebSockets one holder may keep open (api/socket_limits.py): one customer token once opened
1,000 on its conversation in 1.5 s, and nothing stopped it."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.auth import Principal
from api.errors import ApiError
from api.socket_limits import SocketLimits
from tests.test_api_support import ADMIN, Api, api_settings, next_event, serve_in_thread


async def _refused(ws: ClientConnection) -> tuple[dict[str, object], int | None]:
    error = await next_event(ws, "error")
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 10)
    return error, ws.close_code


async def test_a_holder_keeps_so_many_sockets_open_and_a_closed_one_frees_its_slot(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, ws_max_sockets=3, ws_max_sockets_per_client=5)
    with serve_in_thread(create_app(settings)) as url:
        import httpx

        async with httpx.AsyncClient(base_url=url, timeout=30) as http, AsyncExitStack() as stack:
            api = Api(url, http)
            cid, token = await api.conversation()
            path = f"/v1/conversations/{cid}/ws"
            held = [await stack.enter_async_context(api.ws(path, token)) for _ in range(3)]
            for ws in held:
                await next_event(ws, "handoff_state")
            async with api.ws(path, token) as fourth:
                error, code = await _refused(fourth)
            assert error["code"] == "too_many_sockets"
            assert "conversation" in str(error["message"])
            assert code == 4429
            await held[0].close()
            await asyncio.sleep(0.3)  # the server sees it gone
            async with api.ws(path, token) as again:
                await next_event(again, "handoff_state")
                await again.send(json.dumps({"type": "customer_message", "text": "Hi"}))
                assert (await next_event(again, "customer_message"))["text"] == "Hi"
            # the address: five customers' sockets at most, whatever the conversations (two are open)
            others = [await api.conversation() for _ in range(3)]
            extra = [
                await stack.enter_async_context(api.ws(f"/v1/conversations/{c}/ws", t)) for c, t in others
            ]
            for ws in extra:
                await next_event(ws, "handoff_state")
            other_cid, other_token = await api.conversation()
            async with api.ws(f"/v1/conversations/{other_cid}/ws", other_token) as over:
                error, code = await _refused(over)
            assert "this address" in str(error["message"])
            # the admin is not limited
            admin = [await stack.enter_async_context(api.ws(path, ADMIN)) for _ in range(4)]
            for ws in admin:
                await next_event(ws, "handoff_state")


def test_slots_are_counted_per_holder_and_given_back() -> None:
    limits = SocketLimits(per_holder=2, per_client=0)
    maria = Principal("agent", "maria", "10.0.0.1")
    first: list[str] = []
    second: list[str] = []
    limits.take(maria, first)
    limits.take(maria, second)
    with pytest.raises(ApiError) as refused:
        limits.take(maria, [])
    assert refused.value.status == 429
    assert "this agent" in refused.value.message
    limits.take(Principal("agent", "lee"), [])  # another agent counts apart
    limits.release(first)
    limits.take(maria, [])
    limits.release(second)
    assert limits.open["agent:maria"] == 1
    limits.take(maria, None)  # a socket served without the app's wrapper is not counted
    assert limits.open["agent:maria"] == 1
