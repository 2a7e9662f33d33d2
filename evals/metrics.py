"""Pure scoring functions for context transfer. Each is small enough to check by hand.

Matching a value: both sides are normalised with :func:`graph.textutil.normalize_value` (case,
accents, spacing, punctuation, digit grouping). A brief value carries a gold value when it equals it,
or contains it on word boundaries with at most :data:`MAX_EXTRA_WORDS` extra words (so "Calvin Klein
jeans" carries "calvin klein", but a fact that pastes a whole turn carries nothing), or, for values of
seven or more digits (phones, ids), has the same digits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Protocol

from graph.context.grounding import occurs_in
from graph.textutil import normalize_value
from graph.transcript import Turn

MAX_EXTRA_WORDS = 3
# Keys a receiver treats as the same slot when deciding whether to ask again.
KEY_ALIASES: dict[str, frozenset[str]] = {
    "product": frozenset({"product", "brand"}),
    "brand": frozenset({"brand", "product"}),
    "amount": frozenset({"amount", "budget", "price_expectation"}),
    "budget": frozenset({"budget", "amount"}),
    "price_expectation": frozenset({"price_expectation", "amount"}),
    "date": frozenset({"date", "timeline"}),
}


class KeyValue(Protocol):
    """A fact as the metrics need it for matching: a key and a value (gold or brief facts)."""

    @property
    def key(self) -> str: ...

    @property
    def value(self) -> str: ...


class FactLike(KeyValue, Protocol):
    """A fact that also cites the turn that stated it (needed for grounding)."""

    @property
    def turn(self) -> int: ...


def value_matches(gold: str, candidate: str) -> bool:
    """True when ``candidate`` (a brief fact value) carries the ``gold`` value (see module doc)."""
    g, c = normalize_value(gold), normalize_value(candidate)
    if not g or not c:
        return False
    if g == c:
        return True
    gold_digits = re.sub(r"\D", "", gold)
    if len(gold_digits) >= 7 and gold_digits == re.sub(r"\D", "", candidate):
        return True
    return occurs_in(candidate, gold) and len(c.split()) - len(g.split()) <= MAX_EXTRA_WORDS


def carried(gold: KeyValue, brief_facts: Iterable[KeyValue]) -> bool:
    """True when some structured brief fact carries the gold fact's value (keys are not compared)."""
    return any(value_matches(gold.value, f.value) for f in brief_facts)


def replaced(gold_facts: Sequence[FactLike]) -> list[tuple[str, str]]:
    """``(earlier, later)`` values of each gold key the customer stated again, differently, in a later turn.

    In these datasets a slot stated again holds the later value (a correction, a retry, a new search):
    the receiver should read the later one as current.
    """
    by_key: dict[str, list[FactLike]] = {}
    for fact in sorted(gold_facts, key=lambda f: f.turn):
        by_key.setdefault(fact.key, []).append(fact)
    return [
        (a.value, b.value)
        for facts in by_key.values()
        for a, b in pairwise(facts)
        if a.turn < b.turn and normalize_value(a.value) != normalize_value(b.value)
    ]


def change_marked(earlier: str, later: str, brief_facts: Iterable[KeyValue]) -> bool:
    """True when a brief fact carries ``earlier`` and is marked as changed to a value carrying ``later``."""
    return any(
        value_matches(earlier, f.value)
        and (now := getattr(f, "changed_to", None)) is not None
        and value_matches(later, now)
        for f in brief_facts
    )


def fact_recall(gold_facts: Sequence[KeyValue], brief_facts: Sequence[KeyValue]) -> float:
    """Share of gold facts whose value appears among the brief's structured facts.

    Only the ``facts`` list counts: a value mentioned in the summary, an opener or the transcript does
    not, because a receiver (or downstream tool) reads ids from the facts. Callers pass only the gold
    facts stated before the handoff. No gold facts gives 1.0 (nothing to carry).
    """
    if not gold_facts:
        return 1.0
    return sum(carried(g, brief_facts) for g in gold_facts) / len(gold_facts)


def is_precise(fact: KeyValue, gold_facts: Iterable[KeyValue]) -> bool:
    """True when the brief fact's value carries some gold value of its conversation (keys ignored)."""
    return any(value_matches(g.value, fact.value) for g in gold_facts)


def fact_precision(gold_facts: Sequence[KeyValue], brief_facts: Sequence[KeyValue]) -> float:
    """Share of the brief's facts whose value carries a gold value of the conversation.

    The counterpart of :func:`fact_recall`: a brief that lists every noun of the transcript recalls
    everything and is useless. Pass all the conversation's gold facts stated before the handoff; a
    value the gold does not record counts against the brief (the gold's annotators chose what a
    receiver needs). No brief facts gives 1.0 (nothing was claimed).
    """
    if not brief_facts:
        return 1.0
    return sum(is_precise(f, gold_facts) for f in brief_facts) / len(brief_facts)


def is_grounded(fact: FactLike, turns: Sequence[Turn]) -> bool:
    """True when the fact's value occurs in the text of the turn it cites."""
    cited = next((t for t in turns if t.index == fact.turn), None)
    return cited is not None and occurs_in(cited.text, fact.value)


def grounding_precision(brief_facts: Sequence[FactLike], turns: Sequence[Turn]) -> float:
    """Share of brief facts whose value occurs in the turn they cite (1.0 when there are none)."""
    if not brief_facts:
        return 1.0
    return sum(is_grounded(f, turns) for f in brief_facts) / len(brief_facts)


def would_ask_again(gold: KeyValue, brief_facts: Iterable[KeyValue]) -> bool:
    """Simulated receiver: does it ask the customer for this gold fact again?

    The receiver works from a checklist of slots (the gold fact keys: "what's your order id?"). It reads
    only the brief's structured facts, by key: it skips a slot when the brief has a fact under that key
    (or an alias in :data:`KEY_ALIASES`) whose value carries the gold value, and asks otherwise. So a
    value filed under the wrong key ("67671" as a pin when the slot is zip_code) is asked again, and so
    is a slot filled with a wrong value (the receiver would have to re-confirm it).
    """
    keys = KEY_ALIASES.get(gold.key, frozenset({gold.key}))
    return not any(f.key in keys and value_matches(gold.value, f.value) for f in brief_facts)


def repeat_question_rate(gold_facts: Sequence[KeyValue], brief_facts: Sequence[KeyValue]) -> float:
    """Share of gold facts the simulated receiver (:func:`would_ask_again`) asks for again."""
    if not gold_facts:
        return 0.0
    return sum(would_ask_again(g, brief_facts) for g in gold_facts) / len(gold_facts)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        msg = f"percentile q must be within 0..100, got {q}"
        raise ValueError(msg)
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    """The 50th percentile."""
    return percentile(values, 50)
