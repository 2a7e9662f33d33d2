"""WAL checkpoints of a SQLite database on a thread of their own, off the commits on the event loop.

SQLite checkpoints its write-ahead log from inside the commit that fills it past 1,000 pages: that
commit copies the log into the database file and, with ``synchronous=NORMAL``, waits for an fsync.
Baton commits on the event loop (the checkpointer and the API store run ``sqlite3`` in place), so
about one customer turn in a hundred waited ~7 ms for it, and every socket waited with it
(``benchmarks/README.md``). Here the commits never checkpoint (``wal_autocheckpoint=0``) and a
thread with its own connection runs a passive checkpoint every second: it copies what
no reader still needs, never blocks a writer, and releases the GIL while it works. A commit is
durable once it is in the log, so when the log is copied changes nothing a ``kill -9`` can lose.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

INTERVAL_S = 1.0  # between passive checkpoints: at 20 turns/s about 200 pages each


@contextmanager
def open_wal(path: Path, **options: Any) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` in WAL mode, its log checkpointed by a thread; closed on exit.

    Args:
        path: The database file (created when missing).
        options: More ``sqlite3.connect`` arguments (the connection may be used from any thread).
    """
    with closing(sqlite3.connect(str(path), check_same_thread=False, **options)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a killed process (only an OS crash can lose the last commits), and
        # spares an fsync per commit: with FULL every event append waited ~6 ms for the disk.
        conn.execute("PRAGMA synchronous=NORMAL")
        with _checkpoint_in_background(conn, path):
            yield conn


@contextmanager
def _checkpoint_in_background(conn: sqlite3.Connection, path: Path) -> Iterator[None]:
    """While inside, ``conn``'s commits leave the log to a thread that checkpoints ``path``."""
    conn.execute("PRAGMA wal_autocheckpoint=0")
    stop = threading.Event()
    thread = threading.Thread(
        target=_run, args=(path, INTERVAL_S, stop), name=f"wal-{path.name}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _run(path: Path, interval: float, stop: threading.Event) -> None:
    with closing(sqlite3.connect(str(path), timeout=30, isolation_level=None)) as own:
        while not stop.wait(interval):
            _checkpoint(own, path)
        _checkpoint(own, path)  # what the last second wrote


def _checkpoint(conn: sqlite3.Connection, path: Path) -> None:
    # A failed checkpoint loses nothing (the log keeps every commit); the next one copies it.
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:
        log.warning("WAL checkpoint of %s failed: %s", path.name, exc)
