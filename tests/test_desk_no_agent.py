"""The routing policy's no-agent choice, wait and accept timeout, honoured by both desks; wait estimates
from measured figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from test_desk_helpers import DeskFactory, Recorder, desk_factory_for, request, spec, travel

from desk.clock import FakeClock
from desk.config import DeskConfig


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


async def test_a_handoffs_own_choice_and_wait_beat_the_desk_config(
    make: DeskFactory, clock: FakeClock, recorder: Recorder
) -> None:
    desk = await make(DeskConfig(no_agent_policy="ai", expires_after_s=300))
    await desk.submit(request("cb", "x", no_agent="callback", no_agent_after_s=20))
    await desk.submit(request("q", "x", no_agent="queue", no_agent_after_s=40))
    await desk.submit(request("plain", "x"))
    await travel(desk, clock, 15)
    assert (await desk.get("cb")).status == "pending"
    await travel(desk, clock, 10)
    expired = await desk.get("cb")
    assert (expired.status, expired.outcome) == ("expired", "expired")
    assert [(h.handoff_id, n.kind) for h, n in recorder.reverts] == [("cb", "callback")]
    await travel(desk, clock, 20)
    assert [(h.handoff_id, n.kind) for h, n in recorder.notices] == [("q", "queue")]
    assert (await desk.get("q")).status == "pending"  # still queued after the notice
    assert (await desk.get("plain")).status == "pending"  # the desk's 300 s still runs
    await travel(desk, clock, 260, step=20)
    assert (await desk.get("plain")).status == "returned_to_ai"
    assert [n.kind for h, n in recorder.reverts if h.handoff_id == "plain"] == ["ai"]


async def test_the_choice_survives_storage(make: DeskFactory) -> None:
    desk = await make()
    await desk.submit(request("h1", "x", no_agent="callback", no_agent_after_s=45, accept_timeout_s=12))
    stored = await desk.get("h1")
    assert (stored.no_agent, stored.no_agent_after_s, stored.accept_timeout_s) == ("callback", 45, 12)


async def test_offers_lapse_at_their_own_handoffs_accept_timeout(make: DeskFactory, clock: FakeClock) -> None:
    """Two rules' handoffs (10 s and 60 s) and one that keeps the desk's 30 s, offered at once."""
    desk = await make(DeskConfig(accept_timeout_s=30, expires_after_s=3600, stuck_after_s=3600))
    for agent_id in ("ana", "bo", "cy"):
        await desk.register_agent(spec(agent_id, {"x": 0.9}, max_concurrent=1))
    start = clock.now()
    await desk.submit(request("fast", "x", accept_timeout_s=10))
    await desk.submit(request("slow", "x", accept_timeout_s=60))
    await desk.submit(request("plain", "x"))

    async def lapsed() -> dict[str, float]:
        """Handoff -> seconds from its first offer to the offer's timeout."""
        out = {}
        for hid in ("fast", "slow", "plain"):
            first = (await desk.get(hid)).offers[0]
            if first.outcome == "timed_out":
                assert first.responded_at is not None
                out[hid] = (first.responded_at - first.offered_at).total_seconds()
        return out

    assert {(await desk.get(h)).status for h in ("fast", "slow", "plain")} == {"offered"}
    await travel(desk, clock, 9, step=1)
    assert await lapsed() == {}
    await travel(desk, clock, 1, step=1)
    assert await lapsed() == {"fast": 10}
    await travel(desk, clock, 19, step=1)
    assert await lapsed() == {"fast": 10}
    await travel(desk, clock, 1, step=1)
    assert await lapsed() == {"fast": 10, "plain": 30}
    await travel(desk, clock, 29, step=1)
    assert "slow" not in await lapsed()
    await travel(desk, clock, 1, step=1)
    assert await lapsed() == {"fast": 10, "plain": 30, "slow": 60}
    assert clock.now() - start == timedelta(seconds=60)


async def test_wait_estimate_uses_the_measured_response_time(make: DeskFactory, clock: FakeClock) -> None:
    desk = await make(DeskConfig(accept_timeout_s=30))
    await desk.register_agent(spec("maria", {"x": 0.9}, max_concurrent=2))
    first = await desk.submit(request("h1", "x"))
    assert first.status == "offered"
    # nothing measured yet: half the accept timeout, minus what already passed
    assert (await desk.queue_position("h1")).expected_wait_s == pytest.approx(15.0)
    clock.advance(8)
    assert (await desk.queue_position("h1")).expected_wait_s == pytest.approx(7.0)
    await desk.accept("h1", "maria")
    assert (await desk.get_agent("maria")).performance.avg_accept_s == pytest.approx(8.0)
    await desk.submit(request("h2", "x"))
    clock.advance(4)
    await desk.accept("h2", "maria")
    assert (await desk.get_agent("maria")).performance.avg_accept_s == pytest.approx(6.0)
    # maria is full: the next one waits a handle time (the default, none measured) plus her response time
    await desk.submit(request("h3", "x"))
    position = await desk.queue_position("h3")
    assert position.position == 1
    assert position.expected_wait_s == pytest.approx(desk.config.default_handle_time_s + 6.0)
    assert (await desk.queue_position("h1")).expected_wait_s == 0.0  # held: nothing to wait for


async def test_nobody_able_means_no_estimate(make: DeskFactory) -> None:
    desk = await make()
    await desk.register_agent(spec("lee", {"legal": 0.9}))
    await desk.submit(request("h1", "billing"))
    assert await desk.queue_position("h1") == (1, None)
