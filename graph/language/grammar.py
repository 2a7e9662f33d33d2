"""A small token grammar over spaCy's tokens for the values its entity model splits or misses.

The probe over SGD showed the model's systematic misses: clock times cut from their day part ("half
past 3" + "in the afternoon", "afternoon" + "3:30"), amounts without their currency ("$" + "20",
"700k", "sixty dollars"), street addresses cut at the number or the unit, and "5th of march". Each rule
here is a pattern of token attributes (spaCy's ``Matcher``), built from closed word classes (day parts,
clock words, months, street types, currency words), never from a value seen in the data.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any

from spacy.lang.en.stop_words import STOP_WORDS

from graph.language.match_prefilter import Prefilter

if TYPE_CHECKING:
    from spacy.matcher import Matcher
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

Token = dict[str, Any]


def words(text: str) -> list[str]:
    """Whitespace-separated words (keeps the closed word classes below readable)."""
    return text.split()


DAYPARTS = ["morning", "afternoon", "evening", "night", "noon", "midnight", "tonight"]
CLOCK_WORDS = ["am", "pm", "a.m.", "p.m.", "a.m", "p.m", "o'clock", "oclock", 'o"clock', "o’clock"]
HOUR_WORDS = words("one two three four five six seven eight nine ten eleven twelve")
MONTHS = words(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
SEASONS = words("spring summer fall autumn winter")
WEEKDAYS = words("monday tuesday wednesday thursday friday saturday sunday")
STREET_TYPES = words(
    "street st avenue ave boulevard blvd road rd drive dr lane ln way court ct place pl parkway pkwy "
    "highway hwy circle cir terrace ter trail trl square sq alley plaza expressway"
)
UNIT_WORDS = ["apt", "apartment", "unit", "suite", "ste", "#"]
CURRENCY_SIGNS = ["$", "€", "£", "usd", "eur", "us$"]
CURRENCY_WORDS = ["dollars", "dollar", "bucks", "usd", "euros", "euro", "pounds", "quid", "cents"]
MAGNITUDE_LETTERS = ["k", "m", "mm", "mil", "bn", "b"]
MAGNITUDE_WORDS = ["thousand", "million", "billion", "grand"]

_CLOCK_NUMBER: Token = {"TEXT": {"REGEX": r"^\d{1,2}[:.]\d{2}$"}}
_CLOCK_GLUED: Token = {"LOWER": {"REGEX": r"^\d{1,2}(?::\d{2})?(?:am|pm)$"}}
_HOUR_DIGITS: Token = {"TEXT": {"REGEX": r"^\d{1,2}$"}}
_HOUR_WORD: Token = {"LOWER": {"IN": HOUR_WORDS}}
_DAYPART: Token = {"LOWER": {"IN": DAYPARTS}}
_ORDINAL: Token = {"LOWER": {"REGEX": r"^\d{1,2}(?:st|nd|rd|th)$"}}
_NUMBER: Token = {"LIKE_NUM": True}


def _time_patterns() -> list[list[Token]]:
    """A clock core ("3:30", "5 pm", "half past 3") with an optional day part before or after it.

    A bare hour ("3", "seven") is a time only next to a day part: "afternoon 3", "7 in the evening".
    """
    half: list[Token] = [{"LOWER": {"IN": ["half", "quarter"]}}, {"LOWER": {"IN": ["past", "to", "after"]}}]
    clock = {"LOWER": {"IN": CLOCK_WORDS}}
    cores: list[tuple[list[Token], bool]] = [([_CLOCK_NUMBER], True), ([_CLOCK_GLUED], True)]
    for hour in (_HOUR_DIGITS, _HOUR_WORD, _CLOCK_NUMBER):
        cores += [([hour, clock], True), ([*half, hour], True), ([*half, hour, clock], True), ([hour], False)]
    befores: list[list[Token]] = [[], [_DAYPART], [{"LOWER": "the"}, _DAYPART]]
    afters: list[list[Token]] = [
        [],
        [{"LOWER": "in"}, {"LOWER": "the"}, _DAYPART],
        [{"LOWER": {"IN": ["at", "in"]}}, {"LOWER": "night"}],
        [{"LOWER": {"IN": ["this", "tomorrow"]}}, _DAYPART],
    ]
    patterns = []
    for (core, alone), before, after in itertools.product(cores, befores, afters):
        if alone or before or after:
            patterns.append([*before, *core, *after])
    return patterns


def _date_patterns() -> list[list[Token]]:
    month = {"LOWER": {"IN": MONTHS}}
    day = {"LOWER": {"REGEX": r"^\d{1,2}(?:st|nd|rd|th)?$"}}
    return [
        [_ORDINAL, {"LOWER": "of"}, month],
        [_ORDINAL, {"LOWER": "of"}, {"LOWER": {"IN": ["this", "next", "the"]}}, {"LOWER": "month"}],
        [month, day],
        [{"LOWER": {"IN": WEEKDAYS}}, {"LOWER": {"IN": ["next", "this"]}}, {"LOWER": "week"}],
        [{"LOWER": {"IN": ["next", "this", "last", "coming"]}}, {"LOWER": {"IN": WEEKDAYS}}],
        [{"LOWER": "day"}, {"LOWER": "after"}, {"LOWER": "tomorrow"}],
        [{"LOWER": "later"}, {"LOWER": "today"}],
        [{"LOWER": "the"}, _ORDINAL],  # "on the 11th" (not "the 3rd floor": see grammar_matches)
        # "next spring", "by early summer", "winter 2027"
        [
            {"LOWER": {"IN": ["this", "next", "last", "by", "before", "until"]}},
            {"LOWER": {"IN": ["early", "late", "mid"]}, "OP": "?"},
            {"LOWER": {"IN": SEASONS}},
        ],
        [{"LOWER": {"IN": SEASONS}}, {"TEXT": {"REGEX": r"^\d{4}$"}}],
    ]


def _money_patterns() -> list[list[Token]]:
    sign = {"LOWER": {"IN": CURRENCY_SIGNS}}
    magnitude = {"LOWER": {"IN": MAGNITUDE_LETTERS + MAGNITUDE_WORDS}}
    words: Token = {"LOWER": {"IN": CURRENCY_WORDS}}
    glued = {"LOWER": {"REGEX": r"^\d+(?:[.,]\d+)*(?:k|m|mm|bn)$"}}
    numbers: list[Token] = [_NUMBER, {"LIKE_NUM": True, "OP": "*"}]
    return [
        [sign, _NUMBER],
        [sign, _NUMBER, magnitude],
        [sign, glued],
        [glued],
        [_NUMBER, {"LOWER": {"IN": MAGNITUDE_LETTERS}}],
        [*numbers, words],
        [*numbers, magnitude, words],
        [*numbers, {"LOWER": "and"}, *numbers, words],
    ]


def _address_patterns() -> list[list[Token]]:
    number: Token = {"TEXT": {"REGEX": r"^\d{1,6}[A-Za-z]?$"}}
    name: Token = {
        "LOWER": {"REGEX": r"^(?:[a-z][a-z'.-]*|\d{1,3}(?:st|nd|rd|th))$"},
        "IS_STOP": False,
        "OP": "{1,4}",
    }
    street: Token = {"LOWER": {"IN": STREET_TYPES + [f"{t}." for t in STREET_TYPES]}}  # "St." is one token
    dot: Token = {"ORTH": ".", "OP": "?"}
    comma: Token = {"ORTH": ",", "OP": "?"}
    unit_word: Token = {"LOWER": {"IN": UNIT_WORDS}}
    unit_value: Token = {"TEXT": {"REGEX": r"^#?[A-Za-z0-9-]{1,6}$"}}
    base: list[Token] = [number, name, street, dot]
    return [
        base,
        [*base, comma, unit_word, dot, unit_value],
        [*base, comma, {"TEXT": {"REGEX": r"^#\w{1,6}$"}}],
    ]


RULES: dict[str, list[list[Token]]] = {
    "TIME": _time_patterns(),
    "DATE": _date_patterns(),
    "MONEY": _money_patterns(),
    "ADDRESS": _address_patterns(),
}

# Most turns hold no time, date, amount or address; this tells them apart without the matcher.
_PREFILTER = Prefilter.of((p for patterns in RULES.values() for p in patterns), common=STOP_WORDS)
_WINDOW = 200  # tokens matched at once
_OVERLAP = 50
_lock = threading.Lock()
_matchers: dict[int, Matcher] = {}


def _matcher(vocab: Vocab) -> Matcher:
    """One matcher per vocabulary (the shared pipeline gets a new one when it is reloaded)."""
    from spacy.matcher import Matcher

    with _lock:
        matcher = _matchers.get(id(vocab))
        if matcher is None:
            _matchers.clear()
            matcher = Matcher(vocab)
            for label, patterns in RULES.items():
                matcher.add(label, patterns)
            _matchers[id(vocab)] = matcher
        return matcher


def raw_matches(doc: Doc) -> list[tuple[int, int, int]]:
    """Every ``(match_id, start, end)`` of the rules in ``doc``, in the matcher's order."""
    if not _PREFILTER.possible(doc):
        return []
    matcher = _matcher(doc.vocab)
    if len(doc) <= _WINDOW:
        with _lock:  # the matcher's state is not documented as thread-safe
            return list(matcher(doc))
    # The optional and repeated tokens of the patterns keep partial matches open over a run of
    # numbers: 2,000 of them took 0.8 s in one pass. Overlapping windows bound that; a match is a
    # few tokens, far shorter than their overlap.
    raw: dict[tuple[int, int, int], None] = {}
    with _lock:
        for at in range(0, len(doc) - _OVERLAP, _WINDOW - _OVERLAP):
            raw.update(((m, at + s, at + e), None) for m, s, e in matcher(doc[at : at + _WINDOW]))
    return list(raw)


def grammar_matches(doc: Doc) -> list[tuple[str, int, int]]:
    """``(label, start_token, end_token)`` of the longest non-overlapping grammar matches in ``doc``."""
    raw = raw_matches(doc)
    labels = {doc.vocab.strings[label]: label for label in RULES}
    found = sorted(((labels[m], s, e) for m, s, e in raw), key=lambda x: (x[1], -(x[2] - x[1])))
    kept: list[tuple[str, int, int]] = []
    for label, start, end in sorted(found, key=lambda x: -(x[2] - x[1])):
        if label == "DATE" and doc[start].lower_ == "the" and end < len(doc) and doc[end].pos_ == "NOUN":
            continue  # "the 3rd floor" is an ordinal, not a date
        if all(end <= s or start >= e for _, s, e in kept):
            kept.append((label, start, end))
    return sorted(kept, key=lambda x: x[1])
