"""Who a handoff can go to: agent ids follow one rule, transfers go only to agents and skills that
exist. Desk behaviour runs on the in-memory and the Redis backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError
from test_desk_helpers import DeskFactory, Recorder, desk_factory_for, request, spec

from desk.clock import FakeClock
from desk.engine import BaseDesk
from desk.errors import InvalidRequest
from desk.models import Agent, AgentSpec


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[DeskFactory]:
    async for factory in desk_factory_for(request.param, FakeClock(), Recorder()):
        yield factory


@pytest.fixture
async def desk(make: DeskFactory) -> BaseDesk:
    return await make()


async def _held(desk: BaseDesk) -> None:
    """maria (billing) holds h1; lee (legal) is online; nobody has 'tax'."""
    await desk.register_agent(spec("agent-maria", {"billing": 0.9}))
    await desk.register_agent(spec("agent-lee", {"legal": 0.8}))
    await desk.submit(request("h1", "billing"))
    await desk.accept("h1", "agent-maria")


# -- transfers ----------------------------------------------------------------------------------
async def test_transfer_to_an_unregistered_agent_is_refused_and_changes_nothing(desk: BaseDesk) -> None:
    await _held(desk)
    before = await desk.get("h1")
    events = len((await desk.events_since()).events)
    with pytest.raises(InvalidRequest, match=r"'lee'.*no agent with that id"):
        await desk.transfer("h1", "agent-maria", to_agent_id="lee")  # typed without its prefix
    assert await desk.get("h1") == before
    assert (await desk.get_agent("agent-maria")).active_handoff_ids == ["h1"]
    assert len((await desk.events_since()).events) == events


async def test_transfer_to_skills_nobody_has_is_refused_naming_them(desk: BaseDesk) -> None:
    await _held(desk)
    before = await desk.get("h1")
    with pytest.raises(InvalidRequest, match=r"\['tax', 'zz'\]"):
        await desk.transfer("h1", "agent-maria", to_skills=["legal", "zz", "tax"])
    assert await desk.get("h1") == before


async def test_transfer_to_a_skill_of_an_offline_agent_is_allowed(desk: BaseDesk) -> None:
    """Known means registered: the handoff waits in the queue for that agent to come online."""
    await _held(desk)
    await desk.register_agent(spec("agent-kim", {"tax": 0.7}, status="offline"))
    moved = await desk.transfer("h1", "agent-maria", to_skills=["tax"])
    assert moved.status == "pending"
    assert moved.required_skills == ["tax"]


async def test_transfer_to_a_registered_agent_still_works(desk: BaseDesk) -> None:
    await _held(desk)
    moved = await desk.transfer("h1", "agent-maria", to_agent_id="agent-lee", reason="legal question")
    assert moved.status == "offered"
    assert moved.offered_agent_id == "agent-lee"


async def test_known_skills_are_every_registered_agents_skills(desk: BaseDesk) -> None:
    assert await desk.known_skills() == set()
    await desk.register_agent(spec("agent-maria", {"billing": 0.9, "fr": 0.5}))
    await desk.register_agent(spec("agent-lee", {"legal": 0.8}, status="offline"))
    assert await desk.known_skills() == {"billing", "fr", "legal"}


# -- the agent id rule ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "agent_id", ["a/b", "../../etc/passwd", "", " ", "maria ", "x" * 500, "a..b", "-lee", "lee\n", "é"]
)
def test_agent_ids_outside_the_rule_are_refused(agent_id: str) -> None:
    with pytest.raises(ValidationError, match="id"):
        AgentSpec(id=agent_id)


@pytest.mark.parametrize("agent_id", ["a0", "agent-lee", "maria-3f2a1b", "dana.whitfield", "x_1", "A" * 64])
def test_agent_ids_inside_the_rule_are_accepted(agent_id: str) -> None:
    assert AgentSpec(id=agent_id).id == agent_id


def test_a_stored_agent_from_before_the_rule_still_loads() -> None:
    """One agent stored with an old id must not break every read of the desk's agent list."""
    stored = '{"id": "ops/legacy", "status": "online", "active_handoff_ids": ["h1"]}'
    assert Agent.model_validate_json(stored).id == "ops/legacy"
