"""Tech bot: device, error and what was already tried, so nobody suggests a restart twice."""

from __future__ import annotations

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import TECH_BOT
from nodes.opening import opening_for

# The nouns that name each slot's subject (not a reading of customer text).
_DEVICE = (
    "phone",
    "iphone",
    "android",
    "ipad",
    "laptop",
    "computer",
    "tablet",
    "browser",
    "app",
    "device",
    "pc",
    "mac",
)
_ERROR = ("error", "code", "message")

SPEC = BotSpec(
    name=TECH_BOT,
    title="technical specialist",
    greeting="Hi, I'm the technical specialist.",
    slots=(
        Slot("issue", "What exactly happens when it fails?", slots.issue, "symptom"),
        Slot(
            "device",
            "Which device and browser or app are you using?",
            slots.noun(_DEVICE, bare=True, kinds=("product",)),
        ),
        Slot("error", "Do you see an error message or code?", slots.noun(_ERROR)),
    ),
    done="Thanks: {summary}. Let's work through the fix step by step.",
    after_done=(
        "If the steps don't fix it, I'll open a ticket with our engineers with everything you've told me, so you won't have to repeat it. Shall we try the first step?"
    ),
)

tech_bot = make_bot(SPEC, opening_for)
