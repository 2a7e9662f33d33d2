"""A customer's earlier conversations, read from the console store and the checkpoints.

The console's customer panel lists them in full (``api/routes/customers.py``); a handoff brief gets one
line each (:class:`StoredCustomerHistory`, the graph's :class:`~graph.context.history.CustomerHistory`,
set on ``BatonContext.history`` when the service starts). Both find them by the trusted customer id a
conversation was started with, never by one a customer merely claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from api.console_store import ConsoleStore
from graph.context.business import MAX_EARLIER
from graph.context.models import EarlierConversation
from graph.runtime import BatonRuntime, ConversationNotFound
from graph.runtime_models import ConversationView

# What each handoff status means to an agent reading the history.
OUTCOMES = {
    "active": "open",
    "completed": "completed by the bot",
    "returned": "returned to the AI by the agent",
    "rolled_back": "nobody took it; back to the AI",
    "closed": "closed by the agent",
}
# A conversation that never reached a person, by its status.
_STATUS_OUTCOMES = {
    "bot": "stayed with the bot",
    "closed": "closed",
    "awaiting_human": "waiting for an agent",
}
_LINE_CHARS = 200


def one_line(conversation_id: str, created_at: float, view: ConversationView) -> EarlierConversation:
    """An earlier conversation as the brief shows it: when, how it ended, what it was about."""
    latest = view.handoffs[-1] if view.handoffs else None
    humans = [h for h in view.handoffs if h.kind == "human"]
    briefed = humans[-1] if humans else latest
    summary = str((briefed.brief or {}).get("summary") or "") if briefed else ""
    if not summary:
        summary = next((t.text for t in view.transcript if t.role == "customer"), "")
    outcome = (
        OUTCOMES.get(latest.status, latest.status)
        if latest
        else _STATUS_OUTCOMES.get(view.status, view.status)
    )
    return EarlierConversation(
        conversation_id=conversation_id,
        date=datetime.fromtimestamp(created_at, UTC).date().isoformat(),
        outcome=outcome,
        summary=" ".join(summary.split())[:_LINE_CHARS],
    )


@dataclass
class StoredCustomerHistory:
    """The earlier conversations of a conversation's customer, for its handoff briefs."""

    store: ConsoleStore
    runtime: BatonRuntime

    async def earlier(self, conversation_id: str) -> list[EarlierConversation]:
        """Up to :data:`MAX_EARLIER` conversations the customer started before this one, newest first."""
        customer_id = await self.store.customer_of(conversation_id)
        if not customer_id:
            return []
        rows = await self.store.conversations_of(customer_id)
        mine = next((created for cid, created in rows if cid == conversation_id), None)
        found: list[EarlierConversation] = []
        for cid, created in rows:  # newest first
            if cid == conversation_id or (mine is not None and created >= mine):
                continue
            try:
                view = await self.runtime.get(cid)
            except ConversationNotFound:
                continue
            found.append(one_line(cid, created, view))
            if len(found) == MAX_EARLIER:
                break
        return found
