"""Support bot: gathers account and order details and the problem before solving or escalating."""

from __future__ import annotations

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import SUPPORT_BOT
from nodes.opening import opening_for

SPEC = BotSpec(
    name=SUPPORT_BOT,
    title="support specialist",
    greeting="Hi, I'm the support assistant.",
    slots=(
        Slot("issue", "What seems to be the problem?", slots.issue),
        Slot(
            "account",
            "Could you give me the email or account id on your account?",
            slots.identifier("account_id", email=True),
        ),
        Slot("order_id", "Which order is this about (order id)?", slots.identifier("order_id"), "order id"),
    ),
    done="Thanks, I have everything: {summary}. I'm looking into it now.",
    after_done=(
        "I'll update you here as soon as I have news on this. Is there anything else I can help with in the meantime?"
    ),
)

support_bot = make_bot(SPEC, opening_for)
