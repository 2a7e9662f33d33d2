"""Typed desk events: one Pydantic model per kind, a discriminated union on ``type``.

Every lifecycle transition emits exactly one event (committed atomically with the state change).
Consumers fan out with ``async for ev in desk.subscribe()`` (each gets every event), split them among
workers with ``desk.deliver(group, handle)`` (each event to one), or page through history with
``desk.events_since(cursor)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from desk.models import AgentStatus, CustomerNotice, HandoffStatus, HeldStatus, Urgency


class _Event(BaseModel):
    ts: datetime


class _HandoffEvent(_Event):
    handoff_id: str
    conversation_id: str


class HandoffCreated(_HandoffEvent):
    """A handoff entered the queue."""

    type: Literal["handoff_created"] = "handoff_created"
    priority: int
    urgency: Urgency
    required_skills: list[str]


class HandoffOffered(_HandoffEvent):
    """A handoff was offered to an agent (the agent's UI should ring)."""

    type: Literal["handoff_offered"] = "handoff_offered"
    agent_id: str
    attempt: int
    score: float
    expires_at: datetime


class HandoffAccepted(_HandoffEvent):
    """An agent accepted; ``time_to_accept_s`` counts from creation."""

    type: Literal["handoff_accepted"] = "handoff_accepted"
    agent_id: str
    time_to_accept_s: float
    auto: bool = Field(default=False, description="Accepted by the desk for an auto-accept agent.")


class HandoffStarted(_HandoffEvent):
    """The agent started working the conversation (accepted -> active)."""

    type: Literal["handoff_started"] = "handoff_started"
    agent_id: str


class HandoffDeclined(_HandoffEvent):
    """An agent declined an offer; the handoff is back in the queue without that agent."""

    type: Literal["handoff_declined"] = "handoff_declined"
    agent_id: str
    reason: str


class HandoffTimedOut(_HandoffEvent):
    """An offer lapsed (accept timeout, agent gone, or stuck re-queue)."""

    type: Literal["handoff_timed_out"] = "handoff_timed_out"
    agent_id: str
    reason: str


class HandoffRequeued(_HandoffEvent):
    """An accepted/active handoff went back to the queue because its agent vanished."""

    type: Literal["handoff_requeued"] = "handoff_requeued"
    agent_id: str
    reason: str


class HandoffRestored(_HandoffEvent):
    """A desk that lost a held handoff (a restart) got it back, held by the agent who had it."""

    type: Literal["handoff_restored"] = "handoff_restored"
    agent_id: str
    status: HeldStatus


class HandoffTransferred(_HandoffEvent):
    """Human-to-human transfer, to an agent or to a skill set."""

    type: Literal["handoff_transferred"] = "handoff_transferred"
    from_agent_id: str
    to_agent_id: str | None
    to_skills: list[str] | None
    reason: str


class HandoffReturnedToAi(_HandoffEvent):
    """The conversation goes back to the AI."""

    type: Literal["handoff_returned_to_ai"] = "handoff_returned_to_ai"
    agent_id: str | None
    note: str
    notice: CustomerNotice | None


class HandoffExpired(_HandoffEvent):
    """Nobody took the handoff in time (``no_agent_policy: callback``)."""

    type: Literal["handoff_expired"] = "handoff_expired"
    notice: CustomerNotice


class HandoffCompleted(_HandoffEvent):
    """The agent finished the conversation."""

    type: Literal["handoff_completed"] = "handoff_completed"
    agent_id: str
    rating: float | None
    handle_time_s: float | None


class HandoffCancelled(_HandoffEvent):
    """The caller cancelled the handoff (customer left, duplicate, ...)."""

    type: Literal["handoff_cancelled"] = "handoff_cancelled"
    reason: str


class HandoffStuck(_HandoffEvent):
    """Alert: the handoff waited longer than ``stuck_after_s``."""

    type: Literal["handoff_stuck"] = "handoff_stuck"
    status: HandoffStatus
    waited_s: float
    action: str
    priority: int


class HandoffNotice(_HandoffEvent):
    """The customer was told something while still waiting (``no_agent_policy: queue``)."""

    type: Literal["handoff_notice"] = "handoff_notice"
    notice: CustomerNotice


class HandoffUpdated(_HandoffEvent):
    """Someone changed a handoff from outside its lifecycle (fields, context): the audit trail."""

    type: Literal["handoff_updated"] = "handoff_updated"
    actor: str
    action: str
    changes: dict[str, Any] = Field(default_factory=dict)


class AgentStatusChanged(_Event):
    """An agent's status changed (by the agent, or ``heartbeat_expired``)."""

    type: Literal["agent_status_changed"] = "agent_status_changed"
    agent_id: str
    old_status: AgentStatus | None
    new_status: AgentStatus
    reason: str = ""


DeskEvent = Annotated[
    HandoffCreated
    | HandoffOffered
    | HandoffAccepted
    | HandoffStarted
    | HandoffDeclined
    | HandoffTimedOut
    | HandoffRequeued
    | HandoffRestored
    | HandoffTransferred
    | HandoffReturnedToAi
    | HandoffExpired
    | HandoffCompleted
    | HandoffCancelled
    | HandoffStuck
    | HandoffNotice
    | HandoffUpdated
    | AgentStatusChanged,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[DeskEvent] = TypeAdapter(DeskEvent)  # type: ignore[arg-type]


class EventPage(BaseModel):
    """A page of event history; pass ``cursor`` to the next ``events_since`` call."""

    events: list[DeskEvent]
    cursor: str


def parse_event(data: str | bytes | dict[str, Any]) -> DeskEvent:
    """Parse an event from JSON text or a dict."""
    if isinstance(data, dict):
        return EVENT_ADAPTER.validate_python(data)
    return EVENT_ADAPTER.validate_json(data)


def dump_event(event: DeskEvent) -> str:
    """Serialize an event to JSON text."""
    return event.model_dump_json()


DeskEventHandler = Callable[[DeskEvent], Awaitable[None]]  # what ``Desk.deliver`` hands each event to
# What ``Desk.deliver`` hands each batch of events read together, before their handler sees them one by one.
DeskBatchHook = Callable[[list[DeskEvent]], Awaitable[None]]
