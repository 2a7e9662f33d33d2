"""Where the compatibility layer keeps its threads and runs.

The graph's checkpoints are the source of truth for a thread's state. What only the platform API knows
about (a thread's metadata and stamps; a run's status, output and error) is kept in the API's database
(SQLite or Postgres), so every worker and every restart sees the same threads and runs. What cannot
leave its process stays there: a run's task and the listeners of its events. From another worker a
run can be read, listed and joined (its record is polled until it ends), not cancelled nor streamed
live. A run left pending or running by a worker that stopped is reported as an error after
``STALE_S``. A thread that has checkpoints but no record (started through Baton's own API or CLI) is
adopted on first use.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from api.compat.records import ACTIVE, MAX_RUNS_PER_THREAD, RunRecord, RunStatus, ThreadRecord
from api.compat.serde import now_iso
from api.db import Db

# A Baton run is one turn (milliseconds to a model call's 30 s timeout): one still "running" in the
# database this long after its last change belongs to a worker that stopped.
STALE_S = 900.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS baton_api_threads (
    thread_id TEXT PRIMARY KEY, metadata TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS baton_api_runs (
    run_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
    record TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS baton_api_runs_thread ON baton_api_runs (thread_id, created_at)",
)
_THREAD_COLUMNS = "thread_id, metadata, created_at, updated_at"
_ACTIVE_IN = f"status IN ({', '.join(repr(s) for s in sorted(ACTIVE))})"  # the records' ACTIVE, in SQL


class ThreadTable:
    """Thread records in the API's database, shared by every worker."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def get(self, thread_id: str) -> ThreadRecord | None:
        """The thread's record, if it has one."""
        rows = await self.db.fetchall(
            f"SELECT {_THREAD_COLUMNS} FROM baton_api_threads WHERE thread_id = ?", (thread_id,)
        )
        return _thread(rows[0]) if rows else None

    async def add(self, record: ThreadRecord) -> ThreadRecord:
        """Keep ``record``; when another request (or worker) added the thread first, theirs is returned."""
        await self.db.execute(
            f"INSERT INTO baton_api_threads ({_THREAD_COLUMNS}) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (thread_id) DO NOTHING",
            (record.thread_id, json.dumps(record.metadata), record.created_at, record.updated_at),
        )
        return await self.get(record.thread_id) or record

    async def save(self, record: ThreadRecord) -> None:
        """Store the record's metadata, stamped as changed now."""
        record.updated_at = now_iso()
        await self.db.execute(
            "UPDATE baton_api_threads SET metadata = ?, updated_at = ? WHERE thread_id = ?",
            (json.dumps(record.metadata), record.updated_at, record.thread_id),
        )

    async def touch(self, thread_id: str) -> None:
        """Mark the thread as changed now."""
        await self.db.execute(
            "UPDATE baton_api_threads SET updated_at = ? WHERE thread_id = ?", (now_iso(), thread_id)
        )

    async def delete(self, thread_id: str) -> None:
        """Forget the thread's record."""
        await self.db.execute("DELETE FROM baton_api_threads WHERE thread_id = ?", (thread_id,))

    async def listed(self, ids: Collection[str] | None = None) -> list[ThreadRecord]:
        """Every record, or those of ``ids``."""
        if ids is None:
            rows = await self.db.fetchall(f"SELECT {_THREAD_COLUMNS} FROM baton_api_threads")
        elif not ids:
            return []
        else:
            marks = ", ".join("?" for _ in ids)
            rows = await self.db.fetchall(
                f"SELECT {_THREAD_COLUMNS} FROM baton_api_threads WHERE thread_id IN ({marks})", tuple(ids)
            )
        return [_thread(row) for row in rows]


def _thread(row: tuple[Any, ...]) -> ThreadRecord:
    return ThreadRecord(row[0], json.loads(row[1]), row[2], row[3])


