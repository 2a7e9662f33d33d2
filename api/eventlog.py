"""Sequenced event streams behind the WebSockets: append, replay after ``since``, follow live.

``LocalEventLog`` persists every event in the API store and keeps a ring of the newest ones for the
most recently used streams in process;
``RedisEventLog`` uses one Redis Stream per stream (ids ``<seq>-1``, seq from ``INCR`` in the same
Lua call, so order is global across workers) and publishes each event on its stream's channel; one
subscriber connection and reader task per worker take the channels its sockets follow and fan the
events out, so an open socket holds no Redis connection and a worker's reads cost the events sent to
it, not how many streams it follows.
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
_WAIT_S = 1.0  # the reader's longest wait for a message, so it notices a connection gone silent
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
# Each event is also published on a channel named after its stream ("<seq> <event>"): it reaches the
# workers that follow that stream and costs next to nothing where none does. Returns each stream's last seq.
_APPEND = """
local heads = {}
local at = 2
for s = 1, #KEYS / 2 do
  local n = tonumber(ARGV[at])
  local first = redis.call('INCRBY', KEYS[2 * s - 1], n) - n + 1
  for i = 1, n do
    local seq = first + i - 1
    redis.call('XADD', KEYS[2 * s], 'MAXLEN', '~', ARGV[1], seq .. '-1', 'd', ARGV[at + i])
    redis.call('PUBLISH', KEYS[2 * s], seq .. ' ' .. ARGV[at + i])
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
    lagged: bool = False  # re-read after ``last`` with XRANGE (subscription confirmed, or overflowed)


class RedisEventLog:
    """Several workers: Redis Streams, one per conversation/agent stream, and a channel per stream.

    Followers hold no connection: one subscriber connection and reader task per instance (so per
    worker) take the events published on the channels of the streams it follows and fan them out to
    their followers, which dedupe by seq. A read costs what was published to this worker, not how many
    streams it follows. Whatever a follower could have missed (what came before its channel was
    subscribed, what was published while the connection was down) it re-reads from the stream itself
    once Redis confirms the subscription.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str, maxlen: int = 10_000) -> None:
        self._redis = redis
        self._prefix = prefix
        self._maxlen = maxlen
        self._script = redis.register_script(_APPEND)
        self._pubsub = redis.pubsub()
        self._subs: dict[str, set[_Follower]] = {}
        self._subscribed: set[str] = set()  # channels asked for
        self._confirmed: set[str] = set()  # channels Redis confirmed: what is published now arrives here
        self._subscribing = asyncio.Lock()  # SUBSCRIBE and UNSUBSCRIBE leave in the order decided
        self._syncs: set[asyncio.Task[None]] = set()  # unsubscribes under way (a task needs a reference)
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

    @property
    def subscriptions(self) -> int:
        """How many stream channels this instance is subscribed to."""
        return len(self._subscribed)

    async def head(self, stream: str) -> int:
        """Latest seq."""
        raw = await self._redis.get(self._keys(stream)[0])
        return int(raw or 0)

    async def erase(self, stream: str) -> None:
        """Delete the stream and its seq counter."""
        await self._redis.delete(*self._keys(stream))

    async def append(self, stream: str, *events: _Event) -> int:
        """INCRBY, and an XADD and a PUBLISH per event, atomically: one script call."""
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
        """Subscribe, read the stream after ``since`` once Redis has confirmed the subscription (so
        nothing published in between is missed), then take what the reader fans out; deduped by seq."""
        key = self._keys(stream)[1]
        me = _Follower(last=since, lagged=key in self._confirmed)
        self._subs.setdefault(key, set()).add(me)
        try:
            await self._sync(key)
            if not self._closed and not self.reading:
                self._reader = asyncio.create_task(self._read_loop(), name="baton-eventlog-reader")
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
            subs = self._subs[key]
            subs.discard(me)
            if not subs:
                del self._subs[key]
                if not self._closed:  # a closing generator may be under cancellation: not awaited here
                    task = asyncio.create_task(self._sync(key))
                    self._syncs.add(task)
                    task.add_done_callback(self._syncs.discard)

    async def _sync(self, key: str) -> None:
        """Subscribe to ``key``'s channel while someone follows it, unsubscribe once nobody does.

        Decided under a lock from the state at the time, so a leave and a join racing each other send
        their commands in an order that leaves the right one in force."""
        async with self._subscribing:
            wanted = key in self._subs
            if wanted == (key in self._subscribed):
                return
            if wanted:
                await self._pubsub.subscribe(key)  # sent again by the next join if this one fails
                self._subscribed.add(key)
            else:
                self._subscribed.discard(key)
                self._confirmed.discard(key)
                await self._pubsub.unsubscribe(key)

    def _confirm(self, key: str) -> None:
        """Redis sends ``key``'s events here from now on: its followers re-read what came before."""
        self._confirmed.add(key)
        for follower in self._subs.get(key, ()):
            follower.lagged = True
            follower.wake.set()

    async def _read_loop(self) -> None:
        """Read the subscriber connection for the log's life; Redis errors back off and retry.

        On a lost connection redis-py reconnects and subscribes again; each confirmation makes that
        stream's followers re-read, so what was published meanwhile is not lost."""
        backoff = _BACKOFF_MIN
        while not self._closed:
            try:
                message: Any = await self._pubsub.get_message(timeout=_WAIT_S)
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
            if message is None:
                continue
            kind, key = _text(message["type"]), _text(message["channel"])
            if kind == "message":
                self._fan_out(key, _text(message["data"]))
            elif kind == "subscribe":
                self._confirm(key)

    def _fan_out(self, key: str, payload: str) -> None:
        subs = self._subs.get(key)
        if subs is None:  # nobody follows it any more; the UNSUBSCRIBE is on its way
            return
        seq_text, data = payload.split(" ", 1)
        seq = int(seq_text)
        item = (seq, _with_seq(data, seq))
        for follower in subs:
            follower.pending.append(item)
            if len(follower.pending) > _BACKLOG:  # a stalled consumer re-reads from Redis, not from memory
                follower.pending.clear()
                follower.lagged = True
            follower.wake.set()

    async def aclose(self) -> None:
        """Stop the reader, end every follower and drop the subscriber connection (app shutdown)."""
        self._closed = True
        for subs in self._subs.values():
            for follower in subs:
                follower.wake.set()
        for task in list(self._syncs):
            task.cancel()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._pubsub.aclose()
