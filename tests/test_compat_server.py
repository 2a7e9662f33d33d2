"""The compat API of a real ``baton serve`` process, driven by ``langgraph_sdk.get_client(url=, api_key=)``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import AuthenticationError

from tests.test_api_support import ADMIN, serve_subprocesses


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    """``baton serve`` on the embedded defaults (SQLite, in-process desk, offline model)."""
    env = {
        "BATON_DATA_DIR": str(tmp_path / "baton"),
        "BATON_ADMIN_TOKEN": ADMIN,
        "BATON_CASE_MEMORY": "false",
        "BATON_OFFLINE": "true",
    }
    with serve_subprocesses(env) as [url]:
        yield url


async def test_sdk_over_http(server_url: str) -> None:
    async with get_client(url=server_url, api_key=None) as anonymous:
        with pytest.raises(AuthenticationError):
            await anonymous.assistants.search(graph_id="baton")
    async with get_client(url=server_url, api_key=ADMIN) as client:
        [assistant] = await client.assistants.search(graph_id="baton")
        thread = await client.threads.create(metadata={"channel": "http"})
        thread_id = thread["thread_id"]
        values = await client.runs.wait(
            thread_id, assistant["assistant_id"], input={"messages": [{"role": "user", "content": "Hi"}]}
        )
        assert values["messages"][-1]["name"] == "concierge_bot"
        text = "I'd like to sell my house at 12 Oak Street."
        parts = [
            part
            async for part in client.runs.stream(
                thread_id,
                "baton",
                input={"messages": [{"type": "human", "content": text}]},
                stream_mode="updates",
            )
        ]
        assert parts[0].event == "metadata"
        assert parts[-1].event == "end"
        assert "seller_bot" in {key for p in parts if p.event == "updates" for key in p.data}
        state = await client.threads.get_state(thread_id)
        assert state["values"]["active_agent"] == "seller_bot"
        run = await client.runs.get(thread_id, parts[0].data["run_id"])
        assert run["status"] == "success"
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await client.runs.wait(thread_id, "baton", command={"resume": {"type": "close"}})
        assert refused.value.response.status_code == 409


async def test_customer_token_drives_its_own_conversation(server_url: str) -> None:
    """The README's recipe: create the conversation over REST, then use its customer token as api_key."""
    async with httpx.AsyncClient(base_url=server_url) as http:
        created = (await http.post("/v1/conversations")).json()
    cid, token = created["conversation_id"], created["customer_token"]
    async with get_client(url=server_url, api_key=token) as client:
        values = await client.runs.wait(cid, "baton", input={"messages": [{"role": "user", "content": "Hi"}]})
        assert values["messages"][-1]["name"] == "concierge_bot"
        assert "signals" not in values
        with pytest.raises(httpx.HTTPStatusError) as other:
            await client.threads.get_state("c-someone-else")
        assert other.value.response.status_code == 403
