"""``RedisDesk``: the scaled backend, shared by several API workers through one Redis.

Layout under ``prefix``: handoffs and agents are hashes ``{v, d, ...}`` (version, JSON document and a
few indexed fields); ``queue`` is a sorted set scored by priority then creation time; ``open`` and
``handoffs`` index non-terminal and all handoffs, ``waiting`` the pending and offered ones (the
only ones with timers, so a tick never reads the held handoffs); ``presence`` holds heartbeat times and
``alive:<id>`` keys expire with the heartbeat TTL; ``ticked`` is when any worker last ticked (a
longer gap means the desk was down); ``events`` is a Redis Stream.

Every operation reads what it needs, computes the new state in Python (the same engine as the
in-memory desk) and commits with ``_COMMIT``, one Lua script that checks the version of every
document it writes plus explicit guards (an accept re-checks "still offered/pending" and "agent
under capacity"), then writes the documents, the indexes and the events together. A lost race
re-runs the operation on fresh state, where the loser sees the winner's result (``Conflict``).
That makes ``tick()`` safe from any number of workers: each timer fires in exactly one commit.
"""

from __future__ import annotations

import asyncio
import builtins
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from desk import assign
from desk.base import OnNotice, OnRevert
from desk.clock import Clock
from desk.config import DeskConfig
from desk.engine import BaseDesk
from desk.errors import Conflict
from desk.events import DeskEvent, EventPage, dump_event, parse_event
from desk.lifecycle import TERMINAL, WAITING
from desk.models import Agent, Handoff
from desk.store import AfterCommit, Tx

T = TypeVar("T")
_FIXED_KEYS = 6  # queue, open, handoffs, agents, events, waiting
_MAX_ATTEMPTS = 200
_STREAM_MAXLEN = 100_000

_COMMIT = """
local n = tonumber(ARGV[1])
local p = 2
local docs = {}
for i = 1, n do
  docs[i] = {ARGV[p], ARGV[p+1], ARGV[p+2], ARGV[p+3], ARGV[p+4], ARGV[p+5], ARGV[p+6], ARGV[p+7], ARGV[p+8], ARGV[p+9]}
  p = p + 10
end
for i = 1, n do
  local cur = redis.call('HGET', KEYS[6 + i], 'v') or '0'
  if cur ~= docs[i][3] then return {0, 'version', docs[i][2]} end
end
local g = tonumber(ARGV[p]); p = p + 1
for j = 1, g do
  local key = KEYS[6 + tonumber(ARGV[p])]
  local op, field, val = ARGV[p+1], ARGV[p+2], ARGV[p+3]
  p = p + 4
  local cur = redis.call('HGET', key, field)
  if op == 'eq' and cur ~= val then return {0, 'guard', field} end
  if op == 'lt' and tonumber(cur or '0') >= tonumber(val) then return {0, 'guard', field} end
end
for i = 1, n do
  local d = docs[i]
  local key = KEYS[6 + i]
  local v = tonumber(d[3]) + 1
  if d[1] == 'h' then
    redis.call('HSET', key, 'v', v, 'd', d[4], 'status', d[5], 'offered_to', d[9])
    if d[6] ~= '' then redis.call('ZADD', KEYS[1], d[6], d[2]) else redis.call('ZREM', KEYS[1], d[2]) end
    if d[8] == '1' then redis.call('ZADD', KEYS[2], d[7], d[2]) else redis.call('ZREM', KEYS[2], d[2]) end
    redis.call('ZADD', KEYS[3], d[7], d[2])
    if d[10] == '1' then redis.call('ZADD', KEYS[6], d[7], d[2]) else redis.call('ZREM', KEYS[6], d[2]) end
  else
    redis.call('HSET', key, 'v', v, 'd', d[4], 'held', d[5], 'cap', d[6])
    redis.call('SADD', KEYS[4], d[2])
  end
end
local e = tonumber(ARGV[p]); p = p + 1
local maxlen = ARGV[p]; p = p + 1
for j = 1, e do
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', maxlen, '*', 'e', ARGV[p])
  p = p + 1
end
return {1, 'ok', ''}
"""

