"""Concierge bot: greets a new real-estate lead and learns enough to route them to a specialist."""

from __future__ import annotations

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import CONCIERGE_BOT
from nodes.opening import opening_for

SPEC = BotSpec(
    name=CONCIERGE_BOT,
    title="concierge",
    greeting="Hi, welcome! I'm the concierge assistant.",
    slots=(
        Slot("goal", "Are you looking to buy, sell, or something else?", slots.goal),
        Slot("customer_name", "May I have your name?", slots.customer_name, "name"),
        Slot("contact", "What's the best email or phone number to reach you?", slots.contact),
    ),
    done="Thanks! I have {summary}. Tell me a bit more and I'll bring in the right specialist.",
    after_done=(
        "Tell me whether you're buying or selling, and roughly when, and I'll bring in the right specialist."
    ),
)

concierge_bot = make_bot(SPEC, opening_for)
