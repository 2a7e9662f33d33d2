"""What a long-running worker keeps in memory stays bounded however many keys, streams and events pass.

The local event log caches the most recently used streams (the store keeps every event), the rate
limiter forgets keys that were quiet for a minute, and the webhook sender runs a fixed pool of
deliveries over a bounded queue that drops (and counts) what does not fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from api.errors import ApiError
from api.eventlog import LocalEventLog
from api.limits import RateLimiter
from api.metrics import Metrics
from api.store import ApiStore, open_db
from api.webhooks import WebhookSender
from api.ws_models import CustomerMessageEvent


async def until(check: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for ``check`` (the timeout only guards against a hang)."""

    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


# -- event log -------------------------------------------------------------------------------------
@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ApiStore]:
    async with open_db("", tmp_path) as db:
        yield ApiStore(db)


async def say(log: LocalEventLog, stream: str, text: str) -> int:
    return await log.append(stream, CustomerMessageEvent(conversation_id=stream, text=text))


async def test_event_log_caches_a_bounded_number_of_streams(store: ApiStore) -> None:
    log = LocalEventLog(store, max_streams=20)
    for i in range(300):
        await say(log, f"conv:{i}", "hello")
    assert log.sizes() == {"streams": 20, "followed": 0}
    # An evicted stream still reads from the store and keeps counting from where it was.
    assert await log.head("conv:0") == 1
    assert await say(log, "conv:0", "again") == 2
    assert [json.loads(d)["text"] for d in await log.read("conv:0", 0)] == ["hello", "again"]


async def test_a_followed_stream_is_forgotten_when_its_follower_leaves(store: ApiStore) -> None:
    log = LocalEventLog(store)
    for i in range(50):
        follower = log.follow(f"agent:{i}", 0)
        waiting = asyncio.ensure_future(anext(follower))
        await until(lambda: log.sizes()["followed"] == 1)
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        await follower.aclose()
    assert log.sizes()["followed"] == 0


# -- rate limiter ------------------------------------------------------------------------------------
async def test_rate_limiter_forgets_keys_quiet_for_a_minute() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    for i in range(1000):
        await limiter.check(f"c-{i}")
    assert limiter.tracked == 1000
    now[0] = 61.0
    await limiter.check("c-new")
    assert limiter.tracked == 1


async def test_rate_limiter_tracks_at_most_max_keys_and_still_limits() -> None:
    limiter = RateLimiter(2, max_keys=100, clock=lambda: 0.0)
    for i in range(1000):
        await limiter.check(f"c-{i}")
    assert limiter.tracked == 100
    await limiter.check("c-999")
    with pytest.raises(ApiError) as refused:
        await limiter.check("c-999")
    assert refused.value.status == 429


# -- webhooks ----------------------------------------------------------------------------------------
async def test_webhook_sender_holds_a_fixed_pool_and_drops_what_does_not_fit() -> None:
    connections = 0
    release = asyncio.Event()

    async def stuck_receiver(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()  # a receiver that hangs until the test lets it answer
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(stuck_receiver, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    metrics = Metrics()
    sender = WebhookSender(
        [f"http://127.0.0.1:{port}/hook"],
        "secret",
        workers=3,
        queue_size=10,
        dropped_counter=metrics.webhooks_dropped,
    )
    sender.start()
    try:
        tasks_before = len(asyncio.all_tasks())
        for i in range(500):
            sender.send(json.dumps({"n": i}).encode())
        assert sender.dropped == 490
        assert "baton_webhooks_dropped_total 490.0" in generate_latest(metrics.registry).decode()
        await until(lambda: connections == 3)
        # Three deliveries in flight, each with one receiver task; no task per queued event.
        assert len(asyncio.all_tasks()) <= tasks_before + 3
        release.set()
        await until(lambda: sender.delivered == 10)
        assert connections <= 10
    finally:
        release.set()
        await sender.close()
        server.close()
        await server.wait_closed()
