"""``baton serve --workers N``: a listening socket per worker, so connections spread over the workers."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis

from api import listeners
from tests.bench_server import ROOT, drop_postgres, free_port, fresh_postgres, tree_pids
from tests.conftest import POSTGRES_URL, REDIS_URL, require_postgres_and_redis

pytestmark = pytest.mark.skipif(not listeners.available(), reason="SO_REUSEPORT balancing is Linux's")


def test_the_stand_in_unpickles_into_a_socket_of_the_ports_group() -> None:
    port = free_port()
    first = pickle.loads(pickle.dumps(listeners.OwnListener("127.0.0.1", port)))  # what a worker gets
    second = pickle.loads(pickle.dumps(listeners.OwnListener("127.0.0.1", port)))
    try:
        assert isinstance(first, socket.socket)
        assert first is not second
        assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        first.listen()
        second.listen()  # both listen on one port: a group, not a conflict
        assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
    finally:
        first.close()
        second.close()


def test_a_port_something_listens_on_is_refused() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use"):
            listeners.check_free("127.0.0.1", taken.getsockname()[1])
    listeners.check_free("127.0.0.1", free_port())


def _sockets_by_pid(pids: list[int], port: int) -> tuple[Counter[int], Counter[int]]:
    """Per process: listening sockets on ``port``, and connections accepted on it (/proc)."""
    states: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                states[fields[9]] = fields[3]  # inode -> state (0A listen, 01 established)
    listening: Counter[int] = Counter()
    accepted: Counter[int] = Counter()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except FileNotFoundError:  # a short-lived helper of the server exited since it was listed
            continue
        for fd in fds:
            try:
                target = fd.readlink().name
            except OSError:
                continue
            inode = target.removeprefix("socket:[").removesuffix("]")
            state = states.get(inode) if target.startswith("socket:[") else None
            if state == "0A":
                listening[pid] += 1
            elif state == "01":
                accepted[pid] += 1
    return listening, accepted


def _listening_when_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 240) -> Counter[int]:
    """Once two processes of the server listen on ``port`` and it answers ``/readyz``: who listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "baton serve exited"
        listening, _ = _sockets_by_pid(tree_pids(proc.pid), port)
        if len(listening) >= 2:  # a worker listens once its start-up is done
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        return listening
            except OSError:
                pass
        time.sleep(1)
    raise AssertionError("baton serve --workers 2 did not become ready")


@pytest.mark.slow
@pytest.mark.services
async def test_two_workers_each_listen_and_share_kept_open_connections(tmp_path: Path) -> None:
    await require_postgres_and_redis()
    database = fresh_postgres(POSTGRES_URL)
    port = free_port()
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BATON_OFFLINE": "true",
        "BATON_DATA_DIR": str(tmp_path / "data"),
        "BATON_CHECKPOINT_URL": database,
        "BATON_REDIS_URL": REDIS_URL,
        "BATON_REDIS_PREFIX": prefix,
    }
    serve = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"]
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(serve, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    kept: list[socket.socket] = []
    try:
        listening = _listening_when_ready(port, proc)
        workers = [p for p in tree_pids(proc.pid) if p != proc.pid]
        assert sorted(listening.values()) == [1, 1]  # one socket per worker
        assert proc.pid not in listening  # the supervisor listens on none

        for _ in range(80):  # a client that keeps its connections open, like a balancer's pool
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
            kept.append(sock)
        _, accepted = _sockets_by_pid(workers, port)
        assert sum(accepted.values()) == 80
        assert all(accepted[pid] >= 16 for pid in listening), accepted  # 50/50 by hash: >= 16 of 80

        # A second server on the same port must not join the group and take half the traffic.
        second = subprocess.run(serve, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    finally:
        for sock in kept:
            sock.close()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        drop_postgres(database)
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
