"""Exactly-once under real concurrency: many Redis clients race for one handoff."""

from __future__ import annotations

import asyncio

import pytest
from test_desk_helpers import REDIS_URL, request, require_redis, spec

from desk.clock import FakeClock
from desk.errors import Conflict
from desk.redis_desk import RedisDesk, unique_prefix

pytestmark = pytest.mark.services


async def _clients(n: int, prefix: str, clock: FakeClock) -> list[RedisDesk]:
    return [RedisDesk(REDIS_URL, prefix=prefix, clock=clock) for _ in range(n)]


async def _accept(desk: RedisDesk, handoff_id: str, agent_id: str) -> str:
    try:
        await desk.accept(handoff_id, agent_id)
    except Conflict:
        return "conflict"
    return "won"


async def test_hundred_agents_pull_one_handoff_exactly_one_wins() -> None:
    await require_redis()
    clock, prefix = FakeClock(), unique_prefix()
    desks = await _clients(100, prefix, clock)
    try:
        # agents are "away" so nothing is offered: all 100 try to pull the same pending handoff
        for i in range(100):
            await desks[0].register_agent(spec(f"a{i:03}", {"billing": 0.9}, status="away"))
        await desks[0].submit(request("h1", "billing"))
        results = await asyncio.gather(*(_accept(d, "h1", f"a{i:03}") for i, d in enumerate(desks)))
        assert results.count("won") == 1
        assert results.count("conflict") == 99
        handoff = await desks[0].get("h1")
        assert handoff.status == "accepted"
        winner = f"a{results.index('won'):03}"
        assert handoff.assigned_agent_id == winner
        holders = [a.id for a in await desks[0].list_agents() if a.active_handoff_ids]
        assert holders == [winner]
        events = (await desks[0].events_since()).events
        assert [e.type for e in events].count("handoff_accepted") == 1
    finally:
        await desks[0].clear()
        for d in desks:
            await d.close()


async def test_hundred_clients_one_agent_capacity_holds() -> None:
    await require_redis()
    clock, prefix = FakeClock(), unique_prefix()
    desks = await _clients(100, prefix, clock)
    try:
        await desks[0].register_agent(spec("solo", {"billing": 0.9}, max_concurrent=2, status="away"))
        for i in range(10):
            await desks[0].submit(request(f"h{i}", "billing"))
        # one agent, 100 clients pulling 10 different handoffs: never more than 2 held
        results = await asyncio.gather(*(_accept(d, f"h{i % 10}", "solo") for i, d in enumerate(desks)))
        assert results.count("won") == 2
        agent = await desks[0].get_agent("solo")
        assert len(agent.active_handoff_ids) == 2
        accepted = await desks[0].list(status="accepted")
        assert sorted(h.handoff_id for h in accepted) == sorted(agent.active_handoff_ids)
    finally:
        await desks[0].clear()
        for d in desks:
            await d.close()


async def test_hundred_clients_accept_the_same_offer_once() -> None:
    await require_redis()
    clock, prefix = FakeClock(), unique_prefix()
    desks = await _clients(100, prefix, clock)
    try:
        await desks[0].register_agent(spec("agent", {"billing": 0.9}, max_concurrent=5))
        assert (await desks[0].submit(request("h1", "billing"))).offered_agent_id == "agent"
        results = await asyncio.gather(*(_accept(d, "h1", "agent") for d in desks))
        assert results.count("won") == 1
        agent = await desks[0].get_agent("agent")
        assert agent.active_handoff_ids == ["h1"]
        assert agent.offered_handoff_ids == []
    finally:
        await desks[0].clear()
        for d in desks:
            await d.close()


async def test_ten_clients_start_the_accepted_handoff_all_succeed() -> None:
    """Ten replies right after accept, each on its own worker, each calling ``start``: no 409."""
    await require_redis()
    clock, prefix = FakeClock(), unique_prefix()
    desks = await _clients(10, prefix, clock)
    try:
        await desks[0].register_agent(spec("agent", {"billing": 0.9}))
        await desks[0].submit(request("h1", "billing"))
        await desks[0].accept("h1", "agent")
        results = await asyncio.gather(*(d.start("h1", "agent") for d in desks))
        assert [h.status for h in results] == ["active"] * 10
        handoff = await desks[0].get("h1")
        assert [r.to_status for r in handoff.history].count("active") == 1
        events = (await desks[0].events_since()).events
        assert [e.type for e in events].count("handoff_started") == 1
    finally:
        await desks[0].clear()
        for d in desks:
            await d.close()


async def test_missing_redis_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import test_desk_helpers

    monkeypatch.setattr(test_desk_helpers, "_redis_ok", False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        await require_redis()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        await require_redis()
