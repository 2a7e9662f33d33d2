"""Luxury specialist: high-value properties, discreet service, sophisticated buyers and sellers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import LUXURY_SPECIALIST
from nodes.opening import opening_for


def _advice(collected: Mapping[str, Any]) -> str:
    return (
        "For a property at this level we work with private showings, off-market marketing and a "
        "dedicated transaction coordinator."
    )


SPEC = BotSpec(
    name=LUXURY_SPECIALIST,
    title="luxury property specialist",
    greeting="Hello, I'm the luxury property specialist.",
    slots=(
        Slot("property_value", "What value range are we talking about?", slots.money(least=100_000), "value"),
        Slot("features", "Which features matter most to you (views, privacy, acreage...)?", slots.features),
        Slot("timeline", "What timeline are you working with?", slots.timeline),
        Slot(
            "structure",
            "Will the transaction involve a trust, an LLC or an exchange?",
            slots.transaction,
            "ownership structure",
        ),
    ),
    done="I have the full picture: {summary}. I'll arrange a private consultation.",
    after_done=(
        "Next, a senior agent will arrange a private consultation at a time that suits you, and we'll prepare a discreet shortlist or marketing plan. Is there anything you'd like kept confidential?"
    ),
    advice=_advice,
)

luxury_specialist = make_bot(SPEC, opening_for)
