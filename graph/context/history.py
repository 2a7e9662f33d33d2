"""What a handoff brief knows beyond the transcript: the router's reading of each customer turn and the
customer's earlier conversations.

The router records one intent reading per customer turn in graph state (``intent_log``); the brief
collapses them to changes (:func:`graph.context.business.intent_history`). Earlier conversations live
in the service's stores, which nodes never import: the service passes in a :class:`CustomerHistory`
(``BatonContext.history``), and the router asks it when a handoff is briefed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from graph.context.business import MAX_EARLIER
from graph.context.models import EarlierConversation, IntentShift

logger = logging.getLogger(__name__)


class CustomerHistory(Protocol):
    """Finds a customer's earlier conversations (implemented by the service that stores them)."""

    async def earlier(self, conversation_id: str) -> Sequence[EarlierConversation]:
        """The earlier conversations of this conversation's customer, newest first, not itself.

        Empty when the conversation has no trusted customer id.
        """
        ...


@dataclass(frozen=True)
class BriefPast:
    """What the router hands the brief besides the turns: intent readings and whose conversation it is."""

    intents: tuple[IntentShift, ...] = ()
    conversation_id: str = ""


def intent_reading(intent: str, confidence: float, turn: int) -> dict[str, Any]:
    """The JSON graph state keeps for one customer turn's intent reading."""
    return IntentShift(
        intent=intent, turn=turn, confidence=round(max(0.0, min(1.0, confidence)), 3)
    ).model_dump()


def intent_readings(log: Sequence[Mapping[str, Any]]) -> tuple[IntentShift, ...]:
    """The readings of graph state's ``intent_log`` (an entry that does not validate is skipped)."""
    readings: list[IntentShift] = []
    for entry in log:
        try:
            readings.append(IntentShift.model_validate(entry))
        except ValidationError:
            logger.warning("skipping an intent reading that does not validate: %r", entry)
    return tuple(readings)


async def earlier_conversations(
    history: CustomerHistory | None, conversation_id: str
) -> list[EarlierConversation]:
    """The customer's latest :data:`MAX_EARLIER` earlier conversations; empty when unknown or on failure."""
    if history is None or not conversation_id:
        return []
    try:
        return list(await history.earlier(conversation_id))[:MAX_EARLIER]
    except Exception:  # a failing store must not block a handoff
        logger.warning("customer history failed; brief built without earlier conversations", exc_info=True)
        return []
