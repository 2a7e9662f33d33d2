"""Picking a waiting handoff from the queue, and a supervisor's reassignment, on both desk backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from test_desk_helpers import DeskFactory, Recorder, desk_factory_for, request, spec, travel

from desk.clock import FakeClock
from desk.engine import BaseDesk
from desk.errors import Conflict


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def desk(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[BaseDesk]:
    factory: DeskFactory
    async for factory in desk_factory_for(request.param, clock, Recorder()):
        yield await factory()


async def test_a_missed_offer_can_be_picked_from_the_queue(desk: BaseDesk, clock: FakeClock) -> None:
    """The agent who let the offer lapse is not offered it again, but may take it while it waits."""
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    assert (await desk.submit(request("h1", "billing"))).offered_agent_id == "maria"
    await travel(desk, clock, 35)
    waiting = await desk.get("h1")
    assert waiting.status == "pending"
    assert waiting.excluded_agent_ids == ["maria"]
    assert [o.outcome for o in waiting.offers] == ["timed_out"]
    taken = await desk.accept("h1", "maria")
    assert taken.status == "accepted"
    assert taken.assigned_agent_id == "maria"
    assert (await desk.get_agent("maria")).active_handoff_ids == ["h1"]


async def test_picking_from_the_queue_needs_an_eligible_online_agent(
    desk: BaseDesk, clock: FakeClock
) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}))
    await desk.register_agent(spec("sales", {"sales": 0.9}))
    await desk.register_agent(spec("gone", {"billing": 0.9}, status="offline"))
    await desk.submit(request("h1", "billing"))
    await travel(desk, clock, 35, keep=("maria", "sales"))
    assert (await desk.get("h1")).status == "pending"
    with pytest.raises(Conflict, match="lacks required skills"):
        await desk.accept("h1", "sales")
    with pytest.raises(Conflict, match="offline"):
        await desk.accept("h1", "gone")
    await desk.accept("h1", "maria")
    with pytest.raises(Conflict, match="already accepted"):  # one pick wins
        await desk.accept("h1", "maria")


async def test_a_supervisor_offers_a_waiting_handoff_to_the_agent_they_pick(
    desk: BaseDesk, clock: FakeClock
) -> None:
    await desk.register_agent(spec("best", {"billing": 0.95}))
    await desk.register_agent(spec("lee", {"billing": 0.5}))
    assert (await desk.submit(request("h1", "billing"))).offered_agent_id == "best"
    moved = await desk.offer_to("h1", "lee", "supervisor: lee knows this customer")
    assert moved.status == "offered"
    assert moved.offered_agent_id == "lee"
    assert [o.outcome for o in moved.offers] == ["revoked", "pending"]
    assert moved.excluded_agent_ids == []  # a withdrawn offer is not the agent's miss
    assert (await desk.get_agent("best")).load == 0
    assert (await desk.get_agent("lee")).offered_handoff_ids == ["h1"]
    with pytest.raises(Conflict, match="already offered"):
        await desk.offer_to("h1", "lee")
    await desk.accept("h1", "lee")
    with pytest.raises(Conflict, match="not waiting"):
        await desk.offer_to("h1", "best")


async def test_a_supervisor_cannot_offer_to_an_agent_who_cannot_take_it(desk: BaseDesk) -> None:
    await desk.register_agent(spec("best", {"billing": 0.95}))
    await desk.register_agent(spec("away", {"billing": 0.9}, status="away"))
    await desk.register_agent(spec("sales", {"sales": 0.9}))
    await desk.submit(request("h1", "billing"))
    with pytest.raises(Conflict, match="not available"):
        await desk.offer_to("h1", "away")
    with pytest.raises(Conflict, match="lacks required skills"):
        await desk.offer_to("h1", "sales")
    assert (await desk.get("h1")).offered_agent_id == "best"
