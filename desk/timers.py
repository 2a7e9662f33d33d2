"""When a waiting handoff's timers fall due: offer timeouts, stuck alerts, the no-agent expiry.

Pure functions of a handoff and the desk's config (no I/O): ``desk.ops`` applies what they say is
due, and both stores index waiting handoffs by ``timer_deadline`` so a tick reads only the due ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from desk import assign
from desk.config import DeskConfig
from desk.models import Handoff


def since(start: datetime | None, now: datetime) -> float | None:
    """Seconds from ``start`` to ``now`` (None when ``start`` is None)."""
    return None if start is None else max(0.0, (now - start).total_seconds())


def expires_after_s(handoff: Handoff, config: DeskConfig) -> float:
    """How long a handoff waits before the no-agent policy: the routing policy's, else the desk's."""
    return handoff.no_agent_after_s or config.expires_after_s


def accept_timeout_s(handoff: Handoff, config: DeskConfig) -> float:
    """How long an offer of this handoff stands: the routing policy's, else the desk's."""
    return handoff.accept_timeout_s or config.accept_timeout_s


def offer_deadline(handoff: Handoff, config: DeskConfig) -> datetime | None:
    """When the current offer lapses (None before the first offer)."""
    if not handoff.offers:
        return None
    return handoff.offers[-1].offered_at + timedelta(seconds=accept_timeout_s(handoff, config))


def offer_lapsed(handoff: Handoff, now: datetime, config: DeskConfig) -> bool:
    """Whether the current offer has passed its deadline."""
    deadline = offer_deadline(handoff, config)
    return handoff.status == "offered" and deadline is not None and now >= deadline


def timer_due(handoff: Handoff, now: datetime, config: DeskConfig) -> bool:
    """Cheap pre-check: does this waiting handoff have a timer due (offer timeout, stuck, expiry)?"""
    if handoff.status not in ("pending", "offered"):
        return False
    waited = assign.waited_s(handoff, now)
    if offer_lapsed(handoff, now, config):
        return True
    alerted = since(handoff.stuck_alerted_at, now)
    if waited >= config.stuck_after_s and (alerted is None or alerted >= config.stuck_after_s):
        return True
    return handoff.status == "pending" and (
        waited >= expires_after_s(handoff, config) or handoff.offers_this_round() >= config.max_offers
    )


def timer_deadline(handoff: Handoff, config: DeskConfig) -> datetime | None:
    """When ``timer_due`` may first hold for this handoff (None: held or ended, no timer).

    The tick reads only the handoffs whose deadline has passed (a heap in process, a sorted set on
    Redis) instead of every waiting one. It is a millisecond early, so float rounding never makes a
    tick miss a timer; ``run_timers`` re-checks with ``timer_due``.
    """
    if handoff.status not in ("pending", "offered"):
        return None
    start = handoff.round_started_at or handoff.created_at
    stuck = start + timedelta(seconds=config.stuck_after_s)
    if handoff.stuck_alerted_at is not None:
        stuck = max(stuck, handoff.stuck_alerted_at + timedelta(seconds=config.stuck_after_s))
    due = [stuck]
    if handoff.status == "offered":
        offer = offer_deadline(handoff, config)
        due += [] if offer is None else [offer]
    elif handoff.offers_this_round() >= config.max_offers:
        due.append(start)  # out of offers: the no-agent policy applies at the next tick
    else:
        due.append(start + timedelta(seconds=expires_after_s(handoff, config)))
    return min(due) - timedelta(milliseconds=1)
