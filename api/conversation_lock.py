"""One change at a time per conversation: in this process, and across workers through Redis.

The engine holds a conversation across the desk and the graph together, so the two never disagree.
Holding is re-entrant within a task: the desk awaits ``on_revert`` inside an action that already
holds the conversation, and a second acquire of the same lock would wait for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as aioredis  # only the scaled profile loads redis

# How often a worker asks Redis again for a conversation another worker holds (a customer's line
# while the agent's reply runs elsewhere). redis-py's default, 0.1 s, kept the second one waiting
# ~64 ms after the first let go (benchmarks/lock_wait.py).
LOCK_POLL_S = 0.005

# Conversations whose lock the current task holds.
_HELD: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "baton_held_locks", default=frozenset()
)


@dataclass
class ConversationLocks:
    """Per-conversation locks: an ``asyncio.Lock`` per process, and (with Redis) one across workers."""

    redis: aioredis.Redis | None = None
    prefix: str = "baton:"
    _local: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        """Hold the conversation until the block ends (at once when this task already holds it)."""
        held = _HELD.get()
        if conversation_id in held:
            yield
            return
        local = self._local.get(conversation_id)
        if local is None:
            local = self._local[conversation_id] = asyncio.Lock()
        token = _HELD.set(held | {conversation_id})
        try:
            async with local:
                if self.redis is None:
                    yield
                    return
                lock = self.redis.lock(
                    f"{self.prefix}lock:{conversation_id}",
                    timeout=120,
                    blocking_timeout=60,
                    sleep=LOCK_POLL_S,
                )
                async with lock:
                    yield
        finally:
            _HELD.reset(token)
