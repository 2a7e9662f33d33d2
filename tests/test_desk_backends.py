"""Desk behaviour, run identically on the in-memory and the Redis backend (fake clock, no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from test_desk_helpers import DeskFactory, Recorder, desk_factory_for, request, spec, travel

from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.engine import BaseDesk
from desk.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from desk.memory import InMemoryDesk, _MemTx
from desk.redis_desk import RedisDesk
from desk.redis_tx import RedisTx
from desk.store import Tx


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=["memory", "redis"])
async def make(
    request: pytest.FixtureRequest, clock: FakeClock, recorder: Recorder
) -> AsyncIterator[DeskFactory]:
    async for factory in desk_factory_for(request.param, clock, recorder):
        yield factory


@pytest.fixture
async def desk(make: DeskFactory) -> BaseDesk:
    return await make()


async def types_of(desk: BaseDesk) -> list[str]:
    return [e.type for e in (await desk.events_since()).events]


async def test_skill_filtering_and_scoring_order(desk: BaseDesk) -> None:
    await desk.register_agent(spec("novice", {"billing": 0.4}))
    await desk.register_agent(spec("expert", {"billing": 0.95}))
    await desk.register_agent(spec("other", {"sales": 1.0}))
    handoff = await desk.submit(request("h1", "billing"))
    assert handoff.status == "offered"
    assert handoff.offered_agent_id == "expert"
    assert handoff.offers[0].score > 0
    # the unqualified agent can never pull it
    with pytest.raises(Conflict):
        await desk.accept("h1", "other")


async def test_capacity_never_exceeded(desk: BaseDesk) -> None:
    await desk.register_agent(spec("solo", {"billing": 0.9}, max_concurrent=1))
    first = await desk.submit(request("h1", "billing"))
    second = await desk.submit(request("h2", "billing"))
    assert first.offered_agent_id == "solo"
    assert second.status == "pending"  # the offer reserves the only slot
    await desk.accept("h1", "solo")
    with pytest.raises(Conflict, match="capacity"):
        await desk.accept("h2", "solo")
    agent = await desk.get_agent("solo")
    assert agent.active_handoff_ids == ["h1"]
    assert agent.load <= agent.max_concurrent
    await desk.complete("h1", "solo", rating=5)
    assert (await desk.get("h2")).offered_agent_id == "solo"  # freed slot drains the queue


async def test_one_dispatch_fills_free_slots_and_no_more(desk: BaseDesk) -> None:
    """An agent coming online drains the queue in one pass, counting each offer against its capacity."""
    await desk.register_agent(spec("pair", {"billing": 0.9}, max_concurrent=2, status="offline"))
    for hid in ("h1", "h2", "h3"):
        assert (await desk.submit(request(hid, "billing"))).status == "pending"
    await desk.set_status("pair", "online")
    offered = [(await desk.get(hid)).offered_agent_id for hid in ("h1", "h2", "h3")]
    assert offered == ["pair", "pair", None]
    assert (await desk.get_agent("pair")).load == 2


async def test_timeout_reoffers_to_next_agent_excluding_first(desk: BaseDesk, clock: FakeClock) -> None:
    await desk.register_agent(spec("best", {"billing": 0.9}))
    await desk.register_agent(spec("next", {"billing": 0.6}))
    assert (await desk.submit(request("h1", "billing"))).offered_agent_id == "best"
    await travel(desk, clock, 25)
    assert (await desk.get("h1")).offered_agent_id == "best"
    await travel(desk, clock, 5)
    handoff = await desk.get("h1")
    assert handoff.status == "offered"
    assert handoff.offered_agent_id == "next"
    assert handoff.excluded_agent_ids == ["best"]
    assert [o.outcome for o in handoff.offers] == ["timed_out", "pending"]
    assert "handoff_timed_out" in await types_of(desk)
    with pytest.raises(Conflict):
        await desk.accept("h1", "best")
    accepted = await desk.accept("h1", "next")
    assert accepted.metrics.offer_count == 2
    assert accepted.metrics.time_to_accept_s == pytest.approx(30.0)
    assert (await desk.get_agent("best")).performance.acceptance_rate == 0.0


async def test_expiry_calls_on_revert_and_returns_to_ai(
    desk: BaseDesk, clock: FakeClock, recorder: Recorder
) -> None:
    await desk.submit(request("h1", "astrophysics"))
    await travel(desk, clock, 295)
    assert (await desk.get("h1")).status == "pending"
    assert recorder.reverts == []
    await travel(desk, clock, 5)
    handoff = await desk.get("h1")
    assert handoff.status == "returned_to_ai"
    assert handoff.outcome == "expired"
    assert len(recorder.reverts) == 1
    reverted, notice = recorder.reverts[0]
    assert reverted.handoff_id == "h1"
    assert reverted.status == "returned_to_ai"
    assert notice.kind == "ai"
    assert notice.reverted
    await desk.tick()
    assert len(recorder.reverts) == 1  # exactly once


async def test_max_offers_reverts(desk: BaseDesk, recorder: Recorder) -> None:
    for i in range(4):
        await desk.register_agent(spec(f"a{i}", {"billing": 0.9 - i / 10}))
    await desk.submit(request("h1", "billing"))
    for i in range(3):
        handoff = await desk.get("h1")
        assert handoff.offered_agent_id == f"a{i}"
        await desk.decline("h1", f"a{i}", reason="busy")
    handoff = await desk.get("h1")
    assert handoff.status == "returned_to_ai"
    assert handoff.outcome == "max_offers"
    assert handoff.metrics.offer_count == 3
    assert [n.kind for _, n in recorder.reverts] == ["ai"]


async def test_callback_policy_expires(make: DeskFactory, clock: FakeClock, recorder: Recorder) -> None:
    desk = await make(DeskConfig(no_agent_policy="callback"))
    await desk.submit(request("h1", "x"))
    await travel(desk, clock, 300, step=50)
    assert (await desk.get("h1")).status == "expired"
    assert recorder.reverts[0][1].kind == "callback"
    assert "handoff_expired" in await types_of(desk)


async def test_queue_policy_notifies_without_reverting(
    make: DeskFactory, clock: FakeClock, recorder: Recorder
) -> None:
    desk = await make(DeskConfig(no_agent_policy="queue"))
    await desk.register_agent(
        spec("busy", {"billing": 0.9}, max_concurrent=1, performance={"avg_handle_time_s": 240})
    )
    await desk.submit(request("h0", "billing"))
    await desk.accept("h0", "busy")
    await desk.submit(request("h1", "billing", priority=90))
    await desk.submit(request("h2", "billing", priority=10))
    position = await desk.queue_position("h2")
    assert position.position == 2
    # two rounds of the measured handle time, plus the response time prior (no accept measured yet)
    assert position.expected_wait_s == pytest.approx(2 * 240 + desk.config.accept_timeout_s / 2)
    await travel(desk, clock, 300, step=50)
    assert (await desk.get("h2")).status == "pending"
    assert recorder.reverts == []
    notices = {h.handoff_id: n for h, n in recorder.notices}
    assert notices["h2"].kind == "queue"
    assert notices["h2"].queue_position == 2
    assert not notices["h2"].reverted
    assert "handoff_notice" in await types_of(desk)


def counted_transactions(desk: BaseDesk, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The desk's transactions from now on, one entry each."""
    transactions: list[Any] = []
    atomic = desk._atomic

    async def counted(fn: Any) -> Any:
        transactions.append(fn)
        return await atomic(fn)

    monkeypatch.setattr(desk, "_atomic", counted)
    return transactions


