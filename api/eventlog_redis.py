"""The event log of several workers: Redis Streams, and a pub/sub channel per stream.

One Redis Stream per stream (ids ``<seq>-1``, seq from ``INCR`` in the same Lua call, so order is
global across workers); each event is also published on its stream's channel. One subscriber
connection and reader task per worker take the channels its sockets follow and fan the events out, so
an open socket holds no Redis connection and a worker's reads cost the events sent to it, not how
many streams it follows.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.eventlog import check_once, text, with_seq
from api.ws_models import _Event

if TYPE_CHECKING:
    import redis.asyncio as aioredis  # only the scaled profile loads redis

log = logging.getLogger("baton.api.eventlog")

_WAIT_S = 1.0  # the reader's longest wait for a message, so it notices a connection gone silent
_BACKLOG = 10_000  # undelivered entries a follower may hold before it falls back to XRANGE
_REPLAYS = 8  # concurrent replay XRANGEs per instance, so a reconnect storm cannot drain the pool
_BACKOFF_MIN, _BACKOFF_MAX = 0.05, 2.0


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
        check_once(appends)
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
            seq = int(text(entry_id).split("-")[0])
            out.append((seq, with_seq(text(raw), seq)))
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
            kind, key = text(message["type"]), text(message["channel"])
            if kind == "message":
                self._fan_out(key, text(message["data"]))
            elif kind == "subscribe":
                self._confirm(key)

    def _fan_out(self, key: str, payload: str) -> None:
        subs = self._subs.get(key)
        if subs is None:  # nobody follows it any more; the UNSUBSCRIBE is on its way
            return
        seq_text, data = payload.split(" ", 1)
        seq = int(seq_text)
        item = (seq, with_seq(data, seq))
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
