"""Handoff priority (1-100), as the handoff spec's formula defines it."""

from __future__ import annotations

import math

HOT_LEAD = 8.0
"""A lead score (0-10) above this makes a hot lead."""
URGENCY_MULTIPLIER = {"low": 0.5, "medium": 1.0, "high": 1.5, "critical": 2.0}


def handoff_priority(*, urgency: str, lead_score: float, sentiment: float, explicit_request: bool) -> int:
    """Base 50 x urgency; x1.5 hot lead (lead score > 8 of 10); x1.3 upset customer (< -0.5); x1.4 explicit request.

    Raises:
        ValueError: For an unknown urgency level.
    """
    try:
        priority = 50.0 * URGENCY_MULTIPLIER[urgency]
    except KeyError:
        msg = f"unknown urgency {urgency!r}; expected one of {sorted(URGENCY_MULTIPLIER)}"
        raise ValueError(msg) from None
    if lead_score > HOT_LEAD:
        priority *= 1.5
    if sentiment < -0.5:
        priority *= 1.3
    if explicit_request:
        priority *= 1.4
    # Halves round up as seed 000's Math.round does (Python's round(32.5) is 32, banker's rounding).
    return min(100, max(1, math.floor(priority + 0.5)))
