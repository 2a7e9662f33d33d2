"""Load and validate policy YAML; every error carries the file, line and column it refers to.

Hostile input is bounded at each step (see ``policies.limits``): the size before parsing, depth and
nodes (aliases expanded) while composing, sizes of names, texts and lists in the models, the length
of every message and the number of problems reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError

from policies.bounded_yaml import LimitExceeded, load
from policies.experiments import ExperimentPolicy, experiment_issues, experiment_of, variant_policies
from policies.field_ranges import conditions, range_warnings, rescaled
from policies.limits import MAX_BYTES, MAX_ISSUES, MAX_MESSAGE, clip, names, quote
from policies.models import Condition, Policy

HUMAN_NODE = "human_agent"


@dataclass(frozen=True)
class PolicyIssue:
    """One problem in a policy file, pointing at the exact place."""

    message: str
    line: int | None = None
    column: int | None = None
    path: str = ""

    def __post_init__(self) -> None:
        # A message may quote a key or value from the document: keep it (and the path) short.
        object.__setattr__(self, "message", clip(self.message))
        object.__setattr__(self, "path", clip(self.path, MAX_MESSAGE // 2))

    def render(self, source: str) -> str:
        """Format as ``file:line:col: path: message`` (the form editors and CI logs understand)."""
        where = source
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        loc = f" {self.path}:" if self.path else ""
        return f"{where}:{loc} {self.message}"


class PolicyError(ValueError):
    """A policy file could not be loaded; ``issues`` lists the problems found (at most ``MAX_ISSUES``)."""

    def __init__(self, source: str, issues: Sequence[PolicyIssue]) -> None:
        self.source = source
        self.issues = list(issues[:MAX_ISSUES])
        if len(issues) > MAX_ISSUES:
            self.issues.append(PolicyIssue(f"... and {len(issues) - MAX_ISSUES} more problems"))
        super().__init__("\n".join(issue.render(source) for issue in self.issues))


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


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _locate(root: yaml.Node | None, loc: Iterable[int | str]) -> tuple[int | None, int | None, str]:
    """Walk the YAML node tree along a Pydantic error location; stop at the deepest node found."""
    node = root
    parts: list[str] = []
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                # Pydantic names union members ("Condition", "AllOf"); those are not YAML keys.
                if (isinstance(key, str) and key[:1].isupper()) or "[" in str(key):
                    continue
                # An unknown key: point at the key itself.
                key_node = next((k for k, _ in node.value if getattr(k, "value", None) == key), None)
                if key_node is not None:
                    node = key_node
                parts.append(str(key))
                break
            node = match
            parts.append(str(key))
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            parts.append(f"[{key}]")
        else:
            continue
    if node is None:
        return None, None, ".".join(parts)
    line, col = _mark(node)
    return line, col, ".".join(parts).replace(".[", "[")


def _issues_from_validation(error: ValidationError, root: yaml.Node | None) -> list[PolicyIssue]:
    issues: list[PolicyIssue] = []
    seen: set[tuple[int | None, str]] = set()
    for err in error.errors():
        line, col, path = _locate(root, err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {quote(err['loc'][-1])}"
        elif err["type"] == "literal_error" and err["loc"][-1] == "op":
            msg = f"unknown operator {quote(err['input'])}. {msg}"
        key = (line, msg)
        if key in seen:
            continue
        seen.add(key)
        issues.append(PolicyIssue(msg, line, col, path))
    # Union errors repeat once per member; keep the most specific (deepest) few.
    return issues


def _runaway_key(text: str, exc: yaml.MarkedYAMLError) -> yaml.Mark | None:
    """Where a key without ':' starts, when YAML read it as text running into the next line.

    ``description wants X`` followed by ``examples: ...`` is one plain scalar over two lines, and the
    ':' on the second line is the error YAML reports, a line below the mistake.
    """
    if not (exc.problem or "").startswith("mapping values are not allowed") or exc.problem_mark is None:
        return None
    last: yaml.Token | None = None
    try:
        for token in yaml.scan(text):
            last = token
    except yaml.YAMLError:
        pass
    if isinstance(last, yaml.ScalarToken) and last.plain and last.start_mark.line < exc.problem_mark.line:
        start: yaml.Mark = last.start_mark
        return start
    return None


def _yaml_issue(exc: yaml.MarkedYAMLError, text: str = "") -> PolicyIssue:
    # "while scanning" a token (a key without ':', an unclosed quote): the scanner notices at the next
    # line or at the end, but the mistake is the token, where the context mark points. "while parsing"
    # errors point at the offending token itself.
    scanning = bool(exc.context and exc.context.startswith("while scanning") and exc.context_mark)
    mark = exc.context_mark if scanning else exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    col = mark.column + 1 if mark else None
    prefix = "" if isinstance(exc, LimitExceeded) else "YAML error: "
    problem = exc.problem or str(exc)
    if exc.context == "while scanning a simple key":
        problem = "this line needs a ':' after its key (or it is a continuation indented too far)"
    runaway = _runaway_key(text, exc) if text else None
    if runaway is not None:
        mark = runaway
        line, col = mark.line + 1, mark.column + 1
        problem = "this line needs a ':' after its key (YAML read it as text running into the next line)"
    return PolicyIssue(f"{prefix}{problem}", line, col)


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
        raise PolicyError(source, [_yaml_issue(exc, text)]) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(source, [PolicyIssue(f"YAML error: {exc}")]) from exc
    if not isinstance(data, dict):
        line = _mark(root)[0] if root is not None else 1
        raise PolicyError(source, [PolicyIssue("a policy must be a YAML mapping", line, 1)])
    try:
        return ExperimentPolicy.model_validate(data), root  # a Policy that may declare an experiment
    except ValidationError as exc:
        raise PolicyError(source, _issues_from_validation(exc, root)) from exc


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
        line, col, path = _locate(root, loc)
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
        line, col, path = _locate(root, ("experiment", "variants", i))
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
            line, col, path = _locate(root, loc)
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
