"""Saved replies per team, shown beside the brief's generated openers; the admin edits them.

A team is a skill (agents with the skill are on it) or ``all`` (everyone). An agent reads the replies
of ``all`` and of each of their skills; the admin reads and replaces any team's list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.auth import forbidden, require_admin
from api.console_store import ConsoleStoreDep, SavedReply
from api.deps import DeskDep, PrincipalDep
from api.errors import error_responses

router = APIRouter(
    prefix="/v1/saved-replies", tags=["saved replies"], responses=error_responses(401, 403, 422)
)

EVERYONE = "all"
TeamName = Annotated[
    str,
    Path(
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="A skill name, or 'all' for every agent.",
        examples=["real_estate"],
    ),
]


class SavedReplies(BaseModel):
    """Saved replies by team."""

    teams: dict[str, list[SavedReply]] = Field(
        examples=[{"all": [{"title": "Greeting", "text": "Hi, thanks for waiting."}]}]
    )


class SavedRepliesIn(BaseModel):
    """A team's replies, in the order they are shown (an empty list removes the team)."""

    model_config = ConfigDict(extra="forbid")

    replies: list[SavedReply] = Field(max_length=50)


@router.get("")
async def list_replies(principal: PrincipalDep, desk: DeskDep, store: ConsoleStoreDep) -> SavedReplies:
    """An agent's teams' replies (``all`` and their skills), or every team's (admin, supervisors)."""
    if principal.oversees:
        return SavedReplies(teams=await store.replies())
    if principal.role != "agent":
        raise forbidden("read saved replies")
    agent = await desk.get_agent(principal.subject)
    return SavedReplies(teams=await store.replies({EVERYONE, *agent.skills}))


@router.put("/{team}", responses=error_responses(413))
async def set_replies(
    team: TeamName, body: SavedRepliesIn, principal: PrincipalDep, store: ConsoleStoreDep
) -> SavedReplies:
    """Replace a team's saved replies (admin); returns every team's."""
    require_admin(principal, "edit saved replies")
    await store.set_replies(team, body.replies, "admin")
    return SavedReplies(teams=await store.replies())
