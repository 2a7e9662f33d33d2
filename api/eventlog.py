"""Sequenced event streams behind the WebSockets: append, replay after ``since``, follow live.

``LocalEventLog`` persists every event in the API store and keeps a ring of the newest ones for the
most recently used streams in process;
``RedisEventLog`` uses one Redis Stream per stream (ids ``<seq>-1``, seq from ``INCR`` in the same
Lua call, so order is global across workers); one reader task per worker ``XREAD BLOCK``s on all
followed streams and fans entries out, so an open socket holds no Redis connection.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from api.store import ApiStore, Lru
from api.ws_models import _Event

if TYPE_CHECKING:
    import redis.asyncio as aioredis  # only the scaled profile loads redis

log = logging.getLogger("baton.api.eventlog")

_RING = 512
_STREAMS = 1_000  # streams whose ring and head a worker caches (the store has every event)
_PREFIX = '{"seq":0,'
_BLOCK_MS = 250  # the reader's XREAD BLOCK: how long a newly followed stream can wait to join it
_COUNT = 100  # entries per stream per XREAD
_BACKLOG = 10_000  # undelivered entries a follower may hold before it falls back to XRANGE
_REPLAYS = 8  # concurrent replay XRANGEs per instance, so a reconnect storm cannot drain the pool
_BACKOFF_MIN, _BACKOFF_MAX = 0.05, 2.0


def _with_seq(data: str, seq: int) -> str:
    if not data.startswith(_PREFIX):  # pragma: no cover - every _Event dumps seq first
        loaded = json.loads(data)
        loaded["seq"] = seq
        return json.dumps(loaded)
    return f'{{"seq":{seq},' + data[len(_PREFIX) :]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def seq_of(data: str) -> int:
    """The seq of an event's JSON text (always its first field)."""
    return int(data[7 : data.index(",")])


class EventLog(Protocol):
    """Per-stream sequenced events."""

    async def append(self, stream: str, *events: _Event) -> int:
        """Append ``events`` in order, in one write (seqs assigned), and wake followers; returns the
        last seq."""
        ...

    async def append_each(self, appends: Sequence[tuple[str, Sequence[_Event]]]) -> list[int]:
        """``append`` to several streams in one write (one transaction, one Redis call); returns each
        stream's last seq, in order. A stream may appear once."""
        ...

    async def read(self, stream: str, since: int) -> list[str]:
        """Events with ``seq > since`` as JSON text, in order."""
        ...

    def follow(self, stream: str, since: int) -> AsyncIterator[str]:
        """Replay after ``since``, then live events, each exactly once, in order."""
        ...

    async def head(self, stream: str) -> int:
        """The latest seq of ``stream`` (0 when empty)."""
        ...

    async def erase(self, stream: str) -> None:
        """Forget every event of ``stream`` (a deleted conversation; its id is never used again)."""
        ...


@dataclass(eq=False)
class _Stream:
    """What a worker caches of one stream: its latest seq and its newest events."""

    seq: int
    ring: collections.deque[tuple[int, str]] = field(default_factory=lambda: collections.deque(maxlen=_RING))