async def test_a_submit_says_where_the_handoff_stands_as_queue_position_does(
    desk: BaseDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("busy", {"billing": 0.9}, max_concurrent=1))
    await desk.register_agent(spec("free", {"sales": 0.9}))
    transactions = counted_transactions(desk, monkeypatch)
    offered, placed = await desk.submit_placed(request("s1", "sales"))
    assert (offered.status, offered.offered_agent_id) == ("offered", "free")
    assert len(transactions) == 1  # offered at once: placed in the submit's own transaction
    assert placed.position == 0
    assert placed.expected_wait_s is not None
    assert placed == await desk.queue_position("s1")
    await desk.submit(request("h0", "billing"))
    await desk.accept("h0", "busy")
    first, first_placed = await desk.submit_placed(request("h1", "billing", priority=10))
    second, second_placed = await desk.submit_placed(request("h2", "billing", priority=90))
    assert (first.status, second.status) == ("pending", "pending")
    assert (first_placed.position, second_placed.position) == (1, 1)  # h2 goes ahead of h1
    assert second_placed == await desk.queue_position("h2")
    assert (await desk.queue_position("h1")).position == 2


async def test_accept_by_returns_the_agent_as_the_accept_left_them(
    desk: BaseDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("maria", {"billing": 0.9}, display_name="Maria", team="sales"))
    await desk.submit(request("h1", "billing"))
    transactions = counted_transactions(desk, monkeypatch)
    handoff, agent = await desk.accept_by("h1", "maria")
    assert len(transactions) == 1
    assert (handoff.status, handoff.assigned_agent_id) == ("accepted", "maria")
    assert (agent.id, agent.display_name, agent.team, agent.active_handoff_ids) == (
        "maria",
        "Maria",
        "sales",
        ["h1"],
    )
    stored = await desk.get_agent("maria")
    assert (stored.active_handoff_ids, stored.last_assigned_at) == (
        agent.active_handoff_ids,
        agent.last_assigned_at,
    )


