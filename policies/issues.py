"""What is wrong with a policy file and where: issues with their line, column and path.

YAML syntax errors point at the mistake (a key without ':' is reported where the key is, not on the
next line where YAML noticed it); validation errors are located by walking the YAML node tree along
Pydantic's error location.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import yaml
from pydantic import ValidationError

from policies.bounded_yaml import LimitExceeded
from policies.limits import MAX_ISSUES, MAX_MESSAGE, clip, quote


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


def mark(node: yaml.Node) -> tuple[int, int]:
    """1-based line and column where ``node`` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def locate(root: yaml.Node | None, loc: Iterable[int | str]) -> tuple[int | None, int | None, str]:
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
    line, col = mark(node)
    return line, col, ".".join(parts).replace(".[", "[")


def issues_from_validation(error: ValidationError, root: yaml.Node | None) -> list[PolicyIssue]:
    """One issue per distinct problem of a validation error, at its place in the YAML."""
    issues: list[PolicyIssue] = []
    seen: set[tuple[int | None, str]] = set()
    for err in error.errors():
        line, col, path = locate(root, err["loc"])
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


def yaml_issue(exc: yaml.MarkedYAMLError, text: str = "") -> PolicyIssue:
    """The issue of a YAML syntax error, at the mistake rather than where YAML noticed it."""
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
