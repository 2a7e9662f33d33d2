"""Shared helpers for the desk tests (no tests here): backends, Redis availability, time travel."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.engine import BaseDesk
from desk.memory import InMemoryDesk
from desk.models import AgentSpec, CustomerNotice, Handoff, HandoffRequest
from desk.redis_desk import RedisDesk, unique_prefix
from desk.redis_tx import RedisTx

REDIS_URL = os.environ.get("BATON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

_redis_ok: bool | None = None


async def redis_reachable() -> bool:
    """Ping the test Redis once per session."""
    global _redis_ok
    if _redis_ok is None:
        client = aioredis.from_url(REDIS_URL, socket_connect_timeout=1)
        try:
            _redis_ok = bool(await client.ping())
        except (OSError, aioredis.RedisError):
            _redis_ok = False
        finally:
            await client.aclose()
    return _redis_ok


async def require_redis() -> None:
    """Skip without Redis, but fail under CI=true (the services must be there)."""
    if await redis_reachable():
        return
    msg = f"Redis not reachable at {REDIS_URL}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{msg} (CI=true: Redis backend tests must run)")
    pytest.skip(msg)


class Recorder:
    """Collects on_revert / on_notice calls."""

    def __init__(self) -> None:
        self.reverts: list[tuple[Handoff, CustomerNotice]] = []
        self.notices: list[tuple[Handoff, CustomerNotice]] = []

    async def on_revert(self, handoff: Handoff, notice: CustomerNotice) -> None:
        self.reverts.append((handoff, notice))

    async def on_notice(self, handoff: Handoff, notice: CustomerNotice) -> None:
        self.notices.append((handoff, notice))


DeskFactory = Callable[..., Awaitable[BaseDesk]]


async def desk_factory_for(backend: str, clock: FakeClock, recorder: Recorder) -> AsyncIterator[DeskFactory]:
    """Yield ``make(config=None, prefix=None)``; every desk made is cleaned up afterwards."""
    made: list[BaseDesk] = []
    prefix = unique_prefix()
    if backend == "redis":
        await require_redis()

    async def make(config: DeskConfig | None = None, *, share: bool = True, **kw: Any) -> BaseDesk:
        cfg = config or DeskConfig()
        callbacks = {"on_revert": recorder.on_revert, "on_notice": recorder.on_notice, **kw}
        desk: BaseDesk
        if backend == "memory":
            desk = InMemoryDesk(cfg, clock=clock, **callbacks)
        else:
            desk = RedisDesk(
                REDIS_URL, cfg, prefix=prefix if share else unique_prefix(), clock=clock, **callbacks
            )
        made.append(desk)
        return desk

    yield make
    for desk in made:
        if isinstance(desk, RedisDesk):
            await desk.clear()
        await desk.close()


def spec(agent_id: str, skills: dict[str, float] | None = None, **kw: Any) -> AgentSpec:
    """An online agent spec."""
    return AgentSpec(id=agent_id, skills=skills or {}, status=kw.pop("status", "online"), **kw)


def request(handoff_id: str, *required: str, **kw: Any) -> HandoffRequest:
    """A handoff request needing ``required`` skills."""
    return HandoffRequest(
        handoff_id=handoff_id, conversation_id=f"conv-{handoff_id}", required_skills=list(required), **kw
    )


async def travel(
    desk: BaseDesk,
    clock: FakeClock,
    seconds: float,
    *,
    step: float = 5.0,
    keep: tuple[str, ...] | None = None,
) -> None:
    """Advance time in steps, heartbeating agents (all non-offline ones, or only ``keep``) and ticking."""
    remaining = seconds
    while remaining > 0:
        delta = min(step, remaining)
        clock.advance(delta)
        remaining -= delta
        for agent in await desk.list_agents():
            if agent.status != "offline" and (keep is None or agent.id in keep):
                await desk.heartbeat(agent.id)
        await desk.tick()


class AgentLoads:
    """The agent ids each Redis transaction reads as private documents (``RedisTx._load_agents``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ids: list[list[str]] = []
        real = RedisTx._load_agents

        async def spy(tx: RedisTx, ids: list[str]) -> Any:
            self.ids.append(ids)
            return await real(tx, ids)

        monkeypatch.setattr(RedisTx, "_load_agents", spy)
