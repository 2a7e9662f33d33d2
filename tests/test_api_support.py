"""Shared helpers of the API tests: a real uvicorn server (thread or subprocess) and typed clients."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import make_settings

ADMIN = "admin-test-token"
SELL = (
    "My name is Dana Whitfield. I'd like to sell my house at 12 Oak Street, we're relocating for a new job."
)
DISTRESS = "Honestly I'm devastated. My ex-husband's lawyer says there's a lien on the title."
ROOT = Path(__file__).resolve().parent.parent
TokenVia = Literal["message", "header", "query"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under a real uvicorn server in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            out = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"baton serve exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("baton serve did not become ready")
        time.sleep(0.2)


@contextmanager
def serve_subprocesses(
    *envs: dict[str, str], workers: int = 1, logs: list[Path] | None = None
) -> Iterator[list[str]]:
    """``baton serve`` as real subprocesses started together; yields their URLs once all are ready.

    Each server's stdout and stderr go to a file; ``logs``, when given, receives their paths.
    """
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    paths: list[Path] = []
    try:
        for env in envs:
            paths.append(Path(tempfile.mkstemp(prefix="baton-serve-", suffix=".log")[1]))
            port = free_port()
            full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
            cmd = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", str(workers)]
            # a file, not a pipe nobody reads (once full, it blocks the server)
            with paths[-1].open("wb") as out:
                procs.append(subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        if logs is not None:
            logs.extend(paths)
        for proc, url, log in zip(procs, urls, paths, strict=True):
            _wait_ready(proc, url, log)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@asynccontextmanager
async def in_process(app: FastAPI, *, timeout: float = 60) -> AsyncIterator[Api]:
    """``app`` with its lifespan entered and a client that calls it in process (no socket, no server)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=timeout) as http:
            yield Api("http://test", http)


def api_settings(tmp_path: Path, **extra: Any) -> Any:
    """Offline settings with a fixed admin token, in-memory checkpoints and fast timers."""
    base: dict[str, Any] = {"checkpoint_url": "memory", "admin_token": ADMIN, "desk_tick_s": 0.2}
    return make_settings(tmp_path, **{**base, **extra})


@dataclass
class Api:
    """An httpx client plus helpers for the Baton API."""

    url: str
    http: httpx.AsyncClient

    @staticmethod
    def auth(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def conversation(self, **profile: Any) -> tuple[str, str]:
        body = {"customer": profile} if profile else None
        r = await self.http.post("/v1/conversations", json=body)
        assert r.status_code == 201, r.text
        data = r.json()
        return data["conversation_id"], data["customer_token"]

    async def say(self, cid: str, token: str, text: str) -> dict[str, Any]:
        r = await self.http.post(
            f"/v1/conversations/{cid}/messages", json={"text": text}, headers=self.auth(token)
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def to_a_person(self, cid: str, token: str) -> dict[str, Any]:
        """Say hello, ask to sell, then speak of distress and a lien: the turn that hands off to a person."""
        for text in ("Hi", SELL):
            await self.say(cid, token, text)
        return await self.say(cid, token, DISTRESS)

    async def agent(self, agent_id: str, skills: dict[str, float], status: str = "online") -> str:
        body = {"id": agent_id, "name": agent_id, "skills": skills, "status": status}
        r = await self.http.post("/v1/agents", json=body, headers=self.auth(ADMIN))
        assert r.status_code == 201, r.text
        return str(r.json()["agent_token"])

    async def act(
        self, handoff_id: str, action: str, token: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.http.post(
            f"/v1/handoffs/{handoff_id}/{action}", json=body, headers=self.auth(token)
        )

    @asynccontextmanager
    async def ws(
        self, path: str, token: str, since: int | None = None, *, via: TokenVia = "message"
    ) -> AsyncIterator[ClientConnection]:
        """A socket on ``path``; the token goes in the first message (as browsers send it) by default.

        ``via="header"`` sends ``Authorization: Bearer`` (other clients), ``"query"`` the legacy
        ``?token=`` (still accepted, redacted from the logs).
        """
        query: dict[str, str | int] = {} if since is None else {"since": since}
        headers = {}
        if via == "query":
            query["token"] = token
        elif via == "header" and token:
            headers["Authorization"] = f"Bearer {token}"
        url = self.url.replace("http", "ws", 1) + path + (f"?{urlencode(query)}" if query else "")
        async with connect(url, additional_headers=headers, open_timeout=10) as ws:
            if via == "message":
                await ws.send(json.dumps({"type": "auth", "token": token}))
            yield ws


async def next_event(ws: ClientConnection, type_: str, timeout: float = 15) -> dict[str, Any]:
    """The next event of ``type_`` (others are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        raw = await asyncio.wait_for(ws.recv(), timeout=max(0.01, remaining))
        event = json.loads(raw)
        if event["type"] == "ping" and type_ != "ping":
            await ws.send('{"type": "pong"}')  # a well-behaved client answers heartbeats
        if event["type"] == type_:
            return dict(event)


async def events(ws: ClientConnection, n: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The next ``n`` sequenced events (pings skipped)."""
    out: list[dict[str, Any]] = []
    while len(out) < n:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
        if event["type"] != "ping":
            out.append(event)
    return out


async def quiet(ws: ClientConnection, seconds: float = 0.5) -> list[dict[str, Any]]:
    """Whatever sequenced events arrive within ``seconds`` (expected: none)."""
    got: list[dict[str, Any]] = []
    try:
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=seconds))
            if event["type"] != "ping":
                got.append(event)
    except TimeoutError:
        return got
