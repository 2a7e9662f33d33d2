"""Code handoffs a server loads through ``BATON_HANDOFF_MODULES`` (used by tests/test_code_handoffs.py)."""

from __future__ import annotations

import asyncio

from graph.handoffs import HandoffContext, HandoffRegistry
from graph.state import HandoffRecord


async def has_a_promo_code(ctx: HandoffContext) -> bool:
    """An async condition, as one that looks something up would be."""
    await asyncio.sleep(0)
    return "promo code" in ctx.text.lower()


def tag_lead(ctx: HandoffContext, record: HandoffRecord) -> HandoffRecord:
    """After the handoff is decided, attach what the CRM knows (the agent sees it)."""
    return record.changed(metadata={**record.metadata, "crm_lead": "L-42"})


def register(registry: HandoffRegistry) -> None:
    """Called once per runtime with the registry it runs."""
    registry.handoff("human_agent", urgency="high", metadata={"campaign": "spring-open-house"})(
        has_a_promo_code
    )
    registry.after_handoff(tag_lead)
