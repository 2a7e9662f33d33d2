"""The handoff lifecycle: one explicit transition table, every move validated and timestamped.

``declined``, ``timed_out`` and ``transferred`` are transient: the desk moves on to ``pending``
or ``offered`` in the same atomic step, so a stored handoff is never left in them. The only move
not named in issue #4 is ``accepted|active -> pending``: the system re-queues the handoffs of an
agent whose heartbeat expired. A handoff is born ``pending`` (submitted) or, when a desk that lost
it is given it back after a restart, ``accepted`` by the agent who held it (``restore``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from desk.errors import IllegalTransition
from desk.models import Handoff, HandoffStatus, TransitionRecord

TERMINAL: Final[frozenset[HandoffStatus]] = frozenset({"completed", "returned_to_ai", "expired", "cancelled"})
TRANSIENT: Final[frozenset[HandoffStatus]] = frozenset({"declined", "timed_out", "transferred"})
WAITING: Final[frozenset[HandoffStatus]] = frozenset({"pending", "offered"})
HELD: Final[frozenset[HandoffStatus]] = frozenset({"accepted", "active"})

TRANSITIONS: Final[dict[HandoffStatus, frozenset[HandoffStatus]]] = {
    "pending": frozenset({"offered", "returned_to_ai", "expired", "cancelled"}),
    "offered": frozenset({"accepted", "declined", "timed_out", "returned_to_ai", "expired", "cancelled"}),
    "declined": frozenset({"pending", "cancelled"}),
    "timed_out": frozenset({"pending", "cancelled"}),
    "accepted": frozenset({"active", "transferred", "returned_to_ai", "cancelled", "pending"}),
    "active": frozenset({"completed", "transferred", "returned_to_ai", "cancelled", "pending"}),
    "transferred": frozenset({"pending", "offered", "cancelled"}),
    "completed": frozenset(),
    "returned_to_ai": frozenset(),
    "expired": frozenset(),
    "cancelled": frozenset(),
}


def can_transition(current: HandoffStatus, target: HandoffStatus) -> bool:
    """Whether the lifecycle allows ``current -> target``."""
    return target in TRANSITIONS[current]


def transition(handoff: Handoff, target: HandoffStatus, now: datetime, reason: str = "") -> Handoff:
    """Move ``handoff`` to ``target`` in place, recording the transition.

    Args:
        handoff: The handoff (a private copy; it is mutated).
        target: The status to move to.
        now: Transition time.
        reason: Why, recorded in the history.

    Returns:
        The same handoff, for chaining.

    Raises:
        IllegalTransition: The table does not allow the move.
    """
    current = handoff.status
    if not can_transition(current, target):
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (terminal)"
        msg = f"handoff {handoff.handoff_id}: cannot go from {current} to {target}; allowed: {allowed}"
        raise IllegalTransition(msg)
    handoff.history.append(TransitionRecord(from_status=current, to_status=target, at=now, reason=reason))
    handoff.status = target
    handoff.updated_at = now
    return handoff
