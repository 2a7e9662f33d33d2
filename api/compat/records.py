"""In-memory thread and run records of the compatibility layer.

The graph's checkpoints are the source of truth for a thread's state; what only the platform API
knows about (thread metadata, runs and their status) lives here, per process, and is lost on
restart. A thread that has checkpoints but no record (started through Baton's own API or CLI) is
adopted on first use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

from api.compat.serde import now_iso

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

    def touch(self) -> None:
        """Mark the thread as changed now."""
        self.updated_at = now_iso()


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
    """Threads and runs known to this process."""

    threads: dict[str, ThreadRecord] = field(default_factory=dict)
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


async def get_store(request: Request) -> CompatStore:
    """The app's compatibility records, created on first use (no app-level set-up needed)."""
    store: CompatStore | None = getattr(request.app.state, "baton_compat", None)
    if store is None:
        store = request.app.state.baton_compat = CompatStore()
    return store


StoreDep = Annotated[CompatStore, Depends(get_store)]
