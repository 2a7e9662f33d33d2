"""Who a token is (``GET /v1/me``), and supervisors' accounts (the admin registers and lists them).

A supervisor works the desk as the admin does (the live view, the queue, reassigning, analytics,
every conversation's brief and notes) but changes nothing that configures Baton: no policies, no
agents, no saved replies, no settings. The console signs anyone in with a token alone and shows
the tabs ``GET /v1/me`` says the role may use.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import SUPERVISOR_PREFIX, Role, new_token, require_admin
from api.deps import DeskDep, PrincipalDep
from api.errors import error_responses
from api.supervisor_store import Supervisor, SupervisorStore
from desk.errors import NotFound
from desk.models import AgentId

router = APIRouter(tags=["accounts"], responses=error_responses(401, 403, 422))


async def get_supervisors(request: Request) -> SupervisorStore:
    """The supervisors' accounts, opened by the app's lifespan."""
    store: SupervisorStore = request.app.state.supervisors
    return store


SupervisorsDep = Annotated[SupervisorStore, Depends(get_supervisors)]


class Me(BaseModel):
    """The caller as the console needs it."""

    role: Role = Field(examples=["supervisor"])
    id: str = Field(
        description="The agent's or supervisor's id, the customer's conversation id; '' for the admin.",
        examples=["sup-olga"],
    )
    display_name: str = Field(examples=["Olga"])


class SupervisorCreate(BaseModel):
    """Register a supervisor (the same id again rotates the token)."""

    model_config = ConfigDict(extra="forbid")

    id: AgentId | None = Field(default=None, description="Default: generated.", examples=["sup-olga"])
    name: str = Field(min_length=1, max_length=200, examples=["Olga"])


class SupervisorCreated(BaseModel):
    """The supervisor and their token (shown once)."""

    supervisor_id: str
    supervisor_token: str


@router.get("/v1/me")
async def me(principal: PrincipalDep, desk: DeskDep, supervisors: SupervisorsDep) -> Me:
    """Who this token is: its role, id and name (any valid token)."""
    name = {"admin": "Admin", "customer": "Customer"}.get(principal.role, principal.subject)
    if principal.role == "agent":
        with contextlib.suppress(NotFound):  # a desk that lost its agents until recovery registers them
            name = (await desk.get_agent(principal.subject)).display_name or name
    elif principal.role == "supervisor":
        found = await supervisors.get(principal.subject)
        name = found.display_name if found else name
    return Me(role=principal.role, id=principal.subject, display_name=name)


@router.post("/v1/supervisors", status_code=status.HTTP_201_CREATED, responses=error_responses(413))
async def create_supervisor(
    body: SupervisorCreate, principal: PrincipalDep, supervisors: SupervisorsDep
) -> SupervisorCreated:
    """Register (or re-register) a supervisor; returns a fresh supervisor token (admin)."""
    require_admin(principal, "register supervisors")
    supervisor_id = body.id or f"sup-{uuid.uuid4().hex[:12]}"
    token = new_token(SUPERVISOR_PREFIX)
    await supervisors.register(supervisor_id, body.name, token)
    return SupervisorCreated(supervisor_id=supervisor_id, supervisor_token=token)


@router.get("/v1/supervisors")
async def list_supervisors(principal: PrincipalDep, supervisors: SupervisorsDep) -> list[Supervisor]:
    """Every supervisor (admin)."""
    require_admin(principal, "list supervisors")
    return await supervisors.list()
