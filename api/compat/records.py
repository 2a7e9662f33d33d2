"""Thread and run records of the compatibility layer.

The graph's checkpoints are the source of truth for a thread's state. What only the platform API
knows about a thread (its metadata, when it was created and last changed) is kept in the API's
database (SQLite or Postgres), so every worker and every restart sees the same threads; runs (their
status, the task executing them, who listens to their events) live in the process that runs them. A
thread that has checkpoints but no record (started through Baton's own API or CLI) is adopted on
first use.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

from api.compat.serde import now_iso
from api.db import Db

RunStatus = Literal["pending", "running", "success", "error", "timeout", "interrupted"]
ACTIVE: frozenset[str] = frozenset({"pending", "running"})
MAX_RUNS_PER_THREAD = 200

Event = tuple[str, Any]


@dataclass
class ThreadRecord:
    """What the platform API says about a thread besides its checkpoints."""

    thread_id: str
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


THREADS_SCHEMA = """CREATE TABLE IF NOT EXISTS baton_api_threads (
    thread_id TEXT PRIMARY KEY, metadata TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"""
_COLUMNS = "thread_id, metadata, created_at, updated_at"


class ThreadTable:
    """Thread records in the API's database, shared by every worker."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def setup(self) -> None:
        """Create the table (idempotent)."""
        await self.db.execute(THREADS_SCHEMA)

    async def get(self, thread_id: str) -> ThreadRecord | None:
        """The thread's record, if it has one."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM baton_api_threads WHERE thread_id = ?", (thread_id,)
        )
        return _record(rows[0]) if rows else None

    async def add(self, record: ThreadRecord) -> ThreadRecord:
        """Keep ``record``; when another request (or worker) added the thread first, theirs is returned."""
        await self.db.execute(
            f"INSERT INTO baton_api_threads ({_COLUMNS}) VALUES (?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING",
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
            rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM baton_api_threads")
        elif not ids:
            return []
        else:
            marks = ", ".join("?" for _ in ids)
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM baton_api_threads WHERE thread_id IN ({marks})", tuple(ids)
            )
        return [_record(row) for row in rows]


def _record(row: tuple[Any, ...]) -> ThreadRecord:
    return ThreadRecord(row[0], json.loads(row[1]), row[2], row[3])


@dataclass
class RunRecord:
    """One run: its public fields, the task executing it, and who is listening to its events."""

    run_id: str
    thread_id: str
    assistant_id: str
    metadata: dict[str, Any]
    multitask_strategy: str
    kwargs: dict[str, Any]
    status: RunStatus = "pending"
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    started_by: str = ""
    output: Any = None
    error: dict[str, str] | None = None
    task: asyncio.Task[None] | None = None
    listeners: list[asyncio.Queue[Event | None]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Pending or running."""
        return self.status in ACTIVE

    def set_status(self, status: RunStatus) -> None:
        """Move the run to ``status`` and stamp the change."""
        self.status = status
        self.updated_at = now_iso()

    def listen(self) -> asyncio.Queue[Event | None]:
        """A queue receiving the run's events from now on; ``None`` marks the end.

        A finished run's queue holds only its ``end`` event.
        """
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        if self.active:
            self.listeners.append(queue)
        else:
            queue.put_nowait(("end", {"run_id": self.run_id, "status": self.status}))
            queue.put_nowait(None)
        return queue

    def unlisten(self, queue: asyncio.Queue[Event | None]) -> None:
        """Stop delivering events to ``queue``."""
        if queue in self.listeners:
            self.listeners.remove(queue)

    def publish(self, event: str, data: Any) -> None:
        """Deliver one (already JSON-safe) event to every listener."""
        for queue in self.listeners:
            queue.put_nowait((event, data))

    def close(self) -> None:
        """Tell every listener the run is over."""
        for queue in self.listeners:
            queue.put_nowait(None)
        self.listeners.clear()

    def to_json(self) -> dict[str, Any]:
        """The ``Run`` object of the platform API."""
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "status": self.status,
            "metadata": self.metadata,
            "multitask_strategy": self.multitask_strategy,
            "kwargs": self.kwargs,
        }


@dataclass
class CompatStore:
    """The threads (in the database) and the runs of this process."""

    threads: ThreadTable
    runs: dict[str, dict[str, RunRecord]] = field(default_factory=dict)

    def add_run(self, run: RunRecord) -> None:
        """Track ``run``; beyond ``MAX_RUNS_PER_THREAD`` the oldest finished runs are forgotten."""
        runs = self.runs.setdefault(run.thread_id, {})
        runs[run.run_id] = run
        finished = [r.run_id for r in runs.values() if not r.active]
        for run_id in finished[: max(0, len(runs) - MAX_RUNS_PER_THREAD)]:
            del runs[run_id]

    def thread_runs(self, thread_id: str) -> Iterator[RunRecord]:
        """Runs of a thread, newest first."""
        return reversed(list(self.runs.get(thread_id, {}).values()))

    def busy(self, thread_id: str) -> bool:
        """Whether a run is pending or running on the thread."""
        return any(r.active for r in self.runs.get(thread_id, {}).values())

    def last_failed(self, thread_id: str) -> bool:
        """Whether the thread's newest run ended in an error."""
        latest = next(self.thread_runs(thread_id), None)
        return latest is not None and latest.status == "error"


async def open_compat_store(db: Db) -> CompatStore:
    """The compatibility records of an app whose API database is ``db`` (its table created)."""
    threads = ThreadTable(db)
    await threads.setup()
    return CompatStore(threads)


async def get_store(request: Request) -> CompatStore:
    """The app's compatibility records (opened in the app's lifespan)."""
    store: CompatStore = request.app.state.baton_compat
    return store


StoreDep = Annotated[CompatStore, Depends(get_store)]
