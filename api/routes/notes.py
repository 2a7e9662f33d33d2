"""Internal notes on a conversation: written and read by the agents on it and the admin, never the customer.

A note is not a message: it never enters the graph, the transcript, the conversation's event stream
or any customer view, and it is separate from the note an agent leaves on "Return to AI".
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, forbidden
from api.console_store import ConsoleStoreDep, Note
from api.deps import DeskDep, PrincipalDep, TurnsDep
from api.errors import error_responses
from api.turns import TurnService
from desk.base import Desk
from desk.errors import NotFound

router = APIRouter(prefix="/v1/conversations", tags=["notes"], responses=error_responses(401, 403, 404, 422))


class NoteIn(BaseModel):
    """A note for the team."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1, max_length=2000, examples=["Customer prefers a call after 5pm; spouse co-owns."]
    )


async def require_staff_on(
    principal: Principal, conversation_id: str, turns: TurnService, desk: Desk
) -> None:
    """The admin, the agent who holds the conversation, or the agent it is offered to; 404 if unknown.

    Raises:
        ApiError: 403 for a customer (their own conversation included) and for other agents.
    """
    if principal.role == "customer":
        raise forbidden(f"see the team's notes on conversation {conversation_id}")
    record = await turns.require_known(conversation_id)
    if principal.role == "admin" or record.get("agent_id") == principal.subject:
        return
    handoff_id = record.get("handoff_id")
    if handoff_id:
        try:
            handoff = await desk.get(handoff_id)
        except NotFound:
            handoff = None
        if handoff is not None and principal.subject in (handoff.offered_agent_id, handoff.assigned_agent_id):
            return
    raise forbidden(f"access conversation {conversation_id}")


@router.get("/{conversation_id}/notes")
async def list_notes(
    conversation_id: str, principal: PrincipalDep, turns: TurnsDep, desk: DeskDep, notes: ConsoleStoreDep
) -> list[Note]:
    """The team's notes on a conversation, oldest first (agents on it, admin)."""
    await require_staff_on(principal, conversation_id, turns, desk)
    return await notes.notes(conversation_id)


@router.post("/{conversation_id}/notes", status_code=status.HTTP_201_CREATED, responses=error_responses(413))
async def add_note(
    conversation_id: str,
    body: NoteIn,
    principal: PrincipalDep,
    turns: TurnsDep,
    desk: DeskDep,
    notes: ConsoleStoreDep,
) -> Note:
    """Add an internal note (agents on the conversation, admin); the customer never sees it."""
    await require_staff_on(principal, conversation_id, turns, desk)
    author = principal.subject if principal.role == "agent" else "admin"
    return await notes.add_note(conversation_id, author, body.text.strip() or body.text)
