"""A customer waiting for a person: where they stand, leaving the queue, callbacks (and agents' work on them).

What the customer reads comes from one place: the desk's ``queue_position`` (position and the wait
estimate from measured desk figures) and the callback store. Leaving the queue and asking for a
callback withdraw the desk handoff and hand the conversation back to the bot, which says one line;
nothing internal (reasons, rule ids, agents' notes) ever reaches the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.auth import Principal, forbidden
from api.customer_lines import LEFT_QUEUE, agent_line, callback_promise, callback_thanks
from api.engine import ConversationEngine
from api.errors import ApiError
from api.handoff_lifecycle import HandoffLifecycle
from api.ws_models import HandoffStateEvent
from desk.callbacks import Callback, CallbackOutcome, CallbackStatus, CallbackStore, Contact, parse_contact
from desk.errors import InvalidRequest, NotFound
from desk.lifecycle import HELD, WAITING
from desk.models import Agent, Handoff

WaitState = Literal["none", "waiting", "offered", "with_agent", "callback"]


class CallbackView(BaseModel):
    """A callback as its customer sees it."""

    id: str
    status: CallbackStatus
    contact: str | None = Field(default=None, description="The phone number or e-mail we will use.")
    contact_needed: bool = Field(description="True until the customer gives a way to reach them.")


class QueueStatus(BaseModel):
    """Where the customer stands: the widget's single source for its queue panel."""

    state: WaitState = Field(examples=["waiting"])
    handoff_id: str | None = None
    position: int | None = Field(
        default=None, description="1-based place in line; 0 = an agent is answering."
    )
    expected_wait_s: float | None = Field(
        default=None, description="Estimate from measured desk figures; null when no agent can take it now."
    )
    agent_name: str | None = Field(default=None, description="Who the customer is chatting with.")
    callback: CallbackView | None = None


class ContactIn(BaseModel):
    """How to reach the customer for a callback."""

    contact: str = Field(min_length=3, max_length=254, examples=["+49 151 1234567", "dana@example.com"])


class CallbackDone(BaseModel):
    """The outcome of a callback."""

    outcome: CallbackOutcome = Field(examples=["reached"])
    note: str = Field(default="", max_length=2000, examples=["Booked a valuation for Friday."])


def _view(cb: Callback) -> CallbackView:
    return CallbackView(
        id=cb.id,
        status=cb.status,
        contact=cb.contact.value if cb.contact else None,
        contact_needed=cb.contact is None,
    )


def known_contact(profile: dict[str, Any]) -> Contact | None:
    """A phone number or e-mail address the customer gave with their profile, if it is valid."""
    for key in ("phone", "email"):
        value = profile.get(key)
        if isinstance(value, str) and value.strip():
            try:
                return parse_contact(value)
            except InvalidRequest:
                continue
    return None


