"""Sequenced event streams behind the WebSockets: append, replay after ``since``, follow live.

``LocalEventLog`` persists every event in the API store and keeps a ring of the newest ones for the
most recently used streams in process;
``RedisEventLog`` (``api/eventlog_redis.py``) keeps them in Redis for several workers.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from api.store import ApiStore, Lru
from api.ws_models import _Event

_RING = 512
_STREAMS = 1_000  # streams whose ring and head a worker caches (the store has every event)
_PREFIX = '{"seq":0,'


def with_seq(data: str, seq: int) -> str:
    """An event's JSON text, stored with seq 0, given its seq."""
    if not data.startswith(_PREFIX):  # pragma: no cover - every _Event dumps seq first
        loaded = json.loads(data)
        loaded["seq"] = seq
        return json.dumps(loaded)
    return f'{{"seq":{seq},' + data[len(_PREFIX) :]


def text(value: Any) -> str:
    """A Redis reply's bytes as text (the client may or may not decode replies)."""
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
        check_once(appends)
        async with self._lock:
            batches = []
            for stream, events in appends:
                cached = await self._cached(stream)
                rows = [
                    (cached.seq + i, with_seq(e.model_dump_json(), cached.seq + i))
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


def check_once(appends: Sequence[tuple[str, Sequence[_Event]]]) -> None:
    streams = [stream for stream, _ in appends]
    if len(set(streams)) != len(streams):
        msg = f"a stream appears more than once in one append: {streams}"
        raise ValueError(msg)
