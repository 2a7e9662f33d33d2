"""Request and response bodies of the REST API (every field documented for the OpenAPI page)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from desk.models import AgentId, AgentStatus, Handoff, NotificationPreferences, Schedule
from graph.runtime_models import TurnReply
from graph.state import HandoffRecord
from graph.transcript import Turn

_MAX_TEXT = 4000
# Messages: the configured BATON_MAX_MESSAGE_CHARS is enforced by the door (api/turns.py) and written
# into the OpenAPI document by api/app.py; this is only the ceiling no setting can raise.
MESSAGE_CEILING = 100_000


def _whole_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A JSON integer as JSON Schema reads one: 2 or 2.0, never "2", true or 2.5 (pydantic's lax int takes
# the string and the bool, its strict int refuses 2.0).
JsonInt = Annotated[int, BeforeValidator(_whole_number), Strict()]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- conversations ------------------------------------------------------------------------------
class CustomerProfile(_Body):
    """What the caller knows about the customer; policies can route on it (e.g. VIPs to a person)."""

    vip: bool = Field(
        default=False, strict=True, description="VIP customers may always get a person.", examples=[False]
    )
    plan: str | None = Field(default=None, description="Subscription plan.", examples=["premium"])
    name: str | None = Field(default=None, max_length=200, description="Display name.", examples=["Dana"])
    phone: str | None = Field(
        default=None, max_length=40, description="For a callback (saves asking).", examples=["+4915112345"]
    )
    email: str | None = Field(
        default=None, max_length=254, description="For a callback (saves asking).", examples=["dana@x.com"]
    )
    id: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$",
        description="Your id of the customer: agents see their earlier conversations (trusted ids only).",
        examples=["crm-10442"],
    )


class ConversationCreate(_Body):
    """Start a conversation."""

    customer: CustomerProfile | None = Field(default=None, description="Optional customer profile.")
    profile_signature: str | None = Field(
        default=None,
        max_length=200,
        description="`sha256=<hex>` HMAC (key BATON_PROFILE_SECRET) of the `customer` object's canonical "
        "JSON (keys sorted, no spaces, null fields left out). Without it or the admin token, fields that "
        "change routing (vip, plan) are kept as an unverified claim.",
        examples=["sha256=9f2c..."],
    )


class ConversationCreated(BaseModel):
    """The new conversation and the token that grants access to it (shown once)."""

    conversation_id: str = Field(description="Conversation id.", examples=["c-3f2a9b7e1d4c"])
    customer_token: str = Field(description="Bearer token for this conversation only.", examples=["cus_..."])


class MessageIn(_Body):
    """A customer message."""

    text: str = Field(
        min_length=1, max_length=MESSAGE_CEILING, description="What the customer wrote.", examples=["Hi"]
    )


class HandoffInfo(BaseModel):
    """A handoff this turn started, as the customer sees it."""

    handoff_id: str = Field(description="Handoff id (same in the graph and the desk).")
    kind: str = Field(description="'bot' or 'human'.", examples=["human"])
    to: str = Field(description="Target agent or bot.", examples=["human_agent"])
    trigger: str = Field(description="Why (policy trigger).", examples=["sentiment_based"])
    urgency: str = Field(examples=["high"])
    priority: int = Field(examples=[75])
    narration: str = Field(description="What the customer was told about the handoff.")
    status: str | None = Field(
        default=None, description="Desk status (human handoffs).", examples=["pending"]
    )
    queue_position: int | None = Field(default=None, description="1-based queue position; 0 = offered.")
    expected_wait_s: float | None = Field(default=None, description="Expected wait in seconds.")

    @classmethod
    def of(
        cls, record: HandoffRecord, queue_position: int | None, expected_wait_s: float | None
    ) -> HandoffInfo:
        """The customer's view of a handoff record, with the desk's queue position and wait."""
        shown = record.model_dump(include={"kind", "to", "trigger", "urgency", "priority", "narration"})
        return cls(
            handoff_id=record.id,
            **shown,
            status="pending" if record.kind == "human" else record.status,
            queue_position=queue_position,
            expected_wait_s=expected_wait_s,
        )


class MessageOut(BaseModel):
    """The outcome of a customer turn."""

    conversation_id: str = Field(examples=["c-3f2a9b7e1d4c"])
    status: str = Field(description="bot | awaiting_human | human | closed.", examples=["bot"])
    active_agent: str = Field(description="Who holds the conversation.", examples=["seller_bot"])
    replies: list[TurnReply] = Field(description="Messages produced by this turn.")
    handoff: HandoffInfo | None = Field(default=None, description="Handoff started by this turn.")
    seq: int = Field(description="Seq of the latest event of this turn in the conversation stream.")


class ConversationOut(BaseModel):
    """Transcript and status."""

    conversation_id: str = Field(examples=["c-3f2a9b7e1d4c"])
    status: str = Field(examples=["human"])
    active_agent: str = Field(examples=["human_agent"])
    transcript: list[Turn] = Field(description="Every message, in order.")
    handoff: HandoffRecord | None = Field(
        default=None, description="Current or latest handoff (not for customers)."
    )
    handoffs: list[HandoffRecord] = Field(
        default_factory=list, description="All handoffs so far (not for customers)."
    )
    agent_id: str | None = Field(default=None, description="Human agent holding the conversation.")
    seq: int = Field(description="Latest seq of the conversation stream (for ?since= on the socket).")


class RollbackIn(_Body):
    """Return a human handoff to the AI."""

    reason: str = Field(default="rolled back by an admin", max_length=500, examples=["agent unavailable"])
    notice: str | None = Field(default=None, max_length=2000, description="What the customer is told.")


class TurnOut(BaseModel):
    """The outcome of a rollback or a human action."""

    conversation_id: str
    status: str
    active_agent: str
    replies: list[TurnReply]


class CsatIn(_Body):
    """Customer satisfaction for a conversation."""

    # Strict: "5", true and 4.0 are client bugs to report, not ratings to guess at.
    model_config = ConfigDict(strict=True)

    rating: int = Field(ge=1, le=5, description="1 (bad) to 5 (great).", examples=[5])
    comment: str = Field(default="", max_length=2000, examples=["Maria was great"])


class Ok(BaseModel):
    """Acknowledgement."""

    ok: bool = Field(default=True, examples=[True])


# -- agents and handoffs ------------------------------------------------------------------------
class AgentCreate(_Body):
    """Register a human agent."""

    id: AgentId | None = Field(
        default=None,
        description="1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, no '..'; "
        "it is a URL path segment. Default: generated.",
        examples=["agent-maria"],
    )
    name: str = Field(min_length=1, max_length=200, examples=["Maria"])
    team: str = Field(
        default="", max_length=64, description="Shown: 'Maria from our sales team'.", examples=["sales"]
    )
    skills: dict[str, Annotated[float, Field(ge=0.0, le=1.0, strict=True)]] | list[str] = Field(
        default_factory=list,
        description="Skill -> proficiency 0-1, or a list (proficiency 1).",
        examples=[{"real_estate": 0.9, "empathy": 0.8}, ["real_estate"]],
    )
    max_concurrent: JsonInt = Field(default=1, ge=1, le=50, examples=[2])
    status: AgentStatus = Field(default="offline", description="Initial status.", examples=["online"])
    schedule: Schedule | None = Field(
        default=None, description="Working hours; outside them the desk offers nothing. None: always."
    )
    auto_accept: bool = Field(default=False, strict=True, description="Accept every offer at once.")
    notifications: NotificationPreferences = Field(
        default_factory=lambda: NotificationPreferences(), description="How the console alerts the agent."
    )


class AgentCreated(BaseModel):
    """The agent and its token (shown once)."""

    agent_id: str = Field(examples=["agent-maria"])
    agent_token: str = Field(examples=["agt_..."])


class StatusIn(_Body):
    """Change an agent's status."""

    status: AgentStatus = Field(examples=["online"])


