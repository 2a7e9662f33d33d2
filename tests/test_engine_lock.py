"""Two workers' engines on one Redis change a conversation one at a time (``ConversationEngine.locked``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from test_desk_helpers import REDIS_URL, require_redis

from api.engine import ConversationEngine

pytestmark = pytest.mark.services


def _worker(client: aioredis.Redis, prefix: str) -> ConversationEngine:
    """An engine with only what ``locked`` uses: the Redis client and the key prefix."""
    unused = cast(Any, None)
    return ConversationEngine(unused, unused, unused, unused, redis=client, prefix=prefix)


async def test_a_conversation_held_by_one_worker_waits_for_it_in_another() -> None:
    await require_redis()
    client = aioredis.from_url(REDIS_URL)
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    first, second = _worker(client, prefix), _worker(client, prefix)
    order: list[str] = []
    holding, done = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with first.locked("c-1"):
            order.append("first in")
            holding.set()
            await done.wait()
            order.append("first out")

    async def wait_for_it() -> None:
        await holding.wait()
        async with second.locked("c-1"):
            order.append("second in")

    try:
        tasks = [asyncio.create_task(hold()), asyncio.create_task(wait_for_it())]
        await holding.wait()
        await asyncio.sleep(0.05)  # the second worker is trying meanwhile
        async with second.locked("c-2"):  # another conversation is not held
            order.append("second, other conversation")
        done.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        assert order == ["first in", "second, other conversation", "first out", "second in"]
        assert not await client.exists(f"{prefix}lock:c-1"), "released"
    finally:
        await client.aclose()
