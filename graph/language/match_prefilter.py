"""Whether spaCy's ``Matcher`` could find anything in a doc, told from one token each pattern needs.

Running the grammar's matcher over a turn costs ~0.2 ms even when nothing in it is a time, a date, an
amount or an address (most turns): the patterns' optional and repeated tokens keep partial matches
open token by token. Every pattern has tokens a match must contain (no ``OP``, or ``+``); if no token of
the doc meets the condition kept for each pattern, no pattern can match and the matcher need not run.
The conditions are taken from the patterns themselves (an exact word, a set of words, a regular
expression, looking like a number), so a pattern added later is covered too; a pattern with no
condition this module reads makes it answer "possible" for every doc, which only costs the time saved.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.tokens import Doc

# The matcher reads LOWER from ``token.lower_`` and TEXT / ORTH from ``token.text``.
_ATTRS = {"LOWER": "lower", "TEXT": "text", "ORTH": "text"}
_MUST_APPEAR = (None, "+")

Condition = tuple[str, str, Any]  # (kind, token attribute, words or regular expression)


@dataclass
class Prefilter:
    """A necessary condition of each of a set of patterns, gathered by token attribute."""

    words: dict[str, set[str]] = field(default_factory=lambda: {"lower": set(), "text": set()})
    regexes: dict[str, list[re.Pattern[str]]] = field(default_factory=lambda: {"lower": [], "text": []})
    like_num: bool = False
    always: bool = False  # some pattern has no condition read here: every doc is possible
    # Each attribute's regular expressions as one search where joining them keeps each one's meaning.
    searches: dict[str, list[re.Pattern[str]]] = field(default_factory=lambda: {"lower": [], "text": []})

    @classmethod
    def of(cls, patterns: Iterable[Sequence[Mapping[str, Any]]], common: Collection[str] = ()) -> Prefilter:
        """The prefilter of ``patterns`` (each a list of token specs, as ``Matcher.add`` takes them).

        Of the conditions a pattern states, the rarest is kept: a word of ``common`` (stop words: "the"
        starts "the 5th of march") is met by most turns and would let them all through.
        """
        out = cls()
        for pattern in patterns:
            found = [c for token in pattern if token.get("OP") in _MUST_APPEAR for c in _conditions(token)]
            if not found:
                out.always = True
                continue
            kind, attr, arg = min(found, key=lambda c: _commonness(c, common))
            if kind == "words":
                out.words[attr].update(arg)
            elif kind == "regex" and all(r.pattern != arg for r in out.regexes[attr]):
                out.regexes[attr].append(re.compile(arg))  # the matcher's own test: a search
            elif kind == "like_num":
                out.like_num = True
        out.searches = {attr: _joined(regexes) for attr, regexes in out.regexes.items()}
        return out

    def possible(self, doc: Doc) -> bool:
        """Whether some pattern's condition holds for some token of ``doc`` (else no pattern matches)."""
        if self.always:
            return True
        lower_words, text_words = self.words["lower"], self.words["text"]
        lower_res, text_res = self.searches["lower"], self.searches["text"]
        for token in doc:
            lower, text = token.lower_, token.text
            if lower in lower_words or text in text_words or (self.like_num and token.like_num):
                return True
            if any(r.search(lower) for r in lower_res) or any(r.search(text) for r in text_res):
                return True
        return False


# Back references count groups and inline flags apply to the whole pattern: joined, they change meaning.
_NOT_JOINABLE = re.compile(r"\\[1-9]|\(\?P=|\(\?[aiLmsux]")


def _joined(regexes: list[re.Pattern[str]]) -> list[re.Pattern[str]]:
    """``regexes`` as one alternation (a search finds it iff it finds one of them), where that is safe."""
    if len(regexes) < 2 or any(_NOT_JOINABLE.search(r.pattern) for r in regexes):
        return regexes
    return [re.compile("|".join(f"(?:{r.pattern})" for r in regexes))]


def _conditions(token: Mapping[str, Any]) -> list[Condition]:
    """The conditions of one token spec this module can test (each one necessary for the token)."""
    out: list[Condition] = []
    for key, value in token.items():
        attr = _ATTRS.get(key)
        if attr is not None and isinstance(value, str):
            out.append(("words", attr, frozenset([value])))
        elif attr is not None and isinstance(value, Mapping) and len(value) == 1:
            ((op, arg),) = value.items()
            if op == "IN" and all(isinstance(v, str) for v in arg):
                out.append(("words", attr, frozenset(arg)))
            elif op == "REGEX" and isinstance(arg, str):
                out.append(("regex", attr, arg))
        elif key == "LIKE_NUM" and value is True:
            out.append(("like_num", "", None))
    return out


def _commonness(condition: Condition, common: Collection[str]) -> tuple[int, int]:
    """How often a turn may meet ``condition``: common words first, then the size of the word set."""
    kind, _, arg = condition
    if kind != "words":
        return (0, 1)  # a shape of digits, or a number: rarer in a turn than most words
    return (sum(word in common for word in arg), len(arg))
