"""The needs one customer turn states, clause by clause, and how a turn answers an offer.

"I was double charged last month, and also I'd like to upgrade to the Enterprise plan" states two needs
in two clauses; the router classifies each clause (:mod:`graph.analyzer`) so that a turn with a problem
and a sales question reaches the problem first and keeps the question open. The clauses are those the
cue reader embeds (:func:`graph.language.scope.clauses`, the same name-masked text), so their vectors
are already in the embedder's cache when the router classifies them. A clause the customer declines
("I don't want to upgrade, I just need a refund") states no need: a verb or adjective of wanting in the
scope of a negation.

:func:`reply_to_offer` reads a turn as the answer to a yes/no offer ("Shall I bring in our sales
specialist?"): the answer particle it opens with, or a declined want.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from graph.language.pipeline import shared_pipeline
from graph.language.scope import Clause, clauses, names, negated
from graph.textutil import DigestCache

# A clause must say this much to be classified on its own: "I want it now" is no second need.
MIN_CONTENT_WORDS = 2
# Predicates of wanting (verbs, and adjectives after a copula): negated, the clause declines a need.
_WANTING = frozenset(
    {"want", "need", "like", "wish", "prefer", "plan", "intend", "interested", "keen", "looking"}
)
# Answer particles (a closed class) that open a reply to a yes/no offer.
_YES = frozenset(
    {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "alright", "y"}
    | {"absolutely", "definitely", "certainly"}
)
# "Please" alone, or "please do", accepts; "Please tell me when the refund arrives" asks something else.
_SHORT_REPLY_WORDS = 3
_NO = frozenset({"no", "nope", "nah", "n"})

Answer = Literal["yes", "no", ""]


@dataclass(frozen=True, slots=True)
class NeedClause:
    """A clause of a turn that may state a need.

    Attributes:
        text: The clause as written (``turn[start:end]``).
        masked: The clause with names replaced by neutral stand-ins: what is embedded and classified.
        start: Character offset of the clause in the turn.
        end: Offset one past its last character.
        declined: The customer says they do not want it ("I don't want to upgrade").
    """

    text: str
    masked: str
    start: int
    end: int
    declined: bool = False


def declines(clause: Clause) -> bool:
    """Whether the clause denies a want: "I don't want to upgrade", "I'm not interested in Pro", "no need"."""
    return any(t.lemma_.lower() in _WANTING and negated(t) for t in clause.tokens)


def _content_words(clause: Clause) -> int:
    return sum(1 for t in clause.tokens if t.is_alpha and not t.is_stop)


def _read(text: str) -> tuple[NeedClause, ...]:
    doc = shared_pipeline().parse(text)
    found = names(doc)
    return tuple(
        NeedClause(c.text, c.masked_text(found), c.start, c.end, declines(c))
        for c in clauses(doc)
        if _content_words(c) >= MIN_CONTENT_WORDS
    )


_CACHE: DigestCache[tuple[NeedClause, ...]] = DigestCache(4096)


def need_clauses(text: str) -> tuple[NeedClause, ...]:
    """The clauses of ``text`` that say enough to state a need, in order (parsed once, cached)."""
    return _CACHE.get_or_compute(text, _read)


def reply_to_offer(text: str) -> Answer:
    """How ``text`` answers a yes/no offer: "yes", "no", or "" when it does neither.

    "Yes please", "Sure, go ahead" accept; "No thanks", "Not now", "I don't need that anymore" refuse;
    a new question or statement ("When will the refund arrive?") answers neither.
    """
    doc = shared_pipeline().parse(text, entities=False)
    first = next((t for t in doc if not t.is_punct), None)
    if first is None:
        return ""
    word = first.lower_
    if word in _NO or word == "not":  # "No thanks", "Not now", "Not yet"
        return "no"
    if word in _YES or (word == "please" and len(text.split()) <= _SHORT_REPLY_WORDS):
        return "yes"
    parts = clauses(doc)
    return "no" if parts and all(declines(c) for c in parts) else ""
