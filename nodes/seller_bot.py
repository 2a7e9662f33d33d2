"""Seller bot: qualifies a homeowner who wants to sell (address, timeline, motivation, price, town)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import SELLER_BOT
from nodes.opening import opening_for
from nodes.replies import knows


def _advice(collected: Mapping[str, Any]) -> str:
    item = collected.get("timeline", {})
    label = item.get("label") or slots.label_of(slots.timeline, str(item.get("value", "")))
    if label == "immediate":
        return "Given your timeline, I'd book the valuation visit this week so you can list quickly."
    return "I'll prepare a comparative market analysis so you can decide on timing with real numbers."


SPEC = BotSpec(
    name=SELLER_BOT,
    title="seller specialist",
    greeting="Hi, I'm the seller specialist. I help homeowners sell at the right price.",
    slots=(
        Slot(
            "property_address",
            "What is the address of the property you'd like to sell?",
            slots.address,
            "address",
        ),
        Slot("timeline", "When would you ideally like to sell?", slots.timeline),
        Slot("motivation", "What's prompting the move?", slots.motivation),
        Slot(
            "price_expectation",
            "Do you have a price in mind for the property?",
            slots.money(least=1000),
            "price expectation",
        ),
        Slot("city", "Which town is the property in?", slots.place(), "town", ask=False),
    ),
    done="Here's what I have: {summary}. A listing agent will prepare a valuation based on this.",
    after_done=(
        "After the valuation, your agent walks you through the market analysis and a listing plan; photos and the listing can follow within a week. Anything else I can help with?"
    ),
    advice=_advice,
    knowledge=(
        knows(
            "Once the valuation is done, photos and the listing can usually follow within a week.",
            "long take",
            "long sell",
            "long list",
            "soon list",
        ),
        knows(
            "A listing agent prepares a valuation from what you've told me and recent comparable sales.",
            "worth",
            "valuation",
            "value home",
            "value house",
        ),
    ),
)

seller_bot = make_bot(SPEC, opening_for)
