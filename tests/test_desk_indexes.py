"""The desk's read indexes: an offer walks a ranking of the free agents, a tick reads only due timers.

Both must change nothing but the cost: the agent chosen is the one a scan of every agent picks, and
every timer fires when ``timer_due`` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_desk_helpers import (
    REDIS_URL,
    AgentLoads,
    DeskFactory,
    Recorder,
    desk_factory_for,
    request,
    require_redis,
    spec,
    travel,
)

from desk import assign, timers
from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.engine import BaseDesk
from desk.memory import InMemoryDesk
from desk.models import Agent, Handoff, HandoffRequest, Offer
from desk.redis_desk import RedisDesk, unique_prefix
from desk.store import Tx

CONFIG = DeskConfig(heartbeat_ttl_s=1e9, accept_timeout_s=30, max_offers=10, expires_after_s=3600)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[DeskFactory]:
    async for factory in desk_factory_for(request.param, clock, Recorder()):
        yield factory


class PickSpy:
    """Records the agents whose eligibility an offer checked: what a desk's ranking visits on its way
    down, best first (``assign.pick``, a scan of every agent, is never called)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.scanned = 0
        self.checked: list[str] = []
        real, real_eligible = assign.pick, assign.eligible

        def spy(*args: Any) -> assign.Scored | None:
            self.scanned += 1
            return real(*args)

        def checking(agent: Agent, *args: Any) -> bool:
            self.checked.append(agent.id)
            return real_eligible(agent, *args)

        monkeypatch.setattr(assign, "pick", spy)
        monkeypatch.setattr(assign, "eligible", checking)

    def visited(self) -> set[str]:
        """Agents the offer looked at on the way down the ranking."""
        assert self.scanned == 0  # the ranking answered: nobody scored by a scan
        return set(self.checked)


def as_handoff(req: HandoffRequest, clock: FakeClock) -> Handoff:
    """The handoff ``submit`` creates from ``req`` now (for a full-scan pick to compare with)."""
    return Handoff(**{**req.model_dump(), "created_at": clock.now()})


