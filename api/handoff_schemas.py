"""Bodies of seed 000's handoff API: create a handoff from outside, update it, add context, assign it.

Kept apart from ``api/schemas.py`` (the conversation and desk bodies) so each module stays small.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool
from pydantic.json_schema import SkipJsonSchema

from api.schemas import _Body, _whole_number
from desk.models import AgentId, ContextNote, Handoff, NotificationPreferences, Schedule, Urgency

Skill = Annotated[str, Field(min_length=1, max_length=100)]
Skills = Annotated[list[Skill], Field(max_length=20)]
# Constraints before the validator, so the schema says minimum/maximum also inside an optional field.
Priority = Annotated[int, Strict(), Field(ge=1, le=100), BeforeValidator(_whole_number)]
ShortText = Annotated[str, Field(max_length=100)]
Minutes = Annotated[float, Field(ge=0.0, le=1440.0)]
OutsideTrigger = Literal[
    "manual", "explicit_request", "sentiment_based", "complexity_based", "time_based", "qualification_based"
]
_EXAMPLE_NOTE: dict[str, Any] = {"kind": "fact", "key": "plan", "text": "Enterprise, renews 2027-03-01"}


class ContextNoteIn(_Body):
    """A fact or note for the agent; the server stamps who added it and when."""

    kind: Literal["fact", "note"] = Field(default="note", description="A named fact or a free note.")
    key: str = Field(default="", max_length=100, description="Fact name (facts only).", examples=["plan"])
    text: str = Field(min_length=1, max_length=2000, examples=["Enterprise, renews 2027-03-01"])

    def note(self) -> ContextNote:
        """The desk's note (``by`` and ``at`` are set by the desk)."""
        return ContextNote(kind=self.kind, key=self.key, text=self.text)


class HandoffCreate(_Body):
    """Hand a conversation to a person from outside the graph (a CRM, a supervisor escalating)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "c-3f2a9b7e1d4c",
                    "reason": "hot lead from the spring campaign",
                    "trigger": "qualification_based",
                    "urgency": "high",
                    "campaign_id": "spring-26",
                    "lead_id": "L-10442",
                    "required_skills": ["real_estate"],
                    "context": [_EXAMPLE_NOTE],
                }
            ]
        }
    )

    conversation_id: str = Field(min_length=1, max_length=200, examples=["c-3f2a9b7e1d4c"])
    reason: str = Field(
        default="escalated from outside the conversation", max_length=500, examples=["hot lead"]
    )
    target: str | None = Field(
        default=None, max_length=100, description="A human queue of the policy; default: its first one."
    )
    trigger: OutsideTrigger = Field(default="manual", description="Seed 000's trigger type.")
    trigger_source: Literal["user", "ai", "system"] = Field(default="system", examples=["system"])
    trigger_confidence: float | None = Field(default=None, ge=0.0, le=1.0, examples=[0.9])
    ai_confidence: float | None = Field(default=None, ge=0.0, le=1.0, examples=[0.72])
    urgency: Urgency = Field(default="medium", examples=["high"])
    priority: Priority | None = Field(
        default=None, description="Desk priority; default: seed 000's formula.", examples=[80]
    )
    required_skills: list[Skill] = Field(default_factory=list, max_length=20, examples=[["real_estate"]])
    optional_skills: list[Skill] = Field(default_factory=list, max_length=20)
    preferred_agent_id: AgentId | None = Field(
        default=None, description="A registered agent to offer it first."
    )
    campaign_id: str = Field(default="", max_length=100, examples=["spring-26"])
    lead_id: str = Field(default="", max_length=100, examples=["L-10442"])
    estimated_handle_time_min: float | None = Field(
        default=None, ge=0.0, le=1440.0, description="Default: seed 000's estimate.", examples=[12.5]
    )
    context: list[ContextNoteIn] = Field(
        default_factory=list, max_length=20, description="Facts and notes the agent sees in the brief."
    )


class HandoffCreated(BaseModel):
    """The handoff as the desk holds it, and where it stands."""

    handoff: Handoff
    narration: str = Field(description="What the customer was told.")
    queue_position: int | None = Field(default=None, description="1-based; 0 = offered or taken.")
    expected_wait_s: float | None = None


class HandoffUpdate(_Body):
    """Change a waiting or held handoff's routing fields (only the fields given change)."""

    model_config = ConfigDict(
        json_schema_extra={
            "minProperties": 1,
            "examples": [{"priority": 90, "preferred_agent_id": "agent-maria"}],
        }
    )

    # ``SkipJsonSchema[None]``: leaving a field out keeps it; only ``preferred_agent_id`` may be null.
    priority: Priority | SkipJsonSchema[None] = Field(default=None, examples=[90])
    urgency: Urgency | SkipJsonSchema[None] = Field(default=None, examples=["critical"])
    required_skills: Skills | SkipJsonSchema[None] = Field(default=None, examples=[["legal"]])
    optional_skills: Skills | SkipJsonSchema[None] = None
    preferred_agent_id: AgentId | None = Field(default=None, description="null clears it.")
    campaign_id: ShortText | SkipJsonSchema[None] = None
    lead_id: ShortText | SkipJsonSchema[None] = None
    estimated_handle_time_min: Minutes | SkipJsonSchema[None] = None


class ContextIn(_Body):
    """Facts or notes to add to a handoff's brief."""

    notes: list[ContextNoteIn] = Field(min_length=1, max_length=20, examples=[[_EXAMPLE_NOTE]])


class AssignIn(_Body):
    """Offer a waiting handoff to this agent now (seed 000's assignment; an auto-accept agent takes it)."""

    handoff_id: str = Field(min_length=1, max_length=200, examples=["3f9c2a1b7d4e4a0f9b1c2d3e4f5a6b7c"])


class AgentSettings(_Body):
    """An agent's availability schedule, auto-accept and notification preferences (only those given)."""

    model_config = ConfigDict(
        json_schema_extra={
            "minProperties": 1,
            "examples": [
                {
                    "schedule": {
                        "timezone": "Europe/Paris",
                        "weekly": {"mon": [{"start": "09:00", "end": "17:00"}]},
                        "exceptions": [],
                    },
                    "auto_accept": True,
                    "notifications": {"sound": True, "desktop": True, "email": False, "min_priority": 1},
                }
            ],
        }
    )

    schedule: Schedule | None = Field(
        default=None, description="Weekly slots in a timezone; null: always available."
    )
    auto_accept: StrictBool | SkipJsonSchema[None] = Field(
        default=None, description="Accept every offer at once."
    )
    notifications: NotificationPreferences | SkipJsonSchema[None] = None
