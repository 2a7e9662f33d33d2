"""One commit per run: a run's checkpoints and writes stored together when the run ends.

With ``durability="sync"`` LangGraph hands the saver a checkpoint after every step and the writes of
every task, and waits for each. A routed customer turn is four checkpoints and three sets of writes:
seven commits on SQLite, seven locked round trips on the one Postgres connection a worker's saver
holds. While :func:`run_writes` is open for a thread, the savers that support it (``graph.inline_*``)
serialise each of them as it comes but commit them together when the run ends, before the turn is
answered. Every step's checkpoint is still stored (time travel, rollback), an answered turn survives
``kill -9`` as before; a worker killed in the middle of a run loses that unanswered run whole instead
of its first steps. A read of the thread inside the run commits what is held first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class HeldWrites:
    """What one run's saver calls left to commit: the thread and the saver's own records."""

    thread_id: str
    items: list[Any] = field(default_factory=list)


# The run whose writes are held in this task and the tasks it starts (LangGraph's node and
# checkpoint tasks copy the context they were created in).
_HELD: ContextVar[HeldWrites | None] = ContextVar("baton_run_writes", default=None)


def held_for(thread_id: object) -> HeldWrites | None:
    """The held writes of ``thread_id`` if a run on it is open in this context, else ``None``."""
    held = _HELD.get()
    return held if held is not None and held.thread_id == str(thread_id) else None


@runtime_checkable
class CommitsPerRun(Protocol):
    """A saver that can hold a run's writes and commit them in one go."""

    async def commit_held(self, held: HeldWrites) -> None:
        """Store everything in ``held`` (in one transaction) and empty it."""


@asynccontextmanager
async def run_writes(saver: object, thread_id: str) -> AsyncIterator[None]:
    """Hold the saver's writes for ``thread_id`` while the block runs; commit them when it ends.

    They are committed however the block ends (a node's error is stored as LangGraph stores it).
    A saver without :class:`CommitsPerRun` (LangGraph's in-memory one) commits as it always does.
    """
    if not isinstance(saver, CommitsPerRun) or _HELD.get() is not None:
        yield
        return
    held = HeldWrites(str(thread_id))
    token = _HELD.set(held)
    try:
        yield
    finally:
        _HELD.reset(token)
        if held.items:
            await saver.commit_held(held)
