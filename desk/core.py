"""Core of the shared desk engine: backend hooks, transaction plumbing and queue dispatch."""

from __future__ import annotations

import asyncio
import builtins
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from desk import assign, ops
from desk.base import OnNotice, OnRevert
from desk.clock import Clock, SystemClock
from desk.config import DeskConfig
from desk.events import (
    DeskEvent,
    EventPage,
)
from desk.models import (
    Agent,
    Handoff,
)
from desk.store import AfterCommit, Tx

T = TypeVar("T")
log = logging.getLogger("baton.desk")


class DeskCore(ABC):
    """State, backend hooks and plumbing shared by every desk backend."""

    def __init__(
        self,
        config: DeskConfig | None = None,
        *,
        clock: Clock | None = None,
        on_revert: OnRevert | None = None,
        on_notice: OnNotice | None = None,
    ) -> None:
        self.config = config or DeskConfig()
        self.clock: Clock = clock or SystemClock()
        self.on_revert = on_revert
        self.on_notice = on_notice
        self._stop = asyncio.Event()

    # -- backend hooks -------------------------------------------------------------------------
    @abstractmethod
    async def _atomic(self, fn: Callable[[Tx], Awaitable[T]]) -> tuple[T, builtins.list[AfterCommit]]:
        """Run ``fn`` on a fresh transaction and commit its writes atomically."""

    @abstractmethod
    async def _write_heartbeat(self, agent_id: str, now: Any) -> None:
        """Record a heartbeat (outside any transaction)."""

    @abstractmethod
    async def unknown_agents(self, agent_ids: Sequence[str]) -> set[str]:
        """See ``desk.base.Desk.unknown_agents``."""

    @abstractmethod
    async def unknown_handoffs(self, handoff_ids: Sequence[str]) -> set[str]:
        """See ``desk.base.Desk.unknown_handoffs``."""

    async def _swap_heartbeat(self, agent_id: str, now: datetime) -> datetime | None:
        """Record a heartbeat of an agent that has one already, in one step; return the one it replaced.

        ``None`` (and nothing written) when the backend holds no heartbeat of ``agent_id``: unknown to
        it, or never beat. The caller then reads the agent first, which raises ``NotFound``.
        """
        return None

    @abstractmethod
    async def _last_tick(self) -> datetime | None:
        """When any worker last ran ``tick()`` on this desk (None: never)."""

    @abstractmethod
    async def _mark_tick(self, now: datetime) -> None:
        """Record that a tick ran at ``now``."""

    @abstractmethod
    async def _peek_agents(self) -> builtins.list[Agent]:
        """Read-only snapshot of all agents (known skills, the tick's downtime excuse)."""

    async def _peek_stale(self, now: datetime) -> builtins.list[Agent]:
        """Read-only snapshot of the agents not offline whose heartbeat is older than the TTL (or none)."""
        return [
            a
            for a in await self._maybe_stale(now)
            if a.status != "offline" and not assign.heartbeat_fresh(a, now, self.config)
        ]

    async def _maybe_stale(self, now: datetime) -> builtins.list[Agent]:
        """Every agent whose heartbeat may be stale at ``now``: all of them, unless a backend can
        narrow them down without reading each one."""
        return await self._peek_agents()

    @abstractmethod
    async def _peek_waiting(self, due_by: datetime | None = None) -> builtins.list[Handoff]:
        """Read-only snapshot of the pending and offered handoffs, the only ones with timers.

        Held (accepted, active) handoffs are most of the open ones and have no timer, so the tick
        reads this index instead of every open handoff (with 10,000 held that was 10,000 reads a
        second per worker on Redis; benchmarks/README.md). With ``due_by``, only those whose
        ``timers.timer_deadline`` is at or before it: the index is ordered by deadline, so a tick reads
        the handoffs it has work for, not every waiting one.
        """

    @abstractmethod
    def subscribe(self, since: str | None = None) -> AsyncIterator[DeskEvent]:
        """Live events; see ``desk.base.Desk.subscribe``."""

    @abstractmethod
    async def events_since(self, cursor: str | None = None, limit: int = 1000) -> EventPage:
        """Event history; see ``desk.base.Desk.events_since``."""

    @abstractmethod
    async def cursor(self) -> str:
        """Cursor of the latest event."""

    async def close(self) -> None:
        """Stop ``run()``; backends extend this."""
        self._stop.set()

    # -- plumbing ------------------------------------------------------------------------------
    async def _run(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        result, after = await self._atomic(fn)
        for item in after:
            callback = self.on_revert if item.kind == "revert" else self.on_notice
            if callback is None:
                continue
            try:
                await callback(item.handoff, item.notice)
            except Exception:  # the state change is committed; a failing callback must not undo it
                log.exception("desk %s callback failed for handoff %s", item.kind, item.handoff.handoff_id)
        return result

    @staticmethod
    def _base(handoff: Handoff) -> dict[str, Any]:
        return {"handoff_id": handoff.handoff_id, "conversation_id": handoff.conversation_id}

    # -- timers --------------------------------------------------------------------------------
    async def _dispatch(self) -> int:
        """Offer queued handoffs, in queue order, to the best free agents. Returns offers made."""
        now = self.clock.now()

        async def fn(tx: Tx) -> int:
            return await self._offer_queued(tx, now)

        return await self._run(fn)

    async def _offer_queued(self, tx: Tx, now: datetime) -> int:
        """``_dispatch`` inside ``tx`` (the handoffs it queued included). Returns offers made.

        Each offer's agent comes from the backend's ranking of the free agents (``Tx.ranked_pick``,
        ``desk.ranking``): ``assign.pick``'s choice without scoring every free agent.
        """
        if not await tx.may_queue():
            return 0  # the usual case after an accept or a close: one cheap check
        free = await tx.available_ids()  # shrinks as offers fill agents
        if not free:
            return 0  # nobody could take an offer: the queue is not read (it grows when all are busy)
        ids = await tx.queue()
        made = 0
        async for view in _while_free(tx, ids, free):
            if not free:
                break  # cheap exit: nobody could take an offer
            if view.status != "pending":
                continue
            best = await tx.ranked_pick(view, now, self.config)
            if best is None:
                continue
            agent = await tx.agent(best.agent_id)
            ops.offer(tx, await tx.handoff(view.handoff_id), agent, best.score, now, self.config)
            if agent.load >= agent.max_concurrent:
                free.discard(agent.id)
            made += 1
        return made


# Queued handoffs read per slice by a dispatch. A queue builds up when every agent is busy, and each
# submit and tick read all of it before finding nobody free: 15-30 ms of a worker's CPU a dispatch on
# the Redis desk with 1,000 queued (benchmarks/README.md).
QUEUE_SLICE = 50


async def _while_free(tx: Tx, ids: builtins.list[str], free: set[str]) -> AsyncIterator[Handoff]:
    """The queued handoffs ``ids`` in order, read a slice at a time while ``free`` is not empty."""
    for start in range(0, len(ids), QUEUE_SLICE):
        if not free:
            return
        for view in await tx.view_handoffs(ids[start : start + QUEUE_SLICE]):
            yield view
