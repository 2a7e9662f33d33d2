"""WebSocket messages: a Pydantic discriminated union on ``type``, one model per kind.

Server events carry ``seq``, their position in the stream the socket follows (one stream per
conversation, one per agent, one for supervisors). ``ping`` and ``error`` are not sequenced and
never replayed.

Every connection starts with a snapshot (a ``handoff_state`` with ``snapshot: true`` on a
conversation socket, ``agent_state`` on an agent socket, ``desk_state`` on the supervisors'
socket). It is never appended to the stream: its ``seq`` is the stream head read before the socket
went live, so it reflects at least every event up to that seq, and every event sent after it has a
higher seq, except the replay of ``(since, seq]`` when the client asked for one. A client keeps its
cursor at ``min(its since, snapshot.seq)``: a fresh connection starts at the head, a resumed one
still takes its replay, and one that is ahead of the stream (it was reset) takes the new events. A
state event right after a snapshot may repeat it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from api.console_store import Note
from desk.models import AgentStatus, Handoff


def _now() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    seq: int = Field(default=0, description="Position in the followed stream (0 = not yet appended).")
    ts: datetime = Field(default_factory=_now)
    conversation_id: str = Field(default="", description="Conversation the event belongs to.")


class CustomerMessageEvent(_Event):
    """The customer wrote."""

    type: Literal["customer_message"] = "customer_message"
    text: str


class AgentMessageEvent(_Event):
    """The human agent wrote to the customer."""

    type: Literal["agent_message"] = "agent_message"
    text: str
    agent_id: str
    handoff_id: str


class BotMessageEvent(_Event):
    """A bot (or a system note) spoke."""

    type: Literal["bot_message"] = "bot_message"
    text: str
    speaker: str
    role: str = "bot"


class HandoffStateEvent(_Event):
    """A handoff changed (started, queued, offered, accepted, returned, rolled back...), or the snapshot.

    A snapshot's ``state`` is one of ``none`` (no human handoff yet), ``pending`` (in the queue),
    ``offered``, ``accepted``, ``active`` (with ``agent_id``) or ``ended`` (the last one is over).
    """

    type: Literal["handoff_state"] = "handoff_state"
    snapshot: bool = Field(
        default=False, description="The state sent first on connecting (not in the stream)."
    )
    handoff_id: str
    state: str = Field(examples=["pending", "accepted", "rolled_back"])
    kind: str = "human"
    to: str = ""
    agent_id: str | None = None
    message: str = Field(
        default="",
        description="A line for the customer that no message says (a notice, a transfer); never the "
        "handoff's narration, which the bot says once as a message.",
    )
    agent_name: str = Field(default="", description="The agent's display name (when one joined).")
    queue_position: int | None = None
    expected_wait_s: float | None = None


class OfferEvent(_Event):
    """A handoff is offered to this agent, with the brief."""

    type: Literal["offer"] = "offer"
    handoff_id: str
    priority: int
    urgency: str
    required_skills: list[str]
    reason: str = ""
    expires_at: datetime | None = None
    brief: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict, description="What a code handoff attached.")

    @classmethod
    def of(cls, handoff: Handoff, expires_at: datetime | None) -> OfferEvent:
        """The agent's view of an offered desk handoff."""
        shown = handoff.model_dump(
            include={"conversation_id", "handoff_id", "priority", "urgency", "required_skills", "reason"}
        )
        return cls(**shown, expires_at=expires_at, brief=agent_brief(handoff), metadata=handoff.metadata)


def agent_brief(handoff: Handoff) -> dict[str, Any]:
    """The brief as agents see it: the graph's brief, seed 000's request fields, and the context notes
    added from outside (``added``, each grounded by who added it instead of a turn)."""
    request = handoff.model_dump(mode="json", include=set(SEED_FIELDS))
    added = [n.model_dump(mode="json") for n in handoff.context_notes]
    return {**handoff.brief, "request": request, "added": added}


# Seed 000's handoff request fields, shown with the brief.
SEED_FIELDS = (
    "campaign_id",
    "lead_id",
    "trigger_source",
    "trigger_confidence",
    "ai_confidence",
    "estimated_handle_time_min",
    "created_by",
)


class TransferRequestEvent(_Event):
    """Another agent transfers a conversation to this agent (an offer follows)."""

    type: Literal["transfer_request"] = "transfer_request"
    handoff_id: str
    from_agent_id: str
    reason: str = ""


