"""Typed handoff brief: the contract every receiver (specialist bot or human agent) reads first."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from graph.language.objections import ObjectionKind
from graph.transcript import Turn

EntityType = Literal[
    "name",
    "id",
    "email",
    "phone",
    "amount",
    "date",
    "product",
    "address",
    "other",
    "place",
    "time",
    "organisation",
]
Urgency = Literal["low", "medium", "high", "critical"]
Trend = Literal["improving", "stable", "worsening"]
SectionValue = str | list[str] | dict[str, str | list[str]]


class Fact(BaseModel):
    """One thing the customer told us, with the turn that said it (so it can be checked)."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="Snake-case fact name, e.g. order_id, customer_name.")
    value: str = Field(description="The value as the customer wrote it.")
    turn: int = Field(description="Index of the turn that states the value.")
    changed_to: str | None = Field(
        default=None,
        description="The value the customer gave later in its place (they changed it), else None.",
        examples=["Wednesday"],
    )


class Entity(BaseModel):
    """A typed mention (name, id, amount...) found in the conversation."""

    model_config = ConfigDict(frozen=True)

    type: EntityType
    value: str
    turn: int


class SentimentView(BaseModel):
    """How the customer feels now and where it is heading."""

    model_config = ConfigDict(frozen=True)

    now: float = Field(ge=-1.0, le=1.0, description="Latest customer sentiment in [-1, 1].")
    label: Literal["negative", "neutral", "positive"]
    trend: Trend


class SimilarCase(BaseModel):
    """A past conversation a retriever judged similar, with how it was resolved."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    summary: str
    resolution: str = ""
    score: float = 0.0


class IntentShift(BaseModel):
    """Where the router's reading of the customer's intent changed, and the turn it changed at."""

    model_config = ConfigDict(frozen=True)

    intent: str
    turn: int = Field(description="Index of the customer turn the intent was first read in.")
    confidence: float = Field(ge=0.0, le=1.0)


class RaisedObjection(BaseModel):
    """A customer's pushback, and the bot's or agent's reply that answered it (if one did)."""

    model_config = ConfigDict(frozen=True)

    kind: ObjectionKind
    text: str = Field(description="The customer's clause, as written.")
    turn: int
    answered: bool
    answer: str = Field(default="", description="The reply that addressed it, clipped.")
    answer_turn: int | None = None


class RapportNote(BaseModel):
    """One piece of evidence for the rapport score: a warm or a frustrated customer turn."""

    model_config = ConfigDict(frozen=True)

    turn: int
    note: str = Field(description="What the turn shows, with the customer's words.")


class Rapport(BaseModel):
    """How the relationship stands, 0 (broken) to 10 (warm), and the turns that say so."""

    model_config = ConfigDict(frozen=True)

    score: int = Field(ge=0, le=10)
    evidence: list[RapportNote] = Field(default_factory=list)

    @property
    def label(self) -> str:
        """The score in a word: above the neutral 5 "good", below it "strained"."""
        return "good" if self.score > 5 else "strained" if self.score < 5 else "neutral"


class BusinessFact(BaseModel):
    """A value of the business context, with the turn that stated it."""

    model_config = ConfigDict(frozen=True)

    value: str
    turn: int


LeadStage = Literal["new", "qualifying", "qualified", "negotiating"]


class BusinessContext(BaseModel):
    """Where the deal stands: a lead's stage and property, or a support customer's account and order."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["lead", "account"]
    stage: LeadStage | None = Field(default=None, description="A lead's stage (leads only).")
    basis: str = Field(default="", description="Why that stage, in a few words.")
    details: dict[str, BusinessFact] = Field(
        default_factory=dict, description="Property (address, type, value) or account (account, plan, order)."
    )


class EarlierConversation(BaseModel):
    """One earlier conversation of the same customer, in one line (the console's history, condensed)."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    date: str = Field(description="When it started, YYYY-MM-DD.")
    outcome: str = Field(examples=["closed by the agent"])
    summary: str = Field(default="", description="Its brief's summary or first message, clipped.")


class Brief(BaseModel):
    """The handoff brief: a fast path for the receiver; the full transcript stays attached."""

    summary: str = Field(description="Executive view, at most three sentences.")
    goal: str = Field(description="What the customer wants to achieve.")
    facts: list[Fact] = Field(default_factory=list, description="Grounded facts, each citing its turn.")
    entities: list[Entity] = Field(default_factory=list)
    sentiment: SentimentView
    resolved: list[str] = Field(default_factory=list)
    tried: list[str] = Field(default_factory=list, description="What was already tried.")
    open_questions: list[str] = Field(default_factory=list)
    urgency: Urgency = "low"
    next_step: str = ""
    openers: list[str] = Field(default_factory=list, description="Three opening replies citing facts.")
    sections: dict[str, SectionValue] = Field(default_factory=dict)
    similar_cases: list[SimilarCase] = Field(default_factory=list)
    intent_history: list[IntentShift] = Field(
        default_factory=list, description="The router's intent per customer turn, collapsed to changes."
    )
    objections: list[RaisedObjection] = Field(default_factory=list)
    rapport: Rapport | None = Field(default=None, description="None when no turn shows warmth or strain.")
    business: BusinessContext | None = None
    earlier: list[EarlierConversation] = Field(
        default_factory=list, description="The customer's earlier conversations, newest first (at most 3)."
    )
    target: str
    source: Literal["llm", "offline"] = "offline"
    token_count: int = Field(default=0, description="o200k_base tokens of the brief without transcript.")
    transcript: list[Turn] = Field(default_factory=list, description="Full history, never trimmed.")

    def fact(self, key: str) -> str | None:
        """Return the first value stated for ``key`` that the customer did not change, or ``None``."""
        values = [f for f in self.facts if f.key == key]
        return next((f.value for f in values if f.changed_to is None), values[0].value if values else None)

    def for_budget(self) -> str:
        """JSON of everything the token budget covers (all but the transcript and the count)."""
        return self.model_dump_json(exclude={"transcript", "token_count"}, exclude_defaults=True)


class DraftFact(BaseModel):
    """A fact as the model proposes it (validated against the transcript afterwards)."""

    key: str
    value: str
    turn: int


class BriefDraft(BaseModel):
    """What the model fills via structured output; code adds grounding, sentiment and the budget."""

    summary: str = Field(description="At most 3 short sentences for a busy agent.")
    goal: str = Field(description="The customer's goal in one sentence.")
    facts: list[DraftFact] = Field(default_factory=list, description="Each value copied verbatim.")
    urgency: Urgency = "low"
    next_step: str = ""
    openers: list[str] = Field(default_factory=list, description="Exactly 3 openers citing facts.")
