"""The signals the router extracts from each customer turn, and the fields policies may test."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from policies.loader import FieldSpec

LegalComplexity = Literal["none", "low", "high"]
Timeline = Literal["immediate", "moderate", "long", "unknown"]
Sophistication = Literal["low", "medium", "high"]


class Evidence(BaseModel):
    """Why a signal is set: the words of a customer turn it came from, or a note without a span.

    ``str(evidence)`` is the readable line the policy explainer prints and the handoff reason quotes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str = Field(description="Readable line, e.g. 'asked for a person: \"let me talk to a human\"'.")
    signal: str = Field(default="", description="The Signals field this supports; empty for a note.")
    text: str = Field(
        default="", description="The customer's words, exactly as written (text == turn[start:end])."
    )
    start: int | None = Field(default=None, ge=0, description="Character offset of the span in its turn.")
    end: int | None = Field(default=None, ge=0, description="Offset one past the span's last character.")
    turn: int | None = Field(default=None, ge=0, description="Index of the turn among the customer's turns.")
    negated: bool = Field(default=False, description="The cue is there but denied ('I don't want a human').")

    def __str__(self) -> str:
        return self.note


class Signals(BaseModel):
    """What the router knows about the conversation after the latest customer turn."""

    model_config = ConfigDict(extra="forbid")

    intent: str = Field(default="unknown", description="Best intent among the policy's intents.")
    intent_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    sentiment: float = Field(default=0.0, ge=-1.0, le=1.0, description="-1 angry .. 1 delighted.")
    complexity: float = Field(default=0.0, ge=0.0, le=1.0, description="How hard the case is.")
    explicit_human_request: bool = Field(default=False, description="Customer asked for a person.")
    vip: bool = False
    property_value: float | None = Field(default=None, description="Largest amount tied to a property.")
    budget: float | None = Field(default=None, description="Buyer's budget if stated.")
    legal_complexity: LegalComplexity = "none"
    emotional_distress: bool = False
    lead_score: float = Field(default=0.0, ge=0.0, le=1.0, description="How sales-ready the lead is.")
    financing_ready: bool = False
    timeline: Timeline = "unknown"
    buyer_sophistication: Sophistication = "low"
    transaction_complexity: float = Field(default=0.0, ge=0.0, le=1.0)
    failed_attempts: int = Field(default=0, ge=0, description="Times the customer said it still fails.")
    evidence: list[Evidence] = Field(default_factory=list, description="Why: the cues that set the signals.")

    @field_validator("evidence", mode="before")
    @classmethod
    def _notes_as_evidence(cls, value: Any) -> Any:
        # Checkpoints and model answers from before typed evidence hold plain strings.
        if isinstance(value, list):
            return [{"note": item} if isinstance(item, str) else item for item in value]
        return value

    def reasons(self, limit: int | None = None) -> list[str]:
        """The readable evidence lines, set signals first (the handoff reason quotes the first few)."""
        ordered = sorted(self.evidence, key=lambda e: e.negated)
        return [str(e) for e in ordered[:limit]]


def _spec(annotation: object) -> FieldSpec:
    args = get_args(annotation)
    if args and all(isinstance(a, str) for a in args):  # a Literal
        return FieldSpec(kind=str, choices=args)
    if annotation is bool:
        return FieldSpec(kind=bool)
    if annotation is int:
        return FieldSpec(kind=(int, float))
    if annotation is float or args:  # float | None
        return FieldSpec(kind=(int, float))
    return FieldSpec(kind=str)


# Fields a policy `when` may test: every signal plus facts about the conversation itself.
CONDITION_FIELDS: dict[str, FieldSpec] = {
    **{name: _spec(f.annotation) for name, f in Signals.model_fields.items() if name != "evidence"},
    "active_agent": FieldSpec(kind=str),
    "turn_count": FieldSpec(kind=(int, float)),
    "status": FieldSpec(kind=str, choices=("bot", "awaiting_human", "human", "closed")),
    "text": FieldSpec(kind=str),
}
