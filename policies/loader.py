"""Load and validate policy YAML; every error carries the file, line and column it refers to.

Hostile input is bounded at each step (see ``policies.limits``): the size before parsing, depth and
nodes (aliases expanded) while composing, sizes of names, texts and lists in the models, the length
of every message and the number of problems reported. Issues and how they are located in the YAML:
``policies.issues`` (``PolicyError`` and ``PolicyIssue`` are imported from here too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError

from policies.bounded_yaml import load
from policies.experiments import ExperimentPolicy, experiment_issues, experiment_of, variant_policies
from policies.field_ranges import conditions, range_warnings, rescaled
from policies.issues import PolicyError as PolicyError
from policies.issues import PolicyIssue as PolicyIssue
from policies.issues import issues_from_validation, locate, mark, yaml_issue
from policies.limits import MAX_BYTES, names, quote
from policies.models import Condition, Policy

HUMAN_NODE = "human_agent"


@dataclass(frozen=True)
class FieldSpec:
    """What a condition field holds, so `property_value > "abc"` is caught at load time.

    ``minimum``/``maximum`` are the range the field can take: a comparison that can never hold
    inside it (``lead_score >= 80`` on a 0-10 score) loads with a warning. ``old_maximum`` marks a
    field whose scale grew (``lead_score`` ran 0-1, now 0-10): a fraction strictly between 0 and
    ``old_maximum`` in an old policy is read on the old scale, rescaled, and warned about. ``many``
    marks a field that holds a list of ``kind`` values (``intents``), tested with ``contains``.
    """

    kind: type | tuple[type, ...]
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    old_maximum: float | None = None
    description: str = ""
    many: bool = False


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy plus where it came from and its content hash (the policy version)."""

    policy: Policy
    version: str
    source: str
    text: str = field(repr=False)
    warnings: tuple[PolicyIssue, ...] = ()


