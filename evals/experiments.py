"""Compare policies, or the variants of a policy's experiment, offline on eval data before going live.

An arm is ``PATH`` (the policy as written), ``PATH#VARIANT`` (that variant of the experiment the file
declares) or ``VARIANT`` (a variant of the last file named, else of the default policy). For each
conversation of a dataset, every arm routes the customer turns before the dataset's handoff point
with the same offline signals: which rule fires, where it sends the customer, whether a person is
asked. ``baton eval context`` also replays the conversations through each arm's graph and scores the
briefs (a variant that changes a target's brief sections changes those).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evals.context import RowPart, load_rows
from graph.policy_store import check_policy_file, check_policy_text
from graph.signal_service import SignalService
from graph.signals import Signals
from policies.evaluator import first_match
from policies.experiments import apply_variant, experiment_of, promoted_text
from policies.loader import LoadedPolicy
from policies.models import Policy


@dataclass(frozen=True)
class PolicyArm:
    """One side of a comparison: a label, the policy it routes with, and a file holding that policy."""

    label: str
    base: LoadedPolicy
    variant: str | None
    policy: Policy

    def write(self, folder: Path) -> Path:
        """A policy file the graph can load for this arm (the file itself for a plain policy)."""
        if self.variant is None:
            return Path(self.base.source)
        path = folder / f"{self.label.replace('#', '_').replace('/', '_')}.yaml"
        path.write_text(promoted_text(self.base.policy, self.variant, note=f"eval arm {self.label}"), "utf-8")
        return path


def resolve_arms(values: Sequence[str], default: Path) -> list[PolicyArm]:
    """The arms ``--policy`` values name (see the module docstring).

    Raises:
        ValueError: A file is missing, a name is not a variant, or a label repeats.
        policies.loader.PolicyError: A policy does not validate.
    """
    arms: list[PolicyArm] = []
    last = default
    for value in values:
        path_part, _, variant = value.partition("#")
        candidate = Path(path_part)
        if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
            if not candidate.is_file():
                msg = f"policy {candidate} does not exist"
                raise ValueError(msg)
            last = candidate
        elif not variant:
            path_part, variant = str(last), path_part  # a bare name: a variant of the last policy
        base = check_policy_file(Path(path_part))
        label = variant or value
        if not variant:
            arms.append(PolicyArm(label, base, None, base.policy))
            continue
        experiment = experiment_of(base.policy)
        if experiment is None:
            msg = f"{path_part} declares no experiment, so it has no variant {variant!r}"
            raise ValueError(msg)
        try:
            chosen = experiment.variant(variant)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from exc
        arms.append(PolicyArm(label, base, variant, apply_variant(base.policy, chosen)))
    if len({a.label for a in arms}) != len(arms):  # the same variant name in two files: say which
        arms = [replace(arm, label=value) for arm, value in zip(arms, values, strict=True)]
    labels = [a.label for a in arms]
    if len(set(labels)) != len(labels):
        msg = f"each --policy must name a different arm, got {labels}"
        raise ValueError(msg)
    return arms


class RouteTally(BaseModel):
    """How one arm routes a dataset's conversations at their handoff point."""

    n: int = 0
    to_human: int = Field(default=0, description="Conversations a rule hands to a person.")
    rules: dict[str, int] = Field(default_factory=dict, description="Rule that fires -> conversations.")
    targets: dict[str, int] = Field(default_factory=dict, description="Where each conversation goes.")
    differs: int = Field(default=0, description="Conversations routed elsewhere than the first arm.")

    @property
    def human_rate(self) -> float:
        """Share of conversations handed to a person."""
        return self.to_human / self.n if self.n else 0.0


def _context(signals: Signals, turns: Sequence[str], entry: str) -> dict[str, Any]:
    return {
        **signals.model_dump(exclude={"evidence"}),
        "active_agent": entry,
        "turn_count": len(turns),
        "status": "bot",
        "text": turns[-1] if turns else "",
        "customer": {},
    }


def route(policy: Policy, context: dict[str, Any]) -> tuple[str, str]:
    """``(rule id, target)`` the policy picks; ``("stay", entry)`` when no rule fires."""
    rule = first_match(policy, context)
    if rule is None:
        return "stay", policy.entry
    return rule.id, rule.target or "consult " + ", ".join(rule.consult)


