"""A/B experiments declared in a policy: variants, traffic shares and sticky assignment.

A policy may carry one ``experiment``: two or more named variants with traffic shares that sum to 1.
A variant overrides parts of the policy that exist (a rule's condition, target, urgency, skills or
narration; the default's narration; a target's description or brief sections); everything it does not
name stays the policy's. While the experiment's ``status`` is ``running``, each conversation gets one
variant, chosen from a hash of the experiment id and the conversation id: no state, the same answer
after a restart and on every worker. Otherwise every conversation gets the policy as written.

Data only, like the rest of ``policies/``: no node, graph or API imports.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from policies.bounded_yaml import load
from policies.limits import MAX_NAME, names, quote
from policies.models import Key, Name, Policy, Text, Trigger, Urgency, When

MAX_VARIANTS = 10
VariantName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", max_length=MAX_NAME)]
"""A variant's name: "A", "B", "lower_threshold" (the verdict reads "B is better on CSAT ...")."""
SHARE_TOLERANCE = 1e-6
ExperimentStatus = Literal["draft", "running", "stopped"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleOverride(_Frozen):
    """What a variant changes in one rule; fields left out keep the rule's value."""

    description: Text | None = None
    when: When | None = None
    target: Key | None = None
    trigger: Trigger | None = None
    urgency: Urgency | None = None
    required_skills: list[Key] | None = Field(default=None, max_length=100)
    optional_skills: list[Key] | None = Field(default=None, max_length=100)
    narration: Text | None = Field(default=None, description="What the customer is told on this handoff.")


class DefaultOverride(_Frozen):
    """What a variant changes in the policy's default."""

    narration: Text | None = None


class TargetOverride(_Frozen):
    """What a variant changes in one target (how it is described, which brief sections it gets)."""

    description: Text | None = None
    sections: list[Key] | None = Field(default=None, max_length=100)


class Variant(_Frozen):
    """One arm of an experiment: a share of the traffic and the overrides it applies."""

    name: VariantName
    share: float = Field(gt=0, le=1, description="Fraction of conversations that get this variant.")
    description: Text = ""
    rules: dict[Name, RuleOverride] = Field(default_factory=dict, max_length=100)
    default: DefaultOverride | None = None
    targets: dict[Key, TargetOverride] = Field(default_factory=dict, max_length=100)

    @property
    def overrides(self) -> bool:
        """Whether the variant changes anything (a control variant does not)."""
        return bool(self.rules or self.targets or (self.default and self.default.narration is not None))


class Experiment(_Frozen):
    """Variants compared on live traffic; the first variant is the control the others are compared with."""

    id: Name = Field(description="Names the experiment in every decision, handoff and analytics row.")
    description: Text = ""
    status: ExperimentStatus = Field(
        default="draft", description="Only a running experiment assigns variants; else the policy as written."
    )
    variants: list[Variant] = Field(min_length=2, max_length=MAX_VARIANTS)

    @model_validator(mode="after")
    def _shares_and_names(self) -> Experiment:
        seen: set[str] = set()
        for variant in self.variants:
            if variant.name in seen:
                msg = f"duplicate variant name {quote(variant.name)}"
                raise ValueError(msg)
            seen.add(variant.name)
        total = math.fsum(v.share for v in self.variants)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            msg = f"variant shares must sum to 1, got {total:g}"
            raise ValueError(msg)
        return self

    def variant(self, name: str) -> Variant:
        """The variant called ``name``.

        Raises:
            KeyError: No such variant (the message lists the declared ones).
        """
        found = next((v for v in self.variants if v.name == name), None)
        if found is None:
            msg = (
                f"experiment {self.id!r} has no variant {name!r}; declared: {[v.name for v in self.variants]}"
            )
            raise KeyError(msg)
        return found


class ExperimentPolicy(Policy):
    """A policy as published: the routing policy plus the experiment it may declare."""

    experiment: Experiment | None = None


def experiment_of(policy: Policy) -> Experiment | None:
    """The experiment a policy declares, or ``None``."""
    return getattr(policy, "experiment", None)


def bucket(experiment_id: str, conversation_id: str) -> float:
    """A point in [0, 1) fixed by the two ids (SHA-256; independent across experiments)."""
    digest = hashlib.sha256(f"{experiment_id}\x00{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment: Experiment, conversation_id: str) -> Variant:
    """The variant of ``conversation_id``: sticky and deterministic, whatever the status."""
    point = bucket(experiment.id, conversation_id)
    edge = 0.0
    for variant in experiment.variants:
        edge += variant.share
        if point < edge:
            return variant
    return experiment.variants[-1]  # shares that sum to 1 - 1e-7 leave a sliver at the top


def _merge(base: Mapping[str, Any], override: BaseModel) -> dict[str, Any]:
    return {**base, **override.model_dump(exclude_none=True, exclude_unset=True)}


def apply_variant(policy: Policy, variant: Variant) -> Policy:
    """The policy a variant's conversations are routed with (a plain ``Policy``: no experiment).

    Raises:
        KeyError: The variant names a rule or target the policy does not have.
        pydantic.ValidationError: The result is not a valid policy.
    """
    full = policy.model_dump(exclude={"experiment"})
    data = dict(full)
    rules = []
    for rule in full["rules"]:
        override = variant.rules.get(rule["id"])
        rules.append(_merge(rule, override) if override else rule)
    unknown = set(variant.rules) - {r["id"] for r in full["rules"]}
    if unknown:
        msg = f"no rule {sorted(unknown)[0]!r} to override"
        raise KeyError(msg)
    data["rules"] = rules
    targets = dict(full["targets"])
    for name, target_override in variant.targets.items():
        if name not in targets:
            msg = f"no target {name!r} to override"
            raise KeyError(msg)
        targets[name] = _merge(targets[name], target_override)
    data["targets"] = targets
    if variant.default is not None:
        data["default"] = _merge(full["default"], variant.default)
    return Policy.model_validate(data)


def experiment_issues(policy: Policy) -> list[tuple[str, tuple[int | str, ...]]]:
    """What a variant overrides that the policy does not have, as ``(message, YAML location)``."""
    experiment = experiment_of(policy)
    if experiment is None:
        return []
    issues: list[tuple[str, tuple[int | str, ...]]] = []
    rules = {rule.id: rule for rule in policy.rules}
    for i, variant in enumerate(experiment.variants):
        where: tuple[int | str, ...] = ("experiment", "variants", i)
        for rule_id, override in variant.rules.items():
            rule = rules.get(rule_id)
            if rule is None:
                msg = f"variant {variant.name}: no rule {quote(rule_id)} to override; rules: {names(rules)}"
                issues.append((msg, (*where, "rules", rule_id)))
            elif override.target is not None and rule.target is None:
                msg = f"variant {variant.name}: rule {quote(rule_id)} consults; it has no target to override"
                issues.append((msg, (*where, "rules", rule_id, "target")))
        for target in variant.targets:
            if target not in policy.targets:
                known = names(policy.targets)
                msg = f"variant {variant.name}: no target {quote(target)} to override; targets: {known}"
                issues.append((msg, (*where, "targets", target)))
    return issues


def variant_policies(policy: Policy) -> Iterable[tuple[Variant, Policy]]:
    """Each variant with the policy it routes with (only for a policy whose overrides all exist)."""
    experiment = experiment_of(policy)
    for variant in experiment.variants if experiment else ():
        yield variant, apply_variant(policy, variant)


@dataclass(frozen=True)
class Arm:
    """The experiment and variant a conversation is routed under."""

    experiment: str
    variant: str


_built: dict[tuple[int, str], tuple[Policy, Policy]] = {}


def _variant_policy(policy: Policy, experiment: Experiment, name: str) -> Policy:
    key = (id(policy), name)
    hit = _built.get(key)
    if hit is not None and hit[0] is policy:  # an id can be reused once a policy is gone
        return hit[1]
    if len(_built) >= 64:
        _built.clear()
    built = apply_variant(policy, experiment.variant(name))
    _built[key] = (policy, built)
    return built


def routing_policy(policy: Policy, conversation_id: str) -> tuple[Policy, Arm | None]:
    """The policy to route ``conversation_id`` with, and its arm while an experiment runs.

    A variant's policy is built once per (policy, variant) and cached: routing a turn costs a hash.
    """
    experiment = experiment_of(policy)
    if experiment is None or experiment.status != "running" or not conversation_id:
        return policy, None
    variant = assign(experiment, conversation_id)
    return _variant_policy(policy, experiment, variant.name), Arm(experiment.id, variant.name)


def with_status(text: str, status: ExperimentStatus) -> str:
    """``text`` with its experiment's ``status`` set, every other byte (comments included) kept.

    Raises:
        ValueError: The text declares no experiment.
    """
    root, _ = load(text)
    section = _value(root, "experiment")
    if not isinstance(section, yaml.MappingNode) or not section.value:
        msg = "the policy declares no experiment"
        raise ValueError(msg)
    current = _value(section, "status")
    if current is not None:
        return text[: current.start_mark.index] + status + text[current.end_mark.index :]
    first_key = section.value[0][0]
    at = first_key.start_mark.index
    gap = ", " if section.flow_style else "\n" + " " * first_key.start_mark.column
    return text[:at] + f"status: {status}" + gap + text[at:]


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


def promoted_text(policy: Policy, variant: str, *, note: str) -> str:
    """The YAML of ``policy`` as ``variant`` routes it, without the experiment: what promotion publishes.

    Raises:
        KeyError: The policy declares no experiment or no such variant.
    """
    experiment = experiment_of(policy)
    if experiment is None:
        msg = "the policy declares no experiment"
        raise KeyError(msg)
    data = apply_variant(policy, experiment.variant(variant)).model_dump(mode="json", exclude_defaults=True)
    header = "".join(f"# {line}\n" for line in note.splitlines())
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