class HandoffDetail(BaseModel):
    """A handoff with its brief and the conversation's full transcript."""

    handoff: Handoff
    brief: dict[str, Any] = Field(description="The context brief built at handoff time.")
    transcript: list[Turn] = Field(description="The whole conversation so far.")


class DeclineIn(_Body):
    """Decline an offer."""

    reason: str = Field(default="", max_length=500, examples=["on a call"])


class ReplyIn(_Body):
    """The agent writes to the customer."""

    text: str = Field(min_length=1, max_length=MESSAGE_CEILING, examples=["Hi Dana, I'm Maria."])


class TransferIn(_Body):
    """Transfer to another agent, a queue of the policy, or a skill set (exactly one)."""

    to_agent_id: str | None = Field(
        default=None, max_length=100, description="A registered agent.", examples=["agent-lee"]
    )
    to_queue: str | None = Field(
        default=None,
        max_length=100,
        description="A human target of the policy (its skills).",
        examples=["human_agent"],
    )
    to_skills: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=20, description="Skills some registered agent has.", examples=[["legal"]]
    )
    reason: str = Field(default="", max_length=500, examples=["needs a legal specialist"])


class ReturnIn(_Body):
    """Hand the conversation back to the AI."""

    note: str = Field(default="", max_length=2000, examples=["Valuation visit booked Friday 10am."])
    target: str | None = Field(
        default=None, description="Bot to return to; default: the one that handed off."
    )


class CompleteIn(_Body):
    """Close the conversation."""

    note: str = Field(default="", max_length=2000, examples=["resolved"])
    text: str = Field(
        default="", max_length=MESSAGE_CEILING, description="Optional last message to the customer."
    )


# -- policies -----------------------------------------------------------------------------------
class PolicyOut(BaseModel):
    """The serving policy."""

    name: str = Field(examples=["real_estate"])
    version: str = Field(description="Content hash.", examples=["3511a3976382"])
    yaml: str = Field(description="The policy text.")


class PolicyIn(_Body):
    """A new policy (JSON form; ``text/yaml`` bodies are accepted as they are)."""

    yaml: str = Field(min_length=1, description="Policy YAML text.")


class ExplainIn(_Body):
    """Route a message through the serving policy without running the graph."""

    message: str = Field(min_length=1, max_length=_MAX_TEXT, examples=["I want to sell my house"])
    history: list[str] = Field(default_factory=list, max_length=200, description="Earlier customer turns.")
