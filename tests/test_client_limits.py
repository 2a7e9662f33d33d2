"""Limits per client address: no account is needed to start a conversation, so one address must not
open conversations without end nor send them costly turns without end (api/client_limits.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.client_limits import ClientLimits, client_key
from api.errors import ApiError
from api.limits import RateLimiter
from tests.test_api_support import ADMIN, Api, api_settings, next_event, serve_in_thread


def _from(address: str) -> dict[str, str]:
    # uvicorn takes the client's address from X-Forwarded-For when the proxy (here 127.0.0.1) is trusted
    return {"X-Forwarded-For": address}


async def _start(http: httpx.AsyncClient, address: str, **headers: str) -> httpx.Response:
    return await http.post("/v1/conversations", headers={**_from(address), **headers})


async def _say(http: httpx.AsyncClient, made: dict[str, Any], text: str, address: str) -> httpx.Response:
    return await http.post(
        f"/v1/conversations/{made['conversation_id']}/messages",
        json={"text": text},
        headers={**Api.auth(made["customer_token"]), **_from(address)},
    )


def _refused(r: httpx.Response, what: str) -> None:
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "rate_limited"
    assert f"too many {what} from this address" in error["message"]
    assert 1 <= int(r.headers["Retry-After"]) <= 60


async def test_an_address_starts_so_many_conversations_a_minute_and_the_admin_any(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path, client_conversations_per_minute=3))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            for _ in range(3):
                assert (await _start(http, "203.0.113.5")).status_code == 201
            _refused(await _start(http, "203.0.113.5"), "new conversations")
            assert (await _start(http, "198.51.100.7")).status_code == 201  # another address counts apart
            # a backend that creates conversations for its customers uses the admin token
            admin = await _start(http, "203.0.113.5", Authorization=f"Bearer {ADMIN}")
            assert admin.status_code == 201, admin.text
            # one IPv6 subscriber's /64 is one client
            assert (await _start(http, "2001:db8:1:2::1")).status_code == 201
            assert (await _start(http, "2001:db8:1:2:ffff::9")).status_code == 201
            assert (await _start(http, "2001:db8:1:2:abcd::1")).status_code == 201
            _refused(await _start(http, "2001:db8:1:2::77"), "new conversations")
            assert (await _start(http, "2001:db8:1:3::1")).status_code == 201


async def test_an_address_sends_so_many_messages_a_minute_over_all_its_conversations(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path, client_messages_per_minute=5))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            made = [(await _start(http, "127.0.0.1")).json() for _ in range(3)]
            for conversation in made[:2]:
                for text in ("Hi", "I want to sell my house"):
                    assert (await _say(http, conversation, text, "127.0.0.1")).status_code == 200
            # the fifth message of the address, over its socket (the same door counts it)
            cid, token = made[2]["conversation_id"], made[2]["customer_token"]
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                await ws.send(json.dumps({"type": "customer_message", "text": "Hi there"}))
                assert (await next_event(ws, "customer_message"))["text"] == "Hi there"
                await ws.send(json.dumps({"type": "customer_message", "text": "still there?"}))
                refused = await next_event(ws, "error")
                assert refused["code"] == "rate_limited"
            _refused(await _say(http, made[2], "Hello?", "127.0.0.1"), "messages")
            other = (await _start(http, "198.51.100.7")).json()
            assert (await _say(http, other, "Hi", "198.51.100.7")).status_code == 200
            # the admin (a trusted backend) posts for a customer past the address's limit
            r = await http.post(
                f"/v1/conversations/{cid}/messages",
                json={"text": "Hello from the CRM"},
                headers=Api.auth(ADMIN),
            )
            assert r.status_code == 200, r.text
            view = (await http.get(f"/v1/conversations/{cid}", headers=Api.auth(ADMIN))).json()
    said = [m["text"] for m in view["transcript"] if m["role"] == "customer"]
    assert said == ["Hi there", "Hello from the CRM"]  # nothing refused was kept


async def test_long_messages_use_up_an_address_characters_and_short_ones_fit_after(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path, client_chars_per_minute=9_000))
    long_text = "I want to sell my house on Elm Street, please help me. " * 70  # 3,850 characters
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            made = [(await _start(http, "203.0.113.5")).json() for _ in range(3)]
            assert (await _say(http, made[0], long_text, "203.0.113.5")).status_code == 200
            assert (await _say(http, made[1], long_text, "203.0.113.5")).status_code == 200
            _refused(await _say(http, made[2], long_text, "203.0.113.5"), "characters of messages")
            assert (await _say(http, made[2], "Hi, are you there?", "203.0.113.5")).status_code == 200


async def test_a_limit_set_to_zero_is_off(tmp_path: Path) -> None:
    limits = ClientLimits.from_settings(
        api_settings(tmp_path, client_conversations_per_minute=0, client_chars_per_minute=0)
    )
    assert limits.conversations is None
    assert limits.characters is None
    assert limits.messages is not None
    for _ in range(limits.messages.limit):  # 300 new conversations and 1.2 million characters pass
        await limits.new_conversation("203.0.113.5")
        await limits.customer_turn("203.0.113.5", ["x" * 4000])
    with pytest.raises(ApiError):  # the message count is still on
        await limits.customer_turn("203.0.113.5", ["x"])


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("testclient", "testclient"),
        (None, None),
        ("", None),
    ],
)
def test_a_client_counts_by_its_address_or_its_ipv6_block(host: str | None, key: str | None) -> None:
    assert client_key(host) == key


async def test_weighted_hits_expire_in_order_and_the_wait_is_until_enough_has() -> None:
    now = [0.0]
    limiter = RateLimiter(10, what="characters", clock=lambda: now[0])
    await limiter.check("a", 6)
    now[0] = 20.0
    await limiter.check("a", 3)
    with pytest.raises(ApiError) as refused:
        await limiter.check("a", 5)  # 6 + 3 + 5 > 10: the first hit must expire, at t=60
    assert refused.value.headers["Retry-After"] == "40"
    assert "too many characters" in refused.value.message
    await limiter.check("a", 1)  # a refused hit was not counted: 6 + 3 + 1 fits
    now[0] = 60.0
    await limiter.check("a", 5)  # the 6 expired
    await limiter.check("b", 500)  # heavier than the limit: counts as the limit, and passes alone
    with pytest.raises(ApiError):
        await limiter.check("b", 1)
