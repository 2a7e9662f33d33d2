"""What the caller hears for an event of their conversation's stream (None: nothing to say).

The same events the chat widget renders: bot and agent messages, the handoff narration and notices,
the queue position and wait. Internal lines (system notes, agents' notes) never reach the customer
stream, so they are never spoken either.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

WAITING_STATES = ("pending", "offered")
_LONG_NUMBER = re.compile(r"\d{5,}")  # a run of digits no one reads as a quantity (phone, id)


@dataclass(frozen=True)
class Spoken:
    """A line to speak and the event it came from (a handoff's id and state for handoff events)."""

    text: str
    source: str
    seq: int
    handoff_id: str = ""
    state: str = ""
    queue_position: int | None = None


def wait_line(position: int | None, wait_s: float | None) -> str:
    """'You are number 2 in line. The expected wait is about 3 minutes.' from the desk's own numbers."""
    parts = []
    if position is not None and position > 0:
        parts.append(f"You are number {position} in line.")
    elif position == 0:
        return "An agent is answering now."
    if wait_s is not None and wait_s > 0:
        minutes = max(1, round(wait_s / 60))
        parts.append(f"The expected wait is about {minutes} minute{'s' if minutes != 1 else ''}.")
    return " ".join(parts)


def spoken(raw: str) -> Spoken | None:
    """The line for one stream event (JSON as the socket sends it)."""
    event: dict[str, Any] = json.loads(raw)
    kind, seq = event.get("type"), int(event.get("seq") or 0)
    text = str(event.get("text") or "").strip()
    if kind == "bot_message" and event.get("role", "bot") == "bot" and text:
        return Spoken(text, kind, seq)
    if kind == "agent_message" and text:
        return Spoken(text, kind, seq)
    if kind == "handoff_state" and not event.get("snapshot"):
        message = str(event.get("message") or "").strip()
        wait = wait_line(event.get("queue_position"), event.get("expected_wait_s"))
        line = " ".join(p for p in (message, wait) if p)
        if line:
            return Spoken(
                line,
                kind,
                seq,
                handoff_id=str(event.get("handoff_id") or ""),
                state=str(event.get("state") or ""),
                queue_position=event.get("queue_position"),
            )
    return None


def speakable(text: str) -> str:
    """``text`` as a synthesiser should read it: a phone number digit by digit, not as one large number."""
    return _LONG_NUMBER.sub(lambda m: " ".join(m.group(0)), text)
