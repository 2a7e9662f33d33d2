"""Sales bot: the plan wanted (noted when said), current plan, team size and use case, then the right
offer."""

from __future__ import annotations

from nodes import slots
from nodes.base import BotSpec, Slot, make_bot
from nodes.names import SALES_BOT
from nodes.opening import opening_for

# The nouns that name what each slot is about (a slot's subject, not a reading of customer text).
_PLAN = ("plan", "tier", "package", "subscription")
_TEAM = ("user", "seat", "person", "people", "employee", "agent", "licence", "license", "member")

SPEC = BotSpec(
    name=SALES_BOT,
    title="sales specialist",
    greeting="Hi, I'm the sales specialist.",
    slots=(
        # "upgrade to the Enterprise plan" is the plan wanted, never the current one: noted, not asked.
        Slot(
            "wanted_plan",
            "Which plan would you like?",
            slots.noun(_PLAN, role="goal"),
            "wanted plan",
            ask=False,
        ),
        Slot("plan", "Which plan are you on today?", slots.noun(_PLAN, role="held"), "current plan"),
        Slot("seats", "How many people would use it?", slots.noun(_TEAM, counted=True), "team size"),
        Slot("use_case", "What would you mainly use it for?", slots.answer, "use case"),
    ),
    done="Based on {summary}, I'll put together the options that fit.",
    after_done=(
        "Next, I'll send a comparison of the plans that fit, with pricing for your team. Would a short call with a product specialist help?"
    ),
)

sales_bot = make_bot(SPEC, opening_for)
