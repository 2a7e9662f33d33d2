"""The console's customer panel: who the customer is, what this conversation established, and their
earlier conversations and handoffs (briefs and outcomes), so a warm transfer knows the history.

Earlier conversations are found by the customer id the conversation was started with, and only by a
trusted one (the admin's or a signed profile): an id a customer merely claims links nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.console_store import ConsoleStoreDep
from api.customer_history import OUTCOMES
from api.deps import DeskDep, PrincipalDep, RuntimeDep, TurnsDep
from api.errors import error_responses
from api.routes.notes import require_staff_on
from graph.runtime import ConversationNotFound
from graph.state import HandoffRecord

router = APIRouter(prefix="/v1/conversations", tags=["customers"], responses=error_responses(401, 403, 404))


class PastHandoff(BaseModel):
    """One handoff of an earlier conversation, as the brief and the ending recorded it."""

    handoff_id: str
    to: str = Field(examples=["human_agent"])
    kind: str
    trigger: str
    created_at: str
    summary: str = ""
    goal: str = ""
    outcome: str = Field(examples=["closed by the agent"])
    note: str = Field(default="", description="The team's note when it ended.")


class PastConversation(BaseModel):
    """An earlier conversation of the same customer."""

    conversation_id: str
    created_at: float
    status: str
    first_message: str = ""
    handoffs: list[PastHandoff]


class CustomerPanel(BaseModel):
    """Profile, this conversation's facts and the customer's history."""

    customer_id: str | None = Field(description="The trusted customer id, if the conversation has one.")
    profile: dict[str, Any] = Field(description="As stored; unverified fields sit under 'claimed'.")
    facts: list[dict[str, Any]] = Field(description="The brief's facts (key, value, turn).")
    collected: dict[str, Any] = Field(default_factory=dict, description="What the bots collected.")
    earlier: list[PastConversation]


def _past(record: HandoffRecord) -> PastHandoff:
    brief = record.brief or {}
    return PastHandoff(
        handoff_id=record.id,
        to=record.to,
        kind=record.kind,
        trigger=record.trigger,
        created_at=record.created_at,
        summary=str(brief.get("summary") or record.reason),
        goal=str(brief.get("goal") or ""),
        outcome=OUTCOMES.get(record.status, record.status),
        note=record.note,
    )


@router.get("/{conversation_id}/customer")
async def customer_panel(
    conversation_id: str,
    principal: PrincipalDep,
    turns: TurnsDep,
    desk: DeskDep,
    runtime: RuntimeDep,
    store: ConsoleStoreDep,
) -> CustomerPanel:
    """The customer of a conversation and their earlier conversations (agents on it, supervisors, admin)."""
    await require_staff_on(principal, conversation_id, turns, desk)
    record = await turns.require_known(conversation_id)
    facts: list[dict[str, Any]] = []
    collected: dict[str, Any] = {}
    try:
        view = await runtime.get(conversation_id)
        latest = view.handoff or (view.handoffs[-1] if view.handoffs else None)
        facts = list((latest.brief or {}).get("facts") or []) if latest else []
        collected = dict(view.collected)
    except ConversationNotFound:
        pass
    customer_id = await store.customer_of(conversation_id)
    earlier: list[PastConversation] = []
    if customer_id:
        for cid, created in await store.conversations_of(customer_id):
            if cid == conversation_id:
                continue
            try:
                past = await runtime.get(cid)
            except ConversationNotFound:
                continue
            first = next((t.text for t in past.transcript if t.role == "customer"), "")
            earlier.append(
                PastConversation(
                    conversation_id=cid,
                    created_at=created,
                    status=past.status,
                    first_message=first[:200],
                    handoffs=[_past(h) for h in past.handoffs],
                )
            )
    return CustomerPanel(
        customer_id=customer_id,
        profile=dict(record.get("profile") or {}),
        facts=facts,
        collected=collected,
        earlier=earlier,
    )
