"""The LangGraph Platform API subset, driven by the official ``langgraph_sdk`` client in process.

The real app (desk, store, events) and the real graph over the in-memory checkpointer; nothing is
mocked. The client authenticates with the admin token as ``x-api-key``, as ``get_client(api_key=)``
does; human actions come from an agent who accepted the handoff through the desk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

from api.app import create_app
from graph.state import WaitingHandoff
from tests.test_api_support import ADMIN, api_settings

SELL = (
    "My name is Dana Whitfield. I'd like to sell my house at 12 Oak Street, we're relocating for a new job."
)
PRICE = "We'd like to sell within two months, hoping for around $850,000."
DISTRESS = "Honestly I'm devastated. My ex-husband's lawyer says there's a lien on the title."


@dataclass
class Sdk:
    """SDK clients of the admin and of an online agent (maria), over one app."""

    app: FastAPI
    http: httpx.AsyncClient
    admin: LangGraphClient
    agent: LangGraphClient
    agent_token: str

    async def accept(self, handoff_id: str) -> None:
        """Maria accepts the offer of ``handoff_id`` through the desk."""
        auth = {"Authorization": f"Bearer {self.agent_token}"}
        r = await self.http.post(f"/v1/handoffs/{handoff_id}/accept", headers=auth)
        assert r.status_code == 200, r.text


@pytest.fixture
async def sdk(tmp_path: Path) -> AsyncIterator[Sdk]:
    """The SDK over an ``ASGITransport`` to the full app (lifespan entered by hand), maria online."""
    app = create_app(api_settings(tmp_path, rate_limit_per_minute=1000))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as http,
            httpx.AsyncClient(
                transport=transport, base_url="http://test", timeout=60, headers={"x-api-key": ADMIN}
            ) as admin_http,
        ):
            body = {
                "id": "maria",
                "name": "Maria",
                "skills": {"real_estate": 0.9, "empathy": 0.8},
                "status": "online",
            }
            r = await http.post("/v1/agents", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
            token = r.json()["agent_token"]
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", timeout=60, headers={"x-api-key": token}
            ) as agent_http:
                yield Sdk(app, http, LangGraphClient(admin_http), LangGraphClient(agent_http), token)


@pytest.fixture
def client(sdk: Sdk) -> LangGraphClient:
    """The admin's SDK client."""
    return sdk.admin


