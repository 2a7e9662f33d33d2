"""Sequenced event streams behind the WebSockets: append, replay after ``since``, follow live.

``LocalEventLog`` keeps a ring per stream in process and persists every event in the API store;
``RedisEventLog`` uses one Redis Stream per stream (ids ``<seq>-1``, seq from ``INCR`` in the same
Lua call, so order is global across workers) and ``XREAD BLOCK`` to follow.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

import redis.asyncio as aioredis

from api.store import ApiStore
from api.ws_models import _Event

_RING = 512
_PREFIX = '{"seq":0,'


def _with_seq(data: str, seq: int) -> str:
    if not data.startswith(_PREFIX):  # pragma: no cover - every _Event dumps seq first
        loaded = json.loads(data)
        loaded["seq"] = seq
        return json.dumps(loaded)
    return f'{{"seq":{seq},' + data[len(_PREFIX) :]


def seq_of(data: str) -> int:
    """The seq of an event's JSON text (always its first field)."""
    return int(data[7 : data.index(",")])


class EventLog(Protocol):
    """Per-stream sequenced events."""

    async def append(self, stream: str, event: _Event) -> int:
        """Append ``event`` (its ``seq`` is assigned) and wake followers; returns the seq."""
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

    async def claim(self, key: str) -> bool:
        """True for the first caller (across workers) that claims ``key``."""
        ...


class LocalEventLog:
    """One process: in-memory rings, durable copies in the store."""

    def __init__(self, store: ApiStore) -> None:
        self._store = store
        self._seq: dict[str, int] = {}
        self._ring: dict[str, collections.deque[tuple[int, str]]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()
        self._claimed: set[str] = set()

    async def head(self, stream: str) -> int:
        """Latest seq (loaded from the store on first use)."""
        if stream not in self._seq:
            self._seq[stream] = await self._store.last_seq(stream)
        return self._seq[stream]

    async def append(self, stream: str, event: _Event) -> int:
        """Assign the next seq, persist, then publish."""
        async with self._lock:
            seq = await self.head(stream) + 1
            data = _with_seq(event.model_dump_json(), seq)
            await self._store.append_event(stream, seq, data)
            self._seq[stream] = seq
            self._ring.setdefault(stream, collections.deque(maxlen=_RING)).append((seq, data))
        wake = self._wake.pop(stream, None)
        if wake is not None:
            wake.set()
        return seq

    async def read(self, stream: str, since: int) -> list[str]:
        """From the ring when it covers ``since``, else from the store."""
        ring = self._ring.get(stream)
        if ring and ring[0][0] <= since + 1:
            return [d for s, d in ring if s > since]
        if since >= await self.head(stream):
            return []
        return await self._store.events_after(stream, since)

    async def follow(self, stream: str, since: int) -> AsyncIterator[str]:
        """Replay then live."""
        last = since
        while True:
            wake = self._wake.setdefault(stream, asyncio.Event())
            for data in await self.read(stream, last):
                last = seq_of(data)
                yield data
            await wake.wait()

    async def claim(self, key: str) -> bool:
        """In one process every claim is local."""
        if key in self._claimed:
            return False
        self._claimed.add(key)
        return True


_APPEND = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'd', ARGV[1])
return seq
"""


class RedisEventLog:
    """Several workers: Redis Streams, one per conversation/agent stream."""

    def __init__(self, redis: aioredis.Redis, prefix: str, maxlen: int = 10_000) -> None:
        self._redis = redis
        self._prefix = prefix
        self._maxlen = maxlen
        self._script = redis.register_script(_APPEND)

    def _keys(self, stream: str) -> tuple[str, str]:
        return f"{self._prefix}ev:{stream}:seq", f"{self._prefix}ev:{stream}"

    async def head(self, stream: str) -> int:
        """Latest seq."""
        raw = await self._redis.get(self._keys(stream)[0])
        return int(raw or 0)

    async def append(self, stream: str, event: _Event) -> int:
        """INCR + XADD atomically."""
        seq_key, key = self._keys(stream)
        seq = await self._script(keys=[seq_key, key], args=[event.model_dump_json(), self._maxlen])
        return int(seq)

    @staticmethod
    def _decode(entries: list[Any]) -> list[tuple[int, str]]:
        out = []
        for entry_id, fields in entries:
            eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            raw = fields.get(b"d", fields.get("d"))
            data = raw.decode() if isinstance(raw, bytes) else str(raw)
            seq = int(eid.split("-")[0])
            out.append((seq, _with_seq(data, seq)))
        return out

    async def read(self, stream: str, since: int) -> list[str]:
        """XRANGE after ``since``."""
        entries: Any = await self._redis.xrange(self._keys(stream)[1], min=f"{since + 1}-0", max="+")
        return [d for _, d in self._decode(entries)]

    async def follow(self, stream: str, since: int) -> AsyncIterator[str]:
        """XRANGE replay, then XREAD BLOCK."""
        key = self._keys(stream)[1]
        last = since
        for data in await self.read(stream, since):
            last = seq_of(data)
            yield data
        while True:
            # Block well under redis-py's default 5 s socket timeout, and retry a read timeout (a busy
            # loop can overrun it): XREAD BLOCK 5000 raised TimeoutError on idle streams, which
            # killed the socket's follower (close 1011) and the agent missed its offers.
            try:
                found: Any = await self._redis.xread({key: f"{last}-1"}, block=1000, count=100)
            except aioredis.TimeoutError:
                continue
            for _, entries in found or []:
                for seq, data in self._decode(entries):
                    last = seq
                    yield data

    async def claim(self, key: str) -> bool:
        """SET NX with a day's expiry."""
        return bool(await self._redis.set(f"{self._prefix}claim:{key}", "1", nx=True, ex=86_400))