async def test_queue_drains_in_priority_order(desk: BaseDesk, clock: FakeClock) -> None:
    for handoff_id, priority in [("low", 10), ("high", 90), ("mid-old", 50), ("mid-new", 50)]:
        await desk.submit(request(handoff_id, "billing", priority=priority))
        clock.advance(1)
    assert [h.status for h in await desk.list(status="pending")] == ["pending"] * 4
    assert (await desk.queue_position("high")).position == 1
    assert (await desk.queue_position("low")).position == 4
    cursor = await desk.cursor()
    await desk.register_agent(spec("a", {"billing": 0.9}, max_concurrent=1, status="away"))
    await desk.set_status("a", "online")
    order = []
    for _ in range(4):
        (offered,) = await desk.list(status="offered")
        order.append(offered.handoff_id)
        await desk.accept(offered.handoff_id, "a")
        await desk.complete(offered.handoff_id, "a")
    assert order == ["high", "mid-old", "mid-new", "low"]
    page = await desk.events_since(cursor)
    assert [e.handoff_id for e in page.events if e.type == "handoff_offered"] == order


async def test_preferred_agent_wins_when_eligible(desk: BaseDesk) -> None:
    await desk.register_agent(spec("star", {"billing": 1.0}))
    await desk.register_agent(spec("favourite", {"billing": 0.3}))
    await desk.register_agent(spec("away", {"billing": 0.3}, status="away"))
    assert (
        await desk.submit(request("h1", "billing", preferred_agent_id="favourite"))
    ).offered_agent_id == "favourite"
    assert (await desk.submit(request("h2", "billing", preferred_agent_id="away"))).offered_agent_id == "star"


async def test_relax_after_drops_optional_skills(desk: BaseDesk, clock: FakeClock) -> None:
    await desk.register_agent(spec("english-only", {"billing": 0.9}))
    handoff = await desk.submit(request("h1", "billing", optional_skills=["french"]))
    assert handoff.status == "pending"
    await travel(desk, clock, 55)
    assert (await desk.get("h1")).status == "pending"
    await travel(desk, clock, 5)
    assert (await desk.get("h1")).offered_agent_id == "english-only"


