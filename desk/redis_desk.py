"""``RedisDesk``: the scaled backend, shared by several API workers through one Redis.

Layout under ``prefix``: handoffs and agents are hashes ``{v, d, ...}`` (version, JSON document and a
few indexed fields); ``queue`` is a sorted set scored by priority then creation time; ``open`` and
``handoffs`` index non-terminal and all handoffs, ``waiting`` the pending and offered ones scored by
their timer deadline (``timers.timer_deadline``: a tick reads only the due ones, never the held
handoffs); ``avail`` holds the agents online with a free slot (a dispatch with nobody free stops
there); ``presence`` holds heartbeat times and
``alive:<id>`` keys expire with the heartbeat TTL; ``ticked`` is when any worker last ticked (a
longer gap means the desk was down); ``events`` is a Redis Stream; ``tags`` holds the random tag each
commit writes beside an agent's document. Each worker keeps read-only views of the agents and the free
ones in offer order (``desk.redis_views``), checked on every refresh against ``tags``.

Every operation reads what it needs (``desk.redis_tx.RedisTx``), computes the new state in Python
(the same engine as the in-memory desk) and commits with ``desk.redis_scripts.COMMIT``, one Lua script
that checks the version of every document it writes plus explicit guards (an accept re-checks "still
offered/pending" and "agent under capacity"), then writes the documents, the indexes and the events
together. A lost race
re-runs the operation on fresh state, where the loser sees the winner's result (``Conflict``).
That makes ``tick()`` safe from any number of workers: each timer fires in exactly one commit.
"""

from __future__ import annotations

import asyncio
import builtins
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from desk.base import OnNotice, OnRevert
from desk.clock import Clock
from desk.config import DeskConfig
from desk.engine import BaseDesk
from desk.errors import Busy
from desk.events import DeskBatchHook, DeskEvent, DeskEventHandler, EventPage, parse_event
from desk.models import Agent, Handoff
from desk.redis_delivery import GroupReader
from desk.redis_scripts import COMMIT, HEARTBEAT, INDEX_AGENTS, INDEX_WAITING
from desk.redis_tx import RedisTx, decoded
from desk.redis_views import AgentViews, beat_time
from desk.store import AfterCommit, Tx

T = TypeVar("T")
_MAX_ATTEMPTS = 200
_EXISTS_SLICE = 1_000  # ids per round trip of ``unknown_*``


def reconnecting() -> dict[str, Any]:
    """Client options that survive a Redis restart: redis-py 8 does not retry by default, so every
    pooled connection opened before the restart failed its next command once (HTTP 500s)."""
    return {
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.02), 3),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 10,
    }


