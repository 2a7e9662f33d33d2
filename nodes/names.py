"""Node names: the only strings a policy may use as bot targets (checked at start-up)."""

from __future__ import annotations

from typing import Final, Literal

ROUTER: Final = "router"
HUMAN_AGENT: Final = "human_agent"
CONSULT: Final = "consult"
CONSULT_MERGE: Final = "consult_merge"

SELLER_BOT: Final = "seller_bot"
BUYER_BOT: Final = "buyer_bot"
LUXURY_SPECIALIST: Final = "luxury_specialist"
SUPPORT_BOT: Final = "support_bot"
SALES_BOT: Final = "sales_bot"
BILLING_BOT: Final = "billing_bot"
TECH_BOT: Final = "tech_bot"
CONCIERGE_BOT: Final = "concierge_bot"

BOT_NODES: Final = (
    CONCIERGE_BOT,
    SELLER_BOT,
    BUYER_BOT,
    LUXURY_SPECIALIST,
    SUPPORT_BOT,
    SALES_BOT,
    BILLING_BOT,
    TECH_BOT,
)

# Every node a Command may go to, spelled out so Command[...] is type-checked.
BotName = Literal[
    "concierge_bot",
    "seller_bot",
    "buyer_bot",
    "luxury_specialist",
    "support_bot",
    "sales_bot",
    "billing_bot",
    "tech_bot",
]
