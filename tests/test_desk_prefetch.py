"""A desk operation that names its handoff and agent reads both at once: one round trip on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio.client import Pipeline
from test_desk_helpers import REDIS_URL, request, require_redis, spec

from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.errors import NotFound
from desk.memory import InMemoryDesk
from desk.redis_desk import RedisDesk, unique_prefix

CONFIG = DeskConfig(heartbeat_ttl_s=60, accept_timeout_s=30, max_offers=10, expires_after_s=3600)
BOTH = ["HMGET", "HMGET", "ZMSCORE"]  # the handoff's document, the agent's and their heartbeat


@pytest.fixture
async def desk() -> AsyncIterator[RedisDesk]:
    await require_redis()
    desk = RedisDesk(REDIS_URL, CONFIG, prefix=unique_prefix(), clock=FakeClock())
    try:
        yield desk
    finally:
        await desk.clear()
        await desk.close()


class ReadPipelines:
    """The command names of every pipeline of document reads sent (HMGET/ZMSCORE only)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[list[str]] = []
        real = Pipeline.execute

        async def recording(pipe: Pipeline, *args: Any, **kwargs: Any) -> Any:
            names = [str(command[0][0]) for command in pipe.command_stack]
            if names and set(names) <= {"HMGET", "ZMSCORE"}:
                self.sent.append(names)
            return await real(pipe, *args, **kwargs)

        monkeypatch.setattr(Pipeline, "execute", recording)


async def test_an_accept_and_a_completion_read_the_handoff_and_the_agent_in_one_round_trip(
    desk: RedisDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.register_agent(spec("ana", {"sales": 0.9}))
    offered = await desk.submit(request("h1", "sales"))
    assert offered.offered_agent_id == "ana"
    reads = ReadPipelines(monkeypatch)
    handoff, agent = await desk.accept_by("h1", "ana")
    assert (handoff.status, agent.active_handoff_ids) == ("accepted", ["h1"])
    assert reads.sent[0] == BOTH
    assert ["HMGET"] not in reads.sent  # neither document was read again on its own
    reads.sent.clear()
    done = await desk.complete("h1", "ana", rating=5)
    assert done.status == "completed"
    assert reads.sent[0] == BOTH
    assert (await desk.get_agent("ana")).active_handoff_ids == []


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_a_prefetched_miss_is_still_not_found(backend: str) -> None:
    if backend == "redis":
        await require_redis()
    desk = (
        RedisDesk(REDIS_URL, CONFIG, prefix=unique_prefix(), clock=FakeClock())
        if backend == "redis"
        else InMemoryDesk(CONFIG, clock=FakeClock())
    )
    try:
        assert (await desk.submit(request("h1", "sales"))).status == "pending"  # nobody to offer it to
        with pytest.raises(NotFound, match="agent 'nobody' is not registered"):
            await desk.accept_by("h1", "nobody")
        await desk.register_agent(spec("ana", {"sales": 0.9}))
        with pytest.raises(NotFound, match="handoff 'nope' does not exist"):
            await desk.accept_by("nope", "ana")
    finally:
        if isinstance(desk, RedisDesk):
            await desk.clear()
            await desk.close()
