"""Graph state: LangGraph's ``MessagesState`` plus what routing and handoffs need.

Everything stored here is plain JSON (TypedDicts and dumped models, not Pydantic objects) so
checkpoints round-trip through every checkpointer without custom deserializers.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NotRequired

from langgraph.graph import MessagesState
from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from policies.models import Urgency

Status = Literal["bot", "awaiting_human", "human", "closed"]


class RoutingDecision(TypedDict):
    """Which target the router picked for the latest turn, by which rule, under which policy."""

    target: str
    rule_id: str
    policy: str
    policy_version: str
    handoff: bool
    explanation: str
    experiment: NotRequired[str]  # set while the policy's experiment runs (older decisions lack it)
    variant: NotRequired[str]


HandoffStatus = Literal["proposed", "active", "completed", "returned", "rolled_back", "closed"]
TriggerSource = Literal["user", "ai", "system"]


class HandoffRecord(BaseModel):
    """The one shape of a handoff: who handed to whom, why, under which rule, with which brief.

    A rule or code condition proposes one (``status="proposed"``, no brief yet), ``before_handoff``
    hooks may amend it, the router completes it; the interrupt payload, the desk's request and the API's
    views are derived from it. In graph state it is stored as JSON (``to_state``) so checkpoints need no
    custom deserializer; ``of`` reads it back, old checkpoints (a TypedDict of these fields) included.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(description="Same id in the graph, the desk and the API.")
    from_agent: str = Field(description="Who handed off (a bot, or 'router' for a new conversation).")
    to: str = Field(description="The target: a bot node or a human queue of the policy.")
    kind: Literal["bot", "human"]
    queue: str = Field(default="", description="Human queue (the target) for human handoffs.")
    reason: str = ""
    trigger: str = Field(description="explicit_request, sentiment_based, complexity_based, code, ...")
    urgency: Urgency = "medium"
    priority: int = Field(default=50, description="Desk priority 1-100.")
    required_skills: list[str] = Field(default_factory=list)
    optional_skills: list[str] = Field(default_factory=list)
    rule_id: str = Field(description="Policy rule id, 'code:<name>', 'manual' or 'default'.")
    policy_version: str = ""
    narration: str = Field(default="", description="What the customer is told about the handoff.")
    created_at: str = ""
    status: HandoffStatus = "active"
    brief: dict[str, Any] = Field(default_factory=dict, description="The context brief (JSON of Brief).")
    message_index: int = Field(default=0, description="Index of the message that triggered the handoff.")
    note: str = Field(default="", description="The team's note when it ended (never shown to the customer).")
    returned_to: str | None = None
    ended_at: int | None = Field(default=None, description="Message count when the handoff ended.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="A code handoff's own data.")
    experiment: str = Field(default="", description="The policy experiment running when it was decided.")
    variant: str = Field(default="", description="The experiment's variant this conversation is in.")
    # Seed 000's request fields; defaults keep checkpoints written before them loading.
    campaign_id: str = Field(default="", description="The campaign the lead came from (CRM).")
    lead_id: str = Field(default="", description="The CRM's lead id.")
    trigger_source: TriggerSource = Field(
        default="ai", description="Who triggered it: the customer, the AI (a rule, a signal) or a system."
    )
    trigger_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="How sure the trigger is (the cue's or the caller's)."
    )
    ai_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="The intent classifier's confidence at the handoff."
    )
    estimated_handle_time_min: float | None = Field(
        default=None, ge=0.0, description="Expected minutes of human work (seed 000's estimate)."
    )
    preferred_agent_id: str | None = Field(default=None, description="An agent the caller asked for.")
    context_notes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Facts and notes given with a handoff created from outside (JSON of desk ContextNote).",
    )

    @classmethod
    def of(cls, value: Mapping[str, Any] | HandoffRecord | None) -> HandoffRecord | None:
        """The record from graph state (JSON), or ``None``."""
        if value is None or isinstance(value, HandoffRecord):
            return value
        return cls.model_validate(value)

    def to_state(self) -> dict[str, Any]:
        """The JSON form graph state stores."""
        return self.model_dump(mode="json")

    def changed(self, **changes: Any) -> HandoffRecord:
        """A copy with ``changes`` applied and validated."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def waiting(self, customer_messages: int) -> WaitingHandoff:
        """The interrupt payload: this handoff and how many customer turns wait for the human."""
        return WaitingHandoff.model_validate(
            {**self.model_dump(), "handoff_id": self.id, "waiting_customer_messages": customer_messages}
        )


class WaitingHandoff(HandoffRecord):
    """What ``interrupt()`` exposes to whoever resumes the run: the handoff, plus who is waiting."""

    handoff_id: str = Field(description="The handoff's id (same as ``id``), as the desk and the API name it.")
    waiting_customer_messages: int = Field(description="Customer turns since the last human reply.")

    @model_validator(mode="before")
    @classmethod
    def _from_v1(cls, data: Any) -> Any:
        """Payloads paused before this model existed carried no ``id``, ``kind``, ``to`` or origin."""
        if isinstance(data, Mapping) and "id" not in data and "handoff_id" in data:
            queue = data.get("queue", "")
            return {"id": data["handoff_id"], "kind": "human", "to": queue, "from_agent": "", **data}
        return data


def current_handoff(state: Mapping[str, Any]) -> HandoffRecord | None:
    """The conversation's current (or latest) handoff."""
    return HandoffRecord.of(state.get("handoff"))


def all_handoffs(state: Mapping[str, Any]) -> list[HandoffRecord]:
    """Every handoff of the conversation, oldest first."""
    return [HandoffRecord.model_validate(h) for h in (state.get("handoffs") or {}).values()]


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
    handoff: dict[str, Any] | None  # HandoffRecord.to_state()
    handoffs: Annotated[dict[str, dict[str, Any]], merge_dicts]  # id -> HandoffRecord.to_state()
    collected: Annotated[dict[str, Any], merge_dicts]
    consultations: Annotated[list[Consultation], operator.add]
    customer: dict[str, Any]
    delivered: Annotated[list[str], operator.add]  # one-time messages already said
    open_items: Annotated[dict[str, dict[str, Any]], merge_dicts]  # id -> graph.open_items.OpenItem
    escalation: dict[str, Any] | None
    # The router's intent reading of each customer turn (JSON of graph.context.models.IntentShift), for
    # the brief's intent history; checkpoints from before it have none.
    intent_log: Annotated[list[dict[str, Any]], operator.add]


class EntryState(TypedDict, total=False):
    """What the graph's entry reads of the state: whether a person holds the thread. A branch typed
    with it reads that one channel; typed with ``BatonState`` it read every channel and replayed the
    new turn onto a copy of the whole history first (~0.2 ms of a held thread's ~3 ms run)."""

    status: Status


class ConsultTask(TypedDict):
    """What ``Send`` hands to one parallel consultation."""

    specialist: str
    asker: str
    question: str
    messages: list[Any]
    collected: dict[str, Any]
    turn: int
