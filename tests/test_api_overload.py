"""Load shedding: a worker at capacity refuses new customer turns with 503, never agent actions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_api_support import ADMIN, Api, api_settings, in_process

from api.app import create_app
from api.errors import ApiError
from api.limits import TurnGate


def test_gate_refuses_past_its_limit_and_admits_exempt_turns() -> None:
    gate = TurnGate(2, retry_after_s=3)
    with gate.admit(), gate.admit():
        with pytest.raises(ApiError) as refused, gate.admit():
            pass
        assert (refused.value.status, refused.value.code) == (503, "overloaded")
        assert refused.value.headers == {"Retry-After": "3"}
        with gate.admit(exempt=True):
            assert gate.running == 3
    assert gate.running == 0
    with gate.admit():  # slots come back when turns end, also when one fails
        with pytest.raises(RuntimeError), gate.admit():
            raise RuntimeError("turn failed")
        assert gate.running == 1


def test_a_zero_limit_admits_everything() -> None:
    gate = TurnGate(0)
    with gate.admit(), gate.admit(), gate.admit():
        assert gate.running == 3


class _Held:
    """Make the runtime's turns with text ``hold`` wait until released (a slow turn in flight)."""

    def __init__(self, app: Any) -> None:
        runtime = app.state.runtime
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        original = runtime.post_message

        async def post_message(conversation_id: str, text: Any, **kw: Any) -> Any:
            said = [text] if isinstance(text, str) else [m.content for m in text]
            if said == ["hold"]:
                self.entered.set()
                await self.release.wait()
            return await original(conversation_id, text, **kw)

        runtime.post_message = post_message


@pytest.fixture
async def one_slot(tmp_path: Path) -> AsyncIterator[tuple[Api, _Held]]:
    app = create_app(api_settings(tmp_path, max_concurrent_turns=1))
    async with in_process(app) as api:
        yield api, _Held(app)


async def test_full_worker_sheds_new_turns_but_not_agents_or_live_chats(one_slot: tuple[Api, _Held]) -> None:
    api, held = one_slot
    maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
    live, live_token = await api.conversation()
    handoff_id = (await api.to_a_person(live, live_token))["handoff"]["handoff_id"]
    busy, busy_token = await api.conversation()
    new, new_token = await api.conversation()

    slow = asyncio.create_task(api.say(busy, busy_token, "hold"))
    await asyncio.wait_for(held.entered.wait(), 10)

    refused = await api.http.post(
        f"/v1/conversations/{new}/messages", json={"text": "I want to sell"}, headers=api.auth(new_token)
    )
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "overloaded"
    assert int(refused.headers["retry-after"]) >= 1
    # Agent actions are never shed, and a chat a person holds keeps flowing.
    accepted = await api.act(handoff_id, "accept", maria)
    assert accepted.status_code == 200, accepted.text
    await api.say(live, live_token, "Are you there?")

    held.release.set()
    await asyncio.wait_for(slow, 10)
    # The refused message was not recorded; sent again it is, once.
    view = (await api.http.get(f"/v1/conversations/{new}", headers=api.auth(new_token))).json()
    assert view["transcript"] == []
    await api.say(new, new_token, "I want to sell")
    view = (await api.http.get(f"/v1/conversations/{new}", headers=api.auth(new_token))).json()
    assert [t["text"] for t in view["transcript"] if t["role"] == "customer"] == ["I want to sell"]
    metrics = (await api.http.get("/metrics", headers=api.auth(ADMIN))).text
    assert "baton_turns_shed_total 1.0" in metrics
