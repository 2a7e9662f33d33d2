"""Thread and run records of the compatibility layer (kept by ``api/compat/store.py``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

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

    def stored(self) -> dict[str, Any]:
        """What the database keeps of the run: its public fields, result and who started it."""
        return {**self.to_json(), "output": self.output, "error": self.error, "started_by": self.started_by}

    @classmethod
    def restored(cls, stored: dict[str, Any]) -> RunRecord:
        """A run read back from the database (another worker's, or from before a restart): no task."""
        fields = {k: stored[k] for k in ("run_id", "thread_id", "assistant_id", "metadata", "kwargs")}
        return cls(
            **fields,
            multitask_strategy=stored["multitask_strategy"],
            status=stored["status"],
            created_at=stored["created_at"],
            updated_at=stored["updated_at"],
            started_by=stored.get("started_by", ""),
            output=stored.get("output"),
            error=stored.get("error"),
        )
