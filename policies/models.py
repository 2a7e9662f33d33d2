"""Frozen Pydantic models of a routing policy: a typo in YAML is an error, never a silent default."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Op = Literal[">", ">=", "<", "<=", "==", "!=", "in", "not_in", "matches"]
Urgency = Literal["low", "medium", "high", "critical"]
Trigger = Literal[
    "explicit_request",
    "sentiment_based",
    "complexity_based",
    "qualification_based",
    "intent_based",
    "repeated_failure",
    "vip",
    "code",
]
NoAgentPolicy = Literal["queue", "callback", "ai"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(_Frozen):
    """``field op value``: one comparison against a signal or a conversation field."""

    field: str = Field(description="Signal or context field, e.g. intent_confidence or customer.plan.")
    op: Op
    value: Any

    @model_validator(mode="after")
    def _check_value(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            msg = f"operator {self.op!r} needs a list value, got {self.value!r}"
            raise ValueError(msg)
        if self.op == "matches":
            if not isinstance(self.value, str):
                msg = "operator 'matches' needs a regular expression string"
                raise ValueError(msg)
            try:
                re.compile(self.value)
            except re.error as exc:
                msg = f"invalid regular expression {self.value!r}: {exc}"
                raise ValueError(msg) from exc
        if self.op in (">", ">=", "<", "<=") and (
            isinstance(self.value, bool) or not isinstance(self.value, int | float)
        ):
            msg = f"operator {self.op!r} needs a number, got {self.value!r}"
            raise ValueError(msg)
        return self


class AllOf(_Frozen):
    """Every sub-condition holds."""

    all: list[When] = Field(min_length=1)


class AnyOf(_Frozen):
    """At least one sub-condition holds."""

    any: list[When] = Field(min_length=1)


When = Annotated[Condition | AllOf | AnyOf, Field(union_mode="left_to_right")]


class Target(_Frozen):
    """A place a conversation can be handed to: a bot node, or a human queue served by ``human_agent``."""

    kind: Literal["bot", "human"]
    description: str = ""
    skills: list[str] = Field(default_factory=list, description="Skills a human agent needs.")
    sections: list[str] = Field(default_factory=list, description="Brief sections this target receives.")


class IntentSpec(_Frozen):
    """A labelled intent: the offline classifier learns from these examples."""

    description: str = ""
    examples: list[str] = Field(min_length=2)


class Rule(_Frozen):
    """Ordered routing rule: the first rule whose ``when`` holds decides."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    when: When
    target: str | None = None
    consult: list[str] = Field(default_factory=list, description="Specialists asked in parallel instead.")
    trigger: Trigger = "intent_based"
    urgency: Urgency = "medium"
    required_skills: list[str] = Field(default_factory=list)
    optional_skills: list[str] = Field(default_factory=list)
    narration: str = Field(default="", description="What the customer is told when this rule hands off.")

    @model_validator(mode="after")
    def _target_or_consult(self) -> Rule:
        if (self.target is None) == (not self.consult):
            msg = "a rule needs exactly one of 'target' or 'consult'"
            raise ValueError(msg)
        return self


class Default(_Frozen):
    """Where a new conversation goes when no rule fires (an ongoing one stays with its agent)."""

    target: str
    narration: str = ""


class HandoffSettings(_Frozen):
    """What happens around a human handoff."""

    no_agent: NoAgentPolicy = "ai"
    no_agent_message: str = (
        "All of our specialists are busy right now, so I'll keep helping you here. "
        "Nothing you told me is lost."
    )


class Policy(_Frozen):
    """A complete routing policy as product owners write it in YAML."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    entry: str = Field(description="Bot that greets a new conversation when no rule fires.")
    targets: dict[str, Target]
    intents: dict[str, IntentSpec] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    default: Default
    handoff: HandoffSettings = HandoffSettings()

    @field_validator("targets")
    @classmethod
    def _has_targets(cls, value: dict[str, Target]) -> dict[str, Target]:
        if not value:
            msg = "a policy needs at least one target"
            raise ValueError(msg)
        return value
