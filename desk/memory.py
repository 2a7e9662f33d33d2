"""``InMemoryDesk``: the embedded default backend (one process, an ``asyncio.Lock``, no services)."""

from __future__ import annotations

import asyncio
import builtins
import heapq
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from desk import assign, timers
from desk.base import OnNotice, OnRevert
from desk.clock import Clock
from desk.config import DeskConfig
from desk.engine import BaseDesk, before_logged, handle_logged
from desk.events import DeskBatchHook, DeskEvent, DeskEventHandler, EventPage, dump_event, parse_event
from desk.lifecycle import TERMINAL
from desk.memory_store import MemoryStore, meta_of
from desk.models import Agent, Handoff, HandoffStatus
from desk.store import AfterCommit, Tx

T = TypeVar("T")
_SUBSCRIBER_BUFFER = 10_000
_HISTORY = 100_000  # events kept for ``events_since``, as the Redis desk's stream MAXLEN


class _MemTx(Tx):
    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self._store = store

    async def ranked_pick(self, handoff: Handoff, now: datetime, config: DeskConfig) -> assign.Scored | None:
        ranking = self._store.ranking(tuple(assign.asked_skills(handoff)), config)
        # Agents this transaction read may have changed: they are scored apart, as it sees them.
        return ranking.pick(handoff, self._store.agents, self.agent_cache, now, config)

    async def _load_handoffs(self, ids: list[str]) -> list[Handoff | None]:
        return [self._store.copy(i) for i in ids]

    async def _load_agents(self, ids: list[str]) -> list[Agent | None]:
        found = [self._store.agents.get(i) for i in ids]
        return [None if a is None else a.clone() for a in found]

    async def agent_ids(self) -> list[str]:
        return sorted(set(self._store.agents) | set(self.dirty_agents))

    async def queue(self) -> list[str]:
        queued, own = self._store.pending, self.handoff_cache
        if not any(i in queued or h.status == "pending" for i, h in own.items()):
            return queued.ids()  # the usual case: this transaction moved nothing in or out of the queue
        # This transaction's writes win: its handoffs leave the stored order and come back by their key.
        stored = (key for key in queued.in_order() if key[2] not in own)
        mine = sorted(assign.queue_key(h) for h in own.values() if h.status == "pending")
        return [key[2] for key in heapq.merge(stored, mine)]

    async def may_queue(self) -> bool:
        return bool(self._store.pending) or any(h.status == "pending" for h in self.handoff_cache.values())

    async def count_ahead(self, handoff: Handoff) -> int:
        key, queued = assign.queue_key(handoff), self._store.pending
        ahead = queued.ahead_of(key)
        # The stored keys of what this transaction holds give way to its own view of them.
        for hid in {*self.handoff_cache, handoff.handoff_id}:
            stored = queued.key(hid)
            if stored is not None and stored < key:
                ahead -= 1
            mine = self.handoff_cache.get(hid)
            if hid != handoff.handoff_id and mine is not None and mine.status == "pending":
                ahead += assign.queue_key(mine) < key
        return ahead

    async def view_agents(self, ids: list[str] | None = None) -> list[Agent]:
        if ids is None:
            merged = {**self._store.agents, **self.agent_cache}
            return [merged[i] for i in sorted(merged)]
        store, cache = self._store.agents, self.agent_cache
        found = [cache.get(i) or store.get(i) for i in ids]
        return [a for a in found if a is not None]

    async def _stored_available(self) -> set[str]:
        return set(self._store.available)

    async def view_handoffs(self, ids: list[str]) -> list[Handoff]:
        cache = self.handoff_cache
        found = [cache.get(i) or self._store.view(i) for i in ids]
        return [h for h in found if h is not None]

    async def handoff_ids(
        self, open_only: bool, agent_id: str | None = None, status: HandoffStatus | None = None
    ) -> list[str]:
        meta = self._store.meta
        rows = {i: meta[i] for i in (self._store.open if open_only else meta)}
        rows.update((i, meta_of(h)) for i, h in self.handoff_cache.items())
        kept = [
            (created, i)
            for i, (created, current, assigned, offered) in rows.items()
            if not (open_only and current in TERMINAL)
            and agent_id in (None, assigned, offered)
            and status in (None, current)
        ]
        return [i for _created, i in sorted(kept)]


_DELIVER_BATCH = 100  # at most this many events per batch a group's caller takes (as on Redis)


