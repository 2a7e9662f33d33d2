"""Seed 000's handoff request fields: trigger source and confidence, AI confidence, handle time.

The router fills them on every handoff it completes; a handoff created from outside the graph (a CRM,
a supervisor) brings its own values in the escalation, and those win.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from graph.signals import Signals
from graph.state import HandoffRecord, TriggerSource

# Very negative sentiment makes a handoff critical (seed 000: ``userSentiment.score < -0.7``).
CRITICAL_SENTIMENT = -0.7

# What an escalation from outside may set on the record as given (checked by the API's models).
ESCALATION_FIELDS = (
    "campaign_id",
    "lead_id",
    "trigger_source",
    "trigger_confidence",
    "ai_confidence",
    "estimated_handle_time_min",
    "preferred_agent_id",
    "context_notes",
    "metadata",
)


def round_half_up(value: float, digits: int = 0) -> float:
    """Round as JavaScript's ``Math.round`` does (halves go up), not to even as Python's ``round``."""
    scale = 10.0**digits
    return float(math.floor(value * scale + 0.5) / scale)


def estimated_handle_time_min(message_count: int, sentiment: float) -> float:
    """Seed 000's estimate: 5 minutes x (messages / 10), x1.5 for a negative customer, to 0.1 minute."""
    factor = 1.5 if sentiment < 0 else 1.0
    return round_half_up(5.0 * (message_count / 10.0) * factor, 1)


def trigger_source(trigger: str, rule_id: str) -> TriggerSource:
    """The customer asked (user), code or a person outside the graph decided (system), else the AI."""
    if trigger == "explicit_request":
        return "user"
    if trigger == "code" or rule_id == "manual":
        return "system"
    return "ai"


def trigger_confidence(trigger: str, signals: Signals) -> float:
    """How strongly the signal behind the trigger reads, 0-1."""
    if trigger == "explicit_request":
        return 1.0 if signals.explicit_human_request else 0.5
    if trigger == "sentiment_based":
        return min(1.0, abs(signals.sentiment))
    if trigger == "complexity_based":
        return max(signals.complexity, signals.transaction_complexity)
    if trigger == "qualification_based":
        return signals.lead_score / 10.0  # lead scores run 0-10
    if trigger == "repeated_failure":
        return min(1.0, signals.failed_attempts / 2)
    return signals.intent_confidence


def seed_fields(record: HandoffRecord, signals: Signals, message_count: int) -> dict[str, Any]:
    """The four fields the router fills on a handoff it completes (an escalation's own values win later)."""
    return {
        "trigger_source": trigger_source(record.trigger, record.rule_id),
        "trigger_confidence": round(min(1.0, max(0.0, trigger_confidence(record.trigger, signals))), 3),
        "ai_confidence": round(signals.intent_confidence, 3),
        "estimated_handle_time_min": estimated_handle_time_min(message_count, signals.sentiment),
    }


def from_escalation(escalation: Mapping[str, Any]) -> dict[str, Any]:
    """The record fields an escalation from outside the graph gives (missing ones left out)."""
    return {k: escalation[k] for k in ESCALATION_FIELDS if escalation.get(k) not in (None, "", [], {})}