async def compare_routes(
    arms: Sequence[PolicyArm], dataset: Path, *, limit: int | None = None, part: RowPart = "all"
) -> dict[str, RouteTally]:
    """Every arm's routing of every conversation of ``dataset`` at its handoff point."""
    service = SignalService()
    tallies = {arm.label: RouteTally() for arm in arms}
    rules: dict[str, Counter[str]] = {arm.label: Counter() for arm in arms}
    targets: dict[str, Counter[str]] = {arm.label: Counter() for arm in arms}
    for row in load_rows(dataset, limit, part):
        turns = [t.text for t in row.briefing_turns() if t.role == "customer"]
        if not turns:
            continue
        signals: dict[str, Signals] = {}
        first_target = None
        for arm in arms:
            if arm.base.version not in signals:  # variants of one file share its intents and signals
                signals[arm.base.version] = await service.extract(turns, None, arm.base)
            rule_id, target = route(arm.policy, _context(signals[arm.base.version], turns, arm.policy.entry))
            tally = tallies[arm.label]
            tally.n += 1
            spec = arm.policy.targets.get(target)
            tally.to_human += bool(spec and spec.kind == "human" and rule_id != "stay")
            rules[arm.label][rule_id] += 1
            targets[arm.label][target] += 1
            first_target = target if first_target is None else first_target
            tally.differs += target != first_target
    for label, tally in tallies.items():
        tally.rules = dict(rules[label].most_common())
        tally.targets = dict(targets[label].most_common())
    return tallies


def render_routes(console: Console, dataset: str, tallies: dict[str, RouteTally]) -> None:
    """The arms side by side (the first is the reference), then how often each rule fires in each."""
    labels = list(tallies)
    table = Table("", *map(escape, labels), title=dataset)
    table.add_row("conversations", *(str(t.n) for t in tallies.values()))
    table.add_row("to a person", *(f"{t.to_human} ({t.human_rate:.0%})" for t in tallies.values()))
    table.add_row("routed unlike the first", *(str(t.differs) for t in tallies.values()))
    rules = sorted(
        {r for t in tallies.values() for r in t.rules}, key=lambda r: -tallies[labels[0]].rules.get(r, 0)
    )
    for rule in rules:
        table.add_row(f"rule {escape(rule)}", *(str(t.rules.get(rule, 0)) for t in tallies.values()))
    console.print(table)


def arm_files(arms: Sequence[PolicyArm]) -> tuple[tempfile.TemporaryDirectory[str], dict[str, Path]]:
    """A temporary folder with one loadable policy file per arm (keep the folder until done)."""
    folder = tempfile.TemporaryDirectory(prefix="baton-arms-")
    files = {arm.label: arm.write(Path(folder.name)) for arm in arms}
    for path in files.values():
        check_policy_text(path.read_text("utf-8"), str(path))  # a variant file routes like the variant
    return folder, files


class VariantRoute(BaseModel):
    """Where one variant of a policy's experiment routes a message."""

    variant: str
    share: float
    fired: str = Field(description="The rule that fires, or 'stay'.")
    target: str
    differs: bool = Field(description="Routed unlike the control (the first variant).")


def with_variant(loaded: LoadedPolicy, variant: str | None) -> LoadedPolicy:
    """``loaded`` as ``variant`` routes it (``None``: unchanged).

    Raises:
        ValueError: The policy declares no experiment or no such variant.
    """
    if variant is None:
        return loaded
    experiment = experiment_of(loaded.policy)
    if experiment is None:
        msg = f"{loaded.source} declares no experiment, so it has no variant {variant!r}"
        raise ValueError(msg)
    try:
        chosen = experiment.variant(variant)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from exc
    return replace(loaded, policy=apply_variant(loaded.policy, chosen))


def variant_routes(
    policy: Policy, signals: Signals, turns: Sequence[str], times: Mapping[str, Any] | None = None
) -> list[VariantRoute]:
    """Every variant's decision for the same signals (empty when the policy declares no experiment)."""
    experiment = experiment_of(policy)
    if experiment is None:
        return []
    context = {**(times or {}), **_context(signals, turns, "")}
    routes: list[VariantRoute] = []
    for variant in experiment.variants:
        fired, target = route(apply_variant(policy, variant), context)
        if fired == "stay":
            target = policy.default.target  # a new conversation: the default
        control = routes[0] if routes else None
        differs = control is not None and (control.fired, control.target) != (fired, target)
        routes.append(
            VariantRoute(
                variant=variant.name, share=variant.share, fired=fired, target=target, differs=differs
            )
        )
    return routes


def render_variant_routes(console: Console, experiment_id: str, routes: Sequence[VariantRoute]) -> None:
    """The variants side by side."""
    table = Table("variant", "share", "rule", "target", "vs control", title=f"experiment {experiment_id}")
    for r in routes:
        mark = "[yellow]differs[/]" if r.differs else ("control" if r is routes[0] else "same")
        table.add_row(escape(r.variant), f"{r.share:g}", escape(r.fired), escape(r.target), mark)
    console.print(table)
