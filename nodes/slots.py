"""Slot extractors for the bots' qualification dialogues.

Each extractor reads one customer turn and returns the value it states, or ``None``. ``asked`` is True
when the bot's previous message asked for exactly this slot, so a bare answer ("next spring", "2M")
can be attributed to it. A bot looks through every earlier turn for each slot it still misses, after
every turn, so each extractor remembers what it found per text (:func:`per_text`): a turn is read once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from graph.context.lexicon import BUDGET_CUE_RE, FINANCING_RE, TIMELINE_RE
from graph.language.patterns import ACCOUNT_CUE_RE, LOOSE_EMAIL_RE, ORDER_CUE_RE
from graph.textutil import DigestCache, parse_money

Extractor = Callable[[str, bool], "str | None"]
_FOUND: DigestCache[str | None] = DigestCache(16384)


def per_text(extract: Extractor) -> Extractor:
    """``extract`` that reads each distinct text once (per ``asked``) and then answers from a cache."""

    @functools.wraps(extract)
    def cached(text: str, asked: bool) -> str | None:
        salt = f"{extract.__module__}.{extract.__qualname__}:{asked}"
        return _FOUND.get_or_compute(text, lambda t: extract(t, asked), salt=salt)

    return cached


_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[A-Z][\w.'-]*\s+){1,4}(?:st(?:reet)?|ave(?:nue)?|rd|road|blvd|boulevard|dr(?:ive)?|"
    r"ln|lane|way|ct|court|pl(?:ace)?|ter(?:race)?|cir(?:cle)?|pkwy|parkway|hwy|highway)\b\.?"
    r"(?:,?\s+(?:apt|unit|#)\s*\w+)?",
    re.IGNORECASE,
)
_MOTIVATION = re.compile(
    r"\b(relocat\w+|moving (?:to|for|because)|new job|job (?:offer|transfer)|downsiz\w+|upsiz\w+|"
    r"growing family|baby|kids|retir\w+|divorc\w+|inherit\w+|estate|passed away|investment|"
    r"cash out|financial (?:reasons|trouble)|too (?:big|small)|empty nest\w*|closer to \w+)\b",
    re.IGNORECASE,
)
_AREA = re.compile(r"\b(?:in|near|around|close to)\s+((?:the\s+)?[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+){0,2})")
_PLAN = re.compile(
    r"\b(free|basic|standard|starter|pro|premium|business|enterprise|team)\s+(?:plan|tier)\b", re.I
)
_SEATS = re.compile(r"\b(\d{1,5})\s+(?:seats|users|people|employees|agents|licen[cs]es)\b", re.I)
_DEVICE = re.compile(
    r"\b(iphone|ipad|android|windows|mac(?:book|os)?|linux|chrome|firefox|safari|edge|app|browser)\b", re.I
)
_ERROR = re.compile(r"\b(error(?: code)?[:\s]+[\w-]+|[\"“][^\"”]{4,60}[\"”]|\b[45]\d\d\b)", re.I)
_ISSUE_CUE = re.compile(
    r"\b(can'?t|cannot|won'?t|doesn'?t|not working|broken|error|problem|issue|charged|wrong|missing|"
    r"late|never (?:arrived|came)|refund|cancel|crash\w*|fail\w*)\b",
    re.I,
)
_CHARGE = re.compile(r"\b(charge[ds]?|bill(?:ed|ing)?|invoice|refund|fee|subscription|renew\w*)\b", re.I)
_FEATURES = re.compile(
    r"\b(pool|view|waterfront|ocean|lake|gated|privacy|wine cellar|guest house|acre\w*|"
    r"\d+\s*(?:bed(?:room)?s?|bath(?:room)?s?)|garage|home office|gym|elevator|penthouse)\b",
    re.I,
)
_BARE_AMOUNT = re.compile(
    r"^\s*\$?\s?(\d[\d,.]*)\s*+(k|m|million|thousand)?\s*+\.?\s*+$", re.I
)  # \s*+ as ORDER_CUE_RE


def _first(pattern: re.Pattern[str], text: str, group: int = 0) -> str | None:
    m = pattern.search(text)
    return m.group(group).strip() if m else None


@per_text
def address(text: str, asked: bool) -> str | None:
    """A street address ("12 Oak Street", "450 Park Ave, Apt 3")."""
    return _first(_STREET, text)


@per_text
def timeline(text: str, asked: bool) -> str | None:
    """When the customer wants to move, buy or sell."""
    return _first(TIMELINE_RE, text)


@per_text
def motivation(text: str, asked: bool) -> str | None:
    """Why they are selling ("relocating for a new job"), or the whole answer when asked directly."""
    found = _first(_MOTIVATION, text)
    if found:
        return found
    return text.strip()[:120] if asked and len(text.split()) >= 2 else None


@per_text
def money(text: str, asked: bool) -> str | None:
    """A price or value; a bare number counts when the bot just asked for it."""
    amounts = parse_money(text)
    if amounts:
        return f"${max(amounts):,.0f}"
    m = _BARE_AMOUNT.match(text)
    if asked and m:
        value = float(m.group(1).replace(",", ""))
        scale = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}.get((m.group(2) or "").lower(), 1.0)
        value *= scale
        return f"${value:,.0f}" if value >= 1000 else None
    return None


@per_text
def budget(text: str, asked: bool) -> str | None:
    """A buyer's budget: an amount next to a budget cue, or any amount when asked."""
    if asked or BUDGET_CUE_RE.search(text):
        return money(text, asked)
    return None


