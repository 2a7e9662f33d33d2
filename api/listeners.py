"""Each worker of ``baton serve --workers N`` listens on a socket of its own (Linux ``SO_REUSEPORT``).

uvicorn's supervisor binds one socket and hands it to every worker: they all wait on its one accept
queue, and the worker that wakes first takes every connection waiting. Clients that keep their
connections open (a balancer's pool, the load benchmark) then stay on one worker; in a scaled run two
workers held 7 and 30 of the client's connections and used 5.7 vs 13.9 s of CPU (benchmarks/README.md).
With one socket per worker in a ``SO_REUSEPORT`` group, the kernel spreads new connections over the
workers by their addresses' hash.

The supervisor stays uvicorn's (health pings, restarts, signals). It is handed a stand-in
(:class:`OwnListener`) that unpickles, in each worker process it starts, into a socket that worker
binds for itself, so a restarted worker gets one too. A worker's socket takes connections once it
listens, which uvicorn does after the app's start-up (the models are warm by then).

The cost: connections still waiting in a dying worker's own queue are reset, where with one shared
socket another worker would have accepted them.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("uvicorn.error")  # where uvicorn says where it listens


def available() -> bool:
    """Whether the kernel balances connections over a ``SO_REUSEPORT`` group (Linux does)."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_own(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` in the port's ``SO_REUSEPORT`` group (not listening yet)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def check_free(host: str, port: int) -> None:
    """Raise ``OSError`` when something listens on ``host:port`` already.

    Without this a second ``baton serve`` on the same port (an old one still running) would join the
    group and silently take half the connections; a plain bind refuses while any socket listens there.
    """
    probe = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is fine
        probe.bind((host, port))
    finally:
        probe.close()


class OwnListener:
    """Stands in for a socket in the supervisor; a worker process unpickles it into its own socket."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def __reduce__(self) -> tuple[object, tuple[str, int]]:
        return bind_own, (self.host, self.port)


def run_workers(config: uvicorn.Config) -> None:
    """Run ``config.workers`` workers under uvicorn's supervisor, each on its own socket.

    Raises:
        OSError: Something listens on the configured host and port already.
    """
    from uvicorn.supervisors import Multiprocess

    check_free(config.host, config.port)
    # uvicorn passes ``sockets`` through to each worker's ``Server.run`` untouched; a worker receives
    # real sockets (see the module docstring), the supervisor never uses them.
    stand_in = cast(socket.socket, OwnListener(config.host, config.port))
    scheme = "https" if config.is_ssl else "http"
    log.info(
        "Uvicorn running on %s://%s:%d, %d workers with a socket each (SO_REUSEPORT)",
        scheme,
        config.host,
        config.port,
        config.workers,
    )
    Multiprocess(config, sockets=[stand_in]).run()