async def test_optional_skill_holder_preferred_before_relax(desk: BaseDesk) -> None:
    await desk.register_agent(spec("mono", {"billing": 1.0}))
    await desk.register_agent(spec("bilingual", {"billing": 0.5, "french": 0.5}))
    assert (
        await desk.submit(request("h1", "billing", optional_skills=["french"]))
    ).offered_agent_id == "bilingual"


async def test_transfer_keeps_brief_and_human_segment(desk: BaseDesk) -> None:
    await desk.register_agent(spec("tier1", {"billing": 0.9}))
    await desk.register_agent(spec("tier2", {"billing": 0.5, "refunds": 0.9}))
    await desk.register_agent(spec("legal", {"law": 0.9}))
    brief = {"summary": "double charge", "facts": {"amount": 42}}
    await desk.submit(request("h1", "billing", brief=brief))
    await desk.accept("h1", "tier1")
    segment = [{"role": "agent", "content": "Let me get a refunds specialist."}]
    moved = await desk.transfer(
        "h1", "tier1", to_skills=["refunds"], reason="needs refund", human_segment=segment
    )
    assert moved.status == "offered"
    assert moved.offered_agent_id == "tier2"
    assert moved.brief == brief
    assert moved.human_segment == segment
    assert moved.transfers[0].reason == "needs refund"
    assert (await desk.get_agent("tier1")).active_handoff_ids == []
    await desk.accept("h1", "tier2")
    segment2 = [{"role": "agent", "content": "Legal will follow up."}]
    direct = await desk.transfer("h1", "tier2", to_agent_id="legal", reason="legal", human_segment=segment2)
    assert direct.offered_agent_id == "legal"
    assert direct.human_segment == segment + segment2
    assert [t.to_agent_id for t in direct.transfers] == [None, "legal"]
    assert "handoff_transferred" in await types_of(desk)
    with pytest.raises(InvalidRequest):
        await desk.transfer("h1", "legal")
    with pytest.raises(IllegalTransition):
        await desk.transfer("h1", "tier1", to_skills=["x"])  # offered to legal: nothing to transfer


async def test_stuck_monitor_alerts_and_escalates(desk: BaseDesk, clock: FakeClock) -> None:
    await desk.submit(request("h1", "nobody-has-this", priority=50))
    await travel(desk, clock, 120, step=30)
    page = await desk.events_since()
    stuck = [e for e in page.events if e.type == "handoff_stuck"]
    assert len(stuck) == 1
    assert stuck[0].handoff_id == "h1"
    assert (await desk.get("h1")).priority == 60


async def test_vanished_agent_handoff_requeued(desk: BaseDesk, clock: FakeClock) -> None:
    await desk.tick()  # the desk runs (its first tick gives every agent it knows a whole TTL)
    await desk.register_agent(spec("ghost", {"billing": 0.9}))
    await desk.register_agent(spec("steady", {"billing": 0.5}, max_concurrent=1))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "ghost")
    await desk.submit(request("h2", "billing"))
    await desk.accept("h2", "steady")
    await travel(desk, clock, 35, keep=("steady",))
    ghost = await desk.get_agent("ghost")
    assert ghost.status == "offline"
    assert ghost.active_handoff_ids == []
    handoff = await desk.get("h1")
    assert handoff.status == "pending"  # steady is full
    assert handoff.excluded_agent_ids == ["ghost"]
    types = await types_of(desk)
    assert "handoff_requeued" in types
    assert "agent_status_changed" in types
    await desk.complete("h2", "steady")
    assert (await desk.get("h1")).offered_agent_id == "steady"


