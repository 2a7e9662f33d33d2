"""Human agents: registration (admin), status and heartbeats (the agent or the admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.auth import AGENT_PREFIX, Principal, forbidden, new_token, require_admin
from api.deps import DeskDep, PrincipalDep, StoreDep
from api.desk_events import remember_agent
from api.errors import error_responses
from api.schemas import AgentCreate, AgentCreated, Ok, StatusIn
from desk.models import Agent, AgentSpec

router = APIRouter(prefix="/v1/agents", tags=["agents"], responses=error_responses(401, 403, 422))


def require_self_or_admin(principal: Principal, agent_id: str, what: str) -> None:
    """The agent itself or the admin."""
    if not (principal.role == "admin" or principal.is_agent(agent_id)):
        raise forbidden(what)


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409, 413))
async def create_agent(
    body: AgentCreate, principal: PrincipalDep, desk: DeskDep, store: StoreDep
) -> AgentCreated:
    """Register (or re-register) an agent; returns a fresh agent token (admin)."""
    require_admin(principal, "register agents")
    agent_id = body.id or f"agent-{uuid.uuid4().hex[:12]}"
    skills = dict.fromkeys(body.skills, 1.0) if isinstance(body.skills, list) else dict(body.skills)
    spec = AgentSpec(
        id=agent_id,
        display_name=body.name,
        team=body.team,
        skills=skills,
        max_concurrent=body.max_concurrent,
        status=body.status,
    )
    await desk.register_agent(spec)
    await store.set_agent_profile(agent_id, spec.model_dump_json())
    token = new_token(AGENT_PREFIX)
    await store.set_agent_token(agent_id, token)
    return AgentCreated(agent_id=agent_id, agent_token=token)


@router.get("")
async def list_agents(principal: PrincipalDep, desk: DeskDep) -> list[Agent]:
    """Every agent (admin)."""
    require_admin(principal, "list agents")
    return await desk.list_agents()


@router.get("/{agent_id}", responses=error_responses(404))
async def get_agent(agent_id: str, principal: PrincipalDep, desk: DeskDep) -> Agent:
    """One agent (the agent or the admin)."""
    require_self_or_admin(principal, agent_id, f"read agent {agent_id}")
    return await desk.get_agent(agent_id)


@router.put("/{agent_id}/status", responses=error_responses(404, 413))
async def set_status(
    agent_id: str, body: StatusIn, principal: PrincipalDep, desk: DeskDep, store: StoreDep
) -> Agent:
    """Go online, away, busy or offline (the agent or the admin)."""
    require_self_or_admin(principal, agent_id, f"change the status of agent {agent_id}")
    agent = await desk.set_status(agent_id, body.status)
    await remember_agent(store, agent)  # now, not only when the desk event is consumed
    return agent


@router.post("/{agent_id}/heartbeat", responses=error_responses(404))
async def heartbeat(agent_id: str, principal: PrincipalDep, desk: DeskDep) -> Ok:
    """The agent's client is alive (the agent or the admin)."""
    require_self_or_admin(principal, agent_id, f"heartbeat for agent {agent_id}")
    await desk.get_agent(agent_id)
    await desk.heartbeat(agent_id)
    return Ok()
