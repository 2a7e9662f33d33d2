"""What the runtime returns: plain Pydantic models the CLI and the API serialise as they are."""

from __future__ import annotations

from typing import Any

from langgraph.types import StateSnapshot
from pydantic import BaseModel, Field

from graph.state import HandoffRecord, WaitingHandoff
from graph.transcript import Role, Turn


class TurnReply(BaseModel):
    """One message produced during a run (a bot, the human agent, or a system note)."""

    index: int
    role: Role
    speaker: str
    text: str


class TurnResult(BaseModel):
    """The outcome of one run: replies, status, and the handoff it started, if any."""

    conversation_id: str
    status: str
    active_agent: str
    replies: list[TurnReply]
    handoff: HandoffRecord | None = Field(default=None, description="Handoff started by this turn.")
    pending_interrupt: WaitingHandoff | None = Field(default=None, description="What waits for a human.")
    routing: dict[str, Any] | None = None


class ConversationView(BaseModel):
    """Everything known about a conversation at its latest checkpoint."""

    conversation_id: str
    status: str
    active_agent: str
    transcript: list[Turn]
    signals: dict[str, Any]
    collected: dict[str, Any]
    routing: dict[str, Any] | None
    handoff: HandoffRecord | None
    handoffs: list[HandoffRecord]
    consultations: list[dict[str, Any]]
    pending_interrupt: WaitingHandoff | None
    checkpoint_id: str


class CheckpointInfo(BaseModel):
    """One checkpoint in a conversation's history."""

    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str
    next: list[str]
    status: str | None
    active_agent: str | None
    messages: int
    created_at: str | None

    @classmethod
    def from_snapshot(cls, snap: StateSnapshot) -> CheckpointInfo:
        """Summarise a LangGraph state snapshot."""
        parent = snap.parent_config["configurable"].get("checkpoint_id") if snap.parent_config else None
        return cls(
            checkpoint_id=str(snap.config["configurable"]["checkpoint_id"]),
            parent_id=str(parent) if parent else None,
            step=int(snap.metadata.get("step", -1)) if snap.metadata else -1,
            source=str(snap.metadata.get("source", "")) if snap.metadata else "",
            next=list(snap.next),
            status=snap.values.get("status"),
            active_agent=snap.values.get("active_agent"),
            messages=len(snap.values.get("messages", [])),
            created_at=snap.created_at,
        )
