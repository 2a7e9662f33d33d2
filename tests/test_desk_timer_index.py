"""The tick reads only the waiting (pending or offered) handoffs, and their timers still fire.

Held handoffs have no timer; reading them all every second was O(held) per tick and worker (on
Redis one HMGET per held handoff). Both backends keep a ``waiting`` index the tick reads instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from test_desk_helpers import DeskFactory, Recorder, desk_factory_for, request, spec, travel

from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.engine import BaseDesk
from desk.redis_desk import RedisDesk


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[DeskFactory]:
    async for factory in desk_factory_for(request.param, clock, Recorder()):
        yield factory


async def waiting_ids(desk: BaseDesk) -> set[str]:
    return {h.handoff_id for h in await desk._peek_waiting()}


async def test_index_follows_every_status_change(make: DeskFactory, clock: FakeClock) -> None:
    desk = await make(DeskConfig(accept_timeout_s=30, max_offers=10, expires_after_s=3600))
    await desk.register_agent(spec("ana", {"billing": 0.9}, max_concurrent=3))
    for i in range(5):
        await desk.submit(request(f"h{i}", "billing"))
    assert await waiting_ids(desk) == {f"h{i}" for i in range(5)}  # 3 offered, 2 pending
    for i in range(3):
        await desk.accept(f"h{i}", "ana")
    assert await waiting_ids(desk) == {"h3", "h4"}  # held ones leave the index
    await desk.complete("h0", "ana", rating=5)  # frees a slot: h3 is offered, still waiting
    held = await desk.get("h0")
    assert held.status == "completed"
    assert await waiting_ids(desk) == {"h3", "h4"}
    await desk.accept("h3", "ana")
    assert await waiting_ids(desk) == {"h4"}


async def test_offer_timeouts_fire_from_the_index_beside_held_handoffs(
    make: DeskFactory, clock: FakeClock
) -> None:
    desk = await make(DeskConfig(accept_timeout_s=30, max_offers=10, expires_after_s=3600))
    await desk.register_agent(spec("ana", {"billing": 0.9}, max_concurrent=20))
    for i in range(10):
        await desk.submit(request(f"held{i}", "billing"))
        await desk.accept(f"held{i}", "ana")
    await desk.register_agent(spec("bo", {"sales": 0.9}))
    offered = await desk.submit(request("late", "sales"))
    assert offered.offered_agent_id == "bo"
    await travel(desk, clock, 40, keep=("ana", "bo"))  # bo is there but never accepts
    late = await desk.get("late")
    assert any(o.outcome == "timed_out" for o in late.offers)
    statuses = {(await desk.get(f"held{i}")).status for i in range(10)}
    assert statuses == {"accepted"}  # held, untouched by the tick


@pytest.mark.services
async def test_redis_indexes_waiting_handoffs_written_before_the_index(clock: FakeClock) -> None:
    """A desk started on data from before the index (no ``waiting`` key) indexes it at its first tick."""
    async for make in desk_factory_for("redis", clock, Recorder()):
        config = DeskConfig(accept_timeout_s=30, max_offers=10, expires_after_s=3600)
        old = await make(config)
        assert isinstance(old, RedisDesk)
        await old.register_agent(spec("bo", {"sales": 0.9}))
        await old.register_agent(spec("ana", {"billing": 0.9}))
        await old.submit(request("held", "billing"))
        await old.accept("held", "ana")
        assert (await old.submit(request("late", "sales"))).status == "offered"
        await old.redis.delete(old.key("waiting"))  # as a desk of the previous release left it

        new = await make(config)  # same prefix
        assert isinstance(new, RedisDesk)
        assert await waiting_ids(new) == {"late"}
        await travel(new, clock, 40, keep=("ana", "bo"))
        late = await new.get("late")
        assert any(o.outcome == "timed_out" for o in late.offers)
