"""Internal notes on a conversation: written and read by the team on it, never the customer.

The team is the admin, the supervisors, and the agents on the conversation's handoff: who holds it,
who it is offered to, and who held it before a transfer (so they can follow up). A note is not a
message: it never enters the graph, the transcript, the conversation's event stream or any customer
view, and it is separate from the note an agent leaves on "Return to AI". A new note reaches the
team live: a ``note_added`` event on the stream of every agent on it and on the supervisors' stream.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, forbidden
from api.console_store import ConsoleStoreDep, Note
from api.deps import DeskDep, PrincipalDep, TurnsDep
from api.engine import SUPERVISOR_STREAM, agent_stream
from api.errors import error_responses
from api.turns import TurnService
from api.ws_models import NoteEvent
from desk.base import Desk
from desk.errors import NotFound

router = APIRouter(prefix="/v1/conversations", tags=["notes"], responses=error_responses(401, 403, 404, 422))


class NoteIn(BaseModel):
    """A note for the team."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1, max_length=2000, examples=["Customer prefers a call after 5pm; spouse co-owns."]
    )


async def agents_on(conversation_id: str, turns: TurnService, desk: Desk) -> set[str]:
    """The agents on a conversation's handoff: holder, offered agent, earlier holders; 404 if unknown."""
    record = await turns.require_known(conversation_id)
    found = {record["agent_id"]} if record.get("agent_id") else set()
    handoff_id = record.get("handoff_id")
    if handoff_id:
        try:
            handoff = await desk.get(handoff_id)
        except NotFound:
            return found
        found |= {a for a in (handoff.offered_agent_id, handoff.assigned_agent_id) if a}
        found |= {t.from_agent_id for t in handoff.transfers}
    return found


async def require_staff_on(
    principal: Principal, conversation_id: str, turns: TurnService, desk: Desk
) -> set[str]:
    """The admin, a supervisor, or an agent on the conversation; 404 if unknown.

    Returns:
        The agents on the conversation.

    Raises:
        ApiError: 403 for a customer (their own conversation included) and for other agents.
    """
    if principal.role == "customer":
        raise forbidden(f"see the team's notes on conversation {conversation_id}")
    agents = await agents_on(conversation_id, turns, desk)
    if principal.oversees or principal.subject in agents:
        return agents
    raise forbidden(f"access conversation {conversation_id}")


@router.get("/{conversation_id}/notes")
async def list_notes(
    conversation_id: str, principal: PrincipalDep, turns: TurnsDep, desk: DeskDep, notes: ConsoleStoreDep
) -> list[Note]:
    """The team's notes on a conversation, oldest first (agents on it, supervisors, admin)."""
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
    """Add an internal note (agents on the conversation, supervisors, admin); the customer never sees
    it, the team sees it at once."""
    agents = await require_staff_on(principal, conversation_id, turns, desk)
    note = await notes.add_note(conversation_id, principal.actor, body.text.strip() or body.text)
    event = NoteEvent(conversation_id=conversation_id, note=note)
    streams = [agent_stream(agent_id) for agent_id in sorted(agents)] + [SUPERVISOR_STREAM]
    await turns.engine.events.append_each([(stream, [event]) for stream in streams])
    return note
