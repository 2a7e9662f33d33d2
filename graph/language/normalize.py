"""Normalised values of spans: digits for amounts, numbers and phones, ISO for dates and times.

Computed on demand (:attr:`graph.language.spans.Span.value`), never on the brief's path: dateparser
costs milliseconds a call and the brief quotes values as written. Returns ``None`` where no normal form
exists or the libraries cannot read the text.
"""

from __future__ import annotations

import functools
import re
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from graph.language.grammar import DAYPARTS

if TYPE_CHECKING:
    from dateparser.date import DateDataParser  # type: ignore[import-untyped]

_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "grand": 1e3, "m": 1e6, "mm": 1e6, "mil": 1e6, "million": 1e6}
_MULTIPLIERS |= {"b": 1e9, "bn": 1e9, "billion": 1e9}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LATE = frozenset(DAYPARTS) - {"morning"}
_parser_lock = threading.Lock()


@functools.cache
def _date_parser() -> DateDataParser:
    from dateparser.date import DateDataParser  # type: ignore[import-untyped]

    # English only: detecting the language of every span loads every locale (seconds, then 10 ms a call).
    return DateDataParser(languages=["en"], settings={"PREFER_DATES_FROM": "future"})


_FRACTIONS = {"half": 0.5, "quarter": 0.25}
_SMALL = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0}
# "half a million", "a quarter of a million", "two and a half million": number_parser reads the
# multiplier and drops the fraction ("half a 1000000").
_FRACTION = re.compile(
    r"\b(?:(\d+(?:\.\d+)?|a|an|one|two|three|four|five) and an? (half|quarter)|(half|quarter)(?: of)? an?)"
    r" (million|mil|thousand|grand|billion)\b"
)


def _fraction(lower: str) -> float | None:
    match = _FRACTION.search(lower)
    if match is None:
        return None
    whole, plus, part, unit = match.groups()
    base = (float(whole) if whole[0].isdigit() else _SMALL[whole]) + _FRACTIONS[plus] if whole else 0.0
    value = base if whole else _FRACTIONS[part]
    return value * _MULTIPLIERS["million" if unit == "mil" else unit]


def amount(text: str) -> float | None:
    """The number an amount or count states: "$1.8M" -> 1800000, "sixty dollars" -> 60, "700k" -> 700000."""
    from number_parser import parse

    lower = text.lower().replace("$", " ").replace("€", " ").replace("£", " ")
    fraction = _fraction(" ".join(lower.split()))
    if fraction is not None:
        return fraction
    if not any(c.isdigit() for c in lower):
        lower = parse(lower)  # number words as digits: "at least four" -> "at least 4"
    match = _NUMBER.search(lower)
    if not match:
        return None
    value = float(match.group(0).replace(",", ""))
    glued = re.match(r"\s?([a-z]+)", lower[match.end() :])
    if glued and glued.group(1) in _MULTIPLIERS:
        value *= _MULTIPLIERS[glued.group(1)]
    return value


def _digits(number: float) -> str:
    return str(int(number)) if number.is_integer() else f"{number:.2f}"


def when(text: str, kind: str) -> str | None:
    """ISO date (``2027-03-05``) or 24-hour time (``15:30``) of a date or time span, via dateparser."""
    with _parser_lock:  # DateDataParser keeps per-call state
        data = _date_parser().get_date_data(text)
    if data is None or data.date_obj is None:
        return None
    moment: datetime = data.date_obj
    if kind == "date":
        return moment.date().isoformat()
    hour = moment.hour
    if hour < 12 and any(word in text.lower() for word in _LATE):
        hour += 12  # "afternoon 3:30": dateparser reads the clock and ignores the day part
    return f"{hour:02d}:{moment.minute:02d}"


@functools.lru_cache(maxsize=4096)
def normalized(kind: str, text: str) -> str | None:
    """The normal form of a span of ``kind`` written as ``text`` (see the module docstring)."""
    if kind in ("money", "number"):
        number = amount(text)
        return None if number is None else _digits(number)
    if kind in ("phone", "zip"):
        digits = re.sub(r"\D", "", text)
        return digits or None
    if kind in ("date", "time"):
        return when(text, kind)
    if kind in ("email", "url"):
        return text.strip().lower()
    return None
