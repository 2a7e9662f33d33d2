"""Every regular expression in the package runs in linear time on adversarial input.

Python's ``re`` backtracks and holds the GIL for a whole match, so one pattern that is quadratic on a
long run of letters stalls the event loop and every thread of the server (a 200 KB message once froze
it for minutes). These tests collect every pattern the package compiles or hands to ``re`` and run
each on 100,000-character adversarial texts in a worker process. An operation that does not finish
within the watchdog fails: the watchdog is a safety net for hangs, not a speed assertion.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import os
import pkgutil
import queue
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from policies.loader import load_policy
from policies.models import AllOf, AnyOf, When

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "nodes", "evals", "api", "desk", "policies")
TEXT_CHARS = 100_000
WATCHDOG_S = 2.0

# Positional index of ``flags`` in each ``re`` function that takes a pattern first.
_FLAGS_AT = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2, "findall": 2, "finditer": 2}
_FLAGS_AT |= {"sub": 4, "subn": 4, "split": 3}

# ``re`` calls whose pattern is not a literal, and why every pattern reaching them is still checked.
# (A policy's ``matches`` operand runs on the ``regex`` engine with a time limit, policies/evaluator.py;
# the shipped policies' operands are collected below all the same.)
INDIRECT_SITES = {
    ("graph.case_memory", "scrub"): "re.escape of a stored value: a literal, linear by construction",
    ("graph.context.changes", "_standing"): "re.escape of a fact's value: a literal, linear by construction",
    ("graph.context.changes", "_denied"): (
        "four fixed words, one optional word and re.escape of a fact's value: no nested repetition"
    ),
    ("graph.language.match_prefilter", "of"): (
        "the grammar's REGEX conditions (graph/language/grammar.py): compiled into grammar._PREFILTER,"
        " which the collector reads"
    ),
    ("graph.language.match_prefilter", "_joined"): "those conditions joined: also in grammar._PREFILTER",
    ("graph.language.attribute_rules", "_check"): (
        "the spaCy model's attribute-ruler REGEX conditions: collected by _model_patterns"
    ),
}


@dataclass(frozen=True)
class Found:
    """One pattern and where it was found."""

    source: str
    flags: int
    where: str


def _modules() -> Iterator[ModuleType]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            yield importlib.import_module(info.name)


def _patterns_in(value: object, depth: int = 0) -> Iterator[re.Pattern[str]]:
    """Compiled patterns in a value, looking inside tuples, lists, sets, dicts and dataclasses."""
    if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
        yield value
    elif depth < 3 and dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in vars(value).values():
            yield from _patterns_in(item, depth + 1)
    elif depth < 3 and isinstance(value, tuple | list | set | frozenset):
        for item in value:
            yield from _patterns_in(item, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for item in value.values():
            yield from _patterns_in(item, depth + 1)


def _enclosing(tree: ast.AST) -> dict[ast.AST, str]:
    """Map every node to the name of the function (or ``<module>``) it appears in."""
    owner: dict[ast.AST, str] = {}

    def walk(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else name
            owner[child] = inner
            walk(child, inner)

    walk(tree, "<module>")
    return owner


def _re_calls(module: ModuleType) -> Iterator[tuple[str, ast.Call, str]]:
    """``(function, call, enclosing function)`` for every ``re.<function>(...)`` in the source."""
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    owner = _enclosing(tree)
    for node in ast.walk(tree):
        func = node.func if isinstance(node, ast.Call) else None
        if (
            isinstance(node, ast.Call)
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "re"
            and func.attr in _FLAGS_AT
            and node.args
        ):
            yield func.attr, node, owner.get(node, "<module>")


def _evaluate(node: ast.expr, module: ModuleType) -> object:
    return eval(compile(ast.Expression(node), "<pattern>", "eval"), vars(module))


def _literal_call(fn: str, call: ast.Call, module: ModuleType) -> Found | None:
    """The pattern and flags of a ``re`` call when both evaluate from module globals, else None."""
    try:
        source = _evaluate(call.args[0], module)
        flag_node = next((k.value for k in call.keywords if k.arg == "flags"), None)
        if flag_node is None and len(call.args) > _FLAGS_AT[fn]:
            flag_node = call.args[_FLAGS_AT[fn]]
        flags = int(_evaluate(flag_node, module)) if flag_node is not None else 0  # type: ignore[call-overload]
    except (NameError, AttributeError):
        return None  # the pattern is a local value: it must be listed in INDIRECT_SITES
    if isinstance(source, re.Pattern):
        return Found(source.pattern, source.flags, f"{module.__name__}:{call.lineno}")
    if not isinstance(source, str):
        return None
    return Found(source, flags, f"{module.__name__}:{call.lineno}")


def _policy_patterns() -> Iterator[Found]:
    def walk(when: When) -> Iterator[str]:
        if isinstance(when, AllOf):
            for sub in when.all:
                yield from walk(sub)
        elif isinstance(when, AnyOf):
            for sub in when.any:
                yield from walk(sub)
        elif when.op == "matches":
            yield str(when.value)

    for path in sorted((ROOT / "policies").glob("*.yaml")):
        for rule in load_policy(path).policy.rules:
            for source in walk(rule.when):
                yield Found(source, re.IGNORECASE, f"{path.name}:{rule.id}")


def _model_patterns() -> Iterator[Found]:
    """The REGEX conditions of the spaCy model's attribute ruler, which graph/language/attribute_rules.py
    compiles and runs on each token."""
    from graph.language import shared_pipeline

    pipeline = shared_pipeline()
    pipeline.warm()
    assert pipeline._nlp is not None
    for group in pipeline._nlp.get_pipe("attribute_ruler").patterns:
        for pattern in group["patterns"]:
            for token in pattern:
                for value in token.values():
                    if isinstance(value, dict) and "REGEX" in value:
                        yield Found(value["REGEX"], 0, "attribute_ruler")


def collect() -> tuple[list[Found], set[tuple[str, str]]]:
    """Every distinct pattern of the package, and the ``re`` call sites with a non-literal pattern."""
    found: dict[tuple[str, int], Found] = {}
    indirect: set[tuple[str, str]] = set()
    for module in _modules():
        for value in vars(module).values():
            for pattern in _patterns_in(value):
                key = (pattern.pattern, pattern.flags & ~re.UNICODE)
                found.setdefault(key, Found(pattern.pattern, pattern.flags, module.__name__))
        for fn, call, owner in _re_calls(module):
            literal = _literal_call(fn, call, module)
            if literal is None:
                indirect.add((module.__name__, owner))
                continue
            compiled = re.compile(literal.source, literal.flags)
            found.setdefault((compiled.pattern, compiled.flags & ~re.UNICODE), literal)
    for extra in (*_policy_patterns(), *_model_patterns()):
        compiled = re.compile(extra.source, extra.flags)
        found.setdefault((compiled.pattern, compiled.flags & ~re.UNICODE), extra)
    return sorted(found.values(), key=lambda f: f.where), indirect


# A text is ``prefix + unit * k + tail``, cut to TEXT_CHARS: long runs of one kind of character, each
# ending where a match would have to give up, and the pattern's own words repeated or leading a run.
_UNITS = (
    "a",
    "A",
    "1",
    " ",
    ".",
    "-",
    "@",
    ",",
    "'",
    "\n",
    "_",
    "a.",
    "a ",
    "1 ",
    "1,",
    "a-",
    "Aa ",
    "a1",
    "a@",
)
_LEADS = (("1", ",111"), ("$1", ",111"), ("1", " "), ("a", " "), ("A", " "), ("1 ", "a"), ("1.", "1"))
_RUNS_AFTER_WORD = (" ", "a", "Aa ")


def _words(source: str, limit: int = 3) -> list[str]:
    """Up to ``limit`` literal words of a pattern, the first one (often its cue) included, spread evenly."""
    plain = re.sub(r"\\.|\(\?P?<\w+>|\(\?[a-zA-Z]+", " ", source)  # escapes and group syntax
    words = list(dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z']+", plain)))
    if len(words) <= limit:
        return words
    step = (len(words) - 1) / (limit - 1)
    return [words[round(i * step)] for i in range(limit)]


def adversarial(source: str) -> list[tuple[str, str, str]]:
    """``(prefix, unit, tail)`` triples for one pattern."""
    texts = []
    for unit in _UNITS:
        other = "a" if unit[-1] in "0123456789 " else "1"  # a run of digits that ends in a letter...
        texts += [("", unit, "!"), ("", unit, other)]
    texts += [(lead, unit, tail) for lead, unit in _LEADS for tail in ("!", "x")]
    words = _words(source)
    for word in words:
        texts += [("", word + " ", "!"), ("", word.capitalize(), "!")]
        texts += [(word + " ", run, "!") for run in _RUNS_AFTER_WORD]
    if words:
        texts.append(("", " ".join(words) + " 1 ", "!"))
    return texts


# The worker writes one byte per finished operation; the parent counts them against the watchdog.
_WORKER = r"""
import json, re, sys
out = sys.stdout.buffer
for line in sys.stdin:
    job = json.loads(line)
    pattern = re.compile(job["source"], job["flags"])
    for prefix, unit, tail in job["texts"]:
        body = max(0, job["chars"] - len(prefix) - len(tail))
        text = prefix + (unit * (body // len(unit) + 1))[:body] + tail
        pattern.subn("", text)
        out.write(b"."); out.flush()
        pattern.fullmatch(text)
        out.write(b"."); out.flush()
"""
# subn finds every match as finditer does, without a Python object per match; its first step is
# search(). fullmatch forces a match to reach the end.
_OPS = ("subn", "fullmatch")


class Worker:
    """A child process that runs patterns; killed and replaced when one overruns the watchdog."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
            )
        return self._proc

    def stop(self) -> None:
        """Kill the child process, if any."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def overruns(self, source: str, flags: int, texts: list[tuple[str, str, str]]) -> str | None:
        """Describe the first operation that overran the watchdog, or None when all finished."""
        proc = self._start()
        assert proc.stdin is not None
        assert proc.stdout is not None
        job = {"source": source, "flags": flags, "texts": texts, "chars": TEXT_CHARS}
        proc.stdin.write(json.dumps(job).encode() + b"\n")
        done, expected = 0, len(texts) * len(_OPS)
        while done < expected:
            ready, _, _ = select.select([proc.stdout], [], [], WATCHDOG_S)
            chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                self.stop()
                prefix, unit, tail = texts[done // len(_OPS)]
                what = f"{_OPS[done % len(_OPS)]} on {prefix!r} + {unit!r} * n + {tail!r}"
                return what if not ready else f"the worker died during {what}"
            done += len(chunk)
        return None


def overruns_all(patterns: list[Found], workers: int = 2) -> list[str]:
    """Run every pattern on its adversarial texts, ``workers`` child processes at a time."""
    todo: queue.SimpleQueue[Found] = queue.SimpleQueue()
    for found in patterns:
        todo.put(found)

    def drain(_: int) -> list[str]:
        worker, failures = Worker(), []
        try:
            while not todo.empty():
                found = todo.get()
                overrun = worker.overruns(found.source, found.flags, adversarial(found.source))
                if overrun:
                    failures.append(f"{found.where}: {found.source[:80]!r}: {overrun}")
        finally:
            worker.stop()
        return failures

    with ThreadPoolExecutor(workers) as pool:
        return sorted(f for failures in pool.map(drain, range(workers)) for f in failures)


@pytest.fixture(scope="module")
def collected() -> tuple[list[Found], set[tuple[str, str]]]:
    return collect()


def test_collector_finds_the_package_patterns(collected: tuple[list[Found], set[tuple[str, str]]]) -> None:
    from graph.language.patterns import CONTACT_RE, EMAIL_RE, MONEY_RE

    sources = {f.source for f in collected[0]}
    assert {CONTACT_RE.pattern, EMAIL_RE.pattern, MONEY_RE.pattern} <= sources
    assert r"(?<=\d)[,\s.-](?=\d{3}\b)" in sources  # an inline re.sub literal in graph/textutil.py
    # patterns that live in a dataclass (the grammar's prefilter, joined too) and in the spaCy model
    from graph.language.grammar import _PREFILTER

    assert {
        r.pattern for rs in (*_PREFILTER.regexes.values(), *_PREFILTER.searches.values()) for r in rs
    } <= sources
    assert "^n[ou]thin'$" in sources
    # the collector reaches every module (the count falls as the language layer replaces hand patterns)
    assert len(sources) > 60


def test_every_indirect_re_call_is_accounted_for(collected: tuple[list[Found], set[tuple[str, str]]]) -> None:
    # A new ``re.search(variable, ...)`` must say where its patterns come from and how they are checked.
    assert collected[1] == set(INDIRECT_SITES)


def test_watchdog_catches_a_backtracking_pattern() -> None:
    # The shape of the contact pattern that froze the server: quadratic on a long run of letters.
    backtracking = Found(r"[\w.+-]+@[\w-]+\.[\w.]+", 0, "the old contact pattern")
    linear = Found(r"\b(?:lien|trust)\b", re.I, "a plain alternation")
    assert overruns_all([backtracking, linear]) == [
        "the old contact pattern: '[\\\\w.+-]+@[\\\\w-]+\\\\.[\\\\w.]+': subn on '' + 'a' * n + '!'"
    ]


@pytest.mark.slow
def test_no_pattern_backtracks_on_adversarial_input(
    collected: tuple[list[Found], set[tuple[str, str]]],
) -> None:
    failures = overruns_all(collected[0])
    assert not failures, f"{len(failures)} pattern(s) overran {WATCHDOG_S}s:\n" + "\n".join(failures)