class LocalEventLog:
    """One process: in-memory rings, durable copies in the store.

    Memory is bounded: rings and heads are cached for the ``max_streams`` most recently used streams
    (an evicted one is read from the store again), the wake-up of a stream lives only while someone
    follows it.
    """

    def __init__(self, store: ApiStore, *, max_streams: int = _STREAMS) -> None:
        self._store = store
        self._streams: Lru[str, _Stream] = Lru(max_streams)
        self._wake: dict[str, asyncio.Event] = {}
        self._following: collections.Counter[str] = collections.Counter()
        self._lock = asyncio.Lock()

    def sizes(self) -> dict[str, int]:
        """How many streams and followed streams this log holds in memory."""
        return {"streams": len(self._streams), "followed": len(self._wake)}

    async def _cached(self, stream: str) -> _Stream:
        """The stream's cache entry, its head loaded from the store on a miss (hold ``_lock``)."""
        cached = self._streams.get(stream)
        if cached is None:
            cached = _Stream(await self._store.last_seq(stream))
            self._streams.put(stream, cached)
        return cached

    async def head(self, stream: str) -> int:
        """Latest seq (loaded from the store when not cached)."""
        cached = self._streams.get(stream)
        if cached is not None:
            return cached.seq
        async with self._lock:  # a load racing an append would cache a stale head
            return (await self._cached(stream)).seq

    async def append(self, stream: str, *events: _Event) -> int:
        """Assign the next seqs, persist them in one transaction, then publish."""
        return (await self.append_each([(stream, events)]))[0]

    async def append_each(self, appends: Sequence[tuple[str, Sequence[_Event]]]) -> list[int]:
        """Assign each stream its next seqs, persist all in one transaction, then publish."""
        _check_once(appends)
        async with self._lock:
            batches = []
            for stream, events in appends:
                cached = await self._cached(stream)
                rows = [
                    (cached.seq + i, _with_seq(e.model_dump_json(), cached.seq + i))
                    for i, e in enumerate(events, 1)
                ]
                batches.append((stream, cached, rows))
            await self._store.append_events_each([(stream, rows) for stream, _, rows in batches])
            for _, cached, rows in batches:
                if rows:
                    cached.seq = rows[-1][0]
                    cached.ring.extend(rows)
        for stream, _, _ in batches:
            wake = self._wake.pop(stream, None)
            if wake is not None:
                wake.set()
        return [cached.seq for _, cached, _ in batches]

    async def erase(self, stream: str) -> None:
        """Forget the stream's events, here and in the store."""
        async with self._lock:
            await self._store.erase_events(stream)
            self._streams.pop(stream)

    async def read(self, stream: str, since: int) -> list[str]:
        """From the ring when it covers ``since``, else from the store."""
        cached = self._streams.get(stream)
        if cached is not None and cached.ring and cached.ring[0][0] <= since + 1:
            return [d for s, d in cached.ring if s > since]
        if since >= await self.head(stream):
            return []
        return await self._store.events_after(stream, since)

    async def follow(self, stream: str, since: int) -> AsyncIterator[str]:
        """Replay then live."""
        last = since
        self._following[stream] += 1
        try:
            while True:
                wake = self._wake.setdefault(stream, asyncio.Event())
                for data in await self.read(stream, last):
                    last = seq_of(data)
                    yield data
                await wake.wait()
        finally:
            self._following[stream] -= 1
            if not self._following[stream]:
                del self._following[stream]
                self._wake.pop(stream, None)


# KEYS: each stream's seq counter and stream; ARGV: maxlen, then per stream its event count and events.
# Returns each stream's last seq.
_APPEND = """
local heads = {}
local at = 2
for s = 1, #KEYS / 2 do
  local n = tonumber(ARGV[at])
  local first = redis.call('INCRBY', KEYS[2 * s - 1], n) - n + 1
  for i = 1, n do
    redis.call('XADD', KEYS[2 * s], 'MAXLEN', '~', ARGV[1], (first + i - 1) .. '-1', 'd', ARGV[at + i])
  end
  heads[s] = first + n - 1
  at = at + n + 1
end
return heads
"""


def _check_once(appends: Sequence[tuple[str, Sequence[_Event]]]) -> None:
    streams = [stream for stream, _ in appends]
    if len(set(streams)) != len(streams):
        msg = f"a stream appears more than once in one append: {streams}"
        raise ValueError(msg)


