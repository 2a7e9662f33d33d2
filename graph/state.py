"""Graph state: LangGraph's ``MessagesState`` plus what routing and handoffs need.

Everything stored here is plain JSON (TypedDicts, not Pydantic objects) so checkpoints round-trip
through every checkpointer without custom deserializers.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired

from langgraph.graph import MessagesState
from typing_extensions import TypedDict

Status = Literal["bot", "awaiting_human", "human", "closed"]


class RoutingDecision(TypedDict):
    """Which target the router picked for the latest turn, by which rule, under which policy."""

    target: str
    rule_id: str
    policy: str
    policy_version: str
    handoff: bool
    explanation: str


class HandoffRecord(TypedDict):
    """A handoff as data: who handed to whom, why, and under which rule (never parsed from text)."""

    id: str
    from_agent: str
    to: str
    kind: Literal["bot", "human"]
    queue: str
    reason: str
    trigger: str
    urgency: str
    priority: int
    required_skills: list[str]
    optional_skills: list[str]
    rule_id: str
    policy_version: str
    narration: str
    created_at: str
    status: Literal["active", "completed", "returned", "rolled_back", "closed"]
    brief: dict[str, Any]
    message_index: int
    note: NotRequired[str]
    returned_to: NotRequired[str]
    ended_at: NotRequired[int]


class Consultation(TypedDict):
    """A specialist's answer to a question the active bot asked without handing off."""

    asker: str
    specialist: str
    question: str
    answer: str
    turn: int


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later keys win, earlier keys survive (facts collected by different bots accumulate)."""
    return {**(left or {}), **(right or {})}


class BatonState(MessagesState):
    """The state of one conversation (one LangGraph thread)."""

    active_agent: str
    status: Status
    signals: dict[str, Any]
    routing: RoutingDecision
    handoff: HandoffRecord | None
    handoffs: Annotated[dict[str, HandoffRecord], merge_dicts]
    collected: Annotated[dict[str, Any], merge_dicts]
    consultations: Annotated[list[Consultation], operator.add]
    customer: dict[str, Any]
    delivered: Annotated[list[str], operator.add]  # one-time messages already said
    escalation: dict[str, Any] | None


class ConsultTask(TypedDict):
    """What ``Send`` hands to one parallel consultation."""

    specialist: str
    asker: str
    question: str
    messages: list[Any]
    collected: dict[str, Any]
    turn: int
