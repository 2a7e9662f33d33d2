"""Human agents: registration (admin), status, heartbeats and settings (the agent or the admin), assignment."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api import handoff_admin
from api.auth import AGENT_PREFIX, Principal, forbidden, new_token, require_admin, require_oversight
from api.deps import DeskDep, PrincipalDep, StoreDep, TurnsDep
from api.desk_events import remember_agent
from api.errors import ApiError, error_responses
from api.handoff_schemas import AgentSettings, AssignIn
from api.schemas import AgentCreate, AgentCreated, Ok, StatusIn
from desk.models import Agent, AgentSpec, Handoff

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
        schedule=body.schedule,
        auto_accept=body.auto_accept,
        notifications=body.notifications,
    )
    await desk.register_agent(spec)
    await store.set_agent_profile(agent_id, spec.model_dump_json())
    token = new_token(AGENT_PREFIX)
    await store.set_agent_token(agent_id, token)
    return AgentCreated(agent_id=agent_id, agent_token=token)


@router.get("")
async def list_agents(principal: PrincipalDep, desk: DeskDep) -> list[Agent]:
    """Every agent (admin, supervisors)."""
    require_oversight(principal, "list agents")
    return await desk.list_agents()


@router.get("/{agent_id}", responses=error_responses(404))
async def get_agent(agent_id: str, principal: PrincipalDep, desk: DeskDep) -> Agent:
    """One agent (the agent, the admin or a supervisor)."""
    if not principal.oversees:
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


@router.patch("/{agent_id}", responses=error_responses(404, 413))
async def configure(
    agent_id: str, body: AgentSettings, principal: PrincipalDep, desk: DeskDep, store: StoreDep
) -> Agent:
    """Set the availability schedule, auto-accept and notification preferences (the agent or the admin).

    Only the fields given change; ``"schedule": null`` means always available. Outside the schedule
    the desk offers the agent nothing; with auto-accept an offer is accepted at once.
    """
    require_self_or_admin(principal, agent_id, f"configure agent {agent_id}")
    given = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in given.items() if v is None and k != "schedule")
    if nulls or not given:
        field = nulls[0] if nulls else "body"
        message = f"{field} cannot be null" if nulls else "give at least one setting to change"
        details = [{"field": field, "location": "body", "message": message}]
        raise ApiError(422, "validation_error", message, details=details)
    agent = await desk.configure_agent(agent_id, given)
    await remember_agent(store, agent)  # a desk that loses its data gets the settings back
    return agent


@router.post("/{agent_id}/assign", responses=error_responses(404, 409, 413))
async def assign(agent_id: str, body: AssignIn, principal: PrincipalDep, turns: TurnsDep) -> Handoff:
    """Offer a waiting handoff to this agent now (admin, supervisors); an auto-accept agent takes it at once.

    Seed 000's assignment: the desk's rules hold (the agent is available, has the required skills
    and a free slot, else 409); a handoff an agent already holds moves with a transfer (409 here).
    """
    return await handoff_admin.assign(turns, principal, agent_id, body.handoff_id)
