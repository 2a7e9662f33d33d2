"""The compat router served by a real uvicorn process, driven by ``langgraph_sdk.get_client(url=...)``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    """``uvicorn --factory compat_app:create_app`` on a free port; stopped after the test."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith(("OPENAI_API_KEY", "OPENAI_BASE_URL"))}
    env |= {
        "BATON_COMPAT_DIR": str(tmp_path),
        "BATON_DATA_DIR": str(tmp_path / "baton"),
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path / "uvicorn.log").open("wb")
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "compat_app:create_app",
        "--app-dir",
        str(ROOT / "tests"),
    ]
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"uvicorn exited: {(tmp_path / 'uvicorn.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/assistants/baton", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("uvicorn did not start within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def test_sdk_over_http(server_url: str) -> None:
    async with get_client(url=server_url, api_key=None) as client:
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
