"""Each desk event to one worker: a Redis consumer group on the desk's event stream.

Every worker used to read every event and race the others for it with a ``SET NX`` claim: per event
each worker parsed it and paid a round trip, so the work grew with the number of workers, and an
event claimed by a worker killed before it finished was never handled. In a group, Redis hands an
event to one consumer and keeps it pending until that consumer acknowledges it; a pending event
whose consumer went quiet for ``reclaim_after_s`` is taken over by another (at least once). The
group remembers where it is, so events appended while no worker ran are handled when one starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from desk.engine import before_logged, handle_logged
from desk.events import DeskBatchHook, DeskEventHandler, parse_event

log = logging.getLogger("baton.desk")

_BATCH = 100
_BLOCK_MS = 500  # how long a read waits for events: also how soon close() is noticed
_SWEEP_S = 10.0  # how often a consumer looks for events a quiet consumer left pending
_FORGET_IDLE_MS = 3_600_000  # a consumer with nothing pending and idle this long is removed
_BACKOFF = (0.05, 2.0)


def consumer_name() -> str:
    """Unique per process start, so a restarted worker never inherits a dead one's name."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _raise_if_cancelled() -> None:
    """redis-py can drop a cancel that lands mid-command (seen with two workers creating the group at
    once): the task would read forever and a shutdown that awaits it would hang."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class GroupReader:
    """One consumer of ``group`` on ``stream``; ``run`` hands every event it gets to ``handle``, each
    read's events first to ``before`` together."""

    def __init__(
        self,
        redis: aioredis.Redis,
        stream: str,
        group: str,
        handle: DeskEventHandler,
        *,
        reclaim_after_s: float,
        before: DeskBatchHook | None = None,
        consumer: str | None = None,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.consumer = consumer or consumer_name()
        self._handle = handle
        self._before = before
        self._reclaim_ms = max(1, round(reclaim_after_s * 1000))

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: take over events left pending, read new ones and handle them; a read's events
        are acknowledged together with the next read (one round trip), and on the way out.

        Redis errors are logged and retried with a backoff: a worker must not lose its consumer to a
        Redis that is down or restarting. A group deleted under it is created again.
        """
        backoff = _BACKOFF[0]
        next_sweep = 0.0
        grouped, start = False, "$"
        handled: list[Any] = []  # ids handled, acknowledged with the next read (one round trip)
        try:
            while not stop.is_set():
                _raise_if_cancelled()
                try:
                    if not grouped:
                        await self._create_group(start)
                        grouped = True
                    if time.monotonic() >= next_sweep:
                        next_sweep = time.monotonic() + min(_SWEEP_S, self._reclaim_ms / 1000)
                        if handled:  # acknowledged first: the sweep must not take them back
                            await self.redis.xack(self.stream, self.group, *handled)
                            handled = []
                        await self._sweep()
                    reply = await self._ack_and_read(handled)
                    handled = []
                    for _name, entries in reply or []:
                        await self._deliver(entries, handled)
                except (RedisError, OSError) as exc:
                    if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                        # The stream went with it (the desk's data cleared, Redis restarted empty):
                        # whatever the new stream holds came after, so the new group starts at its head.
                        grouped, start, handled = False, "0", []
                        continue
                    log.warning("desk events: %s; retrying in %.2fs", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _BACKOFF[1])
                    continue
                backoff = _BACKOFF[0]
        finally:
            if handled:  # stopped or cancelled: what it handled is not handed to another worker again
                with contextlib.suppress(RedisError, OSError):
                    await self.redis.xack(self.stream, self.group, *handled)

    async def _ack_and_read(self, handled: list[Any]) -> Any:
        """Acknowledge ``handled`` and read the next events, in one round trip."""
        if not handled:
            return await self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, count=_BATCH, block=_BLOCK_MS
            )
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(self.stream, self.group, *handled)
        pipe.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=_BATCH, block=_BLOCK_MS)
        return (await pipe.execute())[1]

    async def _create_group(self, start: str) -> None:
        """The group, unless it exists; at first from the stream's end (what came before was handled
        by workers without a group)."""
        try:
            await self.redis.xgroup_create(self.stream, self.group, id=start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _deliver(self, entries: list[Any], handled: list[Any]) -> None:
        """The entries' events to ``before`` together, then each to ``handle`` in order, its id added
        to ``handled`` (to acknowledge) once it is done."""
        # A pending entry the stream trimmed away comes back without fields: acknowledged, not handled.
        events = [(entry_id, parse_event(fields[b"e"]) if fields else None) for entry_id, fields in entries]
        await before_logged(self._before, [event for _, event in events if event is not None])
        for entry_id, event in events:
            if event is not None:
                await handle_logged(self._handle, event)
            handled.append(entry_id)

    async def _sweep(self) -> None:
        """Handle what quiet consumers left pending, then forget consumers long gone."""
        start = "0-0"
        while True:
            found: Any = await self.redis.xautoclaim(
                self.stream, self.group, self.consumer, self._reclaim_ms, start_id=start, count=_BATCH
            )
            start, entries = found[0], found[1]
            if entries:
                handled: list[Any] = []
                try:
                    await self._deliver(entries, handled)
                finally:
                    if handled:
                        await self.redis.xack(self.stream, self.group, *handled)
            if start in (b"0-0", "0-0"):  # the cursor went round the whole pending list
                break
        consumers: Any = await self.redis.xinfo_consumers(self.stream, self.group)
        for info in consumers:
            name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
            if name != self.consumer and not info["pending"] and info["idle"] > _FORGET_IDLE_MS:
                await self.redis.xgroup_delconsumer(self.stream, self.group, name)
