"""RedisEventLog on a real Redis: one subscriber per instance fans events out to every follower.

Followers hold no connection, so hundreds of them run on a 20-connection pool; each gets every event
of its stream once, in order, across replay (``since``), live fan-out and a Redis restart, and an
instance receives only the events of the streams it follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from bench_server import RedisProcess
from conftest import REDIS_URL, service_missing

from api.eventlog import LocalEventLog
from api.eventlog_redis import RedisEventLog
from api.store import ApiStore, open_db
from api.ws_models import CustomerMessageEvent
from desk.redis_desk import reconnecting

pytestmark = pytest.mark.services


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    """The shared Redis behind a deliberately small pool (the app's used to need one per socket)."""
    r = aioredis.from_url(REDIS_URL, max_connections=20, socket_connect_timeout=2)
    try:
        await r.ping()
    except (OSError, aioredis.RedisError) as exc:
        await r.aclose()
        service_missing("Redis", str(exc))
    yield r
    await r.aclose()


@pytest.fixture
async def log(client: aioredis.Redis) -> AsyncIterator[RedisEventLog]:
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    events = RedisEventLog(client, prefix)
    yield events
    await events.aclose()
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


async def until(check: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for ``check`` (the timeout only guards against a hang)."""

    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def say(log: RedisEventLog, stream: str, text: str) -> int:
    return await log.append(stream, CustomerMessageEvent(conversation_id=stream, text=text))


async def take(log: RedisEventLog, stream: str, since: int, count: int) -> list[tuple[int, str]]:
    """The first ``count`` events of ``follow(stream, since)`` as (seq, text)."""
    out: list[tuple[int, str]] = []
    async with contextlib.aclosing(log.follow(stream, since)) as events:  # type: ignore[type-var]
        async for data in events:
            event = json.loads(data)
            out.append((event["seq"], event["text"]))
            if len(out) == count:
                break
    return out


def expected(stream: str, since: int, last: int) -> list[tuple[int, str]]:
    return [(seq, f"{stream} {seq}") for seq in range(since + 1, last + 1)]


async def test_hundreds_of_followers_share_a_small_pool(log: RedisEventLog) -> None:
    streams = [f"conv-{k}" for k in range(160)]
    for stream in streams:  # something to replay before going live
        await say(log, stream, f"{stream} 1")
    followers = {
        (stream, n): asyncio.create_task(take(log, stream, 0, 6)) for stream in streams for n in range(2)
    }
    await until(lambda: log.followers == len(followers))
    for seq in range(2, 7):
        for stream in streams:
            assert await say(log, stream, f"{stream} {seq}") == seq
    got = await asyncio.wait_for(asyncio.gather(*followers.values()), 60)
    for (stream, _), events in zip(followers, got, strict=True):
        assert events == expected(stream, 0, 6)
    await until(lambda: log.subscriptions == 0)
    assert log.followers == 0


async def test_two_followers_of_one_stream_each_get_every_entry(log: RedisEventLog) -> None:
    for seq in range(1, 4):
        await say(log, "c", f"c {seq}")
    replaying = asyncio.create_task(take(log, "c", 0, 40))
    live = asyncio.create_task(take(log, "c", 3, 37))
    await until(lambda: log.followers == 2)
    for seq in range(4, 41):
        await say(log, "c", f"c {seq}")
    assert await asyncio.wait_for(replaying, 30) == expected("c", 0, 40)
    assert await asyncio.wait_for(live, 30) == expected("c", 3, 40)


async def test_followers_joining_during_appends_miss_nothing_and_repeat_nothing(log: RedisEventLog) -> None:
    total = 300
    first = asyncio.create_task(take(log, "c", 0, total))  # keeps the stream in the reader throughout
    await until(lambda: log.followers == 1)
    joiners: list[tuple[int, asyncio.Task[list[tuple[int, str]]]]] = []

    async def append_all() -> None:
        for seq in range(1, total + 1):
            await say(log, "c", f"c {seq}")
            if seq % 10 == 0:
                since = max(0, seq - 15)  # replay a little, then join the live fan-out mid-stream
                joiners.append((since, asyncio.create_task(take(log, "c", since, total - since))))
                await asyncio.sleep(0)

    await append_all()
    assert await asyncio.wait_for(first, 30) == expected("c", 0, total)
    for since, task in joiners:
        assert await asyncio.wait_for(task, 30) == expected("c", since, total)


async def test_a_stream_moving_during_a_followers_replay_loses_nothing(
    log: RedisEventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    await say(log, "c", "c 1")
    ahead = asyncio.create_task(take(log, "c", 0, 3))
    key = log._keys("c")[1]
    await until(lambda: any(f.last == 1 for f in log._subs.get(key, ())))
    real_range = log._range
    replayed = asyncio.Event()

    async def stale_range(key: str, since: int) -> list[tuple[int, str]]:
        result = await real_range(key, since)
        if not replayed.is_set():  # the replay is read, then seq 2 is appended and fanned out
            await say(log, "c", "c 2")
            await until(lambda: any(f.last == 2 for f in log._subs.get(key, ())))
            replayed.set()
        return result

    monkeypatch.setattr(log, "_range", stale_range)
    behind = asyncio.create_task(take(log, "c", 0, 3))
    await asyncio.wait_for(replayed.wait(), 30)
    await say(log, "c", "c 3")
    assert await asyncio.wait_for(behind, 30) == expected("c", 0, 3)
    assert await asyncio.wait_for(ahead, 30) == expected("c", 0, 3)


async def test_what_is_published_before_the_subscription_is_read_from_the_stream(
    log: RedisEventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_subscribe = log._pubsub.subscribe

    async def late_subscribe(*channels: str) -> None:
        await say(log, "c", "c 1")  # published while nobody listens on the channel
        await real_subscribe(*channels)

    monkeypatch.setattr(log._pubsub, "subscribe", late_subscribe)
    follower = asyncio.create_task(take(log, "c", 0, 2))
    await until(lambda: log.subscriptions == 1)
    await say(log, "c", "c 2")
    assert await asyncio.wait_for(follower, 30) == expected("c", 0, 2)


async def test_a_worker_receives_only_the_events_of_streams_it_follows(
    log: RedisEventLog, client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = RedisEventLog(client, log._prefix)  # a second worker on the same Redis
    fanned: dict[str, list[str]] = {"log": [], "other": []}
    for name, instance in (("log", log), ("other", other)):
        real = instance._fan_out

        def counted(key: str, payload: str, name: str = name, real: object = real) -> None:
            fanned[name].append(key)
            real(key, payload)  # type: ignore[operator]

        monkeypatch.setattr(instance, "_fan_out", counted)
    try:
        mine = asyncio.create_task(take(log, "mine", 0, 2))
        theirs = asyncio.create_task(take(other, "theirs", 0, 2))
        await until(lambda: log.subscriptions == 1 and other.subscriptions == 1)
        for seq in (1, 2):
            for stream in ("mine", "theirs", *(f"nobody-{k}" for k in range(20))):
                await say(log, stream, f"{stream} {seq}")
        assert await asyncio.wait_for(mine, 30) == expected("mine", 0, 2)
        assert await asyncio.wait_for(theirs, 30) == expected("theirs", 0, 2)
        assert {key.rsplit(":", 1)[1] for key in fanned["log"]} == {"mine"}
        assert {key.rsplit(":", 1)[1] for key in fanned["other"]} == {"theirs"}
    finally:
        await other.aclose()


async def test_a_cancelled_follower_leaves_and_its_channel_is_dropped(log: RedisEventLog) -> None:
    task = asyncio.create_task(take(log, "c", 0, 10))
    await until(lambda: log.followers == 1 and log.subscriptions == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log.followers == 0
    await until(lambda: log.subscriptions == 0)

    again = asyncio.create_task(take(log, "c", 0, 1))  # subscribed again on demand
    await until(lambda: log.followers == 1 and log.subscriptions == 1)
    await say(log, "c", "c 1")
    assert await asyncio.wait_for(again, 30) == expected("c", 0, 1)


async def test_aclose_ends_followers(log: RedisEventLog) -> None:
    task = asyncio.create_task(take(log, "c", 0, 10))
    await until(lambda: log.followers == 1)
    await log.aclose()
    assert await asyncio.wait_for(task, 30) == []
    assert not log.reading
    assert log.followers == 0


async def test_followers_lose_nothing_when_redis_drops_the_subscriber(
    log: RedisEventLog, client: aioredis.Redis
) -> None:
    """Redis closes a subscriber that falls behind its output buffer limit; what is published until
    the reader has subscribed again comes from the stream."""
    follower = asyncio.create_task(take(log, "c", 0, 4))
    key = log._keys("c")[1]
    await until(lambda: key in log._confirmed)
    await say(log, "c", "c 1")
    await until(lambda: any(f.last == 1 for f in log._subs.get(key, ())))
    assert log._pubsub.connection is not None
    host, port = log._pubsub.connection._writer.get_extra_info("sockname")[:2]  # type: ignore[union-attr]
    assert await client.client_kill(f"{host}:{port}")
    await say(log, "c", "c 2")  # nobody is subscribed to hear these
    await say(log, "c", "c 3")
    await until(lambda: key in log._confirmed and any(f.last == 3 for f in log._subs.get(key, ())))
    await say(log, "c", "c 4")
    assert await asyncio.wait_for(follower, 30) == expected("c", 0, 4)


async def test_followers_continue_after_a_redis_restart(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        service_missing("redis-server", "not on PATH")
    server = RedisProcess(tmp_path / "redis", appendonly=True).start()
    client = aioredis.from_url(server.url, max_connections=20, **reconnecting())
    log = RedisEventLog(client, "restart:")
    try:
        follower = asyncio.create_task(take(log, "c", 0, 6))
        await until(lambda: log.followers == 1)
        for seq in range(1, 4):
            await say(log, "c", f"c {seq}")
        await until(lambda: any(f.last == 3 for f in log._subs.get("restart:ev:c", ())))

        server.kill()
        await asyncio.sleep(1)  # the reader's XREADs fail and back off meanwhile
        assert not follower.done()
        assert log.reading, "the reader retries rather than dying"
        server.start()

        async def retry(call: Callable[[], Awaitable[int]]) -> int:
            for _ in range(50):
                with contextlib.suppress(aioredis.ConnectionError):
                    return await call()
                await asyncio.sleep(0.1)
            return await call()

        for seq in range(4, 7):
            assert await retry(lambda seq=seq: say(log, "c", f"c {seq}")) == seq  # type: ignore[misc]
        assert await asyncio.wait_for(follower, 60) == expected("c", 0, 6)
    finally:
        await log.aclose()
        await client.aclose()
        server.kill()


async def test_erase_forgets_a_stream_in_memory_and_in_the_store(tmp_path: Path) -> None:
    async with open_db("", tmp_path) as db:
        log = LocalEventLog(ApiStore(db))
        for n in range(3):
            await log.append("c:gone", CustomerMessageEvent(text=f"secret {n}"))
        await log.append("c:kept", CustomerMessageEvent(text="kept"))
        await log.erase("c:gone")
        assert await log.read("c:gone", 0) == []
        assert len(await log.read("c:kept", 0)) == 1
        assert await ApiStore(db).events_after("c:gone", 0) == []  # gone from the store, not only the cache


async def test_redis_erase_forgets_a_stream(log: RedisEventLog) -> None:
    stream = f"c:gone-{uuid.uuid4().hex}"
    await log.append(stream, CustomerMessageEvent(text="secret"))
    await log.erase(stream)
    assert await log.read(stream, 0) == []
    assert await log.head(stream) == 0


async def _appended_at_once(log: LocalEventLog | RedisEventLog, stream: str) -> None:
    """One append of three events after one of one: seqs in order, read back and followed alike."""
    assert await log.append(stream, CustomerMessageEvent(text=f"{stream} 1")) == 1
    assert await log.append(stream, *(CustomerMessageEvent(text=f"{stream} {n}") for n in (2, 3, 4))) == 4
    assert await log.head(stream) == 4
    assert await log.append(stream) == 4  # nothing to append: the head stays
    read = [(json.loads(d)["seq"], json.loads(d)["text"]) for d in await log.read(stream, 1)]
    assert read == expected(stream, 1, 4)
    assert await take(log, stream, 0, 4) == expected(stream, 0, 4)  # type: ignore[arg-type]


async def test_several_events_appended_at_once_take_consecutive_seqs_redis(log: RedisEventLog) -> None:
    await _appended_at_once(log, f"c:batch-{uuid.uuid4().hex}")


async def test_several_events_appended_at_once_take_consecutive_seqs_local(tmp_path: Path) -> None:
    async with open_db("", tmp_path) as db:
        log = LocalEventLog(ApiStore(db))
        await _appended_at_once(log, "c:batch")
        reopened = LocalEventLog(ApiStore(db))  # what the store kept, with no cache
        assert [json.loads(d)["seq"] for d in await reopened.read("c:batch", 0)] == [1, 2, 3, 4]


async def _appended_to_each(log: LocalEventLog | RedisEventLog, a: str, b: str) -> None:
    """One write to two streams: each gets its own consecutive seqs, an empty batch keeps its head,
    and followers of both get their events."""
    await log.append(a, CustomerMessageEvent(text=f"{a} 1"))
    both = [
        (a, [CustomerMessageEvent(text=f"{a} {n}") for n in (2, 3)]),
        (b, [CustomerMessageEvent(text=f"{b} 1")]),
    ]
    assert await log.append_each(both) == [3, 1]
    assert await log.append_each([(b, []), (a, [CustomerMessageEvent(text=f"{a} 4")])]) == [1, 4]
    assert (await log.head(a), await log.head(b)) == (4, 1)
    assert await take(log, a, 0, 4) == expected(a, 0, 4)  # type: ignore[arg-type]
    assert await take(log, b, 0, 1) == expected(b, 0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="more than once"):
        await log.append_each([(a, [CustomerMessageEvent(text="x")]), (a, [])])
    assert await log.head(a) == 4  # the refused write left nothing


async def test_one_write_to_several_streams_redis(
    log: RedisEventLog, client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = f"c:each-{uuid.uuid4().hex}", f"a:each-{uuid.uuid4().hex}"
    await _appended_to_each(log, a, b)
    sent: list[str] = []
    real = client.execute_command

    async def counted(*args: object, **options: object) -> object:
        sent.append(str(args[0]))
        return await real(*args, **options)

    monkeypatch.setattr(client, "execute_command", counted)
    assert await log.append_each(
        [(a, [CustomerMessageEvent(text="x")]), (b, [CustomerMessageEvent(text="y")])]
    ) == [5, 2]
    assert sent == ["EVALSHA"]  # one round trip for both streams


async def test_one_write_to_several_streams_local(tmp_path: Path) -> None:
    async with open_db("", tmp_path) as db:
        log = LocalEventLog(ApiStore(db))
        await _appended_to_each(log, "c:each", "a:each")
        reopened = LocalEventLog(ApiStore(db))  # what the store kept, with no cache
        assert [json.loads(d)["seq"] for d in await reopened.read("c:each", 0)] == [1, 2, 3, 4]
        assert [json.loads(d)["text"] for d in await reopened.read("a:each", 0)] == ["a:each 1"]
