"""Per-target brief sections: each receiver gets the few views it needs, built from facts and turns.

The routing policy lists section names per target; :data:`KNOWN_SECTIONS` is the closed set of names,
so a typo in a policy fails at start-up with the list of valid names instead of yielding an empty brief.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from graph.context.analysis import clip_words, sentences
from graph.context.models import Fact, SectionValue, SentimentView, Urgency
from graph.language.cues import cue_texts
from graph.textutil import words
from graph.transcript import Turn


class UnknownSectionError(ValueError):
    """Raised when a requested section name is not in :data:`KNOWN_SECTIONS`."""


@dataclass(frozen=True)
class SectionInput:
    """Everything a section builder may read."""

    turns: Sequence[Turn]
    facts: Sequence[Fact]
    goal: str
    sentiment: SentimentView
    urgency: Urgency
    tried: Sequence[str]
    open_questions: Sequence[str]

    def values(self, *keys: str) -> list[str]:
        """Fact values for ``keys``, in conversation order."""
        return [f.value for f in self.facts if f.key in keys]

    def customer_sentences(self, pattern: re.Pattern[str], limit: int = 2) -> list[str]:
        """Customer sentences matching ``pattern``, clipped for a quick read."""
        found = [
            clip_words(s, 24)
            for t in self.turns
            if t.role == "customer"
            for s in sentences(t.text)
            if pattern.search(s)
        ]
        return found[:limit]


NOT_STATED = "Not stated yet"


def _facts_dict(inp: SectionInput, keys: Sequence[str]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key in keys:
        values = inp.values(key)
        if values:
            out[key] = values[0] if len(values) == 1 else values
    return out


def _or_not_stated(values: list[str]) -> str | list[str]:
    return values if values else NOT_STATED


# Real-estate seller bot.
def _property_details(inp: SectionInput) -> SectionValue:
    found = _facts_dict(inp, ("street_address", "zip_code", "property_type", "rooms", "square_feet"))
    return found or NOT_STATED


_MOTIVATION = re.compile(
    r"\b(?:because|relocat\w*|moving|divorc\w*|downsiz\w*|upsiz\w*|retir\w*|new job|family|kids|estate)", re.I
)
_MUST_HAVE = re.compile(r"\b(?:must|need|has to|have to|looking for|want)\b", re.I)
_DEAL_BREAKER = re.compile(
    r"\b(?:no\s+\w+|don't want|do not want|deal ?breaker|avoid|not interested|won't)\b", re.I
)
_SHOWING = re.compile(
    r"\b(?:show\w*|tour|visit|see (?:it|the)|weekend|evening|morning|afternoon|available)\b", re.I
)


def _motivation(inp: SectionInput) -> SectionValue:
    return _or_not_stated(inp.customer_sentences(_MOTIVATION))


def _timeline(inp: SectionInput) -> SectionValue:
    return _or_not_stated(inp.values("timeline", "date"))


def _price_expectation(inp: SectionInput) -> SectionValue:
    return _or_not_stated(inp.values("price_expectation") or inp.values("amount"))


# Real-estate buyer bot.
def _budget(inp: SectionInput) -> SectionValue:
    return _or_not_stated(inp.values("budget") or inp.values("amount"))


def _criteria(inp: SectionInput) -> SectionValue:
    must = inp.values("rooms", "property_type") + inp.customer_sentences(_MUST_HAVE, 2)
    breakers = inp.customer_sentences(_DEAL_BREAKER, 2)
    return {"must_haves": must, "deal_breakers": breakers}


def _financing_status(inp: SectionInput) -> SectionValue:
    values = inp.values("financing")
    return values[0] if values else "Unknown: ask before booking showings"


def _showing_preferences(inp: SectionInput) -> SectionValue:
    return _or_not_stated(inp.customer_sentences(_SHOWING))


# Human agent.
def _complexity(inp: SectionInput) -> SectionValue:
    customer = [t.text for t in inp.turns if t.role == "customer"]
    score = len(inp.tried) + len(inp.open_questions) + (2 if cue_texts(customer, "legal") else 0)
    score += len(inp.turns) // 15
    level = "high" if score >= 4 else "medium" if score >= 2 else "low"
    return (
        f"{level}: {len(inp.turns)} turns, {len(inp.facts)} facts, {len(inp.tried)} tried, "
        f"{len(inp.open_questions)} open questions"
    )


def _emotional_context(inp: SectionInput) -> SectionValue:
    customer = [t.text for t in inp.turns if t.role == "customer"]
    text = " ".join(customer)
    thanks = len(re.findall(r"\bthanks?\b|\bthank you\b|\bappreciate", text, re.IGNORECASE))
    rapport = "good" if thanks or inp.sentiment.label == "positive" else "neutral"
    if inp.sentiment.label == "negative":
        rapport = "strained"
    distress = cue_texts(customer, "distress")
    stress = (
        "high" if distress or inp.sentiment.now < -0.5 else "elevated" if inp.sentiment.now < -0.2 else "low"
    )
    avg_words = sum(len(words(c)) for c in customer) / max(1, len(customer))
    style = "brief, to the point" if avg_words < 8 else "detailed"
    if re.search(r"\b(?:lol|haha|gonna|wanna|hey)\b|!{2,}", text, re.IGNORECASE):
        style += ", casual"
    return {"rapport": rapport, "stress": stress, "communication_style": style}


def _urgency_factors(inp: SectionInput) -> SectionValue:
    customer = [t.text for t in inp.turns if t.role == "customer"]
    text = " ".join(customer)
    factors = [f"distress: {m}" for m in cue_texts(customer, "distress")]
    factors += [f"legal: {m}" for m in cue_texts(customer, "legal")]
    if re.search(r"\b(?:asap|urgent\w*|immediately|right now|today|deadline)\b", text, re.IGNORECASE):
        factors.append("time pressure stated")
    if inp.sentiment.label == "negative":
        factors.append(f"negative sentiment ({inp.sentiment.trend})")
    if re.search(r"\b(?:again|second time|already (?:called|contacted|asked))\b", text, re.IGNORECASE):
        factors.append("repeat contact")
    return factors or [f"none beyond {inp.urgency} urgency"]


def _success_criteria(inp: SectionInput) -> SectionValue:
    criteria = [f"Goal met: {clip_words(inp.goal, 14)}"]
    if inp.facts:
        criteria.append("No repeated questions: use the facts above")
    if inp.tried:
        criteria.append("Do not re-suggest steps already tried")
    return criteria


# Support and sales.
def _account(inp: SectionInput) -> SectionValue:
    keys = ("customer_name", "account_id", "username", "email", "phone", "membership_level", "zip_code")
    return _facts_dict(inp, keys) or NOT_STATED


def _order(inp: SectionInput) -> SectionValue:
    keys = ("order_id", "product", "brand", "amount", "date", "size", "payment_method", "street_address")
    return _facts_dict(inp, keys) or NOT_STATED


def _plan(inp: SectionInput) -> SectionValue:
    values = inp.values("plan") or inp.values("membership_level")
    return values[0] if values else NOT_STATED


def _issue(inp: SectionInput) -> SectionValue:
    return {"goal": clip_words(inp.goal, 20), "tried": list(inp.tried[:3])}


SectionBuilder = Callable[[SectionInput], SectionValue]
KNOWN_SECTIONS: Mapping[str, SectionBuilder] = {
    "property_details": _property_details,
    "motivation": _motivation,
    "timeline": _timeline,
    "price_expectation": _price_expectation,
    "budget": _budget,
    "criteria": _criteria,
    "financing_status": _financing_status,
    "showing_preferences": _showing_preferences,
    "complexity": _complexity,
    "emotional_context": _emotional_context,
    "urgency_factors": _urgency_factors,
    "success_criteria": _success_criteria,
    "account": _account,
    "order": _order,
    "plan": _plan,
    "issue": _issue,
}
# Section sets per receiver kind, for callers without a policy (evals, tests).
HUMAN_SECTIONS = ("complexity", "emotional_context", "urgency_factors", "success_criteria")
SELLER_SECTIONS = ("property_details", "motivation", "timeline", "price_expectation")
BUYER_SECTIONS = ("budget", "criteria", "financing_status", "showing_preferences")
SUPPORT_SECTIONS = ("account", "order", "plan", "issue")


def check_sections(names: Sequence[str]) -> None:
    """Raise :class:`UnknownSectionError` naming every unknown section and the known ones."""
    unknown = [n for n in names if n not in KNOWN_SECTIONS]
    if unknown:
        msg = f"unknown brief section(s) {unknown}; known sections: {sorted(KNOWN_SECTIONS)}"
        raise UnknownSectionError(msg)


def build_sections(names: Sequence[str], inp: SectionInput) -> dict[str, SectionValue]:
    """Build the requested sections in order (names are checked first)."""
    check_sections(names)
    return {name: KNOWN_SECTIONS[name](inp) for name in names}
