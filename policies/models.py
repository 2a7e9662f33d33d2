"""Frozen Pydantic models of a routing policy: a typo in YAML is an error, never a silent default.

Every name, text and list has a maximum size (``policies.limits``), so a hostile policy is refused
with a short message instead of being carried, and echoed, whole.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

import regex
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from policies.limits import MAX_ITEMS, MAX_NAME, MAX_TEXT, NAME_PATTERN, quote

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=MAX_NAME)]
"""The one rule for a policy's name and a rule's id (the API checks path names with it too)."""
Key = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
"""A target, intent, skill or section name, or a condition field."""
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Scalar = str | int | float | bool | None
ConditionValue = Scalar | list[Scalar]

Op = Literal[">", ">=", "<", "<=", "==", "!=", "in", "not_in", "matches", "contains"]
Urgency = Literal["low", "medium", "high", "critical"]
Trigger = Literal[
    "explicit_request",
    "sentiment_based",
    "complexity_based",
    "qualification_based",
    "intent_based",
    "repeated_failure",
    "time_based",
    "vip",
    "code",
]
NoAgentPolicy = Literal["queue", "callback", "ai"]
WaitSeconds = Annotated[float, Field(gt=0, le=86_400)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(_Frozen):
    """``field op value``: one comparison against a signal or a conversation field."""

    field: Key = Field(description="Signal or context field, e.g. intent_confidence or customer.plan.")
    op: Op
    value: ConditionValue

    @field_validator("value", mode="before")
    @classmethod
    def _flat_and_short(cls, value: Any) -> Any:
        # One clear message instead of one per member of the union; nothing deep reaches the evaluator.
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_ITEMS:
            msg = f"a condition list has at most {MAX_ITEMS} values, got {len(items)}"
            raise ValueError(msg)
        for item in items:
            if item is not None and not isinstance(item, str | int | float | bool):
                msg = f"a condition value is text, a number, true/false, null or a list of those; got {quote(item)}"
                raise ValueError(msg)
            if isinstance(item, str) and len(item) > MAX_TEXT:
                msg = f"a text value has at most {MAX_TEXT} characters, got {len(item)}"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _check_value(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            msg = f"operator {self.op!r} needs a list value, got {quote(self.value)}"
            raise ValueError(msg)
        if self.op not in ("in", "not_in") and isinstance(self.value, list):
            msg = f"operator {self.op!r} compares with one value, got a list (use 'in')"
            raise ValueError(msg)
        if self.op == "matches":
            if not isinstance(self.value, str):
                msg = "operator 'matches' needs a regular expression string"
                raise ValueError(msg)
            try:
                regex.compile(self.value)  # the engine the evaluator runs (policies/evaluator.py)
            except regex.error as exc:
                msg = f"invalid regular expression {quote(self.value)}: {exc}"
                raise ValueError(msg) from exc
        if self.op in (">", ">=", "<", "<=") and (
            isinstance(self.value, bool) or not isinstance(self.value, int | float)
        ):
            msg = f"operator {self.op!r} needs a number, got {quote(self.value)}"
            raise ValueError(msg)
        return self


class AllOf(_Frozen):
    """Every sub-condition holds."""

    all: list[When] = Field(min_length=1, max_length=MAX_ITEMS)


class AnyOf(_Frozen):
    """At least one sub-condition holds."""

    any: list[When] = Field(min_length=1, max_length=MAX_ITEMS)


def _when_kind(value: Any) -> str:
    """Which kind of condition ``value`` is, read from its keys (``all``, ``any``, else a comparison).

    Choosing the member before validating gives one error for one mistake: a bad ``op`` used to be
    reported against every member of the union (five or more messages, most about the wrong kind).
    """
    if isinstance(value, dict):
        return "AllOf" if "all" in value else "AnyOf" if "any" in value else "Condition"
    return type(value).__name__ if isinstance(value, AllOf | AnyOf) else "Condition"


# Tags are the class names: the loader skips capitalised parts of an error's location (not YAML keys).
When = Annotated[
    Annotated[Condition, Tag("Condition")] | Annotated[AllOf, Tag("AllOf")] | Annotated[AnyOf, Tag("AnyOf")],
    Discriminator(_when_kind),
]


class Target(_Frozen):
    """A place a conversation can be handed to: a bot node, or a human queue served by ``human_agent``."""

    kind: Literal["bot", "human"]
    description: Text = ""
    skills: list[Key] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Skills a human agent needs."
    )
    sections: list[Key] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Brief sections this target receives."
    )


class IntentSpec(_Frozen):
    """A labelled intent: the offline classifier learns from these examples."""

    description: Text = ""
    examples: list[Text] = Field(min_length=2, max_length=MAX_ITEMS)


class Rule(_Frozen):
    """Ordered routing rule: the first rule whose ``when`` holds decides."""

    id: Name
    description: Text = ""
    when: When
    target: Key | None = None
    consult: list[Key] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Specialists asked in parallel instead."
    )
    trigger: Trigger = "intent_based"
    urgency: Urgency = "medium"
    required_skills: list[Key] = Field(default_factory=list, max_length=MAX_ITEMS)
    optional_skills: list[Key] = Field(default_factory=list, max_length=MAX_ITEMS)
    narration: Text = Field(default="", description="What the customer is told when this rule hands off.")
    no_agent: NoAgentPolicy | None = Field(
        default=None, description="When no agent takes this rule's human handoff (else handoff.no_agent)."
    )
    no_agent_after_s: WaitSeconds | None = Field(
        default=None,
        description="Seconds this rule's handoff waits for an agent (else handoff.no_agent_after_s).",
    )
    accept_timeout_s: WaitSeconds | None = Field(
        default=None,
        description="Seconds an agent has to accept an offer of this rule's handoff "
        "(else handoff.accept_timeout_s).",
    )

    @model_validator(mode="after")
    def _target_or_consult(self) -> Rule:
        if (self.target is None) == (not self.consult):
            msg = "a rule needs exactly one of 'target' or 'consult'"
            raise ValueError(msg)
        return self


class Default(_Frozen):
    """Where a new conversation goes when no rule fires (an ongoing one stays with its agent)."""

    target: Key
    narration: Text = ""


class HandoffSettings(_Frozen):
    """What happens around a human handoff; a rule's own settings take precedence."""

    no_agent: NoAgentPolicy | None = Field(
        default=None,
        description="When no agent takes a human handoff: queue (keep waiting), callback or ai "
        "(continue with the bot). Unset: the desk's no_agent_policy.",
    )
    no_agent_after_s: WaitSeconds | None = Field(
        default=None,
        description="Seconds a handoff waits for an agent first. Unset: the desk's expires_after_s.",
    )
    accept_timeout_s: WaitSeconds | None = Field(
        default=None,
        description="Seconds an agent has to accept an offer before it goes to the next one. "
        "Unset: the desk's accept_timeout_s.",
    )
    no_agent_message: Text = (
        "All of our specialists are busy right now, so I'll keep helping you here. "
        "Nothing you told me is lost."
    )


