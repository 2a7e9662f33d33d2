"""Data models of the human-agent desk: agents, schedules, handoff requests and handoffs.

Everything that crosses a boundary (API bodies, Redis documents, events) is one of these Pydantic
models. Timestamps are timezone-aware UTC ``datetime`` values taken from the desk's injected clock.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

AgentStatus = Literal["online", "away", "busy", "offline"]
Urgency = Literal["low", "medium", "high", "critical"]
HandoffStatus = Literal[
    "pending",
    "offered",
    "accepted",
    "active",
    "declined",
    "timed_out",
    "transferred",
    "completed",
    "returned_to_ai",
    "expired",
    "cancelled",
]
HeldStatus = Literal["accepted", "active"]
OfferOutcome = Literal["pending", "accepted", "declined", "timed_out", "revoked"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NoticeKind = Literal["queue", "callback", "ai"]

AGENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def _no_parent_step(value: str) -> str:
    if ".." in value:
        msg = f"agent id {value!r} must not contain '..'"
        raise ValueError(msg)
    return value


AgentId = Annotated[
    str,
    Field(
        pattern=AGENT_ID_PATTERN,
        description="1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, no '..'.",
        examples=["agent-42"],
    ),
    AfterValidator(_no_parent_step),
]
"""The one rule for agent ids: each is a URL path segment (``/v1/agents/{id}``) and a Redis key part."""


def _not_a_number(value: Any) -> Any:
    """Times and dates are written as ISO text ("09:00", "2026-12-24"); pydantic would read 0 as one."""
    if isinstance(value, int | float):
        msg = f"write it as ISO text, not the number {value!r}"
        raise ValueError(msg)  # pydantic turns a ValueError into a 422 naming the field
    return value


class TimeSlot(BaseModel):
    """A working slot in the agent's local time; ``end <= start`` means the slot crosses midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time = Field(description="Local start time, e.g. '09:00'.", examples=["09:00"])
    end: time = Field(description="Local end time, e.g. '17:00'.", examples=["17:00"])

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        return _not_a_number(value)


class DateRange(BaseModel):
    """An inclusive range of local dates when the agent is unavailable (holiday, training)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    end: date

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        return _not_a_number(value)

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            msg = f"exception range ends ({self.end}) before it starts ({self.start})"
            raise ValueError(msg)
        return self


class Schedule(BaseModel):
    """Weekly working hours in an IANA timezone, minus exception date ranges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(default="UTC", examples=["Europe/Paris"])
    weekly: dict[Weekday, list[TimeSlot]] = Field(default_factory=dict)
    exceptions: list[DateRange] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown IANA timezone {value!r}"
            raise ValueError(msg) from exc
        return value


class Performance(BaseModel):
    """Historical performance; new agents start from a neutral prior."""

    model_config = ConfigDict(extra="forbid")

    avg_rating: float = Field(default=4.0, ge=0.0, le=5.0, description="Mean customer rating, 0-5.")
    avg_handle_time_s: float = Field(default=0.0, ge=0.0, description="Mean handle time; 0 = unknown.")
    acceptance_rate: float = Field(default=1.0, ge=0.0, le=1.0, description="Accepted / offered.")
    avg_accept_s: float = Field(default=0.0, ge=0.0, description="Mean offer -> accept time; 0 = unknown.")
    ratings: int = Field(default=0, ge=0, description="Number of ratings behind avg_rating.")
    handled: int = Field(default=0, ge=0, description="Completed handoffs behind avg_handle_time_s.")
    offers: int = Field(default=0, ge=0, description="Offers received.")
    accepts: int = Field(default=0, ge=0, description="Offers accepted.")