async def test_an_offer_walks_a_ranking_and_picks_as_a_full_scan(
    make: DeskFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = await make(CONFIG)
    for i in range(300):
        skills = {"billing": 0.5 + (i % 7) / 20}
        if i % 25 == 0:  # 12 French speakers among 300
            skills["fr"] = 0.6 + (i % 4) / 10
        status = "away" if i % 75 == 0 else "online"  # 4 of the French speakers are away
        await desk.register_agent(
            spec(f"a{i:03d}", skills, status=status, max_concurrent=2 if i == 25 else 5)
        )
    await desk.restore(request("held-1", "fr"), "a025")
    await desk.restore(request("held-2", "fr"), "a025")  # a025 speaks French but is full
    free_french = {
        a.id
        for a in await desk.list_agents()
        if "fr" in a.skills and a.status == "online" and a.load < a.max_concurrent
    }
    assert len(free_french) == 7

    everyone = await desk.list_agents()
    req = request("h-fr", "fr", optional_skills=["billing"])
    expected = assign.pick(as_handoff(req, clock), everyone, clock.now(), CONFIG)
    spy = PickSpy(monkeypatch)
    offered = await desk.submit(req)

    assert expected is not None
    assert offered.offered_agent_id == expected.agent_id
    visited = spy.visited()  # down the ranking until no bound can beat the best found: not 300
    assert expected.agent_id in visited & free_french
    assert len(visited) <= 3


async def test_a_handoff_without_skills_is_scored_against_the_free_agents_only(
    make: DeskFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = await make(CONFIG)
    for i in range(40):
        await desk.register_agent(spec(f"a{i:02d}", {"sales": 0.5}, status="online" if i < 3 else "offline"))
    everyone = await desk.list_agents()
    expected = assign.pick(as_handoff(request("h"), clock), everyone, clock.now(), CONFIG)
    spy = PickSpy(monkeypatch)
    offered = await desk.submit(request("h"))
    assert expected is not None
    assert offered.offered_agent_id == expected.agent_id
    assert spy.visited() <= {"a00", "a01", "a02"}


async def test_an_agent_a_queued_handoff_excludes_still_gets_the_next_one(make: DeskFactory) -> None:
    desk = await make(CONFIG)
    await desk.register_agent(spec("ana", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.decline("h1", "ana")  # h1 waits for anyone but ana, first in the queue
    offered = await desk.submit(request("h2", "billing"))
    assert (offered.status, offered.offered_agent_id) == ("offered", "ana")
    assert (await desk.get("h1")).status == "pending"


async def available(desk: BaseDesk) -> set[str]:
    """What the backend's index answers: the agents online with a free slot."""

    async def fn(tx: Tx) -> set[str]:
        return await tx.available_ids()

    return await desk._run(fn)


async def test_the_free_index_follows_status_capacity_and_skill_changes(
    make: DeskFactory, clock: FakeClock
) -> None:
    desk = await make(CONFIG)
    await desk.register_agent(spec("ana", {"fr": 0.9, "billing": 0.8}, max_concurrent=1))
    await desk.register_agent(spec("bo", {"billing": 0.9}))
    assert await available(desk) == {"ana", "bo"}

    await desk.submit(request("h1", "fr"))  # offered to ana: her one slot is reserved
    assert await available(desk) == {"bo"}
    await desk.decline("h1", "ana")  # the slot is free again; nobody else speaks French
    assert await available(desk) == {"ana", "bo"}

    await desk.set_status("bo", "away")
    assert await available(desk) == {"ana"}
    # New skills replace the old; bo is offered h1 (nobody else could take it) and keeps a free slot.
    await desk.register_agent(spec("bo", {"fr": 0.7}, status="online", max_concurrent=2))
    assert (await desk.get("h1")).offered_agent_id == "bo"
    assert await available(desk) == {"ana", "bo"}
    # bo no longer holds billing: a billing handoff goes to ana, the one who does.
    assert (await desk.submit(request("h2", "billing"))).offered_agent_id == "ana"


@pytest.mark.services
async def test_redis_indexes_agents_written_before_the_index(clock: FakeClock) -> None:
    """A desk started on agents stored without ``avail`` and ``tags`` indexes them once, then offers."""
    async for make in desk_factory_for("redis", clock, Recorder()):
        old = await make(CONFIG)
        assert isinstance(old, RedisDesk)
        await old.register_agent(spec("ana", {"fr": 0.9}))
        await old.register_agent(spec("bo", {"billing": 0.9}))
        tags = await old.redis.hgetall(old.key("tags"))
        await old.redis.delete(old.key("avail"), old.key("tags"))
        for agent_id in ("ana", "bo"):
            await old.redis.hdel(old.key("a", agent_id), "skills")  # as a desk of an earlier release left it

        new = await make(CONFIG)  # same prefix
        assert isinstance(new, RedisDesk)
        assert await available(new) == {"ana", "bo"}
        assert await new.redis.hgetall(new.key("tags")) == tags  # the documents' own tags
        assert (await new.submit(request("h", "fr"))).offered_agent_id == "ana"


# -- property: the indexed dispatch picks what a full scan picks ------------------------------------
agent_specs = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(["x", "y", "z"]), st.floats(0, 1), max_size=3),
        st.sampled_from(["online", "online", "online", "away", "offline"]),
        st.integers(1, 3),  # capacity
        st.integers(0, 3),  # handoffs it already holds (restored, capped at capacity)
        st.floats(1, 5),  # rating
    ),
    min_size=1,
    max_size=12,
)
needs = st.tuples(
    st.lists(st.sampled_from(["x", "y", "z"]), max_size=2, unique=True),
    st.lists(st.sampled_from(["x", "y", "z"]), max_size=2, unique=True),
    st.one_of(st.none(), st.integers(0, 11)),  # preferred agent
)


@contextlib.asynccontextmanager
async def fresh_desk(backend: str, config: DeskConfig, clock: FakeClock) -> AsyncIterator[BaseDesk]:
    """An empty desk of ``backend`` for one generated example (a prefix of its own on Redis)."""
    if backend == "memory":
        yield InMemoryDesk(config, clock=clock)
        return
    await require_redis()
    desk = RedisDesk(REDIS_URL, config, prefix=unique_prefix(), clock=clock)
    try:
        yield desk
    finally:
        await desk.clear()
        await desk.close()


@pytest.mark.parametrize("backend", ["memory", "redis"])
@given(agent_specs, needs)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_ranked_offer_picks_what_a_full_scan_picks(
    backend: str,
    agents: list[tuple[dict[str, float], str, int, int, float]],
    need: tuple[list[str], list[str], int | None],
) -> None:
    asyncio.run(_ranked_offer(backend, agents, need))


async def _ranked_offer(
    backend: str,
    agents: list[tuple[dict[str, float], str, int, int, float]],
    need: tuple[list[str], list[str], int | None],
) -> None:
    clock = FakeClock()
    async with fresh_desk(backend, CONFIG, clock) as desk:
        for i, (skills, status, cap, held, rating) in enumerate(agents):
            performance = {"avg_rating": rating}
            await desk.register_agent(
                spec(f"a{i}", skills, status="online", max_concurrent=cap, performance=performance)
            )
            for j in range(min(held, cap)):
                await desk.restore(request(f"held-{i}-{j}"), f"a{i}")
            await desk.set_status(f"a{i}", status)  # type: ignore[arg-type]
        required, optional, preferred = need
        req = request("h", *required, optional_skills=optional)
        if preferred is not None:
            req = req.model_copy(update={"preferred_agent_id": f"a{preferred}"})
        expected = assign.pick(as_handoff(req, clock), await desk.list_agents(), clock.now(), CONFIG)
        offered = await desk.submit(req)
        assert offered.offered_agent_id == (expected.agent_id if expected else None)


@pytest.mark.parametrize("backend", ["memory", "redis"])
@given(
    agent_specs,
    st.lists(needs.map(lambda n: n[:2]), min_size=1, max_size=6),
    st.sets(st.integers(0, 11)),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_dispatch_over_a_queue_offers_what_full_scans_offer(
    backend: str,
    agents: list[tuple[dict[str, float], str, int, int, float]],
    queued: list[tuple[list[str], list[str]]],
    fresh: set[int],
) -> None:
    """Agents online but silent are free and not available: the dispatch passes them over."""
    asyncio.run(_queue_dispatch(backend, agents, queued, fresh))


async def _queue_dispatch(
    backend: str,
    agents: list[tuple[dict[str, float], str, int, int, float]],
    queued: list[tuple[list[str], list[str]]],
    fresh: set[int],
) -> None:
    clock = FakeClock()
    config = CONFIG.model_copy(update={"heartbeat_ttl_s": 30})
    async with fresh_desk(backend, config, clock) as desk:
        for i, (skills, status, cap, held, rating) in enumerate(agents):
            performance = {"avg_rating": rating}
            await desk.register_agent(
                spec(f"a{i}", skills, status="online", max_concurrent=cap, performance=performance)
            )
            for j in range(min(held, cap)):
                await desk.restore(request(f"held-{i}-{j}"), f"a{i}")
            await desk.set_status(f"a{i}", status)  # type: ignore[arg-type]
        clock.advance(60)  # every heartbeat is stale; nothing ticks, so online agents stay online
        for k, (required, optional) in enumerate(queued):
            assert (
                await desk.submit(request(f"q{k}", *required, optional_skills=optional))
            ).status == "pending"
        for i in sorted(fresh):
            if i < len(agents):
                await desk._write_heartbeat(f"a{i}", clock.now())

        views = {a.id: a for a in await desk.list_agents()}
        expected: dict[str, str | None] = {}
        for handoff in sorted([await desk.get(f"q{k}") for k in range(len(queued))], key=assign.queue_key):
            best = assign.pick(handoff, list(views.values()), clock.now(), config)
            expected[handoff.handoff_id] = best.agent_id if best else None
            if best is not None:
                views[best.agent_id].offered_handoff_ids.append(handoff.handoff_id)
        await desk._dispatch()
        assert {k: (await desk.get(k)).offered_agent_id for k in expected} == expected


# -- timers ----------------------------------------------------------------------------------------
async def due_ids(desk: BaseDesk, clock: FakeClock) -> set[str]:
    return {h.handoff_id for h in await desk._peek_waiting(due_by=clock.now())}


async def test_a_tick_reads_only_handoffs_whose_timer_is_due(make: DeskFactory, clock: FakeClock) -> None:
    desk = await make(CONFIG.model_copy(update={"stuck_after_s": 600}))
    await desk.register_agent(spec("ana", {"billing": 0.9}, max_concurrent=3))
    await desk.submit(request("fast", "billing", accept_timeout_s=5))  # its own accept timeout
    await desk.submit(request("slow", "billing"))  # the desk's: 30 s
    await desk.submit(request("held", "billing"))
    await desk.accept("held", "ana")
    for i in range(20):
        await desk.submit(request(f"queued{i}", "sales"))  # nobody sells: pending until expiry or stuck
    assert await due_ids(desk, clock) == set()

    clock.advance(5)
    assert await due_ids(desk, clock) == {"fast"}
    await desk.tick()
    fast = await desk.get("fast")
    assert [o.outcome for o in fast.offers][:1] == ["timed_out"]

    clock.advance(25)
    assert "slow" in await due_ids(desk, clock)
    assert not any(i.startswith("queued") for i in await due_ids(desk, clock))
    await desk.tick()
    assert (await desk.get("slow")).offers[0].outcome == "timed_out"
    assert (await desk.get("held")).status == "accepted"

    clock.advance(600 - 30)  # the queued ones are stuck now: all of them are due, once
    assert {f"queued{i}" for i in range(20)} <= await due_ids(desk, clock)
    report = await desk.tick()
    assert report.stuck >= 20
    assert not any(i.startswith("queued") for i in await due_ids(desk, clock))


async def test_timers_still_fire_when_travelling_in_steps(make: DeskFactory, clock: FakeClock) -> None:
    desk = await make(DeskConfig(accept_timeout_s=30, max_offers=2, expires_after_s=100))
    await desk.register_agent(spec("ana", {"billing": 0.9}))
    await desk.register_agent(spec("bo", {"billing": 0.8}))
    await desk.submit(request("h", "billing"))
    await travel(
        desk, clock, 61, step=1, keep=("ana", "bo")
    )  # neither answers: two lapses, then out of offers
    handoff = await desk.get("h")
    assert [o.outcome for o in handoff.offers] == ["timed_out", "timed_out"]
    assert handoff.status == "returned_to_ai"


@given(
    st.sampled_from(["pending", "offered"]),
    st.lists(st.floats(0, 200), max_size=4),
    st.one_of(st.none(), st.floats(0, 300)),
    st.one_of(st.none(), st.floats(0.5, 90)),
    st.one_of(st.none(), st.floats(1, 400)),
    st.floats(0, 1000),
)
def test_no_timer_is_due_before_its_deadline(
    status: str,
    offer_times: list[float],
    alerted: float | None,
    accept_timeout: float | None,
    no_agent_after: float | None,
    at: float,
) -> None:
    """``timer_due`` never holds before ``timer_deadline``: the index never hides a due timer."""
    config = DeskConfig(accept_timeout_s=30, max_offers=2, expires_after_s=120, stuck_after_s=60)
    start = FakeClock().now()
    if status == "offered" and not offer_times:
        offer_times = [0.0]
    handoff = Handoff(
        handoff_id="h",
        conversation_id="c",
        created_at=start,
        status=status,  # type: ignore[arg-type]
        offers=[
            Offer(agent_id=f"x{i}", offered_at=start + timedelta(seconds=t))
            for i, t in enumerate(sorted(offer_times))
        ],
        stuck_alerted_at=None if alerted is None else start + timedelta(seconds=alerted),
        accept_timeout_s=accept_timeout,
        no_agent_after_s=no_agent_after,
    )
    deadline = timers.timer_deadline(handoff, config)
    assert deadline is not None
    now = start + timedelta(seconds=at)
    if timers.timer_due(handoff, now, config):
        assert deadline <= now


async def test_a_tick_reads_only_agents_whose_heartbeat_can_be_stale(
    make: DeskFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = await make(CONFIG.model_copy(update={"heartbeat_ttl_s": 30}))
    for i in range(5):
        await desk.register_agent(spec(f"a{i}", {"billing": 0.9}))
        await desk.heartbeat(f"a{i}")
    await desk.tick()  # ticks keep coming (a desk that did not tick excuses the silence)
    clock.advance(20)
    for i in range(4):  # a4 stops beating
        await desk.heartbeat(f"a{i}")
    await desk.tick()
    clock.advance(15)  # a0-a3: 15 s old, fresh; a4: 35 s, past the TTL
    loads = AgentLoads(monkeypatch) if isinstance(desk, RedisDesk) else None
    await desk.tick()
    read_by_tick = {i for ids in loads.ids for i in ids} if loads else set()
    assert {a.id: a.status for a in await desk.list_agents()} == {
        "a0": "online", "a1": "online", "a2": "online", "a3": "online", "a4": "offline",
    }  # fmt: skip
    if isinstance(desk, RedisDesk):  # every worker ticks every second: fresh agents cost no read
        assert read_by_tick == {"a4"}
