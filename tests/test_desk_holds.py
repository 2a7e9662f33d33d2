"""What an agent holds stays theirs: a repeated ``start``, a desk that lost the handoff, a desk that
was down. Run identically on the in-memory and the Redis backend (fake clock, no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from test_desk_helpers import DeskFactory, Recorder, desk_factory_for, request, spec, travel

from desk.clock import FakeClock
from desk.engine import BaseDesk
from desk.errors import Conflict, NotFound
from desk.redis_desk import RedisDesk


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[DeskFactory]:
    async for factory in desk_factory_for(request.param, clock, Recorder()):
        yield factory


@pytest.fixture
async def desk(make: DeskFactory) -> BaseDesk:
    return await make()


async def types_of(desk: BaseDesk) -> list[str]:
    return [e.type for e in (await desk.events_since()).events]


# -- start is idempotent for the holder -----------------------------------------------------------
async def test_start_twice_by_the_holder_returns_the_handoff_unchanged(desk: BaseDesk) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "maria")
    started = await desk.start("h1", "maria")
    again = await desk.start("h1", "maria")
    assert again.status == "active"
    assert again.history == started.history, "no second transition"
    assert (await types_of(desk)).count("handoff_started") == 1


async def test_start_by_someone_else_is_still_refused(desk: BaseDesk) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.register_agent(spec("lee", {"billing": 0.5}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "maria")
    await desk.start("h1", "maria")
    with pytest.raises(Conflict, match="belongs to agent maria"):
        await desk.start("h1", "lee")


async def test_concurrent_starts_by_the_holder_all_succeed(desk: BaseDesk) -> None:
    """Ten replies right after accept each start the handoff: one transition, ten successes."""
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "maria")
    results = await asyncio.gather(*(desk.start("h1", "maria") for _ in range(10)))
    assert [h.status for h in results] == ["active"] * 10
    assert (await types_of(desk)).count("handoff_started") == 1


# -- restore: a desk that lost a held handoff gets it back, held ------------------------------------
async def test_restore_recreates_the_handoff_held_by_its_agent(desk: BaseDesk) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}, max_concurrent=2))
    await desk.register_agent(spec("lee", {"billing": 0.9}))
    restored = await desk.restore(request("h1", "billing", reason="lien"), "maria", "active")
    assert restored.status == "active"
    assert restored.assigned_agent_id == "maria"
    assert restored.reason == "lien"
    assert [r.to_status for r in restored.history] == ["accepted", "active"]
    maria = await desk.get_agent("maria")
    assert maria.active_handoff_ids == ["h1"], "her capacity counts it"
    assert (await desk.get_agent("lee")).offered_handoff_ids == [], "nobody else is offered it"
    assert "handoff_restored" in await types_of(desk)
    done = await desk.complete("h1", "maria")
    assert done.status == "completed"
    assert (await desk.get_agent("maria")).active_handoff_ids == []


async def test_restore_as_accepted_then_start(desk: BaseDesk) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    restored = await desk.restore(request("h1", "billing"), "maria", "accepted")
    assert restored.status == "accepted"
    assert (await desk.start("h1", "maria")).status == "active"


async def test_restore_refuses_a_known_handoff_an_unknown_agent_or_a_full_one(desk: BaseDesk) -> None:
    await desk.register_agent(spec("solo", {"billing": 0.9}, max_concurrent=1))
    await desk.restore(request("h1", "billing"), "solo", "active")
    with pytest.raises(Conflict, match="already exists"):
        await desk.restore(request("h1", "billing"), "solo", "active")
    with pytest.raises(Conflict, match="capacity"):
        await desk.restore(request("h2", "billing"), "solo", "accepted")
    with pytest.raises(NotFound):
        await desk.restore(request("h3", "billing"), "ghost", "accepted")
    with pytest.raises(NotFound):
        await desk.get("h2")  # refused before anything changed


async def test_restore_takes_back_a_slot_an_offer_reserved(desk: BaseDesk) -> None:
    """Re-submitted handoffs may be offered before a held one is restored: the hold wins the slot."""
    await desk.register_agent(spec("maria", {"billing": 0.9}, max_concurrent=1))
    assert (await desk.submit(request("h2", "billing"))).offered_agent_id == "maria"
    await desk.restore(request("h1", "billing"), "maria", "active")
    maria = await desk.get_agent("maria")
    assert maria.active_handoff_ids == ["h1"]
    assert maria.offered_handoff_ids == []
    waiting = await desk.get("h2")
    assert waiting.status == "pending"
    assert waiting.offers[-1].outcome == "revoked"


async def test_restore_is_exactly_once_across_workers(make: DeskFactory) -> None:
    first = await make()
    second = await make() if isinstance(first, RedisDesk) else first  # a second worker on the same keys
    await first.register_agent(spec("maria", {"billing": 0.9}, max_concurrent=3))
    outcomes = await asyncio.gather(
        first.restore(request("h1", "billing"), "maria", "active"),
        second.restore(request("h1", "billing"), "maria", "active"),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert [type(o) for o in outcomes if isinstance(o, BaseException)] == [Conflict]
    assert (await first.get_agent("maria")).active_handoff_ids == ["h1"]


# -- downtime is not the agents' silence ----------------------------------------------------------
async def test_a_desk_that_was_down_does_not_count_the_downtime_against_agents(
    desk: BaseDesk, clock: FakeClock
) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "maria")
    await desk.tick()
    clock.advance(desk.config.heartbeat_ttl_s * 3)  # nothing ticked: every worker was down
    await desk.tick()
    handoff = await desk.get("h1")
    assert handoff.status == "accepted"
    assert handoff.assigned_agent_id == "maria"
    assert (await desk.get_agent("maria")).status == "online"


async def test_a_desk_that_starts_after_its_agents_went_quiet_gives_them_time_to_reconnect(
    desk: BaseDesk, clock: FakeClock
) -> None:
    """A restart restores agents before the first tick; a start slower than the TTL is not their silence."""
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "maria")
    clock.advance(desk.config.heartbeat_ttl_s * 3)  # the models warm; no tick has run yet
    await desk.tick()
    assert (await desk.get("h1")).status == "accepted"
    assert (await desk.get_agent("maria")).status == "online"
    await travel(desk, clock, desk.config.heartbeat_ttl_s + 5, keep=())  # and then she never comes back
    assert (await desk.get("h1")).status == "pending"
    assert (await desk.get_agent("maria")).status == "offline"


async def test_a_desk_that_starts_within_the_ttl_gives_its_agents_a_whole_ttl_from_its_first_tick(
    desk: BaseDesk, clock: FakeClock
) -> None:
    """Restored agents are still fresh when the first tick comes: they get a whole TTL from it, not the rest."""
    ttl = desk.config.heartbeat_ttl_s
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "maria")
    clock.advance(ttl * 0.8)  # the models warm a little faster than the TTL
    await desk.tick()
    clock.advance(ttl * 0.5)  # her console reconnects after the server listens
    await desk.tick()
    assert (await desk.get("h1")).status == "accepted"
    assert (await desk.get_agent("maria")).status == "online"
    clock.advance(ttl * 0.6)  # and if it never does, the TTL still runs out
    await desk.tick()
    assert (await desk.get("h1")).status == "pending"
    assert (await desk.get_agent("maria")).status == "offline"


async def test_an_agent_who_does_not_come_back_after_the_downtime_still_loses_the_chat(
    desk: BaseDesk, clock: FakeClock
) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.register_agent(spec("lee", {"billing": 0.5}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "maria")
    await desk.tick()
    clock.advance(desk.config.heartbeat_ttl_s * 3)
    await desk.tick()
    await travel(desk, clock, desk.config.heartbeat_ttl_s + 5, keep=("lee",))  # maria stays silent
    maria = await desk.get_agent("maria")
    assert maria.status == "offline"
    assert maria.active_handoff_ids == []
    handoff = await desk.get("h1")
    assert handoff.offered_agent_id == "lee"
    assert "handoff_requeued" in await types_of(desk)


async def test_an_agent_silent_while_the_desk_ran_is_not_excused(desk: BaseDesk, clock: FakeClock) -> None:
    await desk.tick()  # the desk runs (its first tick gives every agent it knows a whole TTL)
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "maria")
    await travel(desk, clock, desk.config.heartbeat_ttl_s + 5, keep=())
    assert (await desk.get("h1")).status == "pending"
    assert (await desk.get_agent("maria")).status == "offline"
