"""Every third-party module Baton's packages import at run time comes from a declared dependency.

A module that is only present because the dev extras or another package pulled it in works on a
developer's machine and fails in a fresh ``pip install baton``. The imports are read with ``ast`` (lazy
ones inside functions included, ``if TYPE_CHECKING:`` ones not) and mapped to the distribution that
ships them with ``importlib.metadata``.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import importlib.util
import re
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "nodes", "policies", "prompts", "evals", "api", "desk")


def _normal(name: str) -> str:
    """PEP 503 form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(spec: str) -> tuple[str, set[str]]:
    """Name and extras of a requirement string such as ``psycopg[binary,pool]>=3.2``."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", spec)
    assert match, spec
    extras = {e.strip() for e in (match.group(2) or "").split(",") if e.strip()}
    return _normal(match.group(1)), extras


def declared() -> set[str]:
    """Distributions the ``dependencies`` of pyproject.toml install, with what their extras add."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names: set[str] = set()
    for spec in project["dependencies"]:
        name, extras = _requirement(spec)
        names.add(name)
        for extra in extras:
            for requirement in metadata.requires(name) or []:
                marker = requirement.partition(";")[2]
                if re.search(rf"extra\s*==\s*['\"]{re.escape(extra)}['\"]", marker):
                    names.add(_requirement(requirement)[0])
    return names


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[str]:
    """Absolute module names imported anywhere in ``tree`` except under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for child in node.orelse for name in _imports(child))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        yield from _imports(node)


def runtime_imports() -> dict[str, list[str]]:
    """Third-party module -> the files of Baton's packages that import it."""
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for module in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                top = module.partition(".")[0]
                if top in sys.stdlib_module_names or top in PACKAGES or top == "__future__":
                    continue
                found.setdefault(module, []).append(str(path.relative_to(ROOT)))
    return found


@cache
def _owners() -> dict[str, list[str]]:
    return metadata.packages_distributions()


@cache
def _files_of(dist: str) -> frozenset[Path]:
    located = metadata.distribution(dist)
    return frozenset(Path(str(located.locate_file(f))).resolve() for f in located.files or [])


def distribution_of(module: str) -> str | None:
    """The distribution that ships ``module``: by top-level name, or by file for a shared namespace."""
    candidates = _owners().get(module.partition(".")[0], [])
    if len(set(candidates)) <= 1:
        return _normal(candidates[0]) if candidates else None
    parts = module.split(".")
    for end in range(len(parts), 0, -1):  # the deepest importable prefix has a file of its own
        spec = importlib.util.find_spec(".".join(parts[:end]))
        if spec is not None and spec.origin and spec.has_location:
            origin = Path(spec.origin).resolve()
            owners = [d for d in dict.fromkeys(candidates) if origin in _files_of(d)]
            if owners:
                return _normal(owners[0])
    return None


def test_every_runtime_import_is_a_declared_dependency() -> None:
    wanted = declared()
    missing: dict[str, list[str]] = {}
    for module, files in sorted(runtime_imports().items()):
        dist = distribution_of(module)
        if dist is None or dist not in wanted:
            missing.setdefault(dist or f"<no distribution ships {module}>", []).append(
                f"{module} ({', '.join(sorted(set(files)))})"
            )
    assert not missing, "add to [project] dependencies:\n" + "\n".join(
        f"  {dist}: {'; '.join(uses)}" for dist, uses in sorted(missing.items())
    )


def test_the_check_sees_imports_and_namespaces() -> None:
    """The checker itself: lazy imports count, TYPE_CHECKING ones do not, namespaces resolve by file."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import rich\n"
        "def serve():\n    import uvicorn\n"
    )
    assert list(_imports(tree)) == ["typing", "uvicorn"]
    assert distribution_of("langgraph.checkpoint.sqlite.aio") == "langgraph-checkpoint-sqlite"
    assert distribution_of("langgraph.graph") == "langgraph"
    assert "psycopg-pool" in declared(), "extras of a declared requirement count"