class RuleHandoff(NamedTuple):
    """What the policy chose for one handoff; it travels on the desk's handoff request."""

    no_agent: NoAgentPolicy | None
    no_agent_after_s: float | None
    accept_timeout_s: float | None


class Policy(_Frozen):
    """A complete routing policy as product owners write it in YAML."""

    name: Name
    description: Text = ""
    entry: Key = Field(description="Bot that greets a new conversation when no rule fires.")
    targets: dict[Key, Target] = Field(max_length=MAX_ITEMS)
    intents: dict[Key, IntentSpec] = Field(default_factory=dict, max_length=MAX_ITEMS)
    rules: list[Rule] = Field(default_factory=list, max_length=MAX_ITEMS)
    default: Default
    handoff: HandoffSettings = HandoffSettings()

    @field_validator("targets")
    @classmethod
    def _has_targets(cls, value: dict[str, Target]) -> dict[str, Target]:
        if not value:
            msg = "a policy needs at least one target"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _no_agent_on_human_rules(self) -> Policy:
        for rule in self.rules:
            target = self.targets.get(rule.target or "")
            own = rule.no_agent or rule.no_agent_after_s or rule.accept_timeout_s
            if own and (target is None or target.kind != "human"):
                msg = (
                    f"rule {rule.id!r}: no_agent, no_agent_after_s and accept_timeout_s "
                    "apply to a human target only"
                )
                raise ValueError(msg)
        return self

    def handoff_for(self, rule_id: str) -> RuleHandoff:
        """The no-agent choice, wait and accept timeout of a handoff by ``rule_id``: each the rule's,
        else the policy's (None: the desk's)."""
        rule = next((r for r in self.rules if r.id == rule_id), None)
        return RuleHandoff(
            no_agent=(rule.no_agent if rule else None) or self.handoff.no_agent,
            no_agent_after_s=(rule.no_agent_after_s if rule else None) or self.handoff.no_agent_after_s,
            accept_timeout_s=(rule.accept_timeout_s if rule else None) or self.handoff.accept_timeout_s,
        )