@per_text
def area(text: str, asked: bool) -> str | None:
    """Where they want to live ("in Brookline", "near Central Park")."""
    found = _first(_AREA, text, 1)
    if found:
        return found
    return text.strip()[:60] if asked and 0 < len(text.split()) <= 5 else None


@per_text
def financing(text: str, asked: bool) -> str | None:
    """Financing status: pre-approved, cash, needs a mortgage."""
    return _first(FINANCING_RE, text)


@per_text
def email_or_account(text: str, asked: bool) -> str | None:
    """An email address or an account id."""
    return _first(LOOSE_EMAIL_RE, text) or _first(ACCOUNT_CUE_RE, text, 1)


@per_text
def order_id(text: str, asked: bool) -> str | None:
    """An order number; a bare code counts when asked."""
    found = _first(ORDER_CUE_RE, text, 1)
    if found and any(ch.isdigit() for ch in found):
        return found
    bare = text.strip().strip(".#")
    if asked and re.fullmatch(r"[A-Z0-9-]{5,20}", bare, re.I) and any(ch.isdigit() for ch in bare):
        return bare
    return None


@per_text
def issue(text: str, asked: bool) -> str | None:
    """A description of the problem (the sentence that states it)."""
    if not _ISSUE_CUE.search(text) and not asked:
        return None
    sentence = next((s for s in re.split(r"(?<=[.!?])\s+", text) if _ISSUE_CUE.search(s)), text)
    return sentence.strip()[:160] or None


@per_text
def plan(text: str, asked: bool) -> str | None:
    """The customer's plan ("Standard plan")."""
    return _first(_PLAN, text)


@per_text
def seats(text: str, asked: bool) -> str | None:
    """Team size ("25 users")."""
    return _first(_SEATS, text)


@per_text
def device(text: str, asked: bool) -> str | None:
    """Device or browser; a named one ("iPhone") beats a generic "app"."""
    found = [m.group(0) for m in _DEVICE.finditer(text)]
    named = [f for f in found if f.lower() not in ("app", "browser")]
    choices = named or found
    return choices[0] if choices else None


@per_text
def error_message(text: str, asked: bool) -> str | None:
    """An error code or quoted error text."""
    return _first(_ERROR, text)


@per_text
def charge(text: str, asked: bool) -> str | None:
    """The billing item in question, with its amount if given."""
    what = _first(_CHARGE, text)
    if not what:
        return None
    amount = money(text, False)
    return f"{what} of {amount}" if amount else what


@per_text
def features(text: str, asked: bool) -> str | None:
    """Property features a luxury client cares about."""
    found = sorted({m.group(0).lower() for m in _FEATURES.finditer(text)})
    return ", ".join(found) if found else None
