"""The brief's business view (seed 001's conversation state and business context), grounded in turns.

* **Intent history**: what the router read on each customer turn, collapsed to the turns where it
  changed (the router records one :class:`~graph.context.models.IntentShift` per turn in graph state).
* **Business context**: for a lead, its stage (new, qualifying, qualified, negotiating) and the
  property; for a support customer, the account, plan and order. Every value is a grounded fact's, with
  its turn; the stage says what it rests on.
* **Earlier conversations**: what the service found for the same customer id, one line each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graph.context.analysis import clip_words
from graph.context.models import (
    BusinessContext,
    BusinessFact,
    EarlierConversation,
    Fact,
    IntentShift,
    LeadStage,
    RaisedObjection,
)
from graph.context.summary import fact_sort
from graph.language.patterns import parse_money
from graph.signals import LEAD_SCORE_MAX
from graph.transcript import Turn

# A reading below this says no new intent: a short answer ("gold", "Joyce Wu") gets its confidence
# halved by the analyzer, and "unknown" is no reading at all.
INTENT_FLOOR = 0.5
MAX_SHIFTS = 5
MAX_EARLIER = 3
_EARLIER_WORDS = 16

# Seed 001 hands a lead over as qualified at ``lead_score >= 8.0``; the desk's hot-lead boost agrees.
QUALIFIED_SCORE = 0.8 * LEAD_SCORE_MAX
# An amount this large is a property's value or a buyer's budget, not a fee or an order total.
PROPERTY_AMOUNT = 10_000
# Fact keys only a lead states (the seller and buyer bots' slots).
_LEAD_KEYS = frozenset({"property_type", "rooms", "square_feet", "price_expectation", "budget", "financing"})
_VALUE_KEYS = ("price_expectation", "budget")
_ACCOUNT_DETAILS = {
    "account": ("account_id", "username", "email"),
    "plan": ("plan", "membership_level"),
    "order": ("order_id",),
}
_TERMS = frozenset({"price", "fees", "competitor"})


def intent_history(readings: Sequence[IntentShift], turns: Sequence[Turn]) -> list[IntentShift]:
    """The router's per-turn intents collapsed to changes (the latest :data:`MAX_SHIFTS`).

    Readings of turns the transcript does not hold as customer turns (a rolled-back branch) are
    ignored, as are readings under :data:`INTENT_FLOOR`, which continue the intent before them.
    """
    customer = {t.index for t in turns if t.role == "customer"}
    shifts: list[IntentShift] = []
    for reading in sorted(readings, key=lambda r: r.turn):
        if reading.turn not in customer or reading.intent == "unknown" or reading.confidence < INTENT_FLOOR:
            continue
        if shifts and shifts[-1].intent == reading.intent:
            continue
        shifts.append(reading.model_copy(update={"confidence": round(reading.confidence, 2)}))
    return shifts[-MAX_SHIFTS:]


def _first(facts: Sequence[Fact], keys: Sequence[str]) -> BusinessFact | None:
    for key in keys:
        fact = next((f for f in facts if f.key == key), None)
        if fact is not None:
            return BusinessFact(value=fact.value, turn=fact.turn)
    return None


def _property_value(facts: Sequence[Fact]) -> BusinessFact | None:
    named = _first(facts, _VALUE_KEYS)
    if named is not None:
        return named
    large = (
        f
        for f in facts
        if fact_sort(f) == "money" and any(a >= PROPERTY_AMOUNT for a in parse_money(f.value))
    )
    fact = next(large, None)
    return BusinessFact(value=fact.value, turn=fact.turn) if fact else None


def _stage(
    details: Mapping[str, BusinessFact],
    facts: Sequence[Fact],
    signals: Mapping[str, Any],
    objections: Sequence[RaisedObjection],
) -> tuple[LeadStage, str]:
    """The lead's stage, latest first, and what it rests on."""
    terms = [o for o in objections if o.kind in _TERMS]
    if terms:
        return "negotiating", f"{terms[-1].kind} objection (turn {terms[-1].turn})"
    known = [name for name in ("value", "address", "type") if name in details]
    timeline = _first(facts, ("timeline",))
    financing = _first(facts, ("financing",))
    known += ["timeline"] * bool(timeline) + ["financing"] * bool(financing or signals.get("financing_ready"))
    score = signals.get("lead_score")
    if isinstance(score, int | float) and score >= QUALIFIED_SCORE:
        return "qualified", f"lead score {score:g}/{LEAD_SCORE_MAX:g}"
    if {"value", "timeline", "financing"} <= set(known):
        return "qualified", "value, timeline and financing known"
    if known:
        return "qualifying", f"known: {', '.join(known)}"
    return "new", "nothing qualifying stated yet"


def business_of(
    facts: Sequence[Fact], signals: Mapping[str, Any] | None, objections: Sequence[RaisedObjection]
) -> BusinessContext | None:
    """A lead's stage and property, or a support customer's account; ``None`` when the chat shows neither.

    A conversation is a lead when it states a lead's slots (property type, rooms, price expectation,
    budget, financing) or an amount the size of a property; it is an account when it states an
    account, plan or order. Values are the facts', with their turns.
    """
    signals = signals or {}
    lead = any(f.key in _LEAD_KEYS for f in facts) or _property_value(facts) is not None
    if lead:
        found = {
            "address": _first(facts, ("street_address",)),
            "type": _first(facts, ("property_type",)),
            "value": _property_value(facts),
        }
        details = {k: v for k, v in found.items() if v is not None}
        stage, basis = _stage(details, facts, signals, objections)
        return BusinessContext(kind="lead", stage=stage, basis=basis, details=details)
    account = {name: _first(facts, keys) for name, keys in _ACCOUNT_DETAILS.items()}
    details = {k: v for k, v in account.items() if v is not None}
    return BusinessContext(kind="account", details=details) if details else None


def earlier_of(conversations: Sequence[EarlierConversation]) -> list[EarlierConversation]:
    """At most :data:`MAX_EARLIER` earlier conversations (the newest), each summary one short line."""
    return [
        c.model_copy(update={"summary": clip_words(" ".join(c.summary.split()), _EARLIER_WORDS)})
        for c in conversations[:MAX_EARLIER]
    ]
