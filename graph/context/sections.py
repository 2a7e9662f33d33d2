"""Per-target brief sections: each receiver gets the few views it needs, built from facts and turns.

Every section reads the language layer, never a pattern of its own: the grounded facts
(:func:`graph.context.extract.extract_facts`), what the customer's clauses state (reasons, wanted and
refused features: :mod:`graph.language.statements`) and the cues the router reads (distress, legal,
timeline, failure: :mod:`graph.language.cues`).

The routing policy lists section names per target; :data:`KNOWN_SECTIONS` is the closed set of names,
so a typo in a policy fails at start-up with the list of valid names instead of yielding an empty brief.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from graph.context.analysis import clip_words
from graph.context.models import Fact, Rapport, SectionValue, SentimentView, Urgency
from graph.context.summary import fact_sort
from graph.language.cues import cue_texts, read_cues
from graph.language.statements import Statements, read_statements
from graph.transcript import Turn

# Lemmas of a question that asks why ("What's prompting the move?", "Why are you selling?").
_WHY = frozenset({"why", "reason", "prompt", "motivate", "cause"})
# Lemmas of a clause about viewing a home ("We can do showings on weekends", "visit on Saturday").
_SHOWING = frozenset({"show", "showing", "tour", "visit", "view", "viewing"})
_SECTION_WORDS = 24


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
    rapport: Rapport | None = None

    def values(self, *keys: str) -> list[str]:
        """Fact values for ``keys``, in conversation order."""
        return [f.value for f in self.facts if f.key in keys]

    def sorted_values(self, sort: str) -> list[str]:
        """Fact values holding a time, a place or an amount (see :func:`graph.context.summary.fact_sort`)."""
        return [f.value for f in self.facts if fact_sort(f) == sort]

    @property
    def customer(self) -> list[str]:
        """The customer's turns, as written."""
        return [t.text for t in self.turns if t.role == "customer"]

    def statements(self) -> list[Statements]:
        """What each customer turn states (read once per text)."""
        return [read_statements(text) for text in self.customer]


NOT_STATED = "Not stated yet"


def _facts_dict(inp: SectionInput, keys: Sequence[str]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key in keys:
        values = inp.values(key)
        if values:
            out[key] = values[0] if len(values) == 1 else values
    return out


def _or_not_stated(values: list[str]) -> str | list[str]:
    values = list(dict.fromkeys(clip_words(v, _SECTION_WORDS) for v in values))
    return values if values else NOT_STATED


# Real-estate seller bot.
def _property_details(inp: SectionInput) -> SectionValue:
    found = _facts_dict(inp, ("street_address", "zip_code", "property_type", "rooms", "square_feet"))
    places = [v for v in inp.sorted_values("place") if v not in found.values()]
    if places:
        found["place"] = places[0]
    return found or NOT_STATED


def _answers_why(turns: Sequence[Turn]) -> list[str]:
    """The customer's own words right after a bot or agent asked why."""
    found: list[str] = []
    asked_why = False
    for turn in turns:
        if turn.role in ("bot", "agent"):
            asked = read_statements(turn.text)
            asked_why = asked.asks and bool(asked.topic_words & _WHY)
        elif turn.role == "customer" and asked_why:
            said = read_statements(turn.text).of_kind("situation", "reason", "request", "other")
            found += [s.text for s in said]
            asked_why = False
    return found


def _motivation(inp: SectionInput) -> SectionValue:
    reasons = [s.text for st in inp.statements() for s in st.reasons]
    return _or_not_stated(reasons + _answers_why(inp.turns))


def _timeline(inp: SectionInput) -> SectionValue:
    return _or_not_stated(inp.values("timeline") + inp.sorted_values("time"))


def _price_expectation(inp: SectionInput) -> SectionValue:
    return _or_not_stated(inp.values("price_expectation") or inp.sorted_values("money"))


# Real-estate buyer bot.
def _budget(inp: SectionInput) -> SectionValue:
    return _or_not_stated(inp.values("budget") or inp.sorted_values("money"))


def _criteria(inp: SectionInput) -> SectionValue:
    statements = inp.statements()
    must = inp.values("rooms", "property_type") + [w for st in statements for w in st.wants]
    breakers = [a for st in statements for a in st.avoids]
    return {"must_haves": list(dict.fromkeys(must)), "deal_breakers": list(dict.fromkeys(breakers))}


def _financing_status(inp: SectionInput) -> SectionValue:
    values = inp.values("financing") or cue_texts(inp.customer, "financing")
    return clip_words(values[0], _SECTION_WORDS) if values else "Unknown: ask before booking showings"


def _showing_preferences(inp: SectionInput) -> SectionValue:
    said = [
        s.text for st in inp.statements() for s in st.said if s.lemmas & _SHOWING and s.kind != "question"
    ]
    return _or_not_stated(said)


# Human agent.
def _complexity(inp: SectionInput) -> SectionValue:
    score = len(inp.tried) + len(inp.open_questions) + (2 if cue_texts(inp.customer, "legal") else 0)
    score += len(inp.turns) // 15
    level = "high" if score >= 4 else "medium" if score >= 2 else "low"
    return (
        f"{level}: {len(inp.turns)} turns, {len(inp.facts)} facts, {len(inp.tried)} tried, "
        f"{len(inp.open_questions)} open questions"
    )


def _emotional_context(inp: SectionInput) -> SectionValue:
    customer = inp.customer
    # The brief's own rapport score (graph.context.relationship.rapport_of): one definition.
    rapport = (
        f"{inp.rapport.label} ({inp.rapport.score}/10)" if inp.rapport is not None else "no evidence yet"
    )
    distress = cue_texts(customer, "distress")
    stress = (
        "high" if distress or inp.sentiment.now < -0.5 else "elevated" if inp.sentiment.now < -0.2 else "low"
    )
    avg_words = sum(len(c.split()) for c in customer) / max(1, len(customer))
    style = "brief, to the point" if avg_words < 8 else "detailed"
    # Written as one types to a friend: no capital to start, or a run of "!!".
    if customer and (
        sum(c[:1].islower() for c in customer) > len(customer) / 2 or any("!!" in c for c in customer)
    ):
        style += ", casual"
    return {"rapport": rapport, "stress": stress, "communication_style": style}


def _urgency_factors(inp: SectionInput) -> SectionValue:
    customer = inp.customer
    factors = [f"distress: {m}" for m in cue_texts(customer, "distress")]
    factors += [f"legal: {m}" for m in cue_texts(customer, "legal")]
    soon = [c.text for text in customer for c in read_cues(text).find("timeline", "immediate")]
    if soon:
        factors.append(f"time pressure: {soon[0]}")
    if inp.sentiment.label == "negative":
        factors.append(f"negative sentiment ({inp.sentiment.trend})")
    failures = cue_texts(customer, "failure")
    if failures:
        factors.append(f"still failing: {clip_words(failures[-1], 12)}")
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