def turn(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def texts(values: dict[str, Any]) -> list[str]:
    return [m["content"] for m in values["messages"]]


def bot_messages(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in values["messages"] if m["type"] != "human"]


async def new_thread(client: LangGraphClient) -> str:
    thread = await client.threads.create(metadata={"channel": "sdk-test"})
    return str(thread["thread_id"])


async def to_human(client: LangGraphClient, thread_id: str) -> dict[str, Any]:
    """Greeting, sell intent, then distress: the thread pauses at the human node."""
    for text in ("Hi", SELL):
        await client.runs.wait(thread_id, "baton", input=turn(text))
    result: dict[str, Any] = await client.runs.wait(thread_id, "baton", input=turn(DISTRESS))
    assert "__interrupt__" in result
    return result


async def held(sdk: Sdk, thread_id: str) -> str:
    """Pause the thread for a human and let maria accept it; returns the handoff id."""
    result = await to_human(sdk.admin, thread_id)
    handoff_id = str(result["__interrupt__"][0]["value"]["handoff_id"])
    await sdk.accept(handoff_id)
    return handoff_id


async def test_assistant_baton_is_the_graph(client: LangGraphClient) -> None:
    found = await client.assistants.search()
    assert [a["graph_id"] for a in found] == ["baton"]
    by_name = await client.assistants.get("baton")
    assert by_name == await client.assistants.get(found[0]["assistant_id"])
    assert await client.assistants.search(graph_id="other") == []
    graph = await client.assistants.get_graph("baton")
    assert {"router", "human_agent", "seller_bot"} <= {n["id"] for n in graph["nodes"]}
    with pytest.raises(NotFoundError):
        await client.assistants.get("agent")


async def test_thread_lifecycle(client: LangGraphClient) -> None:
    thread = await client.threads.create(thread_id="conv-1", metadata={"channel": "web"})
    assert thread["status"] == "idle"
    assert thread["values"] == {}
    with pytest.raises(ConflictError):
        await client.threads.create(thread_id="conv-1")
    same = await client.threads.create(thread_id="conv-1", if_exists="do_nothing")
    assert same["created_at"] == thread["created_at"]
    assert (await client.threads.get("conv-1"))["metadata"] == {"channel": "web"}
    assert [t["thread_id"] for t in await client.threads.search(metadata={"channel": "web"})] == ["conv-1"]
    await client.threads.delete("conv-1")
    with pytest.raises(NotFoundError):
        await client.threads.get("conv-1")


async def test_wait_returns_the_bot_reply(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    values = await client.runs.wait(thread_id, "baton", input=turn("Hi"))
    assert isinstance(values, dict)
    assert values["messages"][0] == {**values["messages"][0], "type": "human", "content": "Hi"}
    reply = values["messages"][-1]
    assert reply["type"] == "ai"
    assert reply["name"] == "concierge_bot"
    assert values["active_agent"] == "concierge_bot"
    assert "__interrupt__" not in values
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "idle"
    assert thread["metadata"]["graph_id"] == "baton"


async def test_handoff_pauses_with_a_typed_interrupt(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    result = await to_human(client, thread_id)
    payload = WaitingHandoff.model_validate(result["__interrupt__"][0]["value"])
    assert payload.trigger == "sentiment_based"
    assert payload.urgency in ("high", "critical")
    assert payload.brief["urgency"] == payload.urgency
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["human_agent"]
    [task] = state["tasks"]
    assert task["name"] == "human_agent"
    assert task["interrupts"][0]["value"] == result["__interrupt__"][0]["value"]
    assert state["interrupts"] == task["interrupts"]
    assert state["checkpoint"]["thread_id"] == thread_id
    assert state["parent_checkpoint"] is not None
    assert state["values"]["status"] == "awaiting_human"
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    assert thread["interrupts"] == {task["id"]: task["interrupts"]}


async def test_customer_turn_while_paused_does_not_resume(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    before = await to_human(client, thread_id)
    after = await client.runs.wait(thread_id, "baton", input=turn("Hello? Is anyone there?"))
    assert "__interrupt__" in after
    assert after["__interrupt__"][0]["value"]["waiting_customer_messages"] == 2
    assert len(bot_messages(after)) == len(bot_messages(before))  # nobody answered
    assert texts(after)[-1] == "Hello? Is anyone there?"
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["human_agent"]


async def test_resume_with_human_actions(sdk: Sdk) -> None:
    thread_id = await new_thread(sdk.admin)
    await held(sdk, thread_id)
    reply = {"type": "reply", "text": "Hi Dana, I'm Maria.", "agent_id": "someone-else"}
    values = await sdk.agent.runs.wait(thread_id, "baton", command={"resume": reply})
    assert texts(values)[-1] == "Hi Dana, I'm Maria."
    assert (
        values["messages"][-1]["additional_kwargs"]["agent_id"] == "maria"
    )  # the token says who, not the body
    assert values["status"] == "human"
    assert values["__interrupt__"][0]["value"]["waiting_customer_messages"] == 0  # paused for the next turn
    back = {"type": "return_to_ai", "note": "Lien cleared with the title company"}
    values = await sdk.agent.runs.wait(thread_id, "baton", command={"resume": back})
    assert "__interrupt__" not in values
    assert values["status"] == "bot"
    assert values["active_agent"] == "seller_bot"
    said = [m["content"] for m in values["messages"] if m.get("name") != "system"]
    assert "Lien cleared with the title company" not in " ".join(
        said
    )  # the note is the team's, not the customer's
    assert any("Lien cleared with the title company" in m["content"] for m in values["messages"])


async def test_resume_refused_when_not_paused(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    await client.runs.wait(thread_id, "baton", input=turn("Hi"))
    with pytest.raises(ConflictError) as refused:
        await client.runs.create(thread_id, "baton", command={"resume": {"type": "reply", "text": "hello"}})
    assert refused.value.body == {"error": {"code": "not_interrupted", "message": refused.value.message}}
    with pytest.raises(httpx.HTTPStatusError) as waited:
        await client.runs.wait(thread_id, "baton", command={"resume": {"type": "close"}})
    assert waited.value.response.status_code == 409
    assert (await client.runs.list(thread_id))[0]["status"] == "success"  # refused runs are never created


async def test_invalid_resume_payload_is_422(sdk: Sdk) -> None:
    thread_id = await new_thread(sdk.admin)
    await held(sdk, thread_id)
    for bad in ({"type": "approve"}, {"type": "reply"}, {"type": "reply", "text": ""}, "yes"):
        with pytest.raises(UnprocessableEntityError) as refused:
            await sdk.agent.runs.create(thread_id, "baton", command={"resume": bad})
        assert refused.value.body["error"]["code"] == "invalid_human_action"  # type: ignore[index]
    assert (await sdk.admin.threads.get_state(thread_id))["next"] == ["human_agent"]


async def test_unknown_assistant_thread_and_bad_input(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    with pytest.raises(NotFoundError) as missing:
        await client.runs.create(thread_id, "agent", input=turn("Hi"))
    assert missing.value.body["error"]["code"] == "assistant_not_found"  # type: ignore[index]
    with pytest.raises(httpx.HTTPStatusError) as waited:
        await client.runs.wait(thread_id, "agent", input=turn("Hi"))
    assert waited.value.response.status_code == 404
    with pytest.raises(NotFoundError):
        await client.runs.create("no-such-thread", "baton", input=turn("Hi"))
    with pytest.raises(UnprocessableEntityError):  # input carries customer turns only
        await client.runs.create(thread_id, "baton", input={"messages": [{"role": "ai", "content": "x"}]})
    with pytest.raises(UnprocessableEntityError):
        await client.runs.create(thread_id, "baton", input={"status": "closed"})
    with pytest.raises(UnprocessableEntityError):
        await client.runs.create(thread_id, "baton", input=turn("Hi"), interrupt_before=["router"])
    created = await client.runs.create("new-thread", "baton", input=turn("Hi"), if_not_exists="create")
    await client.runs.join("new-thread", created["run_id"])
    assert (await client.threads.get("new-thread"))["status"] == "idle"


async def test_stream_yields_metadata_values_updates_and_end(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    parts = [
        part
        async for part in client.runs.stream(
            thread_id, "baton", input=turn("Hi"), stream_mode=["values", "updates", "messages-tuple"]
        )
    ]
    events = [p.event for p in parts]
    assert events[0] == "metadata"
    assert events[-1] == "end"
    assert {"values", "updates", "messages"} <= set(events)
    run_id = parts[0].data["run_id"]
    assert parts[-1].data == {"run_id": run_id, "status": "success"}
    updates = [p.data for p in parts if p.event == "updates"]
    assert [next(iter(u)) for u in updates] == ["router", "concierge_bot"]
    message, metadata = next(p.data for p in parts if p.event == "messages")
    assert message["type"] == "ai"
    assert metadata["langgraph_node"] == "concierge_bot"
    final = [p.data for p in parts if p.event == "values"][-1]
    assert final["messages"][-1]["name"] == "concierge_bot"
    assert (await client.runs.get(thread_id, run_id))["status"] == "success"


async def test_stream_shows_the_interrupt(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    for text in ("Hi", SELL):
        await client.runs.wait(thread_id, "baton", input=turn(text))
    parts = [
        p
        async for p in client.runs.stream(
            thread_id, "baton", input=turn(DISTRESS), stream_mode=["updates", "messages"], version="v2"
        )
    ]
    kinds = [p["type"] for p in parts]
    assert kinds[0] == "metadata"
    assert {"messages/metadata", "messages/complete"} <= set(kinds)
    interrupts = [
        p["data"]["__interrupt__"] for p in parts if p["type"] == "updates" and "__interrupt__" in p["data"]
    ]
    assert interrupts[0][0]["value"]["trigger"] == "sentiment_based"
    run = (await client.runs.list(thread_id))[0]
    assert run["status"] == "interrupted"


async def test_background_run_status_and_join(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    run = await client.runs.create(thread_id, "baton", input=turn("Hi"), metadata={"source": "test"})
    assert run["status"] in ("pending", "running")
    assert run["thread_id"] == thread_id
    assert run["assistant_id"] == (await client.assistants.get("baton"))["assistant_id"]
    values = await client.runs.join(thread_id, run["run_id"])
    assert values["messages"][-1]["name"] == "concierge_bot"
    done = await client.runs.get(thread_id, run["run_id"])
    assert done["status"] == "success"
    assert done["metadata"] == {"source": "test"}
    second = await client.runs.create(thread_id, "baton", input=turn(SELL))
    await client.runs.join(thread_id, second["run_id"])
    listed = await client.runs.list(thread_id)
    assert [r["run_id"] for r in listed] == [second["run_id"], run["run_id"]]
    joined = [p async for p in client.runs.join_stream(thread_id, run["run_id"])]  # finished: ends at once
    assert [(p.event, p.data) for p in joined] == [
        ("metadata", {"run_id": run["run_id"], "attempt": 1}),
        ("end", {"run_id": run["run_id"], "status": "success"}),
    ]
    with pytest.raises(NotFoundError):
        await client.runs.get(thread_id, "no-such-run")


async def test_history_lists_checkpoints_newest_first(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    await to_human(client, thread_id)
    history = await client.threads.get_history(thread_id, limit=100)
    steps = [h["metadata"]["step"] for h in history]
    assert steps == sorted(steps, reverse=True)
    assert len(history) > 6
    for newer, older in pairwise(history):
        assert newer["parent_checkpoint"]["checkpoint_id"] == older["checkpoint"]["checkpoint_id"]
    assert history[0]["checkpoint"] == (await client.threads.get_state(thread_id))["checkpoint"]
    page = await client.threads.get_history(
        thread_id, limit=2, before=history[1]["checkpoint"]["checkpoint_id"]
    )
    assert [h["checkpoint"] for h in page] == [h["checkpoint"] for h in history[2:4]]
    past = await client.threads.get_state(thread_id, checkpoint_id=history[3]["checkpoint"]["checkpoint_id"])
    assert past["values"] == history[3]["values"]


async def test_fork_resume_decides_again_instead_of_replaying(sdk: Sdk) -> None:
    client = sdk.admin
    thread_id = await new_thread(client)
    await held(sdk, thread_id)
    paused = (await client.threads.get_state(thread_id))["checkpoint"]["checkpoint_id"]
    await client.runs.wait(thread_id, "baton", command={"resume": {"type": "reply", "text": "First answer."}})
    forked = await client.runs.wait(
        thread_id,
        "baton",
        checkpoint_id=paused,
        command={"resume": {"type": "reply", "text": "Second answer."}},
    )
    assert texts(forked)[-1] == "Second answer."
    assert "First answer." not in texts(forked)
    head = await client.threads.get_state(thread_id)
    assert texts(head["values"])[-1] == "Second answer."
    assert head["next"] == ["human_agent"]


async def test_fork_with_a_new_turn_reroutes(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    for text in ("Hi", SELL):
        await client.runs.wait(thread_id, "baton", input=turn(text))
    before_distress = (await client.threads.get_state(thread_id))["checkpoint"]["checkpoint_id"]
    await client.runs.wait(thread_id, "baton", input=turn(DISTRESS))
    values = await client.runs.wait(thread_id, "baton", checkpoint_id=before_distress, input=turn(PRICE))
    assert "__interrupt__" not in values
    assert values["status"] == "bot"
    assert values["active_agent"] == "seller_bot"
    assert DISTRESS not in texts(values)
    assert "$850,000" in texts(values)[-1]
    assert (await client.threads.get(thread_id))["status"] == "idle"
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await client.runs.wait(thread_id, "baton", checkpoint_id="1f0-nope", input=turn("Hi"))
    assert missing.value.response.status_code == 404


async def test_update_state_and_refusals(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    await client.runs.wait(thread_id, "baton", input=turn("Hi"))
    response = await client.threads.update_state(thread_id, {"customer": {"tier": "gold"}}, as_node="router")
    state = await client.threads.get_state(thread_id)
    assert response["checkpoint"] == state["checkpoint"]
    assert state["values"]["customer"] == {"tier": "gold"}
    with pytest.raises(UnprocessableEntityError):
        await client.threads.update_state(thread_id, {"status": "bot"}, as_node="no_such_node")
    with pytest.raises(UnprocessableEntityError):  # nothing writes as the human: that is what resume is for
        await client.threads.update_state(thread_id, {"status": "bot"}, as_node="human_agent")
    await client.runs.wait(thread_id, "baton", input=turn(SELL))
    await client.runs.wait(thread_id, "baton", input=turn(DISTRESS))
    with pytest.raises(ConflictError):  # a write on the paused head would drop the human's task
        await client.threads.update_state(thread_id, {"customer": {"tier": "silver"}}, as_node="router")
    assert (await client.threads.get_state(thread_id))["next"] == ["human_agent"]


async def test_conversation_started_elsewhere_is_adopted(sdk: Sdk) -> None:
    await sdk.app.state.runtime.post_message("from-baton-cli", "Hi")
    client = sdk.admin
    thread = await client.threads.get("from-baton-cli")
    assert thread["values"]["active_agent"] == "concierge_bot"
    values = await client.runs.wait("from-baton-cli", "baton", input=turn(SELL))
    assert values["active_agent"] == "seller_bot"
