"""The Redis desk's kept agent views and rankings: another worker's changes are seen (before an offer
is made on them), unchanged agents are not read again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio.client import Pipeline
from test_desk_helpers import REDIS_URL, AgentLoads, request, require_redis, spec

from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.models import Agent
from desk.redis_desk import RedisDesk, unique_prefix
from desk.redis_tx import RedisTx
from desk.redis_views import AgentViews
from desk.store import Tx

CONFIG = DeskConfig(heartbeat_ttl_s=60, accept_timeout_s=30, max_offers=10, expires_after_s=3600)


@pytest.fixture
async def workers() -> AsyncIterator[tuple[RedisDesk, RedisDesk, FakeClock]]:
    """Two desks on one prefix: two workers sharing a Redis."""
    await require_redis()
    clock = FakeClock()
    prefix = unique_prefix()
    one = RedisDesk(REDIS_URL, CONFIG, prefix=prefix, clock=clock)
    two = RedisDesk(REDIS_URL, CONFIG, prefix=prefix, clock=clock)
    try:
        yield one, two, clock
    finally:
        await one.clear()
        await one.close()
        await two.close()


class Reloads:
    """Records the agent ids whose documents a worker reads again."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ids: list[str] = []
        real = AgentViews._reload

        async def spy(views: AgentViews, ids: list[str]) -> None:
            self.ids += ids
            await real(views, ids)

        monkeypatch.setattr(AgentViews, "_reload", spy)