class RunTable:
    """Run records in the API's database: what every worker may read of a run."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def save(self, run: RunRecord) -> None:
        """Store the run as it is now."""
        await self.db.execute(
            "INSERT INTO baton_api_runs (run_id, thread_id, created_at, status, record) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, record = excluded.record",
            (run.run_id, run.thread_id, run.created_at, run.status, json.dumps(run.stored())),
        )

    async def get(self, thread_id: str, run_id: str) -> RunRecord | None:
        """The run as its worker last stored it."""
        rows = await self.db.fetchall(
            "SELECT record FROM baton_api_runs WHERE run_id = ? AND thread_id = ?", (run_id, thread_id)
        )
        return _run(rows[0][0]) if rows else None

    async def listed(
        self, thread_id: str, status: RunStatus | None, limit: int, offset: int
    ) -> list[RunRecord]:
        """The thread's runs, newest first (``status``: only those in it)."""
        rows = await self.db.fetchall(
            "SELECT record FROM baton_api_runs WHERE thread_id = ? ORDER BY created_at DESC", (thread_id,)
        )
        runs = [_run(row[0]) for row in rows]
        return [r for r in runs if status is None or r.status == status][offset : offset + limit]

    async def any_active(self, thread_id: str) -> bool:
        """Whether a worker is running (or about to run) a run on the thread."""
        rows = await self.db.fetchall(
            f"SELECT record FROM baton_api_runs WHERE thread_id = ? AND {_ACTIVE_IN}",
            (thread_id,),
        )
        return any(_run(row[0]).active for row in rows)  # a stale one is its dead worker's

    async def active_threads(self) -> set[str]:
        """The threads a worker is running a run on."""
        rows = await self.db.fetchall(f"SELECT record FROM baton_api_runs WHERE {_ACTIVE_IN}")
        return {run.thread_id for run in (_run(row[0]) for row in rows) if run.active}

    async def trim(self, thread_id: str) -> None:
        """Forget the oldest finished runs past ``MAX_RUNS_PER_THREAD``."""
        rows = await self.db.fetchall(
            "SELECT run_id, status FROM baton_api_runs WHERE thread_id = ? ORDER BY created_at DESC",
            (thread_id,),
        )
        for run_id, status in rows[MAX_RUNS_PER_THREAD:]:
            if status not in ACTIVE:
                await self.delete(run_id)

    async def delete(self, run_id: str) -> None:
        """Forget one run."""
        await self.db.execute("DELETE FROM baton_api_runs WHERE run_id = ?", (run_id,))

    async def delete_thread(self, thread_id: str) -> None:
        """Forget every run of a thread."""
        await self.db.execute("DELETE FROM baton_api_runs WHERE thread_id = ?", (thread_id,))


def _run(record: str) -> RunRecord:
    run = RunRecord.restored(json.loads(record))
    if run.active and _age_s(run.updated_at) > STALE_S:
        run.status = "error"
        run.error = {"error": "worker_gone", "message": "the worker running this run stopped before it ended"}
    return run


def _age_s(stamp: str) -> float:
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds()
    except ValueError:
        return 0.0


@dataclass
class CompatStore:
    """The threads and runs (in the database) and the runs this process executes (their tasks)."""

    threads: ThreadTable
    run_rows: RunTable
    runs: dict[str, dict[str, RunRecord]] = field(default_factory=dict)

    async def add_run(self, run: RunRecord) -> None:
        """Track ``run`` here and in the database; past ``MAX_RUNS_PER_THREAD`` the oldest finished
        runs are forgotten."""
        runs = self.runs.setdefault(run.thread_id, {})
        runs[run.run_id] = run
        finished = [r.run_id for r in runs.values() if not r.active]
        for run_id in finished[: max(0, len(runs) - MAX_RUNS_PER_THREAD)]:
            del runs[run_id]
        await self.run_rows.save(run)
        await self.run_rows.trim(run.thread_id)

    async def find_run(self, thread_id: str, run_id: str) -> RunRecord | None:
        """The run: this process's own (with its task), else as the database has it."""
        local = self.runs.get(thread_id, {}).get(run_id)
        return local if local is not None else await self.run_rows.get(thread_id, run_id)

    async def forget_run(self, thread_id: str, run_id: str) -> None:
        """Forget one run everywhere."""
        self.runs.get(thread_id, {}).pop(run_id, None)
        await self.run_rows.delete(run_id)

    async def forget_thread(self, thread_id: str) -> None:
        """Forget a deleted thread's record and runs."""
        self.runs.pop(thread_id, None)
        await self.threads.delete(thread_id)
        await self.run_rows.delete_thread(thread_id)

    def thread_runs(self, thread_id: str) -> Iterator[RunRecord]:
        """This process's runs of a thread, newest first."""
        return reversed(list(self.runs.get(thread_id, {}).values()))

    def busy(self, thread_id: str) -> bool:
        """Whether a run of this process is pending or running on the thread."""
        return any(r.active for r in self.runs.get(thread_id, {}).values())

    async def busy_anywhere(self, thread_id: str) -> bool:
        """Whether a run of any worker is pending or running on the thread."""
        return self.busy(thread_id) or await self.run_rows.any_active(thread_id)

    def last_failed(self, thread_id: str) -> bool:
        """Whether the thread's newest run here ended in an error."""
        latest = next(self.thread_runs(thread_id), None)
        return latest is not None and latest.status == "error"


async def open_compat_store(db: Db) -> CompatStore:
    """The compatibility records of an app whose API database is ``db`` (its tables created)."""
    for statement in _SCHEMA:
        await db.execute(statement)
    return CompatStore(ThreadTable(db), RunTable(db))


async def get_store(request: Request) -> CompatStore:
    """The app's compatibility records (opened in the app's lifespan)."""
    store: CompatStore = request.app.state.baton_compat
    return store


StoreDep = Annotated[CompatStore, Depends(get_store)]