def policy_version(text: str) -> str:
    """Content hash that identifies a policy revision in every routing decision."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _check_size(text: str, source: str) -> None:
    """Refuse a document over ``MAX_BYTES`` (or not encodable) before any parsing work."""
    try:
        size = len(text) if len(text) > MAX_BYTES else len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        msg = f"the policy is not valid text: {exc.reason} (character {exc.start + 1})"
        raise PolicyError(source, [PolicyIssue(msg)]) from exc
    if size > MAX_BYTES:
        raise PolicyError(source, [PolicyIssue(f"the policy is over {MAX_BYTES:,} bytes, the limit")])


def parse_policy(text: str, source: str = "<policy>") -> tuple[Policy, yaml.Node | None]:
    """Parse YAML text into a ``Policy`` (structure only; see ``validate_policy`` for references)."""
    _check_size(text, source)
    try:
        root, data = load(text)
    except yaml.MarkedYAMLError as exc:
        raise PolicyError(source, [yaml_issue(exc, text)]) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(source, [PolicyIssue(f"YAML error: {exc}")]) from exc
    if not isinstance(data, dict):
        line = mark(root)[0] if root is not None else 1
        raise PolicyError(source, [PolicyIssue("a policy must be a YAML mapping", line, 1)])
    try:
        return ExperimentPolicy.model_validate(data), root  # a Policy that may declare an experiment
    except ValidationError as exc:
        raise PolicyError(source, issues_from_validation(exc, root)) from exc


# Fields whose values are the policy's intent names.
_INTENT_FIELDS = frozenset({"intent", "intents"})


def _check_condition(cond: Condition, spec: FieldSpec, intents: Iterable[str]) -> str | None:
    values = cond.value if isinstance(cond.value, list) else [cond.value]
    if spec.many and cond.op != "contains":
        return f"field {quote(cond.field)} holds a list; test it with 'contains'"
    if cond.op == "contains" and not spec.many:
        return f"'contains' tests a list field; {quote(cond.field)} holds one value (use '==' or 'in')"
    if cond.op == "matches":
        return (
            None
            if spec.kind is str or str in get_args(spec.kind) or spec.kind == (str,)
            else (f"field {quote(cond.field)} is not text; 'matches' needs text")
        )
    if cond.field in _INTENT_FIELDS:
        known = set(intents)
        unknown = [v for v in values if v not in known and v != "unknown"]
        if known and unknown:
            return f"unknown intent {quote(unknown[0])}; declared intents: {names(known)}"
    for v in values:
        if spec.choices and v not in spec.choices:
            return (
                f"{quote(v)} is not a valid value of {quote(cond.field)}; choose one of {list(spec.choices)}"
            )
        if (
            v is not None
            and not isinstance(v, spec.kind)
            and not (isinstance(v, int | float) and not isinstance(v, bool) and float in _kinds(spec.kind))
        ):
            kinds = "/".join(k.__name__ for k in _kinds(spec.kind))
            return f"field {quote(cond.field)} holds {kinds}, got {quote(v)}"
    return None


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def validate_policy(
    policy: Policy,
    root: yaml.Node | None,
    source: str,
    *,
    nodes: Iterable[str] | None = None,
    fields: Mapping[str, FieldSpec] | None = None,
    name: str | None = None,
) -> None:
    """Check references a schema cannot: targets are registered nodes, fields and values exist.

    Args:
        policy: The parsed policy.
        root: Its YAML node tree, for line numbers.
        source: File name for messages.
        nodes: Registered graph node names; ``None`` skips the check.
        fields: Condition fields and their types; ``None`` skips the check. Names under
            ``customer.`` (the widget's customer profile) are always allowed.
        name: The name the policy must have (a published policy keeps its name); ``None`` skips it.

    Raises:
        PolicyError: With every problem found.
    """
    issues: list[PolicyIssue] = []

    def add(msg: str, *loc: int | str) -> None:
        line, col, path = locate(root, loc)
        issues.append(PolicyIssue(msg, line, col, path))

    if name is not None and policy.name != name:
        add(f"the policy is named {quote(policy.name)}; a policy keeps its name ({quote(name)})", "name")
    node_set = set(nodes) if nodes is not None else None
    for target_name, target in policy.targets.items():
        if target.kind == "bot" and node_set is not None and target_name not in node_set:
            add(
                f"target {quote(target_name)} is not a registered bot node; known: {names(node_set)}",
                "targets",
                target_name,
            )
    if policy.entry not in policy.targets or policy.targets[policy.entry].kind != "bot":
        add(f"entry {quote(policy.entry)} must be a bot target", "entry")
    if policy.default.target not in policy.targets:
        add(
            f"default target {quote(policy.default.target)} is not declared under targets",
            "default",
            "target",
        )
    seen_ids: set[str] = set()
    for i, rule in enumerate(policy.rules):
        if rule.id in seen_ids:
            add(f"duplicate rule id {quote(rule.id)}", "rules", i, "id")
        seen_ids.add(rule.id)
        for key, refs in (("target", [rule.target] if rule.target else []), ("consult", rule.consult)):
            for ref in refs:
                if ref not in policy.targets:
                    add(f"{key} {quote(ref)} is not declared under targets", "rules", i, key)
                elif key == "consult" and policy.targets[ref].kind != "bot":
                    add(f"cannot consult {quote(ref)}: only bots can be consulted", "rules", i, key)
        if fields is None:
            continue
        for cond, loc in conditions(rule.when, ("rules", i, "when")):
            if cond.field.startswith("customer."):
                continue
            spec = fields.get(cond.field)
            if spec is None:
                add(f"unknown field {quote(cond.field)}; known fields: {names(fields)}", *loc, "field")
                continue
            problem = _check_condition(cond, spec, policy.intents)
            if problem:
                add(problem, *loc, "value")
    for message, loc in experiment_issues(policy):
        add(message, *loc)
    if not issues and experiment_of(policy) is not None:
        _check_variants(policy, root, source, nodes=nodes, fields=fields)
    if issues:
        raise PolicyError(source, issues)


def _check_variants(
    policy: Policy,
    root: yaml.Node | None,
    source: str,
    *,
    nodes: Iterable[str] | None,
    fields: Mapping[str, FieldSpec] | None,
) -> None:
    """Each variant's policy must be as valid as the policy itself (its targets, fields and values)."""
    issues: list[PolicyIssue] = []
    for i, (variant, varied) in enumerate(variant_policies(policy)):
        line, col, path = locate(root, ("experiment", "variants", i))
        try:
            validate_policy(varied, None, source, nodes=nodes, fields=fields)
        except PolicyError as exc:
            issues += [
                PolicyIssue(f"variant {variant.name}: {e.message}", line, col, path) for e in exc.issues
            ]
    if issues:
        raise PolicyError(source, issues)


def load_policy_text(
    text: str,
    source: str = "<policy>",
    *,
    nodes: Iterable[str] | None = None,
    fields: Mapping[str, FieldSpec] | None = None,
    name: str | None = None,
) -> LoadedPolicy:
    """Parse and fully validate policy text (see ``validate_policy`` for the keyword arguments)."""
    policy, root = parse_policy(text, source)
    validate_policy(policy, root, source, nodes=nodes, fields=fields, name=name)
    warnings: list[PolicyIssue] = []
    if fields is not None:
        policy, notes = rescaled(policy, fields)
        for message, loc in [*notes, *range_warnings(policy, fields)]:
            line, col, path = locate(root, loc)
            warnings.append(PolicyIssue(message, line, col, path))
    return LoadedPolicy(
        policy=policy, version=policy_version(text), source=source, text=text, warnings=tuple(warnings)
    )


def load_policy(
    path: Path, *, nodes: Iterable[str] | None = None, fields: Mapping[str, FieldSpec] | None = None
) -> LoadedPolicy:
    """Read and validate a policy file; a file over ``MAX_BYTES`` is refused without reading it all."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PolicyError(source, [PolicyIssue(f"cannot read policy: {exc.strerror}")]) from exc
    if len(raw) > MAX_BYTES:
        raise PolicyError(source, [PolicyIssue(f"the policy file is over {MAX_BYTES:,} bytes, the limit")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"the policy is not UTF-8 text: {exc.reason} (byte {exc.start + 1})"
        raise PolicyError(source, [PolicyIssue(msg)]) from exc
    # Universal newlines, as Path.read_text gives: the version hash of a CRLF file stays the same.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return load_policy_text(text, source, nodes=nodes, fields=fields)