@dataclass
class WaitingService:
    """Queue status, leave queue and callbacks for customers; the callback work list for agents."""

    engine: ConversationEngine
    handoffs: HandoffLifecycle
    callbacks: CallbackStore

    # -- customers -----------------------------------------------------------------------------
    async def _own(self, principal: Principal, cid: str) -> dict[str, Any]:
        if not (principal.is_customer_of(cid) or principal.role == "admin"):
            raise forbidden(f"act on conversation {cid}")
        record = await self.engine.store.conversation(cid)
        if record is None:
            msg = f"no conversation {cid!r}"
            raise ApiError(404, "not_found", msg)
        return record

    async def _handoff(self, record: dict[str, Any]) -> Handoff | None:
        handoff_id = record.get("handoff_id")
        if not handoff_id:
            return None
        try:
            return await self.engine.desk.get(handoff_id)
        except NotFound:
            return None

    async def status(self, principal: Principal, cid: str) -> QueueStatus:
        """Where the customer stands now."""
        record = await self._own(principal, cid)
        handoff = await self._handoff(record)
        callback = await self.callbacks.open_for(cid)
        cb_view = _view(callback) if callback else None
        if handoff is not None and handoff.status in WAITING:
            where = await self.engine.desk.queue_position(handoff.handoff_id)
            return QueueStatus(
                state="waiting" if handoff.status == "pending" else "offered",
                handoff_id=handoff.handoff_id,
                position=where.position,
                expected_wait_s=None if where.expected_wait_s is None else round(where.expected_wait_s, 1),
                callback=cb_view,
            )
        if handoff is not None and handoff.status in HELD:
            agent = await self._agent(handoff.assigned_agent_id)
            name, _ = agent_line(agent, taken_over=False)
            return QueueStatus(
                state="with_agent", handoff_id=handoff.handoff_id, agent_name=name, callback=cb_view
            )
        return QueueStatus(state="callback" if callback else "none", callback=cb_view)

    async def _agent(self, agent_id: str | None) -> Agent | None:
        if not agent_id:
            return None
        try:
            return await self.engine.desk.get_agent(agent_id)
        except NotFound:
            return None

    async def _waiting(self, principal: Principal, cid: str) -> Handoff:
        handoff = await self._handoff(await self._own(principal, cid))
        if handoff is None or handoff.status not in WAITING:
            held = handoff is not None and handoff.status in HELD
            msg = (
                "an agent has already joined this chat"
                if held
                else "this conversation is not waiting for an agent"
            )
            raise ApiError(409, "not_waiting", msg)
        return handoff

    async def leave(self, principal: Principal, cid: str) -> QueueStatus:
        """The customer leaves the queue: the handoff is withdrawn, the bot carries on."""
        await self._waiting(principal, cid)
        await self.handoffs.rollback(cid, "the customer left the queue", LEFT_QUEUE, outcome="withdrawn")
        return await self.status(principal, cid)

    async def request_callback(self, principal: Principal, cid: str, contact_text: str) -> CallbackView:
        """Record how to reach the customer: for a callback nobody could serve, or instead of waiting.

        Raises:
            ApiError: 409 when there is neither a waiting handoff nor a callback that lacks a contact;
                422 (``invalid_contact``) for what is neither a phone number nor an e-mail address.
        """
        record = await self._own(principal, cid)
        try:
            contact = parse_contact(contact_text)
        except InvalidRequest as exc:
            detail = {"field": "contact", "location": "body", "message": str(exc)}
            raise ApiError(422, "invalid_contact", str(exc), details=[detail]) from exc
        thanks = callback_thanks(contact)
        pending = await self.callbacks.open_for(cid)
        if pending is not None and pending.status == "open":
            cb = await self.callbacks.set_contact(pending.id, contact)
            state = HandoffStateEvent(handoff_id=cb.handoff_id, state="callback", message=thanks)
            await self.engine.publish(cid, state)
            return _view(cb)
        handoff = await self._handoff(record)
        if handoff is None or handoff.status not in WAITING:
            msg = "a callback can be requested while waiting for an agent"
            raise ApiError(409, "not_waiting", msg)
        cb = await self.callbacks.create(
            cid, handoff_id=handoff.handoff_id, reason="requested", contact=contact, brief=handoff.brief
        )
        notice = f"{thanks} Meanwhile I'm still here if there's anything else."
        await self.handoffs.rollback(cid, "the customer asked for a callback", notice, outcome="callback")
        return _view(cb)

    async def on_no_agent(self, handoff: Handoff) -> str:
        """Nobody took the handoff and the policy says callback: record it; return the bot's line."""
        record = await self.engine.store.conversation(handoff.conversation_id) or {}
        contact = known_contact(record.get("profile") or {})
        cb = await self.callbacks.create(
            handoff.conversation_id,
            handoff_id=handoff.handoff_id,
            reason="no_agent",
            contact=contact,
            brief=handoff.brief,
        )
        return callback_promise(cb.contact)

    # -- agents --------------------------------------------------------------------------------
    @staticmethod
    def _staff(principal: Principal, what: str) -> str | None:
        """The agent's id, None for the admin; customers are refused."""
        if principal.role == "agent":
            return principal.subject
        if principal.role == "admin":
            return None
        raise forbidden(what)

    async def work_list(self, principal: Principal, status: CallbackStatus | None) -> list[Callback]:
        """Callbacks for agents to work (agents, the admin and supervisors)."""
        if not principal.oversees:
            self._staff(principal, "list callbacks")
        return await self.callbacks.list(status)

    async def take(self, principal: Principal, callback_id: str) -> Callback:
        """An agent takes an open callback (exactly one of concurrent takes wins)."""
        agent_id = self._staff(principal, "take callbacks")
        if agent_id is None:
            raise forbidden("take callbacks (agents call customers back)")
        return await self.callbacks.take(callback_id, agent_id)

    async def complete(self, principal: Principal, callback_id: str, done: CallbackDone) -> Callback:
        """Record the outcome (the agent who took it, or the admin)."""
        agent_id = self._staff(principal, "complete callbacks")
        return await self.callbacks.complete(callback_id, agent_id, done.outcome, done.note)
