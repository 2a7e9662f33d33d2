"""``Desk.deliver``: the workers of a group split the desk's events, each handled once (at least once
after a worker died holding one), on the in-memory and the Redis backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from test_desk_helpers import DeskFactory, Recorder, desk_factory_for, request, spec

from desk.clock import FakeClock
from desk.engine import BaseDesk
from desk.events import AgentStatusChanged, DeskEvent, dump_event
from desk.redis_desk import RedisDesk

GROUP = "test-workers"


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[DeskFactory]:
    async for factory in desk_factory_for(request.param, FakeClock(), Recorder()):
        yield factory


@pytest.fixture
async def make_redis() -> AsyncIterator[DeskFactory]:
    """Redis desks on shared keys: each one is another worker (one process cannot lose an event)."""
    async for factory in desk_factory_for("redis", FakeClock(), Recorder()):
        yield factory


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)
    assert check(), what


async def group_ready(desk: BaseDesk) -> None:
    """The group exists (Redis creates it when the first worker starts) or the callers are waiting."""
    if isinstance(desk, RedisDesk):
        async with asyncio.timeout(5):
            while not await desk.redis.exists(desk.key("events")):  # made with the group
                await asyncio.sleep(0.01)
    for _ in range(5):
        await asyncio.sleep(0)


async def pending(desk: RedisDesk) -> int:
    info = await desk.redis.xpending(desk.key("events"), GROUP)
    return int(info["pending"])


@contextlib.asynccontextmanager
async def delivering(
    desk: BaseDesk,
    handle: Callable[[DeskEvent], Awaitable[None]],
    reclaim_after_s: float = 30.0,
    before: Callable[[list[DeskEvent]], Awaitable[None]] | None = None,
) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(desk.deliver(GROUP, handle, before=before, reclaim_after_s=reclaim_after_s))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def some_traffic(desk: BaseDesk, handoffs: int) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}, max_concurrent=handoffs))
    for i in range(handoffs):
        await desk.submit(request(f"h{i}", "billing"))
        await desk.accept(f"h{i}", "a")


async def test_the_workers_of_a_group_split_the_events(make: DeskFactory) -> None:
    first = await make()
    # on Redis a second desk on the same keys is a second worker; in memory, a second caller
    second = await make() if isinstance(first, RedisDesk) else first
    got: dict[str, list[str]] = {"first": [], "second": []}

    def into(name: str) -> Callable[[DeskEvent], Awaitable[None]]:
        async def handle(event: DeskEvent) -> None:
            got[name].append(dump_event(event))

        return handle

    async with delivering(first, into("first")), delivering(second, into("second")):
        await group_ready(first)
        await some_traffic(first, 15)
        emitted = [dump_event(e) for e in (await first.events_since()).events]
        assert len(emitted) == 1 + 15 * 3  # the agent, then created, offered, accepted per handoff
        await until(lambda: len(got["first"]) + len(got["second"]) >= len(emitted), "all handled")
        await asyncio.sleep(0.2)  # a second copy of any event would arrive meanwhile
    handled = got["first"] + got["second"]
    assert sorted(handled) == sorted(emitted), "every event handled exactly once across the group"


async def test_a_failing_handler_does_not_stop_the_rest(make: DeskFactory) -> None:
    desk = await make()
    seen: list[str] = []

    async def handle(event: DeskEvent) -> None:
        seen.append(event.type)
        if event.type == "handoff_created":
            raise RuntimeError("a bug in one handler")

    async with delivering(desk, handle):
        await group_ready(desk)
        await some_traffic(desk, 1)
        await until(lambda: len(seen) == 4, "the events after the failure are handled too")
    assert seen == ["agent_status_changed", "handoff_created", "handoff_offered", "handoff_accepted"]
    if isinstance(desk, RedisDesk):
        assert await pending(desk) == 0, "the failed event counts as handled, it is not retried forever"


async def test_a_batch_goes_to_the_hook_before_its_events_to_the_handler(make: DeskFactory) -> None:
    desk = await make()
    log: list[tuple[str, list[str]]] = []

    async def before(events: list[DeskEvent]) -> None:
        log.append(("batch", [e.type for e in events]))

    async def handle(event: DeskEvent) -> None:
        log.append(("event", [event.type]))

    async with delivering(desk, handle, before=before):
        await group_ready(desk)
        await desk.register_agent(spec("a", {"billing": 0.9}))
        await desk.submit(request("h1", "billing"))  # created and offered, in one commit
        await until(lambda: len([x for x in log if x[0] == "event"]) == 3, "the three events handled")
    batches = [types for kind, types in log if kind == "batch"]
    assert sorted(t for b in batches for t in b) == sorted(types[0] for kind, types in log if kind == "event")
    # the two events of one commit are taken together
    assert any(b[-2:] == ["handoff_created", "handoff_offered"] for b in batches), batches
    for at, (kind, types) in enumerate(log):  # each event after the batch that holds it
        if kind == "event":
            assert any(k == "batch" and types[0] in ts for k, ts in log[:at])


async def test_a_failing_batch_hook_does_not_stop_the_handler(make: DeskFactory) -> None:
    desk = await make()
    seen: list[str] = []

    async def before(events: list[DeskEvent]) -> None:
        raise RuntimeError("the analytics store is down")

    async def handle(event: DeskEvent) -> None:
        seen.append(event.type)

    async with delivering(desk, handle, before=before):
        await group_ready(desk)
        await some_traffic(desk, 1)
        await until(lambda: len(seen) == 4, "every event handled all the same")
    assert seen == ["agent_status_changed", "handoff_created", "handoff_offered", "handoff_accepted"]


async def test_an_event_a_dead_worker_took_goes_to_another(make_redis: DeskFactory) -> None:
    desk = await make_redis()
    assert isinstance(desk, RedisDesk)
    survivor = await make_redis()
    taken: list[str] = []
    redone: list[str] = []
    stuck = asyncio.Event()

    async def hangs(event: DeskEvent) -> None:
        taken.append(dump_event(event))
        await stuck.wait()  # killed before it finishes: never acknowledged

    async def handle(event: DeskEvent) -> None:
        redone.append(dump_event(event))

    async with delivering(desk, hangs):
        await group_ready(desk)
        await desk.register_agent(spec("a"))
        await until(lambda: len(taken) == 1, "the first worker took the event")
    assert await pending(desk) == 1
    async with delivering(survivor, handle, reclaim_after_s=0.3):
        await until(lambda: redone == taken, "the event the dead worker held is handled by another")
        await asyncio.sleep(0.3)  # a second copy would arrive meanwhile
        assert await pending(desk) == 0
    assert redone == taken, "handled once more, not twice"


async def test_a_worker_stopped_mid_batch_leaves_only_what_it_had_not_handled(
    make_redis: DeskFactory,
) -> None:
    """Acknowledgements ride with the next read; a worker stopped inside a batch still acknowledges
    the events it handled, so no other worker handles them again."""
    desk = await make_redis()
    assert isinstance(desk, RedisDesk)
    seen: list[str] = []
    stuck = asyncio.Event()

    async def second_hangs(event: DeskEvent) -> None:
        seen.append(event.type)
        if len(seen) == 2:
            await stuck.wait()  # stopped here, inside the batch

    async def ignore(event: DeskEvent) -> None:
        pass

    async with delivering(desk, ignore):
        await group_ready(desk)
    await some_traffic(desk, 1)  # four events while no worker runs: one batch at the next start
    async with delivering(await make_redis(), second_hangs):
        await until(lambda: len(seen) == 2, "the worker is inside the batch")
    assert await pending(desk) == 3, "the first event is acknowledged, the three others are not"
    later: list[str] = []

    async def note(event: DeskEvent) -> None:
        later.append(event.type)

    async with delivering(await make_redis(), note):
        await desk.set_status("a", "away")
        await until(lambda: later == ["agent_status_changed"], "a later event is handled")
        async with asyncio.timeout(5):
            while await pending(desk) != 3:  # its acknowledgement goes with the next read
                await asyncio.sleep(0.01)


async def test_a_slow_handler_is_not_handed_its_own_events_again(make_redis: DeskFactory) -> None:
    """A handled event waits for the next read to be acknowledged; a sweep for events left pending
    longer than ``reclaim_after_s`` comes first, and must not take it back."""
    desk = await make_redis()
    assert isinstance(desk, RedisDesk)
    seen: list[str] = []

    async def slow(event: DeskEvent) -> None:
        seen.append(dump_event(event))
        await asyncio.sleep(0.5)  # longer than reclaim_after_s

    async with delivering(desk, slow, reclaim_after_s=0.3):
        await group_ready(desk)
        await desk.register_agent(spec("a"))
        await until(lambda: len(seen) == 1, "the event is handled")
        await asyncio.sleep(1.5)  # several sweeps meanwhile
    assert len(seen) == 1, "handled once"
    assert await pending(desk) == 0


async def test_events_while_no_worker_ran_are_handled_at_the_next_start(make_redis: DeskFactory) -> None:
    desk = await make_redis()
    assert isinstance(desk, RedisDesk)
    seen: list[str] = []

    async def handle(event: DeskEvent) -> None:
        seen.append(event.type)

    async with delivering(desk, handle):
        await group_ready(desk)
    await some_traffic(desk, 1)  # every worker is down meanwhile
    async with delivering(await make_redis(), handle):
        await until(lambda: len(seen) == 4, "the events of the downtime are handled")
    assert seen == ["agent_status_changed", "handoff_created", "handoff_offered", "handoff_accepted"]


async def test_workers_cancelled_while_they_make_the_group_stop(make_redis: DeskFactory) -> None:
    """A shutdown right after two workers started: redis-py can drop a cancel that lands while the
    group is being created, and a reader that kept going would hang the shutdown."""

    async def ignore(event: DeskEvent) -> None:
        return None

    desks = [await make_redis(), await make_redis()]
    assert all(isinstance(d, RedisDesk) for d in desks)
    for _ in range(5):
        tasks = [asyncio.create_task(d.deliver(GROUP, ignore)) for d in desks]
        await desks[0].redis.ping()  # both readers get as far as creating the group
        for task in reversed(tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 3)  # a TimeoutError here: the cancel was lost
            assert task.done()


async def test_a_worker_keeps_delivering_after_the_desk_data_is_cleared(make_redis: DeskFactory) -> None:
    desk = await make_redis()
    seen: list[str] = []

    async def handle(event: DeskEvent) -> None:
        assert isinstance(event, AgentStatusChanged)
        seen.append(event.new_status)

    async with delivering(desk, handle):
        await group_ready(desk)
        await desk.register_agent(spec("a"))
        await until(lambda: len(seen) == 1, "delivered before")
        await desk.clear()  # the stream and its group go
        await desk.register_agent(spec("b", status="away"))  # before the worker notices
        await until(lambda: len(seen) == 2, "the event after the reset is delivered too")
    assert seen == ["online", "away"]
