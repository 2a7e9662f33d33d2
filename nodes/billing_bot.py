"""Billing bot: which charge, on which account, and what outcome the customer wants."""

from __future__ import annotations

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import BILLING_BOT
from nodes.opening import opening_for

SPEC = BotSpec(
    name=BILLING_BOT,
    title="billing specialist",
    greeting="Hi, I'm the billing specialist.",
    slots=(
        Slot("charge", "Which charge or invoice is this about?", slots.charge),
        Slot("account", "What's the email or account id on the account?", slots.email_or_account),
        Slot(
            "issue", "What outcome would you like (refund, correction, explanation)?", slots.issue, "request"
        ),
    ),
    done="I have: {summary}. I'm checking the charge history now.",
    after_done=(
        "Once I've checked the charge, I'll confirm the correction or refund here; refunds usually show within 5-10 business days. Is there anything else about your bill?"
    ),
)

billing_bot = make_bot(SPEC, opening_for)
