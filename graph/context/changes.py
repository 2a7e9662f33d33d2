"""Values the customer changed: "a table for Tuesday" ... "No, make it Wednesday".

A value stated in a later turn that revises (:func:`graph.language.revisions.revises`) replaces an
earlier value of the same slot, and the earlier fact is marked with what it became
(``Fact.changed_to``): the receiver reads the value that holds now, and what it was. Two values of a
slot in turns that revise nothing both hold (a pick-up and a drop-off date), and so do two values in
one turn ("from Tuesday till Friday"). A count ("number_of_tickets") holds one value, so a later
count of the same thing replaces the earlier one in any turn.

A value the revising turn names again still holds ("from Tuesday to Friday") unless the turn takes
it back ("not Tuesday", "instead of Tuesday"). A revision answers what was just said or read back: it
replaces a value from the customer's last two turns before it, never one from further back (a
weather date asked about earlier is not the travel date corrected now). A slot is what a value is: a date, a length of time ("3 days"), a clock time, a
place (an address or a named place: "Le Garage" -> "3740 El Camino Real"), an amount; else the fact's
key ("speaker": "kitchen speaker" -> "bedroom speaker"). People add up rather than replace one another.
Where the values hang from prepositions, the two ends of a range ("from" / "till") are two slots, a
named place replaces a place only under the same one ("to Le Garage" -> "to 3740 El Camino Real", not
"the Newark forecast" -> "a song by Skillet"), and among several earlier values the one under the new
value's preposition ("till March 11th" -> "till the 10th"), else one of its kind (an address for an
address, not the town beside it), else the latest is the one replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from graph.context.extract import fact_types
from graph.context.models import EntityType, Fact
from graph.language.grammar import grammar_matches, words
from graph.language.normalize import normalized
from graph.language.pipeline import shared_pipeline
from graph.language.questions import COUNT_PREFIX
from graph.language.revisions import revises
from graph.textutil import has_words
from graph.transcript import Turn

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

# How far back a revision reaches: the customer's turns just before it.
_REACH = 2
_PLACES: frozenset[EntityType] = frozenset({"place", "address", "organisation"})
_UNITS = frozenset({"minute", "hour", "day", "night", "week", "fortnight", "month", "year"})
_SOME = frozenset({"a", "an", "few", "several", "many"})
_STARTS = frozenset({"from", "since", "starting"})
_UNTIL = frozenset({"till", "until", "to", "through", "thru", "by"})
# Words after which a value stands as a whole phrase: determiners, possessives, prepositions.
_FUNCTION_WORDS = frozenset(
    words(
        "a an the my your our their his her its this that these those to for in on at from till until by "
        "of with about and or around near into onto than"
    )
)

_LEADING = re.compile(rf"(?:(?:{'|'.join(sorted(_FUNCTION_WORDS))})\s+)+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Value:
    """A fact as its turn states it: the slot it fills, its kind, the preposition it hangs from and the
    noun it modifies ("spanish" in "spanish subtitles")."""

    slot: str
    kind: EntityType
    preposition: str
    modifies: str = ""


def _read(fact: Fact, kind: EntityType, doc: Doc, clocks: Sequence[tuple[int, int]]) -> _Value:
    """The value in its turn's parse ``doc``, whose clock times (token spans) are ``clocks``."""
    span = _find(fact.value, doc)
    if span is None:
        return _Value(_slot(fact, kind, clock=False), kind, "")
    clock = any(s < span.end and span.start < e for s, e in clocks)
    return _Value(_slot(fact, kind, clock=clock), kind, _preposition(span), _modified(span))


def _find(value: str, doc: Doc) -> Span | None:
    """The tokens of ``value`` in ``doc`` (first occurrence, any case), or None."""
    start = doc.text.lower().find(value.lower())
    return doc.char_span(start, start + len(value), alignment_mode="expand") if start >= 0 else None


def _preposition(span: Span) -> str:
    """The preposition a value hangs from: any of its words that is the object of one outside it (the
    parser may hang "#200" of "to 5801 Norris Canyon Road #200" from the verb, and the rest from "to")."""
    for token in span:
        if token.dep_ == "pobj" and not span.start <= token.head.i < span.end:
            return token.head.lower_
    return ""


def _modified(span: Span) -> str:
    """The noun a value classifies ("spanish" -> "subtitle"), or ""."""
    root = span.root
    outside = not span.start <= root.head.i < span.end
    if root.dep_ in ("amod", "compound") and outside and root.head.pos_ in ("NOUN", "PROPN"):
        return str(root.head.lemma_.lower())
    return ""


