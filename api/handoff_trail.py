"""One human handoff's story, read from its desk events in order: who was offered it, who took it and
for how long, how it ended. Analytics (``api/analytics_figures.py``) computes every figure from these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _ts(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["ts"])).timestamp()


@dataclass
class Trail:
    """What happened to one human handoff, read from its desk events in order."""

    created: float | None = None
    first_offer_s: float | None = None
    accepted_by: list[str] = field(default_factory=list)
    """Each agent that accepted it, in order (a transfer adds one)."""
    first_accept_s: float | None = None
    segments: list[tuple[str, float]] = field(default_factory=list)
    """(agent, seconds held) for every agent that held it."""
    offers: Counter[str] = field(default_factory=Counter)
    declined: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    offered_at: dict[str, float] = field(default_factory=dict)
    accept_after_offer: dict[str, float] = field(default_factory=dict)
    accepted_at: dict[str, float] = field(default_factory=dict)
    transferred_by: list[str] = field(default_factory=list)
    ended: str | None = None
    """completed, returned (by an agent), rolled_back (no agent took it), abandoned (left the queue
    before an agent took it), cancelled (after one had)."""
    ended_by: str | None = None

    @property
    def handle_s(self) -> float | None:
        """Seconds people held it (every agent's segment), once it ended with an agent."""
        if self.ended not in ("completed", "returned") or not self.segments:
            return None
        return sum(s for _, s in self.segments)


def read_trail(events: Sequence[dict[str, Any]]) -> Trail:
    """Walk one handoff's events; a segment runs from an acceptance to whatever takes the agent off."""
    trail = Trail()
    holder: tuple[str, float] | None = None

    def release(ts: float) -> None:
        nonlocal holder
        if holder is not None:
            trail.segments.append((holder[0], max(0.0, ts - holder[1])))
            holder = None

    for event in events:
        kind, ts, agent = event.get("type"), _ts(event), event.get("agent_id")
        if kind == "handoff_created":
            trail.created = ts
        elif kind == "handoff_offered" and agent:
            if trail.first_offer_s is None and trail.created is not None:
                trail.first_offer_s = ts - trail.created
            trail.offers[agent] += 1
            trail.offered_at[agent] = ts
        elif kind == "handoff_declined" and agent:
            trail.declined[agent] += 1
        elif kind == "handoff_timed_out" and agent:
            trail.missed[agent] += 1
        elif kind == "handoff_accepted" and agent:
            if not trail.accepted_by:
                trail.first_accept_s = float(event.get("time_to_accept_s") or 0.0)
            trail.accepted_by.append(agent)
            trail.accepted_at.setdefault(agent, ts)
            if agent in trail.offered_at:
                trail.accept_after_offer.setdefault(agent, ts - trail.offered_at[agent])
            release(ts)
            holder = (agent, ts)
        elif kind == "handoff_transferred":
            trail.transferred_by.append(str(event.get("from_agent_id") or ""))
            release(ts)
        elif kind == "handoff_requeued":
            release(ts)
        elif kind == "handoff_completed":
            release(ts)
            trail.ended, trail.ended_by = "completed", agent
        elif kind == "handoff_returned_to_ai":  # by its agent, or by the desk when nobody took it
            release(ts)
            trail.ended = "returned" if agent else "rolled_back"
            trail.ended_by = agent
        elif kind == "handoff_expired":
            trail.ended = "rolled_back"
        elif kind == "handoff_cancelled":
            trail.ended = "cancelled" if holder is not None or trail.accepted_by else "abandoned"
            release(ts)
    return trail