class RedisDesk(BaseDesk):
    """Desk state in Redis, shared by every worker using the same ``prefix``."""

    def __init__(
        self,
        redis: aioredis.Redis | str,
        config: DeskConfig | None = None,
        *,
        prefix: str = "baton:desk:",
        clock: Clock | None = None,
        on_revert: OnRevert | None = None,
        on_notice: OnNotice | None = None,
    ) -> None:
        super().__init__(config, clock=clock, on_revert=on_revert, on_notice=on_notice)
        self.redis: aioredis.Redis = (
            aioredis.from_url(redis, **reconnecting()) if isinstance(redis, str) else redis
        )
        self.prefix = prefix
        self._commit = self.redis.register_script(COMMIT)
        self._index_waiting = self.redis.register_script(INDEX_WAITING)
        self._index_agents = self.redis.register_script(INDEX_AGENTS)
        self._heartbeat = self.redis.register_script(HEARTBEAT)
        self._indexed = False
        self._retrying = asyncio.Lock()  # taken by operations that lost a race (``_atomic``)
        self.views = AgentViews(self.redis, self.key)

    def key(self, *parts: str) -> str:
        """A Redis key under this desk's prefix."""
        return self.prefix + ":".join(parts)

    async def _index_old_data(self) -> None:
        """Index what a desk of an earlier release stored without the ``waiting``/``avail``/``tags`` keys."""
        if self._indexed:
            return
        await self._index_waiting(keys=[self.key("open"), self.key("waiting")], args=[self.key("h", "")])
        await self._index_agents(
            keys=[self.key("agents"), self.key("avail"), self.key("tags")],
            args=[self.key("a", "")],
        )
        self._indexed = True

    async def _atomic(self, fn: Callable[[Tx], Awaitable[T]]) -> tuple[T, builtins.list[AfterCommit]]:
        await self._index_old_data()
        attempts = 0
        if not self._retrying.locked():
            attempts += 1
            done = await self._attempt(fn)
            if done is not None:
                return done
        # A lost race. Most often it was lost to this worker's own operations: a burst of submits
        # all read the same free agent at the head of the offer order, one commit wins and the rest
        # meet again on the next agent, about N**2 / 10 commits for N submits
        # (benchmarks/desk_submit_burst.py). So retries, and what arrives while they run, take
        # turns: each reads what the one before it committed, and only other workers remain to race.
        async with self._retrying:
            while attempts < _MAX_ATTEMPTS:
                attempts += 1
                done = await self._attempt(fn)
                if done is not None:
                    return done
                if attempts < _MAX_ATTEMPTS:  # after the last loss: Busy at once, not after a nap
                    await asyncio.sleep(random.uniform(0, 0.001 * min(attempts, 20)))
        msg = f"desk operation lost {_MAX_ATTEMPTS} races in a row; try again"
        raise Busy(msg)

    async def _attempt(self, fn: Callable[[Tx], Awaitable[T]]) -> tuple[T, builtins.list[AfterCommit]] | None:
        """Run ``fn`` in a fresh transaction and commit it; None when the commit lost a race."""
        tx = RedisTx(self)
        result = await fn(tx)
        if tx.dirty_handoffs or tx.dirty_agents or tx.events:
            keys, argv = tx.commit_args()
            ok, _why, _which = await self._commit(keys=keys, args=argv)
            if int(ok) != 1:
                return None
        return result, tx.after

    async def _write_heartbeat(self, agent_id: str, now: datetime) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(self.key("presence"), {agent_id: now.timestamp()})
        pipe.set(self.key("alive", agent_id), now.isoformat(), px=self._alive_ms())
        await pipe.execute()

    async def unknown_agents(self, agent_ids: Sequence[str]) -> set[str]:
        return await self._unknown("a", agent_ids)

    async def unknown_handoffs(self, handoff_ids: Sequence[str]) -> set[str]:
        return await self._unknown("h", handoff_ids)

    async def _unknown(self, kind: str, ids: Sequence[str]) -> set[str]:
        # EXISTS on the documents themselves, a slice per round trip: the recovery pass asks about
        # every open handoff, and a get() per id was a transaction each (600 held: ~0.2 s a pass).
        unknown: set[str] = set()
        for start in range(0, len(ids), _EXISTS_SLICE):
            part = ids[start : start + _EXISTS_SLICE]
            pipe = self.redis.pipeline(transaction=False)
            for one in part:
                pipe.exists(self.key(kind, one))
            unknown.update(i for i, found in zip(part, await pipe.execute(), strict=True) if not found)
        return unknown

    async def _swap_heartbeat(self, agent_id: str, now: datetime) -> datetime | None:
        keys = [self.key("presence"), self.key("alive", agent_id)]
        old: Any = await self._heartbeat(
            keys=keys, args=[agent_id, repr(now.timestamp()), now.isoformat(), self._alive_ms()]
        )
        return None if old is None else beat_time(old)

    def _alive_ms(self) -> int:
        return max(1, round(self.config.heartbeat_ttl_s * 1000))

    async def _last_tick(self) -> datetime | None:
        raw: Any = await self.redis.get(self.key("ticked"))
        return None if raw is None else datetime.fromtimestamp(float(raw), UTC)

    async def _mark_tick(self, now: datetime) -> None:
        await self.redis.set(self.key("ticked"), repr(now.timestamp()))

    async def _peek_agents(self) -> builtins.list[Agent]:
        tx = RedisTx(self)
        return await tx.agents()

    async def _maybe_stale(self, now: datetime) -> builtins.list[Agent]:
        # Every worker ticks every second: reading every agent's document to find the few whose
        # heartbeat expired cost one HMGET and a JSON parse per agent per worker per second. The
        # presence scores say who can be stale; only those documents are read.
        await self._index_old_data()  # the views find an agent by its ``tags`` entry
        tx = RedisTx(self)
        ids = await tx.agent_ids()
        if not ids:
            return []
        beats: Any = await self.redis.zmscore(self.key("presence"), ids)
        cutoff = now.timestamp() - self.config.heartbeat_ttl_s
        maybe = [i for i, beat in zip(ids, beats, strict=True) if beat is None or float(beat) < cutoff]
        return await tx.view_agents(maybe) if maybe else []

    async def _peek_waiting(self, due_by: datetime | None = None) -> builtins.list[Handoff]:
        await self._index_old_data()
        tx = RedisTx(self)
        top = "+inf" if due_by is None else repr(due_by.timestamp() * 1000)
        members: Any = await self.redis.zrangebyscore(self.key("waiting"), "-inf", top)
        return await tx.handoffs([decoded(m) for m in members])

    async def _subscribe(self, since: str | None) -> AsyncIterator[DeskEvent]:
        last = since or await self.cursor()
        stream = self.key("events")
        while not self._stop.is_set():
            reply: Any = await self.redis.xread({stream: last}, block=500, count=500)
            for _name, entries in reply or []:
                for entry_id, fields in entries:
                    last = decoded(entry_id)
                    yield parse_event(fields[b"e"])

    def subscribe(self, since: str | None = None) -> AsyncIterator[DeskEvent]:
        """Live events from the stream (after cursor ``since``, else from the first read on)."""
        return self._subscribe(since)

    async def deliver(
        self,
        group: str,
        handle: DeskEventHandler,
        *,
        before: DeskBatchHook | None = None,
        reclaim_after_s: float = 30.0,
    ) -> None:
        """Until ``close()``: a consumer of the Redis group ``group`` (``desk.redis_delivery``)."""
        reader = GroupReader(
            self.redis, self.key("events"), group, handle, before=before, reclaim_after_s=reclaim_after_s
        )
        await reader.run(self._stop)

    async def events_since(self, cursor: str | None = None, limit: int = 1000) -> EventPage:
        """Event history after stream id ``cursor``."""
        start = f"({cursor}" if cursor else "-"
        entries: Any = await self.redis.xrange(self.key("events"), min=start, max="+", count=limit)
        events = [parse_event(fields[b"e"]) for _id, fields in entries]
        last = decoded(entries[-1][0]) if entries else (cursor or "0-0")
        return EventPage(events=events, cursor=last)

    async def cursor(self) -> str:
        """Stream id of the latest event (``0-0`` when none)."""
        entries: Any = await self.redis.xrevrange(self.key("events"), count=1)
        return decoded(entries[0][0]) if entries else "0-0"

    async def clear(self) -> None:
        """Delete every key under this desk's prefix (tests and simulations)."""
        async for key in self.redis.scan_iter(match=self.prefix + "*", count=500):
            await self.redis.delete(key)

    async def close(self) -> None:
        """Stop ``run()`` and subscriptions and close the Redis connection pool."""
        await super().close()
        await self.redis.aclose()


def unique_prefix(base: str = "baton:desk:test:") -> str:
    """A fresh key prefix (one per test or simulation run)."""
    return f"{base}{uuid.uuid4().hex[:12]}:"
