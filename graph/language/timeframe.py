"""When the customer wants to move: the time phrases of a turn, and the horizon a duration gives.

A timeline is a modifier ("I need to sell my condo *ASAP*", "we'd like to buy *within two months*"),
so it is read from the phrase, not from the whole clause, whose meaning is about the house. A phrase
is a date or duration the model tags (``DATE``), an adverb that is not a function word ("ASAP",
"eventually"), a phrase in "a hurry" / "a rush", or a short clause ("No rush.", "It's urgent").

A duration with a number and a unit ("two months", "next week", "in 30 days") has a horizon computed
from it; any other phrase is placed by its nearest timeline prototype (:mod:`graph.language.cues`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from graph.language.scope import Clause, negated

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_UNIT_DAYS: Final = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365}
_COUNTS: Final = {
    "a": 1,
    "an": 1,
    "one": 1,
    "next": 1,
    "this": 0.5,
    "two": 2,
    "couple": 2,
    "three": 3,
    "few": 3,
    "four": 4,
    "several": 4,
    "five": 5,
    "six": 6,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
}
# Horizons in days: up to ~6 weeks is immediate, under a year moderate, a year and more long.
IMMEDIATE_DAYS: Final = 45
LONG_DAYS: Final = 365
_SHORT_CLAUSE_WORDS: Final = 4


# Verbs whose complement is a plan or a wish: a time phrase under one says when the customer wants it.
# Words that put a date ahead of now: "in two weeks", "within 30 days", "by June", "next month".
_AHEAD = frozenset({"in", "within", "by", "next", "before", "until"})
_PLANNING = frozenset(
    {"want", "need", "hope", "plan", "like", "wish", "intend", "aim", "expect", "have", "must"}
)


def _about_a_plan(root: Token) -> bool:
    """Whether a time phrase dates something wanted or planned, not something that happened.

    The nearest verb above the phrase decides: a wish, a plan or a modal ("We need to move *next
    month*", "Can we list it *this week*?") counts, a past tense ("I got it *8 days ago*", "I tried it
    *this morning*") does not, and neither does a question about time ("*How long* does it take?").
    Otherwise an imperative, a fragment ("*ASAP* please"), a predicate ("it's *urgent*") or a date
    ahead ("the job starts *in two weeks*") counts.
    """
    if root.doc[root.left_edge.i].tag_ in ("WRB", "WP", "WDT"):
        return False
    node, head = root, None
    while True:
        if node.pos_ in ("VERB", "AUX"):
            head = node
            if node.tag_ == "MD" or any(c.tag_ == "MD" for c in node.children):
                return True
            if node.lemma_.lower() in _PLANNING:
                return True
            if node.tag_ in ("VBD", "VBN") or any(c.tag_ == "VBD" for c in node.children):
                return False
        if node.head.i == node.i or (head is not None and _is_boundary(node)):
            break
        node = node.head
    if head is None:
        return True  # a fragment: "No rush.", "ASAP please"
    imperative = head.tag_ == "VB" and not any(c.dep_ in ("nsubj", "aux") for c in head.children)
    words = [*root.doc[root.left_edge.i : root.i + 1], root.head]  # "three weeks" and its "in"
    ahead = any(t.lower_ in _AHEAD for t in words)
    return imperative or ahead or root.pos_ == "ADJ" or root.dep_ in ("acomp", "attr")


def _is_boundary(node: Token) -> bool:
    return node.dep_ in ("ROOT", "conj", "advcl", "parataxis", "ccomp", "relcl")


@dataclass(frozen=True)
class TimePhrase:
    """A phrase that may say when; ``label`` is set when its duration decides it."""

    text: str
    start: int
    end: int
    negated: bool
    label: str | None = None


def _days(span: Span) -> float | None:
    """Days a duration phrase spans ("two months" -> 60, "next week" -> 7), None without a unit."""
    count: float | None = None
    for tok in span:
        word = tok.lower_
        unit = _UNIT_DAYS.get(tok.lemma_.lower())
        if unit is not None:
            return (count if count is not None else 1) * unit
        if word in _COUNTS:
            count = _COUNTS[word]
        elif tok.like_num:
            try:
                count = float(word.replace(",", ""))
            except ValueError:
                count = None
    return None


def _label(days: float) -> str:
    if days <= IMMEDIATE_DAYS:
        return "immediate"
    return "long" if days >= LONG_DAYS else "moderate"


def _phrase(span: Span, *, decide: bool = False) -> TimePhrase:
    days = _days(span) if decide else None
    label = _label(days) if days is not None else None
    return TimePhrase(span.text, span.start_char, span.end_char, negated(span.root), label)


def _adverbial(tok: Token) -> bool:
    # A function word alone ("just", "now") says little; with words of its own it is a phrase
    # ("as soon as possible", "right now").
    content = not tok.is_stop or any(True for _ in tok.children)
    return tok.dep_ in ("advmod", "npadvmod") and content and tok.pos_ in ("ADV", "PROPN", "NOUN", "ADJ")


def time_phrases(doc: Doc, parts: list[Clause], names: dict[int, str]) -> list[TimePhrase]:
    """The phrases of a turn that may tell its timeline, in order (see the module docstring)."""
    found: list[TimePhrase] = []
    covered: set[int] = set()
    for ent in doc.ents:
        if ent.label_ == "DATE" and not any(t.i in names for t in ent):
            covered.update(t.i for t in ent)
            if _about_a_plan(ent.root):
                found.append(_phrase(ent, decide=True))
    for tok in doc:
        if tok.i in covered:
            continue
        # An acronym ("ASAP") is a phrase wherever the small model puts it: it often tags it a name.
        if tok.is_upper and 2 <= len(tok.text) <= 5 and tok.is_alpha:
            if _about_a_plan(tok):
                found.append(_phrase(doc[tok.i : tok.i + 1]))
        elif tok.i in names:
            continue
        elif _adverbial(tok) and not _adverbial(tok.head) and _about_a_plan(tok):
            span = doc[tok.left_edge.i : tok.right_edge.i + 1]
            found.append(_phrase(span if len(span) <= _SHORT_CLAUSE_WORDS else doc[tok.i : tok.i + 1]))
        elif tok.lemma_.lower() in ("hurry", "rush") and tok.pos_ == "NOUN":
            span = doc[tok.left_edge.i : tok.i + 1]
            found.append(_phrase(span))
            covered.update(t.i for t in span)
    for clause in parts:
        words = [t for t in clause.tokens if not t.is_punct]
        if len(words) <= _SHORT_CLAUSE_WORDS and not any(t.i in covered for t in words):
            found.append(TimePhrase(clause.text, clause.start, clause.end, negated(clause.head)))
    return sorted(found, key=lambda p: p.start)