def _values(facts: Sequence[Fact], turns: Sequence[Turn], texts: dict[int, str]) -> list[_Value | None]:
    """Each customer fact read in its turn's parse (the one the turn's other readers used: no new parse)."""
    parsed: dict[int, tuple[Doc, list[tuple[int, int]]]] = {}
    for turn in {f.turn for f in facts if f.turn in texts}:
        doc = shared_pipeline().parse(texts[turn])
        parsed[turn] = doc, [(s, e) for label, s, e in grammar_matches(doc) if label == "TIME"]
    kinds = fact_types(facts, turns)
    return [
        _read(f, k, *parsed[f.turn]) if f.turn in parsed else None for f, k in zip(facts, kinds, strict=True)
    ]


def _read_back(value: str, said: Sequence[str]) -> str:
    """The preposition ``value`` hangs from where we last said it (a read-back: "a cab for 2 to Le
    Garage", "a table at Kathmandu Restaurant"), or ""."""
    for text in reversed(said):
        if has_words(text, value) and (span := _find(value, shared_pipeline().parse(text))) is not None:
            return _preposition(span)
    return ""


def _slot(fact: Fact, kind: EntityType, *, clock: bool) -> str:
    """The slot a fact fills, or "" when its values add up rather than replace one another."""
    if fact.key.startswith(COUNT_PREFIX):
        return fact.key
    if kind == "name" or fact.key == "person":
        return ""
    if kind in ("date", "time"):
        if _length(fact.value):
            return "length"  # "for 3 days" is how long, not when
        # a question's key may call a clock time a date ("When?" "2:45 pm"): the grammar says which
        return "time" if clock else "date"
    if kind in _PLACES:
        return "place"
    if kind == "amount":
        return "amount"
    if fact.key == "name" or (fact.key.endswith("_name") and kind == "product"):
        return f"name:{fact.key.removesuffix('name').rstrip('_')}"  # what a naming word gave a name
    # a noun phrase keyed by its head ("kitchen speaker") and a value keyed by the question it answers
    # are two readings, not one slot: "one way flight" is not changed by "good"
    return f"{fact.key}:{'phrase' if _phrase(fact) else 'value'}"


def _phrase(fact: Fact) -> bool:
    """Whether the fact is a noun phrase keyed by its own head ("kitchen speaker" under "speaker")."""
    return fact.value.split()[-1].lower() == fact.key.rsplit("_", 1)[-1]


def _length(value: str) -> bool:
    """ "3 days", "two nights", "over a week": a length of time (not "next week", "5 days ago")."""
    words = value.lower().split()
    if len(words) < 2 or words[-1].removesuffix("s") not in _UNITS:
        return False
    count = words[-2]  # "3 days", "over a week", "a couple of days"; not "this month", "next week"
    return count in _SOME or words[-3:-1] == ["couple", "of"] or normalized("number", count) is not None


def _one_slot(old: str, new: str) -> bool:
    """The same slot, or a name given to something unsaid ("name it X") and a name given to a thing."""
    return old == new or (old.startswith("name:") and new.startswith("name:") and "name:" in (old, new))


def _same_slot(old: _Value, new: _Value, read_back: Callable[[], str]) -> bool:
    """Whether ``new`` can replace ``old``; ``read_back()`` is the preposition we last said ``old`` under."""
    if {old.preposition, new.preposition} & _STARTS and {old.preposition, new.preposition} & _UNTIL:
        return False  # "from the 4th" does not change "till March 9th"
    if "organisation" in (old.kind, new.kind):
        if old.modifies and old.modifies == new.modifies:
            return True  # "spanish subtitles" -> "English subtitles"
        return bool(new.preposition) and new.preposition in (old.preposition, read_back())
    return True


def _denied(value: str, text: str) -> bool:
    """Whether ``text`` names ``value`` only to take it back: "not Tuesday", "instead of the 5th"."""
    return (
        re.search(rf"\b(?:not|instead of|rather than|no longer)\s+(?:\w+\s+)?{re.escape(value)}", text, re.I)
        is not None
    )


def _core(value: str) -> str:
    """The value without the function words it starts with ("on Tuesday" -> "Tuesday")."""
    words = value.split()
    while len(words) > 1 and words[0].lower() in _FUNCTION_WORDS:
        words = words[1:]
    return " ".join(words)


def _overlap(one: str, other: str) -> bool:
    """Whether one value holds the other's core: the same value, or one widened ("Tuesday to Friday")."""
    return has_words(other, _core(one)) or has_words(one, _core(other))