async def test_illegal_transitions_raise(desk: BaseDesk) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}))
    await desk.submit(request("h1", "x"))
    with pytest.raises(IllegalTransition, match="pending to active"):
        await desk.start("h1", "a")
    with pytest.raises(IllegalTransition):
        await desk.complete("h1", "a")
    await desk.cancel("h1", reason="customer left")
    with pytest.raises(IllegalTransition, match="terminal"):
        await desk.cancel("h1")
    with pytest.raises(IllegalTransition):
        await desk.accept("h1", "a")
    with pytest.raises(NotFound):
        await desk.get("missing")
    with pytest.raises(Conflict, match="already exists"):
        await desk.submit(request("h1"))


async def test_events_for_each_transition_and_fan_out(desk: BaseDesk) -> None:
    cursor = await desk.cursor()
    subs = [desk.subscribe(since=cursor), desk.subscribe(since=cursor)]
    await desk.register_agent(spec("a", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "a")
    await desk.start("h1", "a")
    await desk.complete("h1", "a", notes="refunded", rating=4)
    await desk.submit(request("h2", "billing"))
    await desk.return_to_ai("h2", "a", note="customer prefers the bot")
    expected = [
        "agent_status_changed",
        "handoff_created",
        "handoff_offered",
        "handoff_accepted",
        "handoff_started",
        "handoff_completed",
        "handoff_created",
        "handoff_offered",
        "handoff_returned_to_ai",
    ]
    assert await types_of(desk) == expected
    for sub in subs:
        got = [(await asyncio.wait_for(sub.__anext__(), 5)).type for _ in expected]
        assert got == expected
    await desk.close()


async def test_metrics_recorded(desk: BaseDesk, clock: FakeClock) -> None:
    await desk.submit(request("h1", "billing"))
    await travel(desk, clock, 10)
    await desk.register_agent(spec("a", {"billing": 0.9}))
    await travel(desk, clock, 5)
    await desk.accept("h1", "a")
    await travel(desk, clock, 120, step=60)
    done = await desk.complete("h1", "a", rating=3)
    assert done.metrics.time_to_first_offer_s == pytest.approx(10.0)
    assert done.metrics.time_to_accept_s == pytest.approx(15.0)
    assert done.metrics.offer_count == 1
    assert done.metrics.handle_time_s == pytest.approx(120.0)
    assert done.outcome == "completed"
    perf = (await desk.get_agent("a")).performance
    assert perf.handled == 1
    assert perf.avg_handle_time_s == pytest.approx(120.0)
    assert perf.avg_rating == pytest.approx(3.0)
    assert [r.to_status for r in done.history] == ["pending", "offered", "accepted", "active", "completed"]


async def test_return_to_ai_calls_on_revert(desk: BaseDesk, recorder: Recorder) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "a")
    with pytest.raises(Conflict):
        await desk.return_to_ai("h1", "someone-else")
    done = await desk.return_to_ai("h1", "a", note="AI can finish this")
    assert done.status == "returned_to_ai"
    assert (await desk.get_agent("a")).active_handoff_ids == []
    assert recorder.reverts[0][1].message == "AI can finish this"


async def test_offline_revokes_offers(desk: BaseDesk) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}))
    await desk.register_agent(spec("b", {"billing": 0.5}))
    await desk.submit(request("h1", "billing"))
    await desk.set_status("a", "offline")
    handoff = await desk.get("h1")
    assert handoff.offered_agent_id == "b"
    assert handoff.offers[0].outcome == "revoked"


async def test_concurrent_ticks_apply_timers_once(
    make: DeskFactory, clock: FakeClock, recorder: Recorder
) -> None:
    first = await make()
    second = await make() if isinstance(first, RedisDesk) else first  # a second worker on the same keys
    await first.submit(request("h1", "nobody"))
    clock.advance(301)
    await asyncio.gather(*(d.tick() for d in [first, second, first, second]))
    assert (await first.get("h1")).status == "returned_to_ai"
    assert len(recorder.reverts) == 1
    types = await types_of(first)
    assert types.count("handoff_returned_to_ai") == 1


