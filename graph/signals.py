"""The signals the router extracts from each customer turn, and the fields policies may test."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.fields import FieldInfo

from graph.turn_times import TIME_FIELDS
from policies.loader import FieldSpec

LegalComplexity = Literal["none", "low", "high"]
Timeline = Literal["immediate", "moderate", "long", "unknown"]
Sophistication = Literal["low", "medium", "high"]

LEAD_SCORE_MAX = 10.0
"""The lead score runs 0-10, the scale product owners write (seed 001); it ran 0-1 before."""
OLD_SCALES = {"lead_score": 1.0}
"""Fields whose scale grew: an old policy's fraction below this is rescaled with a warning."""


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
    value: str = Field(default="", description="What the span says of the signal: a need's intent.")

    def __str__(self) -> str:
        return self.note


class Signals(BaseModel):
    """What the router knows about the conversation after the latest customer turn."""

    model_config = ConfigDict(extra="forbid")

    intent: str = Field(default="unknown", description="Best intent among the policy's intents.")
    intent_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    intents: list[str] = Field(
        default_factory=list,
        description="Every need the latest turn states, clause by clause, in the order said: "
        "'I was double charged, and I'd like to upgrade' holds billing and upgrade intents; "
        "a declined one ('I don't want to upgrade') is none.",
    )
    sentiment: float = Field(default=0.0, ge=-1.0, le=1.0, description="-1 angry .. 1 delighted.")
    complexity: float = Field(default=0.0, ge=0.0, le=1.0, description="How hard the case is.")
    explicit_human_request: bool = Field(default=False, description="Customer asked for a person.")
    vip: bool = False
    property_value: float | None = Field(default=None, description="Largest amount tied to a property.")
    budget: float | None = Field(default=None, description="Buyer's budget if stated.")
    legal_complexity: LegalComplexity = "none"
    emotional_distress: bool = False
    lead_score: float = Field(
        default=0.0,
        ge=0.0,
        le=LEAD_SCORE_MAX,
        description="How sales-ready the lead is: 0 cold .. 10 ready to sign (seed 001's 'lead_score >= 8.0').",
    )
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


def _bound(info: FieldInfo, name: str) -> float | None:
    """The ``ge``/``le`` a field declares (the policy check reads this one declaration)."""
    found = (getattr(m, name, None) for m in info.metadata)
    return next((float(v) for v in found if isinstance(v, int | float)), None)


def _spec(name: str, info: FieldInfo) -> FieldSpec:
    annotation = info.annotation
    args = get_args(annotation)
    text = info.description or ""
    if get_origin(annotation) is list:
        return FieldSpec(kind=str, many=True, description=text)
    if args and all(isinstance(a, str) for a in args):  # a Literal
        return FieldSpec(kind=str, choices=args, description=text)
    if annotation is bool:
        return FieldSpec(kind=bool, description=text)
    if annotation is int or annotation is float or args:  # float | None too
        return FieldSpec(
            kind=(int, float),
            minimum=_bound(info, "ge"),
            maximum=_bound(info, "le"),
            old_maximum=OLD_SCALES.get(name),
            description=text,
        )
    return FieldSpec(kind=str, description=text)


# Fields a policy `when` may test: every signal plus facts about the conversation itself (the
# times are minutes from real turn timestamps, see graph/turn_times.py).
CONDITION_FIELDS: dict[str, FieldSpec] = {
    **{name: _spec(name, f) for name, f in Signals.model_fields.items() if name != "evidence"},
    "active_agent": FieldSpec(kind=str, description="The bot holding the conversation ('' when new)."),
    "turn_count": FieldSpec(kind=(int, float), minimum=1, description="Customer turns so far."),
    "status": FieldSpec(kind=str, choices=("bot", "awaiting_human", "human", "closed")),
    "text": FieldSpec(kind=str, description="The customer's latest message."),
    **TIME_FIELDS,
}