# Adds every open handoff whose indexed status is pending or offered to ``waiting`` (atomic, so no
# commit interleaves; idempotent). KEYS: open, waiting; ARGV[1]: the handoff hash key prefix.
_INDEX_WAITING = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #ids, 2 do
  local status = redis.call('HGET', ARGV[1] .. ids[i], 'status')
  if status == 'pending' or status == 'offered' then redis.call('ZADD', KEYS[2], ids[i + 1], ids[i]) end
end
return #ids / 2
"""


def reconnecting() -> dict[str, Any]:
    """Client options that survive a Redis restart: redis-py 8 does not retry by default, so every
    pooled connection opened before the restart failed its next command once (HTTP 500s)."""
    return {
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.02), 3),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 10,
    }


class _RetryError(Exception):
    """The commit lost a race; re-run the operation."""


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


class _RedisTx(Tx):
    def __init__(self, desk: RedisDesk) -> None:
        super().__init__()
        self._r = desk.redis
        self._k = desk.key
        self.versions: dict[str, str] = {}

    async def _hmget(self, keys: list[str]) -> list[Any]:
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, "v", "d")
        return list(await pipe.execute())

    async def _load_handoffs(self, ids: list[str]) -> list[Handoff | None]:
        keys = [self._k("h", i) for i in ids]
        out: list[Handoff | None] = []
        for key, (version, doc) in zip(keys, await self._hmget(keys), strict=True):
            self.versions[key] = version or "0"
            out.append(None if doc is None else Handoff.model_validate_json(doc))
        return out

    async def _load_agents(self, ids: list[str]) -> list[Agent | None]:
        keys = [self._k("a", i) for i in ids]
        rows = await self._hmget(keys)
        beats: Any = await self._r.zmscore(self._k("presence"), ids) if ids else []
        out: list[Agent | None] = []
        for key, (version, doc), beat in zip(keys, rows, beats, strict=True):
            self.versions[key] = version or "0"
            if doc is None:
                out.append(None)
                continue
            agent = Agent.model_validate_json(doc)
            if beat is not None:
                agent.last_heartbeat = datetime.fromtimestamp(float(beat), UTC)
            out.append(agent)
        return out

    async def agent_ids(self) -> list[str]:
        members: Any = await self._r.smembers(self._k("agents"))
        stored = {_str(m) for m in members}
        return sorted(stored | set(self.dirty_agents))

    async def queue(self) -> list[str]:
        members: Any = await self._r.zrange(self._k("queue"), 0, -1)
        return [_str(m) for m in members]

    async def count_ahead(self, handoff: Handoff) -> int:
        rank: Any = await self._r.zrank(self._k("queue"), handoff.handoff_id)
        if rank is not None and handoff.status == "pending":
            return int(rank)
        return int(await self._r.zcount(self._k("queue"), "-inf", f"({assign.queue_score(handoff)}"))

    async def handoff_ids(self, open_only: bool) -> list[str]:
        index = self._k("open" if open_only else "handoffs")
        members: Any = await self._r.zrange(index, 0, -1)
        return [_str(m) for m in members]

    def commit_args(self) -> tuple[list[str], list[str]]:
        keys = [self._k(n) for n in ("queue", "open", "handoffs", "agents", "events", "waiting")]
        argv: list[str] = []
        position: dict[str, int] = {}
        for hid, h in self.dirty_handoffs.items():
            key = self._k("h", hid)
            keys.append(key)
            position[key] = len(keys) - _FIXED_KEYS
            queued = str(assign.queue_score(h)) if h.status == "pending" else ""
            is_open = "0" if h.status in TERMINAL else "1"
            version = self.versions.get(key, "0")
            argv += [
                "h",
                hid,
                version,
                h.model_dump_json(),
                h.status,
                queued,
                str(_ms(h.created_at)),
                is_open,
                h.offered_agent_id or "",
                "1" if h.status in WAITING else "0",
            ]
        for aid, a in self.dirty_agents.items():
            key = self._k("a", aid)
            keys.append(key)
            position[key] = len(keys) - _FIXED_KEYS
            version = self.versions.get(key, "0")
            held, cap = str(len(a.active_handoff_ids)), str(a.max_concurrent)
            argv += ["a", aid, version, a.model_dump_json(), held, cap, "", "", "", ""]
        guards: list[str] = []
        for hid, status, aid in self.accept_guards:
            agent = self.agent_cache[aid]
            guards += [str(position[self._k("h", hid)]), "eq", "status", status]
            if status == "offered":  # the offer must still be this agent's
                guards += [str(position[self._k("h", hid)]), "eq", "offered_to", aid]
            guards += [str(position[self._k("a", aid)]), "lt", "held", str(agent.max_concurrent)]
        argv = [str(len(keys) - _FIXED_KEYS), *argv, str(len(guards) // 4), *guards]
        argv += [str(len(self.events)), str(_STREAM_MAXLEN), *(dump_event(e) for e in self.events)]
        return keys, argv


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
        self._commit = self.redis.register_script(_COMMIT)
        self._index_waiting = self.redis.register_script(_INDEX_WAITING)
        self._waiting_indexed = False

    def key(self, *parts: str) -> str:
        """A Redis key under this desk's prefix."""
        return self.prefix + ":".join(parts)

    async def _atomic(self, fn: Callable[[Tx], Awaitable[T]]) -> tuple[T, builtins.list[AfterCommit]]:
        for attempt in range(_MAX_ATTEMPTS):
            tx = _RedisTx(self)
            result = await fn(tx)
            if not (tx.dirty_handoffs or tx.dirty_agents or tx.events):
                return result, tx.after
            keys, argv = tx.commit_args()
            ok, _why, _which = await self._commit(keys=keys, args=argv)
            if int(ok) == 1:
                return result, tx.after
            await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))
        msg = f"desk operation lost {_MAX_ATTEMPTS} races in a row; try again"
        raise Conflict(msg)

    async def _write_heartbeat(self, agent_id: str, now: datetime) -> None:
        ttl_ms = max(1, round(self.config.heartbeat_ttl_s * 1000))
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(self.key("presence"), {agent_id: now.timestamp()})
        pipe.set(self.key("alive", agent_id), now.isoformat(), px=ttl_ms)
        await pipe.execute()

    async def _last_tick(self) -> datetime | None:
        raw: Any = await self.redis.get(self.key("ticked"))
        return None if raw is None else datetime.fromtimestamp(float(raw), UTC)

    async def _mark_tick(self, now: datetime) -> None:
        await self.redis.set(self.key("ticked"), repr(now.timestamp()))

    async def _peek_agents(self) -> builtins.list[Agent]:
        tx = _RedisTx(self)
        return await tx.agents()

    async def _peek_waiting(self) -> builtins.list[Handoff]:
        if not self._waiting_indexed:  # data written before the index existed: index it once
            await self._index_waiting(keys=[self.key("open"), self.key("waiting")], args=[self.key("h", "")])
            self._waiting_indexed = True
        tx = _RedisTx(self)
        members: Any = await self.redis.zrange(self.key("waiting"), 0, -1)
        return await tx.handoffs([_str(m) for m in members])

    async def _subscribe(self, since: str | None) -> AsyncIterator[DeskEvent]:
        last = since or await self.cursor()
        stream = self.key("events")
        while not self._stop.is_set():
            reply: Any = await self.redis.xread({stream: last}, block=500, count=500)
            for _name, entries in reply or []:
                for entry_id, fields in entries:
                    last = _str(entry_id)
                    yield parse_event(fields[b"e"])

    def subscribe(self, since: str | None = None) -> AsyncIterator[DeskEvent]:
        """Live events from the stream (after cursor ``since``, else from the first read on)."""
        return self._subscribe(since)

    async def events_since(self, cursor: str | None = None, limit: int = 1000) -> EventPage:
        """Event history after stream id ``cursor``."""
        start = f"({cursor}" if cursor else "-"
        entries: Any = await self.redis.xrange(self.key("events"), min=start, max="+", count=limit)
        events = [parse_event(fields[b"e"]) for _id, fields in entries]
        last = _str(entries[-1][0]) if entries else (cursor or "0-0")
        return EventPage(events=events, cursor=last)

    async def cursor(self) -> str:
        """Stream id of the latest event (``0-0`` when none)."""
        entries: Any = await self.redis.xrevrange(self.key("events"), count=1)
        return _str(entries[0][0]) if entries else "0-0"

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
