"""How a bot opens after it receives a conversation: it shows it already has the context."""

from __future__ import annotations

import logging

from graph.context import Brief, opening_message
from graph.context.prose import customer_name
from graph.open_items import open_items
from graph.state import BatonState, current_handoff
from graph.textutil import normalize_value
from graph.transcript import to_turns
from nodes.base import BotSpec
from nodes.replies import told

log = logging.getLogger(__name__)


def _known_name(state: BatonState) -> str:
    """The customer's name as the bots heard it (a brief travels without its transcript)."""
    item = state.get("collected", {}).get("customer_name")
    if isinstance(item, dict) and item.get("value"):
        return str(item["value"])
    return customer_name(to_turns(state["messages"]), ())


def opening_for(state: BatonState, spec: BotSpec) -> str | None:
    """The first line a bot says after a handoff to it (or a human's return), else ``None``.

    A handoff is acknowledged once: the key ``<handoff id>:<status>`` is recorded in ``delivered``.
    """
    record = current_handoff(state)
    if record is None:
        return None
    key = f"{record.id}:{record.status}"
    if key in state.get("delivered", []):
        return None
    if record.status == "active" and record.to == spec.name:
        try:
            brief = Brief.model_validate(record.brief)
        except ValueError as exc:  # a brief from an older version must not break the turn
            log.warning("unreadable brief on handoff %s: %s", record.id, exc)
            return f"Hi, I'm the {spec.title}. I've read our conversation so far."
        opening = opening_message(brief, f"the {spec.title}", name=_known_name(state))
        return " ".join([opening, *_picked_up(state, spec, opening)])
    if record.status in ("returned", "rolled_back") and state.get("active_agent") == spec.name:
        if record.status == "returned":
            # The agent's note is for the team (it stays on the handoff record); the customer hears this.
            return "Thanks for your patience. I'm back with you, with everything you and our specialist discussed."
        # A rollback's note is the customer notice the desk or the admin chose.
        return record.note.strip() or "I'm back with you and I still have everything you told me."
    return None


def _picked_up(state: BatonState, spec: BotSpec, opening: str) -> list[str]:
    """A line for each open item this bot took up that the opening does not already say."""
    lines = []
    for item in open_items(state):
        said = told(item)
        if (
            item.target == spec.name
            and item.status == "taken"
            and normalize_value(said) not in normalize_value(opening)
        ):
            lines.append(f"Picking up where you left off: {said}.")
    return lines