class NotificationPreferences(BaseModel):
    """How the agent wants to hear about offers (stored and returned; the console reads them)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # 0 is not false, "5" not a priority

    sound: bool = Field(default=True, description="Play a sound on a new offer.")
    desktop: bool = Field(default=False, description="Show a browser notification on a new offer.")
    email: bool = Field(default=False, description="E-mail offers missed while away.")
    min_priority: int = Field(default=1, ge=1, le=100, description="Alert only from this priority on.")


class AgentSpec(BaseModel):
    """What a caller registers; re-registering an id updates the profile and keeps runtime state."""

    model_config = ConfigDict(extra="forbid")

    id: AgentId
    display_name: str = Field(default="", examples=["Dana"])
    team: str = Field(
        default="", max_length=64, description="Shown to customers: 'Dana from our sales team'."
    )
    skills: dict[str, float] = Field(default_factory=dict, examples=[{"billing": 0.9, "fr": 0.6}])
    max_concurrent: int = Field(default=1, ge=1, le=50)
    status: AgentStatus = "offline"
    schedule: Schedule | None = Field(default=None, description="None = always available.")
    performance: Performance = Field(default_factory=Performance)
    auto_accept: bool = Field(default=False, description="An offer to this agent is accepted at once.")
    notifications: NotificationPreferences = Field(
        default_factory=lambda: NotificationPreferences(), description="How the console alerts the agent."
    )

    @field_validator("skills")
    @classmethod
    def _proficiency_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, level in value.items():
            if not 0.0 <= level <= 1.0:
                msg = f"skill {name!r} proficiency {level} is outside 0-1"
                raise ValueError(msg)
        return value


class Agent(AgentSpec):
    """A registered agent with its runtime state."""

    # Stored agents registered before the id rule must keep loading: one bad id in Redis would
    # otherwise break every read of the agent list. New ids pass through ``AgentSpec`` first.
    id: str = Field(min_length=1, examples=["agent-42"])
    last_heartbeat: datetime | None = None
    active_handoff_ids: list[str] = Field(default_factory=list, description="Accepted or active.")
    offered_handoff_ids: list[str] = Field(default_factory=list, description="Offers awaiting an answer.")
    last_assigned_at: datetime | None = Field(default=None, description="For longest-idle tie breaks.")

    def clone(self) -> Agent:
        """A private copy, cheaper than a deep copy (only mutable parts are copied)."""
        return self.model_copy(
            update={
                "skills": dict(self.skills),
                "performance": self.performance.model_copy(),
                "active_handoff_ids": list(self.active_handoff_ids),
                "offered_handoff_ids": list(self.offered_handoff_ids),
            }
        )

    @property
    def load(self) -> int:
        """Slots in use: accepted/active handoffs plus offers (an offer reserves a slot)."""
        return len(self.active_handoff_ids) + len(self.offered_handoff_ids)


TriggerSource = Literal["user", "ai", "system"]
AuditAction = Literal["created", "updated", "context_added", "assigned"]


class ContextNote(BaseModel):
    """A fact or note added to a handoff from outside the conversation (a CRM, a supervisor, the agent).

    Grounded by who added it, never by a turn: the brief shows it as "added by <by>".
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["fact", "note"] = Field(default="note", examples=["fact"])
    key: str = Field(default="", max_length=100, description="Fact name (facts only).", examples=["plan"])
    text: str = Field(min_length=1, max_length=2000, examples=["Enterprise, renews 2027-03-01"])
    by: str = Field(default="", description="Who added it: 'admin' or an agent id.", examples=["admin"])
    at: datetime | None = Field(default=None, description="When it was added (desk clock).")


class AuditEntry(BaseModel):
    """One change made to a handoff from outside its lifecycle (update, context, assignment)."""

    at: datetime
    actor: str = Field(description="'admin' or the agent id that made the change.")
    action: AuditAction
    changes: dict[str, Any] = Field(default_factory=dict, description="Field -> new value.")


class HandoffRequest(BaseModel):
    """What the graph submits when a conversation needs a human."""

    model_config = ConfigDict(extra="forbid")

    handoff_id: str = Field(min_length=1, description="Caller-chosen id, unique per desk.")
    conversation_id: str = Field(min_length=1)
    priority: int = Field(default=50, ge=1, le=100)
    urgency: Urgency = "medium"
    required_skills: list[str] = Field(default_factory=list)
    optional_skills: list[str] = Field(default_factory=list)
    preferred_agent_id: str | None = None
    no_agent: NoticeKind | None = Field(
        default=None, description="What happens when nobody takes it (the policy's choice; None: the desk's)."
    )
    no_agent_after_s: float | None = Field(
        default=None, gt=0, description="How long it waits before that (None: the desk's expires_after_s)."
    )
    accept_timeout_s: float | None = Field(
        default=None, gt=0, description="How long an offer of it stands (None: the desk's accept_timeout_s)."
    )
    reason: str = ""
    trigger: str = ""
    brief: dict[str, Any] = Field(default_factory=dict, description="Opaque context brief (JSON).")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="What a code handoff attached (shown to agents)."
    )
    created_at: datetime | None = Field(default=None, description="Defaults to the desk clock's now.")
    # Seed 000's request fields (stored handoffs without them load with these defaults).
    campaign_id: str = Field(default="", description="The campaign the lead came from.")
    lead_id: str = Field(default="", description="The CRM's lead id.")
    trigger_source: TriggerSource = Field(default="ai", description="user, ai or system.")
    trigger_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    ai_confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="Intent confidence.")
    estimated_handle_time_min: float | None = Field(default=None, ge=0.0, description="Expected minutes.")
    context_notes: list[ContextNote] = Field(
        default_factory=list, description="Facts and notes added from outside; the brief shows them."
    )
    created_by: str = Field(default="graph", description="'graph', or who created it from outside.")


