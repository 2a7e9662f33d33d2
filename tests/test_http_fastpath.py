"""The customer's message route past FastAPI's router (``api/http_fastpath.py``): it serves a well-formed
message with a known token itself, answers exactly what FastAPI answers for the same request (the
turn's replies, the errors the turn raises, a failure), and hands everything else to FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_api_support import ADMIN, Api, api_settings, in_process

import api.http_fastpath
from api.app import create_app
from api.http_fastpath import MessageFastPath
from api.turns import TurnService

ROUTE = "/v1/conversations/{conversation_id}/messages"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Api, Any]]:
    app = create_app(api_settings(tmp_path, rate_limit_per_minute=3))
    async with in_process(app) as api:
        yield api, app


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the fast path took each message request (False: it went to FastAPI)."""
    decisions: list[bool] = []
    original = MessageFastPath._take

    async def spy(self: MessageFastPath, scope: Any, body: bytes) -> Any:
        found = await original(self, scope, body)
        decisions.append(found is not None)
        return found

    monkeypatch.setattr(MessageFastPath, "_take", spy)
    return decisions


def through_fastapi(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the fast path hands every message to FastAPI (what the route answered before it)."""

    async def decline(self: MessageFastPath, scope: Any, body: bytes) -> None:
        return None

    monkeypatch.setattr(MessageFastPath, "_take", decline)


async def both_ways(
    api: Api, monkeypatch: pytest.MonkeyPatch, text: str
) -> tuple[tuple[str, str], httpx.Response, httpx.Response]:
    """``text`` posted in a new conversation (the fast path), then in another once every message goes
    through FastAPI: the first conversation (id, customer token) and the two answers."""

    async def post() -> tuple[tuple[str, str], httpx.Response]:
        cid, token = await api.conversation()
        path = f"/v1/conversations/{cid}/messages"
        return (cid, token), await api.http.post(path, json={"text": text}, headers=api.auth(token))

    first, fast = await post()
    through_fastapi(monkeypatch)
    _, slow = await post()
    return first, fast, slow


def _same_answer(fast: httpx.Response, slow: httpx.Response) -> None:
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert fast.headers.get("content-type") == slow.headers.get("content-type")
    if fast.status_code == 429:  # the seconds to wait may differ by one between the two passes
        assert fast.json()["error"]["code"] == slow.json()["error"]["code"] == "rate_limited"
        assert int(fast.headers["retry-after"]) >= 1
        assert int(slow.headers["retry-after"]) >= 1
    elif fast.status_code == 200:
        assert set(fast.json()) == set(slow.json())
    else:
        assert fast.content == slow.content


async def test_a_customer_message_is_served_past_the_router_with_the_routes_answer(
    served: tuple[Api, Any], taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = served
    (fast_cid, fast_token), fast, slow = await both_ways(api, monkeypatch, "Hi")
    assert taken == [True]
    assert fast.status_code == slow.status_code == 200
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
    assert fast.json() == {**slow.json(), "conversation_id": fast_cid}
    assert fast.json()["replies"], "the bot answered"
    # The turn was recorded like any other: the transcript holds the customer's line and the reply.
    got = await api.http.get(f"/v1/conversations/{fast_cid}", headers=api.auth(fast_token))
    said = [turn["text"] for turn in got.json()["transcript"]]
    assert said[0] == "Hi"
    assert len(said) == 2


async def test_a_handoff_the_turn_starts_is_answered_as_the_route_answers_it(
    served: tuple[Api, Any], taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = served
    await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
    _, fast_answer, slow_answer = await both_ways(api, monkeypatch, "Can I talk to a real person please?")
    assert fast_answer.status_code == slow_answer.status_code == 200
    fast, slow = fast_answer.json(), slow_answer.json()
    assert taken == [True]
    assert fast["handoff"] is not None
    assert slow["handoff"] is not None
    assert set(fast["handoff"]) == set(slow["handoff"])
    assert fast["handoff"]["kind"] == slow["handoff"]["kind"] == "human"
    assert fast["status"] == slow["status"]


async def test_errors_the_turn_raises_are_the_apps_own_answers(
    served: tuple[Api, Any], taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = served
    _, first_token = await api.conversation()
    other, _ = await api.conversation()
    limited, limited_token = await api.conversation()

    async def answers() -> list[httpx.Response]:
        # Another customer's conversation (403, raised by the turn service's admission), an unknown one
        # for the admin (404), and the fourth message in a minute at 3 a minute (429 with Retry-After).
        out = [
            await api.http.post(f"/v1/conversations/{other}/messages", json={"text": "Hi"}, headers=api.auth(first_token)),
            await api.http.post("/v1/conversations/c-nobody/messages", json={"text": "Hi"}, headers=api.auth(ADMIN)),
        ]  # fmt: skip
        for _ in range(4):
            out.append(
                await api.http.post(
                    f"/v1/conversations/{limited}/messages",
                    json={"text": "Hi"},
                    headers=api.auth(limited_token),
                )
            )
        return out

    fast = await answers()
    assert all(taken), "a well-formed request with a known token is the fast path's, whatever the turn says"
    assert [r.status_code for r in fast] == [403, 404, 200, 200, 200, 429]
    through_fastapi(monkeypatch)
    limited, limited_token = await api.conversation()  # a fresh minute of its own
    slow = await answers()
    for one, two in zip(fast, slow, strict=True):
        _same_answer(one, two)
    assert int(fast[-1].headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"text": ""}', {"content-type": "application/json"}, 422),
        (b'{"text": "Hi", "extra": 1}', {"content-type": "application/json"}, 422),
        (b'{"text": ', {"content-type": "application/json"}, 422),
        (b'{"text": "Hi"}', {"content-type": "text/plain"}, 422),
        (b'{"text": "Hi"}', {"content-type": "application/jsonp"}, 422),
        (b'{"text": "Hi"}', {"content-type": "application/json", "authorization": "Bearer cus_unknown"}, 401),
        (b'{"text": "Hi"}', {"content-type": "application/json", "authorization": ""}, 401),
    ],
)
async def test_what_the_fast_path_does_not_take_goes_to_fastapi_unchanged(
    served: tuple[Api, Any], taken: list[bool], body: bytes, headers: dict[str, str], status: int
) -> None:
    api, _ = served
    cid, token = await api.conversation()
    sent = {"authorization": f"Bearer {token}", **headers}
    reply = await api.http.post(f"/v1/conversations/{cid}/messages", content=body, headers=sent)
    assert reply.status_code == status, reply.text
    assert taken == [False]
    if status >= 400:
        assert reply.json()["error"]["code"] in ("validation_error", "invalid_token", "unauthorized")


async def test_the_request_metrics_name_the_route_and_a_failure_is_the_servers_500(
    served: tuple[Api, Any], taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, app = served
    cid, token = await api.conversation()
    await api.say(cid, token, "Hi")

    async def broken(self: TurnService, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(TurnService, "turn", broken)
    # The server's error middleware answers 500 and raises on (to the server, which logs it).
    quiet = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=quiet, base_url="http://test", timeout=30) as http:
        failed = await http.post(
            f"/v1/conversations/{cid}/messages", json={"text": "Hi"}, headers=api.auth(token)
        )
    assert taken == [True, True]
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "internal_error"
    metrics = (await api.http.get("/metrics", headers=api.auth(ADMIN))).text
    counted = f'baton_http_requests_total{{method="POST",route="{ROUTE}",status='
    assert counted + '"200"} 1.0' in metrics
    assert counted + '"500"} 1.0' in metrics


def test_the_route_stays_in_the_openapi_document(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path))
    operation = app.openapi()["paths"][ROUTE]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("MessageIn")
    assert api.http_fastpath.ROUTE_PATH == ROUTE
