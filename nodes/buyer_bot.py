"""Buyer bot: qualifies a buyer (budget, area, financing, timing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import BUYER_BOT
from nodes.opening import opening_for


def _advice(collected: Mapping[str, Any]) -> str:
    financing = str(collected.get("financing", {}).get("value", "")).lower()
    if "pre" in financing or "cash" in financing:
        return "Since your financing is ready, I can line up showings for this week."
    return "A pre-approval letter will make your offers much stronger; I can connect you with a lender."


SPEC = BotSpec(
    name=BUYER_BOT,
    title="buyer specialist",
    greeting="Hi, I'm the buyer specialist. Let's find the right home for you.",
    slots=(
        Slot("budget", "What budget are you working with?", slots.budget),
        Slot("area", "Which area or neighbourhood are you looking in?", slots.area),
        Slot(
            "financing",
            "How are you financing the purchase: pre-approved, cash, or still arranging a mortgage?",
            slots.financing,
        ),
        Slot("timing", "When are you hoping to move?", slots.timeline),
    ),
    done="Great, here's your search profile: {summary}. I'll send matching listings.",
    after_done=(
        "Next, I'll send listings that match your profile and you can pick the ones to tour; your agent confirms showing times with you. Would you like to add any must-haves or deal-breakers?"
    ),
    advice=_advice,
)

buyer_bot = make_bot(SPEC, opening_for)
