"""When each turn was written, and the conversation times a policy can compare (``time_based`` rules).

A message carries the Unix time it was written in ``additional_kwargs["at"]``: the runtime stamps a
customer's turn as it arrives and a bot stamps its answer, both from ``BatonContext.clock`` (tests pass
a fake clock). The router turns the stamps into minutes. A message from before stamps existed has
none: a time that cannot be known is ``None``, and a comparison with ``None`` never holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from langchain_core.messages import BaseMessage

from graph.state import all_handoffs
from policies.loader import FieldSpec

STAMP = "at"
"""``additional_kwargs`` key holding the Unix time a message was written."""

M = TypeVar("M", bound=BaseMessage)

TIME_FIELDS: dict[str, FieldSpec] = {
    "elapsed_minutes": FieldSpec(
        kind=(int, float),
        minimum=0,
        description="Minutes since the conversation's first message.",
    ),
    "unresolved_minutes": FieldSpec(
        kind=(int, float),
        minimum=0,
        description=(
            "Minutes since the customer's first turn of the current case, which nothing has resolved yet "
            "(a case starts with the conversation and again after a person's handoff ends): "
            "'hand to a human after 10 minutes without resolution' is unresolved_minutes >= 10."
        ),
    ),
    "waiting_minutes": FieldSpec(
        kind=(int, float),
        minimum=0,
        description="Minutes since the bot's last answer in the current case (None before the first).",
    ),
}


def stamp(message: M, at: float) -> M:
    """``message`` with the time it was written (a stamp it already has is kept)."""
    if STAMP not in message.additional_kwargs:
        message.additional_kwargs[STAMP] = at
    return message


def written_at(message: BaseMessage) -> float | None:
    """When ``message`` was written, or ``None`` for a message without a stamp."""
    value = message.additional_kwargs.get(STAMP)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _minutes(now: float, then: float | None) -> float | None:
    return None if then is None else round(max(0.0, now - then) / 60, 3)


def time_fields(messages: Sequence[BaseMessage], now: float, case_start: int = 0) -> dict[str, Any]:
    """The ``TIME_FIELDS`` values at ``now`` (Unix time).

    Args:
        messages: The conversation, oldest first.
        now: The current time (the router's clock).
        case_start: Index of the first message of the current case (after the last human handoff ended).
    """
    first = written_at(messages[0]) if messages else None
    case = messages[case_start:]
    opened = next((written_at(m) for m in case if m.type == "human"), None)
    answered = next((written_at(m) for m in reversed(case) if m.type == "ai" and written_at(m)), None)
    return {
        "elapsed_minutes": _minutes(now, first),
        "unresolved_minutes": _minutes(now, opened),
        "waiting_minutes": _minutes(now, answered),
    }


def case_opened(state: Mapping[str, Any]) -> int:
    """Index of the first message after the last human handoff ended (0: the conversation's start)."""
    return max((h.ended_at or 0 for h in all_handoffs(state) if h.kind == "human"), default=0)


def conversation_times(state: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The ``TIME_FIELDS`` values of a conversation's graph state at ``now``."""
    return time_fields(state.get("messages") or [], now, case_opened(state))