class Offer(BaseModel):
    """One offer of a handoff to an agent."""

    agent_id: str
    offered_at: datetime
    score: float = 0.0
    outcome: OfferOutcome = "pending"
    responded_at: datetime | None = None
    reason: str = ""


class TransferRecord(BaseModel):
    """A human-to-human transfer."""

    at: datetime
    from_agent_id: str
    to_agent_id: str | None
    to_skills: list[str] | None
    reason: str
    human_segment: list[dict[str, Any]] = Field(default_factory=list)


class TransitionRecord(BaseModel):
    """One validated, timestamped lifecycle transition."""

    from_status: HandoffStatus | None
    to_status: HandoffStatus
    at: datetime
    reason: str = ""


class HandoffMetrics(BaseModel):
    """Per-handoff service metrics, filled in as the handoff moves."""

    time_to_first_offer_s: float | None = None
    time_to_accept_s: float | None = None
    handle_time_s: float | None = None
    offer_count: int = 0


class CustomerNotice(BaseModel):
    """What to tell the customer when no agent takes the handoff (chosen by ``no_agent_policy``)."""

    kind: NoticeKind
    message: str
    queue_position: int | None = None
    expected_wait_s: float | None = None
    reverted: bool = Field(description="True when the conversation goes back to the AI.")


class Handoff(HandoffRequest):
    """A handoff request plus its lifecycle state, history and metrics."""

    created_at: datetime  # type: ignore[assignment]  # always set once submitted
    status: HandoffStatus = "pending"
    offers: list[Offer] = Field(default_factory=list)
    excluded_agent_ids: list[str] = Field(default_factory=list)
    offered_agent_id: str | None = None
    assigned_agent_id: str | None = None
    history: list[TransitionRecord] = Field(default_factory=list)
    transfers: list[TransferRecord] = Field(default_factory=list)
    human_segment: list[dict[str, Any]] = Field(default_factory=list, description="Human-side messages.")
    outcome: str | None = None
    notes: str = ""
    rating: float | None = None
    notice: CustomerNotice | None = None
    metrics: HandoffMetrics = Field(default_factory=HandoffMetrics)
    updated_at: datetime | None = None
    round_started_at: datetime | None = Field(default=None, description="Start of the current offer round.")
    stuck_alerted_at: datetime | None = None
    notified_at: datetime | None = None
    audit: list[AuditEntry] = Field(default_factory=list, description="Who changed what, and when.")

    def clone(self) -> Handoff:
        """A private copy, cheaper than a deep copy (records that are never mutated are shared)."""
        return self.model_copy(
            update={
                "required_skills": list(self.required_skills),
                "optional_skills": list(self.optional_skills),
                "brief": dict(self.brief),
                "offers": [o.model_copy() for o in self.offers],
                "excluded_agent_ids": list(self.excluded_agent_ids),
                "history": list(self.history),
                "transfers": list(self.transfers),
                "human_segment": list(self.human_segment),
                "metrics": self.metrics.model_copy(),
                "context_notes": list(self.context_notes),
                "audit": list(self.audit),
            }
        )

    def offers_this_round(self) -> int:
        """Offers made since the current round started (``max_offers`` applies per round)."""
        start = self.round_started_at or self.created_at
        return sum(1 for o in self.offers if o.offered_at >= start)

    def timestamp(self, status: HandoffStatus) -> datetime | None:
        """When the handoff last entered ``status`` (None if never)."""
        for rec in reversed(self.history):
            if rec.to_status == status:
                return rec.at
        return None
