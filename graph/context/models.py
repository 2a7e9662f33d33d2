"""Typed handoff brief: the contract every receiver (specialist bot or human agent) reads first."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
    target: str
    source: Literal["llm", "offline"] = "offline"
    token_count: int = Field(default=0, description="o200k_base tokens of the brief without transcript.")
    transcript: list[Turn] = Field(default_factory=list, description="Full history, never trimmed.")

    def fact(self, key: str) -> str | None:
        """Return the first value stated for ``key``, or ``None``."""
        return next((f.value for f in self.facts if f.key == key), None)

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
