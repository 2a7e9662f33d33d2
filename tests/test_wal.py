"""SQLite's write-ahead log is checkpointed by a thread, never by a commit on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

import graph.wal
from api.db import connect as open_api_db
from graph.inline_sqlite import InlineSqliteSaver

PAGE = 4096
_BLOB = b"x" * (3 * PAGE)


def _fill(conn: sqlite3.Connection, commits: int) -> None:
    """Write ~3 pages a commit, enough to pass SQLite's 1,000-page autocheckpoint."""
    conn.execute("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
    for _ in range(commits):
        conn.execute("INSERT INTO filler VALUES (?)", (_BLOB,))
        if conn.in_transaction:
            conn.commit()


def _db_size(path: Path) -> int:
    return path.stat().st_size


@pytest.fixture
def no_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checkpoint thread never ticks while a test writes; only its last checkpoint runs."""
    monkeypatch.setattr(graph.wal, "INTERVAL_S", 3600.0)


@pytest.mark.usefixtures("no_tick")
def test_the_checkpointers_commits_leave_the_log_alone_until_the_thread_copies_it(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite"
    with InlineSqliteSaver.open(path) as saver:
        before = _db_size(path)
        _fill(saver.conn, 500)  # ~1,500 pages: SQLite's own autocheckpoint would have run in a commit
        assert _db_size(path) == before, "a commit copied the log into the database file"
        assert Path(f"{path}-wal").stat().st_size > 1000 * PAGE
    assert _db_size(path) > 1400 * PAGE  # the thread's last checkpoint, on close
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("SELECT count(*) FROM filler").fetchone() == (500,)


@pytest.mark.usefixtures("no_tick")
async def test_the_api_stores_commits_leave_the_log_alone(tmp_path: Path) -> None:
    async with open_api_db("", tmp_path, ["CREATE TABLE IF NOT EXISTS filler (b BLOB)"]) as db:
        before = _db_size(tmp_path / "api.sqlite")
        for _ in range(500):
            await db.execute("INSERT INTO filler VALUES (?)", (_BLOB,))
        assert _db_size(tmp_path / "api.sqlite") == before
    assert _db_size(tmp_path / "api.sqlite") > 1400 * PAGE


async def test_the_thread_checkpoints_while_the_database_is_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph.wal, "INTERVAL_S", 0.05)
    path = tmp_path / "checkpoints.sqlite"
    with InlineSqliteSaver.open(path) as saver:
        before = _db_size(path)
        _fill(saver.conn, 400)
        deadline = time.monotonic() + 10
        while _db_size(path) <= before + 1000 * PAGE and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert _db_size(path) > before + 1000 * PAGE
        _fill(saver.conn, 10)  # the saver writes on while the thread has the log


def test_a_failed_checkpoint_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The thread must outlive a failure: the log keeps every commit, and the next tick copies it.
    conn = sqlite3.connect(tmp_path / "c.sqlite")
    conn.close()
    graph.wal._checkpoint(conn, tmp_path / "c.sqlite")
    assert "WAL checkpoint of c.sqlite failed" in caplog.text
