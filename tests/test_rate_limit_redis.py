"""The per-conversation rate limit of several workers: one count in Redis per key and minute."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis
from test_desk_helpers import REDIS_URL, require_redis

from api.errors import ApiError
from api.limits import RateLimiter

pytestmark = pytest.mark.services


async def test_workers_share_the_count_and_each_window_expires() -> None:
    await require_redis()
    client = aioredis.from_url(REDIS_URL)
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    sent: list[str] = []
    real = client.execute_command

    async def counted(*args: object, **options: object) -> object:
        sent.append(str(args[0]))
        return await real(*args, **options)

    client.execute_command = counted  # type: ignore[method-assign]
    first, second = RateLimiter(3, client, prefix), RateLimiter(3, client, prefix)  # two workers
    try:
        if 60 - time.time() % 60 < 2:  # the hits must fall in one minute's window
            await asyncio.sleep(60 - time.time() % 60 + 0.05)
        for limiter in (first, second):  # each loads its script into Redis on its first call if needed
            await limiter.check("c-warm")
        sent.clear()
        for limiter in (first, second, first):
            await limiter.check("c-1")
        assert sent == ["EVALSHA"] * 3, "one round trip per hit"
        with pytest.raises(ApiError) as refused:
            await second.check("c-1")
        assert refused.value.status == 429
        assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
        await first.check("c-2")  # another conversation counts apart
        [key] = [k async for k in client.scan_iter(match=f"{prefix}rate:c-1:*")]
        assert 0 < await client.ttl(key) <= 61, "the window's count expires"
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_weighted_hits_share_one_count_and_a_refused_one_is_not_counted() -> None:
    await require_redis()
    client = aioredis.from_url(REDIS_URL)
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    first = RateLimiter(10_000, client, prefix, what="characters of messages from this address")
    second = RateLimiter(10_000, client, prefix, what="characters of messages from this address")
    try:
        if 60 - time.time() % 60 < 2:
            await asyncio.sleep(60 - time.time() % 60 + 0.05)
        await first.check("client-chars:203.0.113.5", 4000)
        await second.check("client-chars:203.0.113.5", 4000)
        with pytest.raises(ApiError) as refused:
            await first.check("client-chars:203.0.113.5", 4000)
        assert "too many characters of messages from this address" in refused.value.message
        await second.check("client-chars:203.0.113.5", 2000)  # the refused 4,000 did not count
        with pytest.raises(ApiError):
            await first.check("client-chars:203.0.113.5", 1)
        await first.check("client-chars:198.51.100.7", 50_000)  # heavier than the limit: passes alone
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