class HandoffCompleteEvent(_Event):
    """The human part is over (completed, returned to the AI, rolled back)."""

    type: Literal["handoff_complete"] = "handoff_complete"
    handoff_id: str
    outcome: str
    agent_id: str | None = None


class AgentHandoff(BaseModel):
    """A handoff offered to an agent (``expires_at`` set) or held by them."""

    handoff_id: str
    conversation_id: str
    status: Literal["offered", "accepted", "active"]
    priority: int
    urgency: str
    required_skills: list[str]
    reason: str = ""
    expires_at: datetime | None = Field(default=None, description="When an offer lapses.")
    brief: dict[str, Any] = Field(default_factory=dict)


class AgentStateEvent(_Event):
    """The snapshot an agent socket starts with: the agent's status and their handoffs."""

    type: Literal["agent_state"] = "agent_state"
    snapshot: Literal[True] = True
    agent_id: str
    status: AgentStatus
    handoffs: list[AgentHandoff] = Field(default_factory=list)


class TypingEvent(_Event):
    """Someone is typing."""

    type: Literal["typing"] = "typing"
    role: str
    agent_id: str | None = None


class ErrorEvent(_Event):
    """A client message was refused."""

    type: Literal["error"] = "error"
    code: str
    message: str


class NoteEvent(_Event):
    """A colleague added an internal note to a conversation (agents on it and supervisors only)."""

    type: Literal["note_added"] = "note_added"
    note: Note


class DeskStateEvent(_Event):
    """The supervisors' socket's snapshot: who follows it (the live view reads the desk by REST)."""

    type: Literal["desk_state"] = "desk_state"
    snapshot: bool = True
    role: str = Field(examples=["supervisor"])


class PingEvent(_Event):
    """Heartbeat; answer with ``pong``."""

    type: Literal["ping"] = "ping"


ServerEvent = Annotated[
    CustomerMessageEvent
    | AgentMessageEvent
    | BotMessageEvent
    | HandoffStateEvent
    | AgentStateEvent
    | OfferEvent
    | TransferRequestEvent
    | HandoffCompleteEvent
    | TypingEvent
    | NoteEvent
    | DeskStateEvent
    | ErrorEvent
    | PingEvent,
    Field(discriminator="type"),
]
SERVER_EVENT: TypeAdapter[ServerEvent] = TypeAdapter(ServerEvent)  # type: ignore[arg-type]


class _ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClientAuth(_ClientMessage):
    """Either socket, first message: the token (browsers cannot send an ``Authorization`` header)."""

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=512)


class ClientCustomerMessage(_ClientMessage):
    """Customer socket: send a message (same path as POST .../messages)."""

    type: Literal["customer_message"]
    text: str = Field(min_length=1)


class ClientAgentMessage(_ClientMessage):
    """Agent socket: reply in a handoff held by this agent."""

    type: Literal["agent_message"]
    handoff_id: str = Field(min_length=1)
    text: str = Field(min_length=1)


class ClientTransferRequest(_ClientMessage):
    """Agent socket: transfer a held handoff (same rules as POST /v1/handoffs/{id}/transfer)."""

    type: Literal["transfer_request"]
    handoff_id: str = Field(min_length=1)
    to_agent_id: str | None = Field(default=None, max_length=100)
    to_queue: str | None = Field(default=None, max_length=100)
    to_skills: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=20)
    reason: str = Field(default="", max_length=500)


class ClientHandoffComplete(_ClientMessage):
    """Agent socket: close a held conversation (same as POST /v1/handoffs/{id}/complete)."""

    type: Literal["handoff_complete"]
    handoff_id: str = Field(min_length=1)
    note: str = Field(default="", max_length=2000)
    text: str = Field(default="", description="Optional last message to the customer.")


class ClientTyping(_ClientMessage):
    """Either socket: typing indicator."""

    type: Literal["typing"]
    handoff_id: str | None = None


class ClientPong(_ClientMessage):
    """Answer to ``ping``."""

    type: Literal["pong"]


ClientMessage = Annotated[
    ClientAuth
    | ClientCustomerMessage
    | ClientAgentMessage
    | ClientTransferRequest
    | ClientHandoffComplete
    | ClientTyping
    | ClientPong,
    Field(discriminator="type"),
]
CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)  # type: ignore[arg-type]
