"""Buyer bot: qualifies a buyer (budget, area, financing, timing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import BUYER_BOT
from nodes.opening import opening_for
from nodes.replies import knows


def _advice(collected: Mapping[str, Any]) -> str:
    item = collected.get("financing", {})
    label = item.get("label") or slots.label_of(slots.financing, str(item.get("value", "")))
    if label == "ready":
        return "Since your financing is ready, I can line up showings for this week."
    return "A pre-approval letter will make your offers much stronger; I can connect you with a lender."


SPEC = BotSpec(
    name=BUYER_BOT,
    title="buyer specialist",
    greeting="Hi, I'm the buyer specialist. Let's find the right home for you.",
    slots=(
        Slot("budget", "What budget are you working with?", slots.money(least=1000, budget=True)),
        Slot("area", "Which area or neighbourhood are you looking in?", slots.place()),
        Slot(
            "financing",
            "How are you financing the purchase: pre-approved, cash, or still arranging a mortgage?",
            slots.financing,
        ),
        Slot("timeline", "When are you hoping to move?", slots.timeline, "timing"),
    ),
    done="Great, here's your search profile: {summary}. I'll send matching listings.",
    after_done=(
        "Next, I'll send listings that match your profile and you can pick the ones to tour; your agent confirms showing times with you. Would you like to add any must-haves or deal-breakers?"
    ),
    advice=_advice,
    knowledge=(
        knows(
            "Once you've picked the homes you like, your agent confirms showing times with you.",
            "showing",
            "tour",
            "visit",
            "see house",
            "see home",
        ),
        knows(
            "A pre-approval letter makes your offers much stronger, and I can connect you with a lender.",
            "mortgage",
            "lender",
            "loan",
            "approval",
            "approve",
        ),
    ),
)

buyer_bot = make_bot(SPEC, opening_for)
