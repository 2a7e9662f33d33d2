"""Consultation without handoff: specialists answer in parallel (``Send``), the asker replies.

The customer stays with the same bot; every answer is recorded in ``consultations``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from graph.deps import BatonContext
from graph.state import BatonState, Consultation, ConsultTask
from graph.turn_times import stamp
from nodes import buyer_bot, luxury_specialist, sales_bot, seller_bot
from nodes.base import BotSpec

SPECIALISTS: dict[str, BotSpec] = {
    spec.name: spec for spec in (seller_bot.SPEC, buyer_bot.SPEC, luxury_specialist.SPEC, sales_bot.SPEC)
}


async def consult(task: ConsultTask, *, runtime: Runtime[BatonContext]) -> dict[str, Any]:
    """One specialist's answer to the asker's question, from what the conversation already holds."""
    spec = SPECIALISTS.get(task["specialist"])
    known = {k: v for k, v in task["collected"].items() if isinstance(v, dict)}
    if spec is None:
        answer = "No specialist notes available."
    else:
        answer = spec.advice(known) or f"The {spec.title} suggests: {spec.slots[0].question}"
    return {
        "consultations": [
            Consultation(
                asker=task["asker"],
                specialist=task["specialist"],
                question=task["question"],
                answer=answer,
                turn=task["turn"],
            )
        ]
    }


async def consult_merge(state: BatonState, *, runtime: Runtime[BatonContext]) -> dict[str, Any]:
    """The asking bot merges this turn's specialist answers into one reply."""
    turn = len(state["messages"]) - 1
    answers = [c for c in state.get("consultations", []) if c["turn"] == turn]
    asker = state.get("active_agent") or runtime.context.policies.current().policy.entry
    lines = [f"I checked with our {c['specialist'].replace('_', ' ')}: {c['answer']}" for c in answers]
    reply = " ".join(lines) or "I checked with our specialists but have nothing to add yet."
    answer = stamp(AIMessage(reply, name=asker), runtime.context.clock())
    return {"messages": [answer], "active_agent": asker}