class SentPipelines:
    """Records the command names of every Redis pipeline sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.commands: list[list[str]] = []
        real = Pipeline.execute

        async def recording(pipe: Pipeline, *args: Any, **kwargs: Any) -> Any:
            self.commands.append([str(command[0][0]) for command in pipe.command_stack])
            return await real(pipe, *args, **kwargs)

        monkeypatch.setattr(Pipeline, "execute", recording)


async def test_unchanged_agents_are_not_read_again(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _, _ = workers
    for n in range(30):
        await one.register_agent(spec(f"a{n:02d}", {"legal": 0.5 + n / 100}, max_concurrent=3))
    reloads = Reloads(monkeypatch)
    first = await one.submit(request("h1", "legal"))
    assert first.offered_agent_id == "a29"  # the best skill
    assert len(reloads.ids) == 30  # the worker had none yet
    reloads.ids.clear()
    second = await one.submit(request("h2", "legal"))
    # Only the agent the first offer changed is read again; the other 29 views are kept.
    assert reloads.ids == ["a29"]
    assert second.offered_agent_id is not None


async def test_another_workers_change_is_seen(workers: tuple[RedisDesk, RedisDesk, FakeClock]) -> None:
    one, two, _ = workers
    await one.register_agent(spec("best", {"legal": 0.9}))
    await one.register_agent(spec("next", {"legal": 0.6}))
    assert (await one.submit(request("h1", "legal"))).offered_agent_id == "best"
    await one.cancel("h1")  # both agents free again; the first worker keeps their views
    # The other worker lowers the best agent's skill: no index moves (same skill, still free), so
    # only the document's tag tells the first worker its view is old.
    await two.register_agent(spec("best", {"legal": 0.1}))
    assert (await one.submit(request("h2", "legal"))).offered_agent_id == "next"


async def test_heartbeats_from_another_worker_are_seen(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, clock = workers
    await one.register_agent(spec("solo", {"legal": 0.9}))
    clock.advance(CONFIG.heartbeat_ttl_s + 5)  # the heartbeat has expired...
    assert (await one.submit(request("h1", "legal"))).offered_agent_id is None
    reloads = Reloads(monkeypatch)
    await two.heartbeat("solo")  # ...another worker hears from the agent and offers the handoff
    assert (await one.get("h1")).offered_agent_id == "solo"
    await RedisTx(one).view_agents(["solo"])  # the offer changed the document: read once more
    reloads.ids.clear()
    clock.advance(10)
    await two.heartbeat("solo")
    seen = (await RedisTx(one).view_agents(["solo"]))[0]
    assert seen.last_heartbeat == clock.now()
    # The heartbeat lives in the presence set: the kept document was not read again for it.
    assert reloads.ids == []


async def test_a_fresh_agents_heartbeat_reads_no_agent_document(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, clock = workers
    await one.register_agent(spec("solo", {"legal": 0.9}))
    loads = AgentLoads(monkeypatch)
    reloads = Reloads(monkeypatch)
    clock.advance(10)
    await two.heartbeat("solo")
    # One script call swapped the presence score: no document was read, none kept was checked.
    assert loads.ids == []
    assert reloads.ids == []
    assert (await one.get_agent("solo")).last_heartbeat == clock.now()


async def test_a_waiting_customers_queue_position_reads_no_agent_again(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, _ = workers
    for n in range(5):
        await one.register_agent(spec(f"a{n}", {"legal": 0.9}, max_concurrent=1))
    await one.submit(request("h1", "billing"))  # nobody holds billing: it waits
    await two.submit(request("h2", "legal"))
    first = await one.queue_position("h1")
    loads = AgentLoads(monkeypatch)
    reloads = Reloads(monkeypatch)
    assert await one.queue_position("h1") == first
    assert loads.ids == []
    assert reloads.ids == []  # the kept views answered: no agent changed since the last read
    await one.register_agent(spec("b0", {"billing": 0.5}, max_concurrent=1))  # now someone can take it
    loads.ids.clear()
    offered = await two.queue_position("h1")
    assert offered.position == 0  # offered to b0 on registration: an agent is answering
    assert loads.ids == []


async def test_a_transactions_own_writes_win_and_views_stay_unchanged(
    workers: tuple[RedisDesk, RedisDesk, FakeClock],
) -> None:
    one, _, _ = workers
    await one.register_agent(spec("x", {"legal": 0.9}))
    kept = (await RedisTx(one).view_agents(["x"]))[0]
    tx = RedisTx(one)
    mine = await tx.agent("x")
    mine.status = "away"
    tx.put_agent(mine)
    assert [a.status for a in await tx.view_agents(["x"])] == ["away"]
    assert mine is not kept  # the private copy never touched the view
    assert kept.status == "online"
    assert [a.status for a in await RedisTx(one).view_agents(["x", "nobody"])] == ["online"]


async def test_an_agent_whose_document_is_gone_is_not_offered_and_loses_its_view(
    workers: tuple[RedisDesk, RedisDesk, FakeClock],
) -> None:
    one, _, _ = workers
    await one.register_agent(spec("gone", {"legal": 0.9}))
    await one.register_agent(spec("other", {"legal": 0.5}))
    assert len(await RedisTx(one).view_agents(["gone"])) == 1
    await one.redis.delete(one.key("a", "gone"))  # lost by hand: its tag and indexes are left behind
    assert (await one.submit(request("h1", "legal"))).offered_agent_id == "other"
    assert await RedisTx(one).view_agents(["gone"]) == []


async def test_an_offer_is_not_made_on_a_view_another_worker_changed_meanwhile(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, _ = workers
    await one.register_agent(spec("best", {"legal": 0.9}))
    await one.register_agent(spec("next", {"legal": 0.6}))
    real = AgentViews.refresh
    raced: list[bool] = []

    async def then_the_other_worker_writes(views: AgentViews) -> dict[str, Agent]:
        seen = await real(views)
        if views is one.views and not raced:  # between the first worker's refresh and its pick
            raced.append(True)
            await two._run(away)  # a commit alone: the other worker's dispatch would take h1 itself
        return seen

    async def away(tx: Tx) -> None:
        agent = await tx.agent("best")
        agent.status = "away"
        tx.put_agent(agent)

    monkeypatch.setattr(AgentViews, "refresh", then_the_other_worker_writes)
    mine = await one.submit(request("h1", "legal"))
    assert raced == [True]
    assert mine.offered_agent_id == "next"  # best's view was behind: read, found away, passed over
    best = await one.get_agent("best")
    assert (best.status, best.offered_handoff_ids) == ("away", [])


async def test_a_read_survives_another_finding_an_agent_deleted_meanwhile(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, _ = workers
    await one.register_agent(spec("x", {"legal": 0.9}))
    await RedisTx(one).view_agents(["x"])  # kept
    await two.register_agent(spec("y", {"legal": 0.5}))  # new to the first worker: read on its next view
    real = AgentViews._reload

    async def meanwhile(views: AgentViews, ids: list[str]) -> None:
        views._kept.pop("x", None)  # a concurrent read found "x" deleted while this one awaited
        await real(views, ids)

    monkeypatch.setattr(AgentViews, "_reload", meanwhile)
    assert [a.id for a in await RedisTx(one).view_agents(["x", "y"])] == ["y"]


async def test_a_view_is_not_mistaken_after_redis_lost_its_data(
    workers: tuple[RedisDesk, RedisDesk, FakeClock],
) -> None:
    one, two, _ = workers
    await one.register_agent(spec("x", {"legal": 0.9}))
    assert (await RedisTx(one).view_agents(["x"]))[0].skills == {"legal": 0.9}
    # Redis comes back empty and the agent is registered again: its version starts over at the
    # number the first worker's kept view carries, with another document.
    await two.clear()
    await two.register_agent(spec("x", {"legal": 0.1}))
    assert (await RedisTx(one).view_agents(["x"]))[0].skills == {"legal": 0.1}


async def test_a_document_from_before_tags_is_read_every_time(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, two, clock = workers
    await old.register_agent(spec("old", {"legal": 0.9}))
    # As a release before tags stored it: no tag beside the document, no ``tags`` entry.
    await old.redis.hdel(old.key("a", "old"), "tag")
    await old.redis.delete(old.key("tags"))
    new = RedisDesk(REDIS_URL, CONFIG, prefix=old.prefix, clock=clock)  # a worker of this release starts
    try:
        reloads = Reloads(monkeypatch)
        for _ in range(2):
            assert [a.id for a in await new.list_agents()] == ["old"]  # indexes the old data first
            assert [a.id for a in await RedisTx(new).view_agents(["old"])] == ["old"]
        assert reloads.ids == ["old", "old"]
        await two.set_status("old", "away")  # its next write tags it
        reloads.ids.clear()
        for _ in range(2):
            assert [a.status for a in await RedisTx(new).view_agents(["old"])] == ["away"]
        assert reloads.ids == ["old"]
    finally:
        await new.close()


async def _fifty_kept(desk: RedisDesk) -> None:
    """Fifty agents registered, and the worker's views of them kept."""
    for n in range(50):
        await desk.register_agent(spec(f"a{n:02d}", {"legal": 0.5}))
    await RedisTx(desk).view_agents()


