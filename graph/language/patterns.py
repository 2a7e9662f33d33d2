"""The hand patterns that are the right tool: e-mails, phones, ids, zip codes, URLs and money formats
("$1.8M", "750k"), in one place.

Everything else a customer writes (places, dates, times, amounts, names, answers) is read by the spaCy
pipeline and the token grammar (:mod:`graph.language.grammar`); a format with a fixed shape is not.
Every pattern here is linear on adversarial input (``tests/test_regex_safety.py`` runs each of them on
100,000-character texts): bounded runs, possessive ``\\s*+`` where two runs of spaces meet.
"""

from __future__ import annotations

import re

from graph.language.spans import Span, SpanKind

# The local part is capped at RFC 5321's 64 characters: uncapped, every dot of "a.a.a.a..." started a
# scan to the end of the run (quadratic).
EMAIL_RE = re.compile(r"\b[A-Za-z0-9][\w.+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
# A looser e-mail (any word characters before the @), for slots that must not miss a typed address.
# The lookbehind lets an address start only where a run of address characters starts: without it
# every letter of a long word restarted a scan to the end of the word (quadratic: a 40,000-character
# message took 14 s). A match can never start mid-run anyway, so what is found does not change.
LOOSE_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+")
# Contact details anywhere in a message (an e-mail or a phone-like run of digits).
CONTACT_RE = re.compile(rf"{LOOSE_EMAIL_RE.pattern}|\+?\d[\d\s().-]{{8,}}\d")
PHONE_RE = re.compile(
    r"(?<![\w$])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?\d{3}[\s.-]?\d{4}|\d{3}[.-]\d{3}[.-]\d{4}|\d{3}\s\d{3}\s\d{4})"
    r"(?![\w])"
)
# Trailing punctuation is trimmed in code: a lookbehind after the bounded run would backtrack over it.
URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']{1,2000}", re.IGNORECASE)
# Bare ids: ten digits (an order id or a phone, decided by the question) and ten letters and digits.
TEN_DIGITS_RE = re.compile(r"(?<![\w$.,-])\d{10}(?![\w.,]\d)(?!\w)")
ALNUM10_RE = re.compile(r"(?<![\w@.-])[A-Za-z0-9]{10}(?![\w@-])")
# Possessive \s*+: only another \s* could take the spaces one gives back, so giving them back never
# helps, and trying every way of sharing a long run of spaces between three \s* is cubic.
TICKET_RE = re.compile(
    r"\b(?:ticket|case|reference|ref|confirmation)\s*+(?:number|no\.?|#|id)?\s*+(?:is\s*+)?"
    r"[:#]?\s*+(?P<v>[A-Z0-9-]{4,})\b",
    re.IGNORECASE,
)
# "order #A1234", "account number: 88231", "my account is 88231": an id named by its cue.
ORDER_CUE_RE = re.compile(
    r"\border(?:\s*+(?:id|number|no\.?|#))?\s*+(?:is\s++)?[:#]?\s*+(?P<v>[A-Z0-9-]{5,})\b", re.IGNORECASE
)
ACCOUNT_CUE_RE = re.compile(
    r"\baccount(?:\s*+(?:id|number|no\.?|#))?\s*+(?:is\s++)?[:#]?\s*+(?P<v>[A-Z0-9-]{5,})\b", re.IGNORECASE
)
US_STATES = (
    "al|ak|az|ar|ca|co|ct|de|fl|ga|hi|id|il|in|ia|ks|ky|la|me|md|ma|mi|mn|ms|mo|mt|ne|nv|nh|nj|nm|ny|nc|"
    "nd|oh|ok|or|pa|ri|sc|sd|tn|tx|ut|vt|va|wa|wv|wi|wy|dc"
)
# City, ST 12345 (the zip code after a US state abbreviation).
STATE_ZIP_RE = re.compile(rf"\b(?i:{US_STATES})\.?,?\s+(?P<v>\d{{5}})(?:-\d{{4}})?\b")
ZIP_CUE_RE = re.compile(r"\b(?:zip|postal)(?:\s*+code)?\s*+(?:is|:|=|-)?\s*+(?P<v>\d{5})\b", re.I)
PIN_CUE_RE = re.compile(r"\bpin(?:\s*+(?:number|code|#))?\s*+(?:is|:|=|-)?\s*+(?P<v>\d{4,6})\b", re.I)
# "<handle> is my username" has no cue before the handle, so the handle starts after a non-letter and
# is capped at 64 characters: uncapped, each letter of a long word started a scan to its end.
USERNAME_CUE_RE = re.compile(
    r"\buser\s?name(?:\s*(?:is|:|=|-)\s*|\s+(?=[A-Za-z][\w.-]*\d))(?P<v>[A-Za-z][\w.-]{2,})|"
    r"(?<![A-Za-z])(?P<w>[A-Za-z][\w.-]{2,63})\s+is\s+my\s+user\s?name",
    re.IGNORECASE,
)
HANDLE_RE = re.compile(r"^[A-Za-z][A-Za-z._-]*\d[\w.-]*$")
# A system line that reports an action done ("Your refund has been processed"). System lines are the
# desk's or a tool's own templated wording, not customer text, so a fixed shape is the right tool: no
# reader of customer language applies, and the cue reader's prototypes are customer talk.
SYSTEM_DONE_RE = re.compile(
    r"\b(?:has been|have been|was|is now)\s+(?:noted|verified|updated|processed|"
    r"refunded|changed|cancel+ed|created|sent|issued|applied|reset|pulled up)\b",
    re.IGNORECASE,
)

_SHAPES: tuple[tuple[SpanKind, re.Pattern[str], str], ...] = (
    ("email", EMAIL_RE, ""),
    ("url", URL_RE, ""),
    ("phone", PHONE_RE, ""),
    ("id", ORDER_CUE_RE, "order_id"),
    ("id", ACCOUNT_CUE_RE, "account_id"),
    ("id", TICKET_RE, "ticket_id"),
    ("zip", ZIP_CUE_RE, "zip_code"),
    ("zip", STATE_ZIP_RE, "zip_code"),
)


def pattern_spans(text: str) -> list[Span]:
    """E-mails, URLs, phones, ids named by their cue and zip codes in ``text``, in text order.

    A cued id must hold a digit ("account information" names no id); spans never overlap (the first
    shape listed wins).
    """
    found: list[Span] = []
    for kind, pattern, key in _SHAPES:
        group = "v" if "v" in pattern.groupindex else 0
        for m in pattern.finditer(text):
            start, end = m.span(group)
            value = m.group(group)
            if kind == "url":
                value = value.rstrip(".,;:!?)")
                end = start + len(value)
            if kind == "id" and not any(c.isdigit() for c in value):
                continue
            if any(s.overlaps(start, end) for s in found):
                continue
            found.append(Span(kind, start, end, value.strip(), "pattern", key))
    return sorted(found, key=lambda s: s.start)


_MULTIPLIERS = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mil": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
}

# "$1.8M", "$ 950,000", "1.2 million dollars", "750k", "USD 2m". A number starts where its digits
# start: the leftmost match never starts inside a run of digits, and without (?<!\d) every digit of a
# long run rescanned the rest of the run (quadratic: 20,000 digits and a letter took 77 s).
MONEY_RE = re.compile(
    r"(?P<cur>\$|usd\s?|€|eur\s?|£)?\s?(?<!\d)"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s?(?P<mult>thousand|million|billion|mil|mm|bn|[kmb])?\b"
    r"(?:\s?(?P<word>dollars|bucks|usd|euros?))?",
    re.IGNORECASE,
)


def parse_money(text: str) -> list[float]:
    """Return every money amount mentioned in ``text`` as a float.

    A bare number counts only with a currency sign/word or a magnitude suffix, so "3 bedrooms" or
    "call me at 5" are not amounts.
    """
    amounts: list[float] = []
    for m in MONEY_RE.finditer(text):
        cur, mult, word = m.group("cur"), m.group("mult"), m.group("word")
        if not (cur or mult or word):
            continue
        value = float(m.group("num").replace(",", ""))
        if mult:
            value *= _MULTIPLIERS[mult.lower()]
        amounts.append(value)
    return amounts