def mark_changes(facts: Sequence[Fact], turns: Sequence[Turn]) -> list[Fact]:
    """The facts, in their order, with each value the customer changed marked by what it became.

    Args:
        facts: The brief's facts, ranked.
        turns: The conversation they cite.
    """
    texts = {t.index: t.text for t in turns if t.role == "customer"}
    spoken = sorted(texts)
    reach = {i: spoken[max(0, k - _REACH) : k] for k, i in enumerate(spoken)}
    # what we said since the customer's previous turn: what a revision answers
    ours = {
        i: [t.text for t in turns if t.role in ("bot", "agent") and (k == 0 or spoken[k - 1] < t.index < i)]
        for k, i in enumerate(spoken)
    }
    revising = {i for i in spoken[1:] if revises(texts[i])}  # the first turn has nothing to revise
    if not revising and not any(f.key.startswith(COUNT_PREFIX) for f in facts):
        return list(facts)  # most conversations change nothing: no value is read
    values = _values(facts, turns, texts)
    changed: dict[int, str] = {}
    order = sorted(range(len(facts)), key=lambda i: facts[i].turn)
    for position, i in enumerate(order):
        new, value = facts[i], values[i]
        if value is None or not value.slot:
            continue
        count = value.slot.startswith(COUNT_PREFIX)
        text = texts[new.turn]
        if not (count or new.turn in revising):
            continue
        earlier = [
            (j, old)
            for j in order[:position]
            if (old := values[j]) is not None
            and (facts[j].turn < new.turn if count else facts[j].turn in reach[new.turn])
            and _one_slot(old.slot, value.slot)
            and _same_slot(old, value, partial(_read_back, facts[j].value, ours[new.turn]))
            and j not in changed
            and (not has_words(text, _core(facts[j].value)) or _denied(_core(facts[j].value), text))
            and not _overlap(facts[j].value, new.value)  # "on Tuesday", then "Tuesday to Friday"
        ]
        if earlier:
            # the likeliest: under the same preposition, then of the same kind, then the latest
            ranked = [
                (
                    bool(value.preposition) and old.preposition == value.preposition,
                    old.kind == value.kind,
                    n,
                    j,
                )
                for n, (j, old) in enumerate(earlier)  # in turn order: n is how late
            ]
            chosen = max(ranked)[3]
            said = texts[facts[chosen].turn]
            for j, _ in earlier:  # with the parts it was read in ("on Friday" "the 12th")
                if j == chosen or (
                    facts[j].turn == facts[chosen].turn and _beside(facts[j], facts[chosen], said)
                ):
                    changed[j] = new.value
    return [
        f.model_copy(update={"changed_to": changed[i]}) if i in changed else f for i, f in enumerate(facts)
    ]


def now_and_was(fact: Fact, *, noted: bool = True) -> str:
    """A changed value as "Wednesday (was Tuesday)" (the new value alone unless ``noted``)."""
    if fact.changed_to is None:
        return fact.value
    return f"{fact.changed_to} (was {fact.value})" if noted else fact.changed_to


def as_changed(text: str, facts: Sequence[Fact], *, noted: bool = True) -> str:
    """``text`` with each changed value it names given as what it became: "Wednesday (was Tuesday)".

    Values changed to the same one that stand side by side ("on Friday" "the 12th") are one value read
    in parts and are swapped together. A noun phrase is swapped only where it stands whole (after a
    function word or a mark, or first): one the reader cut short ("way flight" of "a one way flight")
    is left as written. With ``noted`` False the new value alone (a reply to the customer, who knows
    what they changed).
    """
    for new in dict.fromkeys(f.changed_to for f in facts if f.changed_to is not None):
        if has_words(text, new):
            continue
        spans = sorted(
            span for f in facts if f.changed_to == new and (span := _standing(f, text)) is not None
        )
        if not spans:
            continue
        start, end = spans[0]
        for s, e in spans[1:]:
            if s >= end and not text[end:s].strip(" ,"):
                end = e  # "on Friday" + "the 12th": one date
        lead = _LEADING.match(text, start, end)
        if lead is not None and lead.end() < end:
            start = lead.end()  # "on Friday" -> "on Sunday (was Friday)"
        old = text[start:end]
        now = f"{new} (was {old})" if noted else new
        text = f"{text[:start]}{now}{text[end:]}"
    return text


def _beside(one: Fact, other: Fact, text: str) -> bool:
    """Whether two values stand side by side in ``text`` (nothing but a space or comma between)."""
    a, b = _standing(one, text), _standing(other, text)
    if a is None or b is None:
        return False
    (_, first_end), (second_start, _) = sorted((a, b))
    return second_start >= first_end and not text[first_end:second_start].strip(" ,")


def _standing(fact: Fact, text: str) -> tuple[int, int] | None:
    """Where ``fact``'s value stands in ``text`` as a whole value, or None."""
    found = re.search(rf"(?<!\w){re.escape(fact.value)}(?!\w)", text)
    if found is None:
        return None
    before = text[: found.start()].split()
    if _phrase(fact) and before and before[-1].lower() not in _FUNCTION_WORDS and before[-1][-1:].isalnum():
        return None
    return found.start(), found.end()