@dataclass(eq=False)
class _Follower:
    """One ``follow`` call: entries the reader handed over, not yet yielded."""

    last: int
    pending: collections.deque[tuple[int, str]] = field(default_factory=collections.deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lagged: bool = False  # re-read after ``last`` with XRANGE (joined behind the reader, or overflowed)


class RedisEventLog:
    """Several workers: Redis Streams, one per conversation/agent stream.

    Followers hold no connection: one reader task per instance (so per worker) ``XREAD BLOCK``s on
    every followed stream at once and fans entries out to the followers, which dedupe by seq.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str, maxlen: int = 10_000) -> None:
        self._redis = redis
        self._prefix = prefix
        self._maxlen = maxlen
        self._script = redis.register_script(_APPEND)
        self._subs: dict[str, set[_Follower]] = {}
        self._cursor: dict[str, int] = {}  # Redis key -> last seq the reader has fanned out
        self._reader: asyncio.Task[None] | None = None
        self._replays = asyncio.Semaphore(_REPLAYS)
        self._closed = False

    def _keys(self, stream: str) -> tuple[str, str]:
        return f"{self._prefix}ev:{stream}:seq", f"{self._prefix}ev:{stream}"

    @property
    def followers(self) -> int:
        """How many ``follow`` iterators are open."""
        return sum(len(subs) for subs in self._subs.values())

    @property
    def reading(self) -> bool:
        """Whether the shared reader task is running."""
        return self._reader is not None and not self._reader.done()

    async def head(self, stream: str) -> int:
        """Latest seq."""
        raw = await self._redis.get(self._keys(stream)[0])
        return int(raw or 0)

    async def erase(self, stream: str) -> None:
        """Delete the stream and its seq counter."""
        await self._redis.delete(*self._keys(stream))

    async def append(self, stream: str, *events: _Event) -> int:
        """INCRBY + an XADD per event, atomically: one script call."""
        return (await self.append_each([(stream, events)]))[0]

    async def append_each(self, appends: Sequence[tuple[str, Sequence[_Event]]]) -> list[int]:
        """Every stream's INCRBY and XADDs in one script call: one round trip, all or nothing."""
        _check_once(appends)
        keys: list[str] = []
        args: list[Any] = [self._maxlen]
        for stream, events in appends:
            keys.extend(self._keys(stream))
            args.append(len(events))
            args.extend(e.model_dump_json() for e in events)
        heads: Any = await self._script(keys=keys, args=args)
        return [int(h) for h in heads]

    @staticmethod
    def _decode(entries: list[Any]) -> list[tuple[int, str]]:
        out = []
        for entry_id, fields in entries:
            raw = fields.get(b"d", fields.get("d"))
            seq = int(_text(entry_id).split("-")[0])
            out.append((seq, _with_seq(_text(raw), seq)))
        return out

    async def _range(self, key: str, since: int) -> list[tuple[int, str]]:
        entries: Any = await self._redis.xrange(key, min=f"{since + 1}-0", max="+")
        return self._decode(entries)

    async def read(self, stream: str, since: int) -> list[str]:
        """XRANGE after ``since``."""
        return [d for _, d in await self._range(self._keys(stream)[1], since)]

    async def follow(self, stream: str, since: int) -> AsyncIterator[str]:
        """XRANGE replay, then the entries the shared reader fans out; deduped by seq."""
        key = self._keys(stream)[1]
        async with self._replays:
            replay = await self._range(key, since)
        me = _Follower(last=since)
        self._join(key, me, replay[-1][0] if replay else since)
        try:
            for seq, data in replay:
                me.last = seq
                yield data
            while not self._closed:
                if me.lagged:
                    me.lagged = False
                    async with self._replays:
                        missed = await self._range(key, me.last)
                    me.pending.extendleft(reversed(missed))
                elif not me.pending:
                    me.wake.clear()
                    await me.wake.wait()
                    continue
                while me.pending and not me.lagged:
                    seq, data = me.pending.popleft()
                    if seq > me.last:
                        me.last = seq
                        yield data
        finally:
            self._leave(key, me)

    def _join(self, key: str, me: _Follower, end: int) -> None:
        """Subscribe ``me``, whose replay ended at ``end``: no await, so the reader sees all or nothing."""
        cursor = self._cursor.get(key)
        if cursor is None:
            self._cursor[key] = end
        elif cursor > end:
            me.lagged = True  # the reader already fanned out (end, cursor]: they are in Redis, re-read them
        self._subs.setdefault(key, set()).add(me)
        if not self._closed and not self.reading:
            self._reader = asyncio.create_task(self._read_loop(), name="baton-eventlog-reader")

    def _leave(self, key: str, me: _Follower) -> None:
        subs = self._subs.get(key)
        if subs is None:
            return
        subs.discard(me)
        if not subs:
            del self._subs[key]
            del self._cursor[key]

    async def _read_loop(self) -> None:
        """XREAD BLOCK on every followed stream until none is followed; Redis errors back off and retry.

        A short block rather than a wake-up: a blocking XREAD cannot take a new stream, and waking it
        would cost a write per subscription and a key per worker to clean up. A new stream only waits
        for the current block to end; its cursor is set at join, so nothing appended meanwhile is lost.
        """
        backoff = _BACKOFF_MIN
        while self._subs and not self._closed:
            requested = dict(self._cursor)
            try:
                found: Any = await self._redis.xread(
                    {key: f"{seq}-1" for key, seq in requested.items()}, block=_BLOCK_MS, count=_COUNT
                )
                for raw_key, entries in found or []:
                    self._fan_out(_text(raw_key), requested, self._decode(entries))
            except Exception as exc:  # never die silently: followers wait until Redis answers again
                from redis.exceptions import RedisError  # loaded: this reader only runs on Redis

                log.warning(
                    "event reader: %s; retrying in %.2fs",
                    exc,
                    backoff,
                    exc_info=not isinstance(exc, RedisError | OSError),
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
                continue
            backoff = _BACKOFF_MIN

    def _fan_out(self, key: str, requested: dict[str, int], items: list[tuple[int, str]]) -> None:
        cursor = self._cursor.get(key)
        # Dropped and re-joined during the XREAD with a cursor behind this read: the next read covers it.
        if cursor is None or cursor < requested[key] or not items:
            return
        self._cursor[key] = max(cursor, items[-1][0])
        for follower in self._subs.get(key, ()):
            follower.pending.extend(items)
            if len(follower.pending) > _BACKLOG:  # a stalled consumer re-reads from Redis, not from memory
                follower.pending.clear()
                follower.lagged = True
            follower.wake.set()

    async def aclose(self) -> None:
        """Stop the reader and end every follower (app shutdown)."""
        self._closed = True
        for subs in self._subs.values():
            for follower in subs:
                follower.wake.set()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
