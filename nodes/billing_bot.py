"""Billing bot: which charge, on which account, and what outcome the customer wants."""

from __future__ import annotations

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import BILLING_BOT
from nodes.opening import opening_for
from nodes.replies import knows

# The nouns and verbs that name a billing item (the slot's subject, not a reading of customer text).
_CHARGE = ("charge", "invoice", "bill", "fee", "subscription", "payment", "renewal", "pay")

SPEC = BotSpec(
    name=BILLING_BOT,
    title="billing specialist",
    greeting="Hi, I'm the billing specialist.",
    slots=(
        Slot(
            "charge",
            "Which charge or invoice is this about?",
            slots.first_of(slots.money(), slots.clause_about(_CHARGE)),
        ),
        Slot(
            "account",
            "What's the email or account id on the account?",
            slots.identifier("account_id", email=True),
        ),
        Slot(
            "outcome",
            "What outcome would you like (refund, correction, explanation)?",
            slots.request,
            "request",
        ),
    ),
    done="I have: {summary}. I'm checking the charge history now.",
    after_done=(
        "Once I've checked the charge, I'll confirm the correction or refund here; refunds usually show within 5-10 business days. Is there anything else about your bill?"
    ),
    knowledge=(
        knows("Refunds usually show within 5-10 business days.", "refund long", "refund take", "refund when"),
    ),
)

billing_bot = make_bot(SPEC, opening_for)