async def test_stuck_requeue_revokes_slow_offer(make: DeskFactory, clock: FakeClock) -> None:
    desk = await make(DeskConfig(stuck_after_s=20, stuck_action="requeue", accept_timeout_s=60))
    await desk.register_agent(spec("slow", {"billing": 0.9}))
    await desk.register_agent(spec("quick", {"billing": 0.5}))
    await desk.submit(request("h1", "billing"))
    await travel(desk, clock, 20)
    handoff = await desk.get("h1")
    assert handoff.offered_agent_id == "quick"
    assert handoff.offers[0].outcome == "revoked"
    assert "handoff_stuck" in await types_of(desk)


async def test_background_loop_runs_ticks_until_closed(desk: BaseDesk, clock: FakeClock) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}))
    await desk.register_agent(spec("b", {"billing": 0.5}))
    await desk.submit(request("h1", "billing"))
    task = asyncio.create_task(desk.run(interval=0.01))
    clock.advance(31)
    await desk.heartbeat("b")
    for _ in range(300):
        if (await desk.get("h1")).offered_agent_id == "b":
            break
        await asyncio.sleep(0.01)
    assert (await desk.get("h1")).offered_agent_id == "b"
    await desk.close()
    await asyncio.wait_for(task, 2)


class QueueReads:
    """The sizes of the queued-handoff reads a dispatch makes (``Tx.view_handoffs`` calls)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sizes: list[int] = []
        for cls in (Tx, _MemTx):
            real = cls.__dict__.get("view_handoffs")
            if real is None:
                continue

            async def spy(tx: Tx, ids: list[str], _real: Any = real) -> Any:
                self.sizes.append(len(ids))
                return await _real(tx, ids)

            monkeypatch.setattr(cls, "view_handoffs", spy)


async def test_a_dispatch_with_nobody_free_reads_no_queued_handoff(
    desk: BaseDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("busy", {"billing": 0.9}, max_concurrent=1))
    await desk.submit(request("h0", "billing"))
    await desk.accept("h0", "busy")
    reads = QueueReads(monkeypatch)
    for n in range(1, 6):
        assert (await desk.submit(request(f"h{n}", "billing"))).status == "pending"
    await desk.tick()
    assert reads.sizes == []


async def test_a_dispatch_reads_the_queue_a_slice_at_a_time_while_someone_is_free(
    desk: BaseDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("desk.core.QUEUE_SLICE", 2)
    await desk.register_agent(spec("busy", {"billing": 0.9}, max_concurrent=1))
    await desk.submit(request("h0", "billing"))
    await desk.accept("h0", "busy")
    await desk.register_agent(spec("solo", {"legal": 0.9}, max_concurrent=1))  # free, but not for billing
    for n in range(1, 6):
        await desk.submit(request(f"h{n}", "billing"))
    reads = QueueReads(monkeypatch)
    assert (await desk.submit(request("h6", "legal"))).offered_agent_id == "solo"  # last in the queue
    assert reads.sizes == [2, 2, 2]
    reads.sizes.clear()
    await desk.register_agent(spec("lee", {"billing": 0.5}, max_concurrent=1))
    assert (await desk.get("h1")).offered_agent_id == "lee"
    assert reads.sizes == [2]  # lee was full after the first offer: the rest of the queue stayed unread


async def test_listing_by_status_reads_no_handoff_in_another_state(
    desk: BaseDesk, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}, max_concurrent=3))
    await desk.register_agent(spec("b", {"legal": 0.9}, max_concurrent=1))
    held = []
    for n in range(3):
        clock.advance(1)
        handoff = await desk.submit(request(f"held{n}", "billing"))
        await desk.accept(handoff.handoff_id, "a")
        held.append(handoff.handoff_id)
    for name, skill in (("w1", "sales"), ("o1", "legal"), ("w2", "sales"), ("o2", "legal")):
        clock.advance(1)
        await desk.submit(request(name, skill))  # nobody holds sales; b takes one legal at a time
    loaded: list[str] = []
    for cls in (_MemTx, RedisTx):
        real = cls._load_handoffs

        async def spy(tx: Tx, ids: list[str], _real: Any = real) -> Any:
            loaded.extend(ids)
            return await _real(tx, ids)

        monkeypatch.setattr(cls, "_load_handoffs", spy)
    offered = await desk.list(status="offered")
    assert [h.handoff_id for h in offered] == ["o1"]
    assert loaded == ["o1"]  # neither the held nor the pending ones were read
    pending = await desk.list(status="pending")
    assert [h.handoff_id for h in pending] == ["w1", "w2", "o2"]  # creation order
    assert not set(loaded) & set(held)
    loaded.clear()
    assert [h.handoff_id for h in await desk.list(status="accepted")] == held
    assert sorted(loaded) == held  # the held ones only: a supervisor's live view lists them


async def test_unknown_ids_are_told_apart_from_known_ones_in_any_state(
    desk: BaseDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("desk.redis_desk._EXISTS_SLICE", 2)  # several round trips on Redis
    await desk.register_agent(spec("a", {"billing": 0.9}))
    await desk.register_agent(spec("b", {"billing": 0.5}, status="offline"))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "a")
    await desk.complete("h1", "a")  # ended handoffs are still the desk's
    await desk.submit(request("h2", "billing"))
    assert await desk.unknown_agents(["a", "x", "b", "y", "z"]) == {"x", "y", "z"}
    assert await desk.unknown_handoffs(["h1", "h9", "h2"]) == {"h9"}
    assert await desk.unknown_handoffs([]) == set()
    assert await desk.unknown_agents([]) == set()


class Dispatches:
    """Counts the desk's queue dispatches (what a returning agent's heartbeat triggers)."""

    def __init__(self, desk: BaseDesk, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = desk._dispatch

        async def counted() -> int:
            self.count += 1
            return await real()

        monkeypatch.setattr(desk, "_dispatch", counted)


async def test_a_fresh_agents_heartbeat_is_recorded_without_a_dispatch(
    desk: BaseDesk, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}))
    dispatches = Dispatches(desk, monkeypatch)
    clock.advance(desk.config.heartbeat_ttl_s - 1)
    await desk.heartbeat("a")
    assert (await desk.get_agent("a")).last_heartbeat == clock.now()
    clock.advance(desk.config.heartbeat_ttl_s - 1)  # fresh only through the second heartbeat
    assert (await desk.submit(request("h1", "billing"))).offered_agent_id == "a"
    assert dispatches.count == 0  # the heartbeat found nothing new to offer (a submit offers in its commit)


async def test_an_agent_back_after_its_ttl_gets_the_queue_on_its_heartbeat(
    desk: BaseDesk, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}))
    clock.advance(desk.config.heartbeat_ttl_s + 5)
    assert (await desk.submit(request("h1", "billing"))).offered_agent_id is None  # no tick ran yet
    dispatches = Dispatches(desk, monkeypatch)
    await desk.heartbeat("a")
    assert dispatches.count == 1
    assert (await desk.get("h1")).offered_agent_id == "a"
    assert (await desk.get_agent("a")).last_heartbeat == clock.now()


async def test_an_offline_agents_late_heartbeat_offers_nothing(
    desk: BaseDesk, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}, status="offline"))
    await desk.submit(request("h1", "billing"))
    clock.advance(desk.config.heartbeat_ttl_s + 5)
    dispatches = Dispatches(desk, monkeypatch)
    await desk.heartbeat("a")
    assert dispatches.count == 0
    assert (await desk.get("h1")).offered_agent_id is None
    assert (await desk.get_agent("a")).last_heartbeat == clock.now()


async def test_a_heartbeat_of_an_unknown_agent_is_refused_and_records_nothing(desk: BaseDesk) -> None:
    with pytest.raises(NotFound):
        await desk.heartbeat("ghost")
    with pytest.raises(NotFound):
        await desk.get_agent("ghost")
    if isinstance(desk, RedisDesk):  # no presence entry that a later reader would take for an agent
        assert await desk.redis.zscore(desk.key("presence"), "ghost") is None
        assert await desk.redis.exists(desk.key("alive", "ghost")) == 0


async def test_memory_history_is_bounded_and_cursors_stay_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("desk.memory._HISTORY", 10)
    desk = InMemoryDesk()
    await desk.register_agent(spec("a", {"billing": 1.0}, max_concurrent=50))
    first = await desk.cursor()
    for i in range(20):
        await desk.submit(request(f"h{i}", "billing"))
    total = int(await desk.cursor())
    assert total > 20  # created + offered per handoff, plus the registration
    kept = await desk.events_since(first)
    assert 10 <= len(kept.events) <= 11  # trimmed to the history size (in chunks)
    assert kept.cursor == str(total)
    assert kept.events[-1].handoff_id == "h19"
    tail = await desk.events_since(str(total - 2))
    assert [e.type for e in tail.events] == [e.type for e in kept.events[-2:]]
    assert (await desk.events_since(str(total))).events == []


async def test_a_submit_is_created_and_offered_in_one_commit(
    desk: BaseDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}))
    commits: list[int] = []
    real = desk._atomic

    async def counted(fn: Any) -> Any:
        commits.append(1)
        return await real(fn)

    monkeypatch.setattr(desk, "_atomic", counted)
    handoff = await desk.submit(request("h1", "billing"))
    assert (handoff.status, handoff.offered_agent_id) == ("offered", "a")
    assert len(commits) == 1  # not a commit for the pending handoff, one for its offer and a read
    assert (await types_of(desk))[-2:] == ["handoff_created", "handoff_offered"]
    handoff.notes = "changed by the caller"  # the caller's copy: the desk's is not touched
    assert (await desk.get("h1")).notes == ""


async def test_a_submit_offers_the_queue_in_order_in_its_commit(desk: BaseDesk, clock: FakeClock) -> None:
    await desk.register_agent(spec("a", {"fr": 0.9, "billing": 0.9}, status="away"))
    assert (await desk.submit(request("h1", "fr"))).status == "pending"  # nobody online

    async def online(tx: Tx) -> None:  # back without a dispatch: h1 still waits when h2 comes
        agent = await tx.agent("a")
        agent.status = "online"
        tx.put_agent(agent)

    await desk._run(online)
    clock.advance(1)
    second = await desk.submit(request("h2", "billing"))
    # a has one slot: the older handoff in the queue gets it, the new one waits behind it.
    assert (second.status, second.offered_agent_id) == ("pending", None)
    assert (await desk.get("h1")).offered_agent_id == "a"


async def test_a_submit_with_nobody_free_does_not_read_the_queue(
    desk: BaseDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("a", {"billing": 0.9}))
    assert (await desk.submit(request("h0", "billing"))).offered_agent_id == "a"  # a's one slot
    for n in range(5):
        await desk.submit(request(f"q{n}", "billing"))
    reads: list[int] = []
    tx_type = RedisTx if isinstance(desk, RedisDesk) else _MemTx
    real = tx_type.queue

    async def counted(tx: Any) -> list[str]:
        reads.append(1)
        return await real(tx)

    monkeypatch.setattr(tx_type, "queue", counted)
    assert (await desk.submit(request("q5", "billing"))).status == "pending"
    assert reads == []  # nobody free: the queue was not read
    await desk.decline("h0", "a")  # a is free again: the queue is read and its head offered
    assert reads
    assert (await desk.get("q0")).offered_agent_id == "a"
