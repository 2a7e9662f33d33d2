"""Concierge bot: greets a new real-estate lead and learns enough to route them to a specialist."""

from __future__ import annotations

import re

from graph.lexicon import CONTACT_RE
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import CONCIERGE_BOT
from nodes.opening import opening_for

_NAME = re.compile(r"\b(?i:my name is|i'm|i am|this is|call me)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)")
_GOAL = re.compile(
    r"\b(buy\w*|sell\w*|rent\w*|invest\w*|valuation|list(?:ing)?|move|moving|relocat\w+)\b", re.I
)


def _name(text: str, asked: bool) -> str | None:
    m = _NAME.search(text)
    if m:
        return m.group(1)
    bare = text.strip().rstrip(".!")
    if asked and re.fullmatch(r"[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?", bare):
        return bare
    return None


def _goal(text: str, asked: bool) -> str | None:
    m = _GOAL.search(text)
    return m.group(0).lower() if m else None


def _contact(text: str, asked: bool) -> str | None:
    m = CONTACT_RE.search(text)
    return m.group(0).strip() if m else None


SPEC = BotSpec(
    name=CONCIERGE_BOT,
    title="concierge",
    greeting="Hi, welcome! I'm the concierge assistant.",
    slots=(
        Slot("goal", "Are you looking to buy, sell, or something else?", _goal),
        Slot("customer_name", "May I have your name?", _name, "name"),
        Slot("contact", "What's the best email or phone number to reach you?", _contact),
    ),
    done="Thanks! I have {summary}. Tell me a bit more and I'll bring in the right specialist.",
    after_done=(
        "Tell me whether you're buying or selling, and roughly when, and I'll bring in the right specialist."
    ),
)

concierge_bot = make_bot(SPEC, opening_for)