async def test_a_refresh_reads_two_keys_and_no_agent_when_nothing_changed(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _, _ = workers
    await _fifty_kept(one)
    sent = SentPipelines(monkeypatch)
    loads = AgentLoads(monkeypatch)
    assert len(await RedisTx(one).view_agents()) == 50
    assert sent.commands == [["HGETALL", "ZRANGE"]]  # one round trip: every tag, every heartbeat
    assert loads.ids == []


async def test_a_view_of_a_few_agents_reads_their_tags_and_heartbeats_only(
    workers: tuple[RedisDesk, RedisDesk, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, clock = workers
    await _fifty_kept(one)
    clock.advance(5)
    await two.heartbeat("a07")
    sent = SentPipelines(monkeypatch)
    views = await RedisTx(one).view_agents(["a07", "nobody"])
    assert [(a.id, a.last_heartbeat) for a in views] == [("a07", clock.now())]
    assert sent.commands == [["HMGET", "ZMSCORE"]]  # the two ids' tags and heartbeats, not all 50


async def test_a_new_workers_first_tick_sees_an_earlier_releases_stale_agent(
    workers: tuple[RedisDesk, RedisDesk, FakeClock],
) -> None:
    old, _, clock = workers
    await old.register_agent(spec("old", {"legal": 0.9}))
    await old.redis.hdel(old.key("a", "old"), "tag")  # stored before tags existed
    await old.redis.delete(old.key("tags"))
    clock.advance(CONFIG.heartbeat_ttl_s + 5)  # its heartbeat has expired
    new = RedisDesk(REDIS_URL, CONFIG, prefix=old.prefix, clock=clock)
    try:  # the tick's stale-heartbeat check is the new worker's first read of the desk
        assert [a.id for a in await new._maybe_stale(clock.now())] == ["old"]
    finally:
        await new.close()
