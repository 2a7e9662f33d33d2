"""Start a real ``baton serve`` (uvicorn) in a subprocess for fault tests and benchmarks, plus clients.

``BatonServer`` picks a free port, runs the server with its own environment and data directory,
waits for ``/healthz``, and can be stopped gracefully, killed with SIGKILL, and restarted on the
same data directory and port. It also reads the resident memory of the server's process tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux ``/proc``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += _children(current)
    return found


def rss_kb(pid: int) -> int:
    """Resident set size of one process in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class BatonServer:
    """One ``baton serve`` subprocess on 127.0.0.1.

    Args:
        data_dir: ``BATON_DATA_DIR`` (kept across restarts).
        admin_token: ``BATON_ADMIN_TOKEN``.
        workers: ``--workers``.
        env: Extra ``BATON_*`` variables (checkpoint/redis URLs, desk config, ...).
        port: Fixed port (default: a free one, kept across restarts).
        log_path: Where stdout/stderr go (default: ``data_dir/../server.log``).
        serve_args: More ``baton serve`` options (e.g. ``--shared-socket``).
        root: The checkout the server runs from (another one's code, e.g. a git worktree, for an A/B).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        admin_token: str = "adm_test_token",
        workers: int = 1,
        env: dict[str, str] | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        serve_args: tuple[str, ...] = (),
        root: Path = ROOT,
    ) -> None:
        self.root = root
        self.data_dir = data_dir
        self.serve_args = serve_args
        self.admin_token = admin_token
        self.workers = workers
        self.extra_env = dict(env or {})
        self.port = port or free_port()
        self.log_path = log_path or data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """Base WebSocket URL."""
        return f"ws://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The server's environment: this process's, minus model keys, plus the Baton settings."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATON_OPENAI_API_KEY", "BATON_OPENAI_BASE_URL")
        }
        env.update(
            {
                "BATON_DATA_DIR": str(self.data_dir),
                "BATON_ADMIN_TOKEN": self.admin_token,
                "BATON_OFFLINE": "true",
                "BATON_POLICY": str(POLICIES / "real_estate.yaml"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> BatonServer:
        """Start the server and wait until ``/healthz`` answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        cmd = [
            sys.executable,
            "-c",
            "from api.cli import app; app()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            *self.serve_args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Poll ``/healthz`` (and ``/readyz``) until both answer 200."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                msg = f"baton serve exited with {self.proc.returncode}; log:\n{self.tail()}"
                raise RuntimeError(msg)
            try:
                ok = httpx.get(self.url + "/healthz", timeout=2).status_code == 200
                ready = httpx.get(self.url + "/readyz", timeout=5).status_code == 200
                if ok and ready:
                    return
                last = "not ready"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        msg = f"baton serve not ready after {timeout}s ({last}); log:\n{self.tail()}"
        raise TimeoutError(msg)

    def tail(self, lines: int = 40) -> str:
        """Last lines of the server log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The server process and its workers."""
        return tree_pids(self.proc.pid) if self.proc is not None else []

    def rss_mb(self) -> float:
        """Total resident memory of the process tree in MiB."""
        return sum(rss_kb(p) for p in self.pids()) / 1024

    def kill9(self) -> None:
        """SIGKILL the whole process group (server and workers): no shutdown code runs."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait; SIGKILL if it does not exit in time."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill9()
        self.proc = None

    def restart(self, *, kill: bool = False, timeout: float = 60.0) -> None:
        """Stop (or SIGKILL) and start again on the same port and data directory."""
        if kill:
            self.kill9()
        else:
            self.stop()
        self.start(timeout)

    def __enter__(self) -> BatonServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def fresh_postgres(base_url: str) -> str:
    """Create an empty database next to ``base_url``'s and return its URL.

    Scaled servers recover every unfinished handoff they find in the store at start-up, so each run
    gets its own database instead of sharing one with every earlier run.
    """
    import psycopg

    name = f"baton_{uuid.uuid4().hex[:12]}"
    root, _, _ = base_url.rpartition("/")
    with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{root}/{name}"


def drop_postgres(url: str) -> None:
    """Drop a database made by ``fresh_postgres`` (no error if it is gone)."""
    import psycopg

    root, _, name = url.rpartition("/")
    with contextlib.suppress(psycopg.Error), psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- clients of the fault tests -------------------------------------------------------------------
TRIGGER = "Can I talk to a real person please?"


def admin(server: BatonServer) -> dict[str, str]:
    """Admin bearer header."""
    return {"Authorization": f"Bearer {server.admin_token}"}


def bearer(token: str) -> dict[str, str]:
    """Bearer header."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Customer:
    """A conversation and its token."""

    cid: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class AgentId:
    """A registered agent and its token."""

    agent_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


async def new_customer(http: httpx.AsyncClient) -> Customer:
    """Start a conversation."""
    reply = await http.post("/v1/conversations", json={})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    return Customer(body["conversation_id"], body["customer_token"])


async def say(http: httpx.AsyncClient, customer: Customer, text: str) -> dict[str, Any]:
    """POST a customer message; the acknowledged turn's body."""
    reply = await http.post(
        f"/v1/conversations/{customer.cid}/messages", json={"text": text}, headers=customer.auth
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def register(
    http: httpx.AsyncClient, server: BatonServer, name: str, *, status: str = "online"
) -> AgentId:
    """Register an agent with every skill the real_estate policy asks for."""
    body = {
        "id": f"{name}-{uuid.uuid4().hex[:6]}",
        "name": name,
        "skills": ["real_estate", "empathy", "legal", "luxury"],
        "max_concurrent": 5,
        "status": status,
    }
    reply = await http.post("/v1/agents", json=body, headers=admin(server))
    assert reply.status_code == 201, reply.text
    data = reply.json()
    return AgentId(data["agent_id"], data["agent_token"])


@dataclass
class Follower:
    """A WebSocket that records every sequenced event and answers pings."""

    url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    ws: Any = None
    task: asyncio.Task[None] | None = None

    async def open(self) -> Follower:
        self.ws = await websockets.connect(self.url, ping_interval=None, max_queue=None)
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                event = json.loads(raw)
                if event["type"] == "ping":
                    await self.ws.send('{"type":"pong"}')
                elif event["type"] == "error":
                    self.errors.append(event)
                elif event.get("seq") and not event.get("snapshot"):  # the state sent first is not in the log
                    self.events.append(event)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def wait(self, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
        """The first recorded event matching ``predicate`` (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if predicate(event):
                    return event
            await asyncio.sleep(0.02)
        msg = f"no matching event within {timeout}s; got {[e['type'] for e in self.events]}"
        raise AssertionError(msg)

    async def wait_error(self, timeout: float = 20.0) -> dict[str, Any]:
        """The first ``error`` event (errors are not sequenced)."""
        deadline = time.monotonic() + timeout
        while not self.errors:
            if time.monotonic() > deadline:
                msg = f"no error event within {timeout}s"
                raise AssertionError(msg)
            await asyncio.sleep(0.02)
        return self.errors[0]

    @property
    def last_seq(self) -> int:
        return max((e["seq"] for e in self.events), default=0)

    async def drop(self) -> None:
        """Cut the TCP connection without a closing handshake."""
        self.ws.transport.abort()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


def customer_ws(server: BatonServer, customer: Customer, since: int | None = None) -> Follower:
    """The customer's socket (with ``since`` replay)."""
    extra = "" if since is None else f"&since={since}"
    return Follower(f"{server.ws_url}/v1/conversations/{customer.cid}/ws?token={customer.token}{extra}")


def agent_ws(server: BatonServer, agent: AgentId, since: int | None = None) -> Follower:
    """The agent's socket (with ``since`` replay)."""
    extra = "" if since is None else f"&since={since}"
    return Follower(f"{server.ws_url}/v1/agents/{agent.agent_id}/ws?token={agent.token}{extra}")


class RedisProcess:
    """A dedicated ``redis-server`` on a free port (the shared 6379 is never touched)."""

    def __init__(self, workdir: Path, *, appendonly: bool) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.appendonly else ["--appendonly", "no"]
        )
        cmd = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(self.workdir),
        ]
        self.proc = subprocess.Popen([*cmd, *persistence, "--daemonize", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            with contextlib.suppress(redis.exceptions.ConnectionError):
                if redis.Redis(port=self.port).ping():
                    return self
            time.sleep(0.05)
        msg = "redis-server did not start"
        raise RuntimeError(msg)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