class _Subscription:
    """Fan-out queue for one subscriber; registered as soon as it is created."""

    def __init__(self, desk: InMemoryDesk, backlog: list[DeskEvent]) -> None:
        self._desk = desk
        self.queue: asyncio.Queue[DeskEvent | None] = asyncio.Queue(maxsize=_SUBSCRIBER_BUFFER)
        for event in backlog:
            self.queue.put_nowait(event)
        self._closed = False

    def push(self, event: DeskEvent | None) -> None:
        if self.queue.full():  # a slow consumer loses the oldest events, never blocks the desk
            self.queue.get_nowait()
        self.queue.put_nowait(event)

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> DeskEvent:
        if self._closed:
            raise StopAsyncIteration
        event = await self.queue.get()
        if event is None:
            await self.aclose()
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop receiving events."""
        self._closed = True
        self._desk._subscribers.discard(self)


class InMemoryDesk(BaseDesk):
    """Desk state in process memory; every operation runs under one ``asyncio.Lock``."""

    def __init__(
        self,
        config: DeskConfig | None = None,
        *,
        clock: Clock | None = None,
        on_revert: OnRevert | None = None,
        on_notice: OnNotice | None = None,
    ) -> None:
        super().__init__(config, clock=clock, on_revert=on_revert, on_notice=on_notice)
        self._store = MemoryStore()
        self._lock = asyncio.Lock()
        self._subscribers: set[_Subscription] = set()
        self._groups: dict[str, _Subscription] = {}
        self._ticked: datetime | None = None

    async def _atomic(self, fn: Callable[[Tx], Awaitable[T]]) -> tuple[T, builtins.list[AfterCommit]]:
        async with self._lock:
            tx = _MemTx(self._store)
            result = await fn(tx)
            for handoff in tx.dirty_handoffs.values():
                self._store.put_handoff(handoff, timers.timer_deadline(handoff, self.config))
            for agent in tx.dirty_agents.values():
                self._store.put_agent(agent.clone())
            self._store.events.extend(dump_event(e) for e in tx.events)  # text: no tracked objects
            excess = len(self._store.events) - _HISTORY
            if excess > _HISTORY // 10:  # trim in chunks, not on every commit
                del self._store.events[:excess]
                self._store.dropped += excess
            for event in tx.events:
                for sub in builtins.list(self._subscribers):
                    sub.push(event)
            return result, tx.after

    async def unknown_agents(self, agent_ids: Sequence[str]) -> set[str]:
        return {i for i in agent_ids if i not in self._store.agents}

    async def unknown_handoffs(self, handoff_ids: Sequence[str]) -> set[str]:
        return {i for i in handoff_ids if i not in self._store.meta}

    async def _swap_heartbeat(self, agent_id: str, now: datetime) -> datetime | None:
        async with self._lock:
            agent = self._store.agents.get(agent_id)
            if agent is None or agent.last_heartbeat is None:
                return None
            previous, agent.last_heartbeat = agent.last_heartbeat, now
            return previous

    async def _write_heartbeat(self, agent_id: str, now: datetime) -> None:
        async with self._lock:
            agent = self._store.agents.get(agent_id)
            if agent is not None:
                agent.last_heartbeat = now

    async def _last_tick(self) -> datetime | None:
        return self._ticked

    async def _mark_tick(self, now: datetime) -> None:
        self._ticked = now

    async def _peek_agents(self) -> builtins.list[Agent]:
        return builtins.list(self._store.agents.values())

    async def _peek_waiting(self, due_by: datetime | None = None) -> builtins.list[Handoff]:
        if due_by is None:
            return builtins.list(self._store.live.values())
        return [self._store.live[i] for i in self._store.due(due_by)]

    def subscribe(self, since: str | None = None) -> AsyncIterator[DeskEvent]:
        """Live events from now (or after cursor ``since``); registered immediately, not lazily."""
        kept = [] if since is None else self._store.events[self._index(since) :][-_SUBSCRIBER_BUFFER:]
        sub = _Subscription(self, [parse_event(e) for e in kept])
        self._subscribers.add(sub)
        return sub

    async def deliver(
        self,
        group: str,
        handle: DeskEventHandler,
        *,
        before: DeskBatchHook | None = None,
        reclaim_after_s: float = 30.0,
    ) -> None:
        """Until ``close()``: the callers of ``group`` share one queue, so each event goes to one; a
        batch is what the queue holds when a caller takes from it.

        One process, so nothing is left half-handled by a dead worker: ``reclaim_after_s`` is unused.
        """
        sub = self._groups.get(group)
        if sub is None:
            sub = self._groups[group] = _Subscription(self, [])
            self._subscribers.add(sub)
        while not self._stop.is_set():
            batch = [await sub.queue.get()]
            while batch[-1] is not None and not sub.queue.empty() and len(batch) < _DELIVER_BATCH:
                batch.append(sub.queue.get_nowait())
            events = [e for e in batch if e is not None]
            await before_logged(before, events)
            for event in events:
                await handle_logged(handle, event)
            if batch[-1] is None:  # close(): pass the end on to the group's other callers
                sub.push(None)
                return

    async def events_since(self, cursor: str | None = None, limit: int = 1000) -> EventPage:
        """Event history after ``cursor`` (an index into the in-process log)."""
        start = self._index(cursor)
        page = [parse_event(e) for e in self._store.events[start : start + limit]]
        return EventPage(events=page, cursor=str(self._store.dropped + start + len(page)))

    async def cursor(self) -> str:
        """Cursor after the latest event."""
        return str(self._store.dropped + len(self._store.events))

    def _index(self, cursor: str | None) -> int:
        """Position in the kept history of a cursor (a cursor older than the history starts at its oldest)."""
        return max(0, int(cursor or 0) - self._store.dropped)

    async def close(self) -> None:
        """Stop ``run()`` and end every subscription."""
        await super().close()
        for sub in builtins.list(self._subscribers):
            sub.push(None)
