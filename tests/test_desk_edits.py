"""Seed 000's desk operations on both backends: update a handoff, add context, auto-accept, schedules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time

import pytest
from test_desk_helpers import DeskFactory, Recorder, desk_factory_for, request, spec

from desk.clock import FakeClock
from desk.engine import BaseDesk
from desk.errors import Conflict, InvalidRequest, NotFound
from desk.models import ContextNote, Schedule, TimeSlot


@pytest.fixture(params=["memory", "redis"])
async def desk(request: pytest.FixtureRequest) -> AsyncIterator[BaseDesk]:
    # Monday 2026-03-02 10:00 UTC
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    factory: DeskFactory
    async for factory in desk_factory_for(request.param, clock, Recorder()):
        yield await factory()


async def test_update_reorders_the_queue_and_is_audited(desk: BaseDesk) -> None:
    await desk.submit(request("low", "billing", priority=20))
    await desk.submit(request("high", "billing", priority=60))
    assert (await desk.queue_position("low")).position == 2
    updated = await desk.update("low", "admin", {"priority": 90, "lead_id": "L-7"})
    assert (updated.priority, updated.lead_id) == (90, "L-7")
    assert (await desk.queue_position("low")).position == 1
    assert [(a.actor, a.action) for a in updated.audit] == [("graph", "created"), ("admin", "updated")]
    assert updated.audit[-1].changes == {"priority": 90, "lead_id": "L-7"}
    events = [e for e in (await desk.events_since()).events if e.type == "handoff_updated"]
    assert len(events) == 1


async def test_a_preferred_agent_gets_the_next_offer(desk: BaseDesk) -> None:
    for agent_id, level in (("maria", 0.99), ("kim", 0.9), ("lee", 0.5)):
        await desk.register_agent(spec(agent_id, {"billing": level}))
    assert (await desk.submit(request("h1", "billing"))).offered_agent_id == "maria"
    await desk.update("h1", "admin", {"preferred_agent_id": "lee"})
    await desk.decline("h1", "maria")
    assert (await desk.get("h1")).offered_agent_id == "lee"  # not kim, the better match


async def test_update_refuses_what_cannot_be_served(desk: BaseDesk) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}, status="offline"))
    await desk.submit(request("h1", "billing"))
    with pytest.raises(InvalidRequest, match="nobody"):
        await desk.update("h1", "admin", {"preferred_agent_id": "nobody"})
    with pytest.raises(InvalidRequest, match="legal"):
        await desk.update("h1", "admin", {"required_skills": ["legal"]})
    with pytest.raises(InvalidRequest, match="status"):
        await desk.update("h1", "admin", {"status": "completed"})
    with pytest.raises(NotFound):
        await desk.update("nope", "admin", {"priority": 3})
    await desk.cancel("h1", "test")
    with pytest.raises(Conflict, match="ended"):
        await desk.update("h1", "admin", {"priority": 3})
    assert [a.action for a in (await desk.get("h1")).audit] == ["created"]


async def test_context_notes_are_stamped_with_who_and_when(desk: BaseDesk) -> None:
    await desk.submit(request("h1"))
    note = ContextNote(kind="fact", key="plan", text="Enterprise", by="someone else")
    handoff = await desk.add_context("h1", "maria", [note, ContextNote(text="Called twice today")])
    assert [(n.kind, n.key, n.text, n.by) for n in handoff.context_notes] == [
        ("fact", "plan", "Enterprise", "maria"),  # the caller's identity, not what the body claims
        ("note", "", "Called twice today", "maria"),
    ]
    assert all(n.at == desk.clock.now() for n in handoff.context_notes)
    assert handoff.audit[-1].action == "context_added"
    with pytest.raises(InvalidRequest):
        await desk.add_context("h1", "maria", [])


async def test_an_auto_accept_agent_is_assigned_at_once(desk: BaseDesk) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}, auto_accept=True))
    handoff = await desk.submit(request("h1", "billing"))
    assert handoff.status == "accepted"
    assert handoff.assigned_agent_id == "maria"
    assert handoff.offers[-1].outcome == "accepted"
    agent = await desk.get_agent("maria")
    assert (agent.active_handoff_ids, agent.offered_handoff_ids) == (["h1"], [])
    accepted = [e for e in (await desk.events_since()).events if e.type == "handoff_accepted"]
    assert [getattr(e, "auto", None) for e in accepted] == [True]
    # a second one waits: her only slot is taken
    assert (await desk.submit(request("h2", "billing"))).status == "pending"


async def test_an_agent_outside_their_schedule_gets_no_offer(desk: BaseDesk) -> None:
    evenings = Schedule(timezone="UTC", weekly={"mon": [TimeSlot(start=time(18), end=time(23))]})
    await desk.register_agent(spec("night", {"billing": 0.9}, schedule=evenings))
    assert (await desk.submit(request("h1", "billing"))).status == "pending"
    await desk.register_agent(spec("day", {"billing": 0.2}))
    assert (await desk.get("h1")).offered_agent_id == "day"


async def test_configure_agent_opens_a_schedule_and_auto_accepts(desk: BaseDesk) -> None:
    closed = Schedule(timezone="UTC", weekly={"mon": [TimeSlot(start=time(18), end=time(23))]})
    await desk.register_agent(spec("maria", {"billing": 0.9}, schedule=closed))
    assert (await desk.submit(request("h1", "billing"))).status == "pending"
    agent = await desk.configure_agent("maria", {"schedule": None, "auto_accept": True})
    assert (agent.schedule, agent.auto_accept) == (None, True)
    assert (await desk.get("h1")).assigned_agent_id == "maria"  # offered and taken on the change
    with pytest.raises(InvalidRequest):
        await desk.configure_agent("maria", {"skills": {"legal": 1.0}})
    with pytest.raises(NotFound):
        await desk.configure_agent("nobody", {"auto_accept": True})
