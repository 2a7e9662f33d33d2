"""Exactly-once under real concurrency: many Redis clients race for one handoff."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_desk_helpers import REDIS_URL, request, require_redis, spec

from desk import redis_desk
from desk.clock import FakeClock
from desk.errors import Busy, Conflict
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


def _count_commits(desk: RedisDesk, always_lose: bool = False) -> list[int]:
    """Wrap ``desk``'s commit script; the list gets 1 per commit that won, 0 per lost race."""
    real = desk._commit
    outcomes: list[int] = []

    async def counted(*args: Any, **options: Any) -> Any:
        result = [0, "version", "x"] if always_lose else await real(*args, **options)
        outcomes.append(int(result[0]))
        return result

    desk._commit = counted  # type: ignore[method-assign]
    return outcomes


async def test_a_burst_of_submits_on_one_worker_costs_at_most_two_commits_each() -> None:
    """Forty submits at once all read the same free agent first; the losers take turns after that,
    so none loses twice (it was about N**2 / 10 commits), and no agent gets two offers."""
    await require_redis()
    clock, prefix = FakeClock(), unique_prefix()
    (desk,) = await _clients(1, prefix, clock)
    try:
        for i in range(40):
            await desk.register_agent(spec(f"a{i:02}", {"billing": 0.9}, max_concurrent=1))
        outcomes = _count_commits(desk)
        await asyncio.gather(*(desk.submit(request(f"h{i}", "billing")) for i in range(40)))
        assert outcomes.count(1) == 40
        assert outcomes.count(0) <= 39
        offered = [(await desk.get(f"h{i}")).offered_agent_id for i in range(40)]
        assert None not in offered
        assert len(set(offered)) == 40
    finally:
        await desk.clear()
        await desk.close()


async def test_a_desk_that_keeps_losing_says_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other workers winning every race: each operation gives up after ``_MAX_ATTEMPTS`` commits with
    ``Busy``, and writes nothing."""
    await require_redis()
    monkeypatch.setattr(redis_desk, "_MAX_ATTEMPTS", 3)
    clock, prefix = FakeClock(), unique_prefix()
    (desk,) = await _clients(1, prefix, clock)
    try:
        await desk.register_agent(spec("a1", {"billing": 0.9}))
        outcomes = _count_commits(desk, always_lose=True)
        naps: list[float] = []
        sleep = asyncio.sleep

        async def nap(seconds: float) -> None:
            naps.append(seconds)
            await sleep(seconds)

        monkeypatch.setattr(redis_desk.asyncio, "sleep", nap)
        results = await asyncio.gather(
            desk.submit(request("h1", "billing")),
            desk.submit(request("h2", "billing")),
            return_exceptions=True,
        )
        assert all(isinstance(r, Busy) for r in results)
        assert "lost 3 races" in str(results[0])
        assert outcomes == [0] * 6
        assert len(naps) == 2  # one between the two retries of each operation, none after its last
        assert await desk.unknown_handoffs(["h1", "h2"]) == {"h1", "h2"}
    finally:
        await desk.clear()
        await desk.close()


async def test_an_operation_arriving_while_retries_run_waits_its_turn() -> None:
    await require_redis()
    clock, prefix = FakeClock(), unique_prefix()
    (desk,) = await _clients(1, prefix, clock)
    try:
        await desk.register_agent(spec("a1", {"billing": 0.9}))
        outcomes = _count_commits(desk)
        async with desk._retrying:  # as if a lost race were being retried
            submit = asyncio.create_task(desk.submit(request("h1", "billing")))
            await asyncio.sleep(0.2)
            assert outcomes == []
            assert not submit.done()
        handoff = await submit
        assert outcomes == [1]
        assert handoff.offered_agent_id == "a1"
    finally:
        await desk.clear()
        await desk.close()


async def test_missing_redis_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import test_desk_helpers

    monkeypatch.setattr(test_desk_helpers, "_redis_ok", False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        await require_redis()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        await require_redis()
