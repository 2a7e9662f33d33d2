"""The attribute ruler's patterns looked up by word and tag instead of run through spaCy's ``Matcher``.

``en_core_web_sm``'s attribute ruler sets part of speech, morphology and a few lemmas from 186
patterns over a token's tag, lower-case form, dependency and whether it is a space (one or two
tokens; a value, a set of values, a set excluded, a regular expression). The ``Matcher`` tries them
all at every token: ~0.18 ms of a turn's parse. Here each pattern is filed under the first of those
attributes its first token lists, so a token reads the few patterns filed under its own word, tag,
dependency and spacing (and the two that open with a regular expression): 0.07 ms, the same
``(rule, start, end)`` matches on 13,699 dataset turns (``tests/test_attribute_rules.py``). The
ruler sorts and applies them with its own code. A pattern using anything else keeps the matcher, as
does a doc without tags or dependencies, or a ruler given more patterns after :func:`index_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

Test = Callable[["Token"], bool]
Rule = tuple[int, int, tuple[Test, ...]]  # (rule index, its match id, one test per token)
Match = tuple[int, int, int, int]  # what the ruler sorts and applies: (index, match id, start, end)

_READ: dict[str, Callable[[Token], Any]] = {
    "LOWER": lambda t: t.lower_,
    "TAG": lambda t: t.tag_,
    "DEP": lambda t: t.dep_,
    "IS_SPACE": lambda t: t.is_space,
}
_FILED_BY = ("LOWER", "TAG", "DEP", "IS_SPACE")  # in the order :meth:`_Lookup.matches` reads them


class Unsupported(Exception):
    """A pattern this module does not read exactly as the matcher does."""


def index_rules(nlp: Language) -> bool:
    """Give ``nlp``'s attribute ruler the indexed lookup; whether it could (else it is left alone)."""
    if "attribute_ruler" not in nlp.pipe_names:
        return False
    ruler: Any = nlp.get_pipe("attribute_ruler")
    try:
        lookup = _Lookup(ruler.patterns, ruler.vocab.strings)
    except Unsupported:
        return False
    matcher_match = ruler.match
    rules = len(ruler.attrs)

    def match(doc: Doc) -> list[Match]:
        if len(ruler.attrs) != rules or not (doc.has_annotation("TAG") and doc.has_annotation("DEP")):
            return matcher_match(doc)  # type: ignore[no-any-return]
        return lookup.matches(doc)

    ruler.match = match
    return True


class _Lookup:
    """The ruler's patterns filed by the word, tag, dependency or spacing their first token needs."""

    def __init__(self, patterns: Sequence[Mapping[str, Any]], strings: Any) -> None:
        # Each rule is filed under the first attribute its first token lists (a word, a tag, a
        # dependency, being a space); a token then reads the few rules filed under its own values.
        self.filed: dict[str, dict[Any, list[Rule]]] = {key: {} for key in _FILED_BY}
        self.anywhere: list[Rule] = []
        for index, group in enumerate(patterns):
            match_id = strings[str(index)]  # the key the ruler added the group under
            for pattern in group["patterns"]:
                rule = (index, match_id, tuple(_test(token) for token in pattern))
                for key in _FILED_BY:
                    values = _listed(pattern[0].get(key))
                    if values is not None:
                        for value in values:
                            self.filed[key].setdefault(value, []).append(rule)
                        break
                else:
                    self.anywhere.append(rule)

    def matches(self, doc: Doc) -> list[Match]:
        """What ``AttributeRuler.match`` returns for ``doc``: every match, sorted as the ruler sorts."""
        found: set[Match] = set()
        n = len(doc)
        words, tags, deps, spaces = (self.filed[key] for key in _FILED_BY)
        for start, token in enumerate(doc):
            for rules in (
                words.get(token.lower_),
                tags.get(token.tag_),
                deps.get(token.dep_),
                spaces.get(token.is_space),
                self.anywhere,
            ):
                for index, match_id, tests in rules or ():
                    end = start + len(tests)
                    if end <= n and all(test(doc[start + k]) for k, test in enumerate(tests)):
                        found.add((index, match_id, start, end))
        return sorted(found)


def _listed(value: Any) -> list[Any] | None:
    """The values a token attribute must take (one, or a set of them); ``None`` when not listed."""
    if isinstance(value, (str, bool)):
        return [value]
    if isinstance(value, Mapping) and set(value) == {"IN"}:
        return list(value["IN"])
    return None


def _test(spec: Mapping[str, Any]) -> Test:
    """One token's test: every attribute of ``spec`` as the matcher compares it."""
    checks: list[Test] = []
    for key, value in spec.items():
        read = _READ.get(key)
        if read is None:
            raise Unsupported(key)
        checks.append(_check(read, value))
    return lambda token: all(check(token) for check in checks)


def _check(read: Callable[[Token], Any], value: Any) -> Test:
    if isinstance(value, (str, bool)):
        return lambda token: bool(read(token) == value)
    if isinstance(value, Mapping) and len(value) == 1:
        ((op, arg),) = value.items()
        if op == "IN" and all(isinstance(v, str) for v in arg):
            members = frozenset(arg)
            return lambda token: read(token) in members
        if op == "NOT_IN" and all(isinstance(v, str) for v in arg):
            excluded = frozenset(arg)
            return lambda token: read(token) not in excluded
        if op == "REGEX" and isinstance(arg, str):
            regex = re.compile(arg)  # the matcher searches the attribute's text
            return lambda token: regex.search(read(token)) is not None
    raise Unsupported(repr(value))
