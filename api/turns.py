"""The one door: every way a turn or an agent action enters Baton comes through ``TurnService``.

REST, the WebSockets and the LangGraph-compatible API only translate shapes; here each request is
admitted (who may do it, message length, rate limit, load shedding, whether the conversation's state
allows it) and then run by the conversation engine (lock, graph, desk, events) or, for an agent's
action on a handoff, by its lifecycle (``api/handoff_lifecycle.py``). Admission and running are two
steps so an API that queues runs (the platform API's background runs) refuses at request time and
runs later, with the same guarantees as a REST call that does both at once. An agent's actions that
are not turns (accept, decline, transfer: ``api/agent_handoffs.py``) and the admin's handoff API
(``api/handoff_admin.py``) take this service and go through it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.messages import HumanMessage

from api.auth import SELF_DECLARED, Principal, forbidden
from api.client_limits import ClientLimits
from api.engine import ConversationEngine, TurnOutcome
from api.errors import ApiError
from api.handoff_admin import actor_of, admit_escalation, stamped
from api.handoff_lifecycle import HandoffLifecycle
from api.limits import RateLimiter, TurnGate
from api.text_clean import clean_text, clean_values
from desk.models import Handoff
from graph.actions import Close, Reply, ReturnToAI
from graph.runtime import ConversationNotFound, NotInterrupted, StreamTap
from graph.runtime_models import TurnResult
from graph.settings import Settings
from nodes.names import BOT_NODES

HumanAction = Reply | ReturnToAI | Close


@dataclass(frozen=True)
class CustomerTurn:
    """Customer messages (one turn); ``profile`` as the caller sent it, trusted only from the admin."""

    conversation_id: str
    texts: tuple[str, ...]
    profile: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class HumanTurn:
    """An agent's reply, return to the AI or close, for a handoff (by id) or a conversation's handoff."""

    action: HumanAction
    conversation_id: str | None = None
    handoff_id: str | None = None


@dataclass(frozen=True)
class ForkTurn:
    """Continue from an earlier checkpoint (operator), optionally with a new turn, then an action."""

    conversation_id: str
    checkpoint_id: str
    texts: tuple[str, ...] = ()
    then: HumanAction | None = None


@dataclass(frozen=True)
class GotoTurn:
    """Let a bot speak next without a customer turn (operator)."""

    conversation_id: str
    bot: str


@dataclass(frozen=True)
class EscalationTurn:
    """Hand the conversation to a person from outside the graph (a CRM, a supervisor; admin).

    ``escalation`` holds ``BatonRuntime.escalate``'s arguments (reason, target, urgency, trigger,
    details); ``api/handoff_admin.py`` builds it from the API body.
    """

    conversation_id: str
    escalation: Mapping[str, Any]


TurnRequest = CustomerTurn | HumanTurn | ForkTurn | GotoTurn | EscalationTurn


@dataclass
class Ticket:
    """An admitted request: what runs, for whom, and the load-shedding slot it holds until it ends."""

    principal: Principal
    request: TurnRequest
    conversation_id: str
    handoff: Handoff | None = None
    agent_id: str | None = None
    profile: dict[str, Any] | None = None
    _gate: TurnGate | None = field(default=None, repr=False)

    def release(self) -> None:
        """Give back the slot (idempotent); ``TurnService.run`` does it when the run ends."""
        if self._gate is not None:
            self._gate.release()
            self._gate = None


@dataclass
class TurnService:
    """Auth, limits and state checks in front of the conversation engine."""

    engine: ConversationEngine
    handoffs: HandoffLifecycle
    settings: Settings
    limiter: RateLimiter
    gate: TurnGate
    clients: ClientLimits = field(default_factory=ClientLimits)

    # -- reads ----------------------------------------------------------------------------------
    async def require_known(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's API record, or 404."""
        record = await self.engine.store.conversation(conversation_id)
        if record is None:
            raise ConversationNotFound(conversation_id)
        return record

    async def can_read(self, principal: Principal, conversation_id: str) -> bool:
        """The admin, the conversation's customer, or the agent who holds its handoff."""
        if principal.role == "admin" or principal.is_customer_of(conversation_id):
            return True
        if principal.role == "agent":
            record = await self.engine.store.conversation(conversation_id) or {}
            return bool(record.get("agent_id")) and record.get("agent_id") == principal.subject
        return False

    async def require_read(self, principal: Principal, conversation_id: str) -> None:
        """403 unless ``can_read``."""
        if not await self.can_read(principal, conversation_id):
            raise forbidden(f"access conversation {conversation_id}")

    # -- turns ----------------------------------------------------------------------------------
    async def turn(
        self, principal: Principal, request: TurnRequest, tap: StreamTap | None = None
    ) -> TurnOutcome:
        """Admit and run at once (REST, WebSocket)."""
        return await self.run(await self.admit(principal, request), tap)

    async def admit(self, principal: Principal, request: TurnRequest) -> Ticket:
        """Check everything that can be checked before the run, and reserve a slot for customer turns.

        Raises:
            ApiError: 401/403 (who), 404 (unknown conversation, handoff or checkpoint), 409 (state),
                422 (input), 429 (rate limit), 503 (load shed).
        """
        if isinstance(request, CustomerTurn):
            return await self._admit_customer(principal, request)
        if isinstance(request, HumanTurn):
            return await self._admit_human(principal, request)
        if isinstance(request, EscalationTurn):
            await admit_escalation(self, principal, request)
            return Ticket(principal, request, request.conversation_id)
        if principal.role != "admin":
            what = "fork conversations" if isinstance(request, ForkTurn) else "move conversations to a bot"
            raise forbidden(what)
        await self.require_known(request.conversation_id)
        if isinstance(request, GotoTurn):
            if request.bot not in BOT_NODES:
                msg = f"goto must name a bot: {', '.join(BOT_NODES)}"
                raise ApiError(422, "invalid_command", msg)
            snap = await self.engine.runtime.snapshot(request.conversation_id)
            if snap.interrupts:
                msg = f"conversation {request.conversation_id} is waiting for a human: resume it with a human action"
                raise ApiError(409, "awaiting_human", msg)
            if not snap.values.get("messages"):
                # LangGraph runs a jump on a thread with no turn beside a second writer of the state, and
                # the checkpoint it leaves cannot be read back (every read of the thread would be a 500).
                msg = f"conversation {request.conversation_id} has not started: send a customer turn first"
                raise ApiError(409, "not_started", msg)
            return Ticket(principal, request, request.conversation_id)
        request = replace(request, texts=self._checked_texts(request.texts))
        past = await self.engine.runtime.snapshot(request.conversation_id, request.checkpoint_id)
        if request.then is not None:
            if not past.interrupts:
                msg = f"checkpoint {request.checkpoint_id} is not waiting for a human; nothing to resume"
                raise ApiError(409, "not_interrupted", msg)
            request = replace(request, then=self._checked_action(request.then))
        return Ticket(principal, request, request.conversation_id)

    async def run(self, ticket: Ticket, tap: StreamTap | None = None) -> TurnOutcome:
        """Run an admitted request; the ticket's slot is released when it ends, however it ends."""
        try:
            request = ticket.request
            engine = self.engine
            if isinstance(request, CustomerTurn):
                return await engine.customer_message(
                    ticket.conversation_id,
                    list(request.texts),
                    profile=ticket.profile,
                    agent_id=ticket.agent_id,
                    tap=tap,
                )
            if isinstance(request, HumanTurn):
                assert ticket.handoff is not None
                assert ticket.agent_id is not None
                result = await self._act(ticket.handoff, ticket.agent_id, request.action, tap)
                return TurnOutcome(result=result, seq=0)
            if isinstance(request, EscalationTurn):
                actor = actor_of(ticket.principal)
                escalation = stamped(request.escalation, actor)
                return await engine.escalate(request.conversation_id, actor, escalation, tap=tap)
            if isinstance(request, GotoTurn):
                return TurnOutcome(
                    result=await engine.goto(request.conversation_id, request.bot, tap=tap), seq=0
                )
            values = {"messages": [_human(t) for t in request.texts]} if request.texts else None
            result = await engine.fork(request.conversation_id, request.checkpoint_id, values, tap=tap)
            if request.then is None:
                return TurnOutcome(result=result, seq=0)
            then = HumanTurn(request.then, conversation_id=request.conversation_id)
            follow = await self._admit_human(ticket.principal, then)
            return await self.run(follow, tap)
        finally:
            ticket.release()

    async def _admit_customer(self, principal: Principal, request: CustomerTurn) -> Ticket:
        cid = request.conversation_id
        if not (principal.is_customer_of(cid) or principal.role == "admin"):
            raise forbidden(f"post customer messages to conversation {cid}")
        record = await self.require_known(cid)
        request = replace(
            request,
            texts=self._checked_texts(request.texts),
            profile=clean_values(request.profile) if request.profile else request.profile,
        )
        if not request.texts:
            raise ApiError(422, "validation_error", "a customer turn needs at least one message")
        agent_id = record.get("agent_id") or None
        profile = self._profile(principal, record.get("profile") or {}, request.profile)
        # Shed before counting: a turn refused for load must not use up the customer's rate limit.
        self.gate.acquire(exempt=bool(agent_id))
        ticket = Ticket(principal, request, cid, agent_id=agent_id, profile=profile, _gate=self.gate)
        try:
            if principal.role == "customer":  # the admin is a trusted backend, limited per conversation only
                await self.clients.customer_turn(principal.client, request.texts)
            await self.limiter.check(cid)
        except BaseException:
            ticket.release()
            raise
        return ticket

    @staticmethod
    def _profile(
        principal: Principal, stored: Mapping[str, Any], sent: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """The profile this turn runs with: what the caller may set, the rest kept as an unverified claim."""
        if sent is None:
            return dict(stored) or None
        if principal.role == "admin":
            return {**stored, **sent}
        claims = {k: v for k, v in sent.items() if k not in SELF_DECLARED}
        merged = {**stored, **{k: v for k, v in sent.items() if k in SELF_DECLARED}}
        if claims:
            merged["claimed"] = {**(stored.get("claimed") or {}), **claims}
        return merged

    async def _admit_human(self, principal: Principal, request: HumanTurn) -> Ticket:
        if principal.role in ("customer", "supervisor"):
            raise forbidden("act as an agent")
        handoff = await self._handoff_for(request)
        held_by = handoff.assigned_agent_id
        if principal.role == "agent" and principal.subject != held_by:
            if principal.subject != handoff.offered_agent_id:
                raise forbidden(f"act on handoff {handoff.handoff_id}")
            if not isinstance(request.action, ReturnToAI):
                msg = f"handoff {handoff.handoff_id} is offered to you; accept it before replying"
                raise ApiError(409, "not_accepted", msg)
            held_by = principal.subject  # an offered agent may hand straight back to the AI
        if held_by is None:
            msg = f"no agent has accepted handoff {handoff.handoff_id}; a human action needs one who has"
            raise ApiError(409, "not_accepted", msg)
        request = replace(request, action=self._checked_action(request.action))
        await self.engine.runtime.require(handoff.conversation_id)  # 404 for a deleted transcript
        return Ticket(principal, request, handoff.conversation_id, handoff=handoff, agent_id=held_by)

    async def _handoff_for(self, request: HumanTurn) -> Handoff:
        if request.handoff_id:
            return await self.engine.desk.get(request.handoff_id)
        assert request.conversation_id is not None
        record = await self.require_known(request.conversation_id)
        handoff_id = record.get("handoff_id")
        if not handoff_id:
            msg = f"conversation {request.conversation_id} is not waiting for a human; nothing to resume"
            raise NotInterrupted(msg)
        return await self.engine.desk.get(handoff_id)

    def _checked_texts(self, texts: tuple[str, ...]) -> tuple[str, ...]:
        """``texts`` as kept (``api.text_clean``), each within the length limit and not blank (422)."""
        kept = tuple(clean_text(t) for t in texts)
        for text in kept:
            check_text(text, self.settings.max_message_chars)
        return kept

    def _checked_action(self, action: HumanAction) -> HumanAction:
        """``action`` with its text as kept; 422 for a blank reply, a text over the limit or an unknown
        bot to return to."""
        if isinstance(action, Reply | Close) and action.text:
            action = action.model_copy(update={"text": clean_text(action.text)})
            if isinstance(action, Reply) or action.text:  # a close's last message is optional
                check_text(action.text, self.settings.max_message_chars)
        if isinstance(action, ReturnToAI) and action.target is not None:
            policy = self.engine.runtime.context.policies.current().policy
            bots = [name for name in BOT_NODES if name in policy.targets]
            if action.target not in bots:
                msg = f"cannot return to {action.target!r}: the policy's bots are {', '.join(bots)}"
                raise ApiError(
                    422,
                    "invalid_target",
                    msg,
                    details=[{"field": "target", "location": "body", "message": msg}],
                )
        return action

    async def _act(
        self, handoff: Handoff, agent_id: str, action: HumanAction, tap: StreamTap | None
    ) -> TurnResult:
        handoffs = self.handoffs
        if isinstance(action, Reply):
            return await handoffs.reply(handoff, agent_id, action.text, tap=tap)
        if isinstance(action, ReturnToAI):
            return await handoffs.return_to_ai(handoff, agent_id, action.note, action.target, tap=tap)
        return await handoffs.complete(handoff, agent_id, action.note, action.text, tap=tap)

    # -- operator actions that are not turns (an agent's: ``api/agent_handoffs.py``) ----------------
    async def rollback(
        self, principal: Principal, conversation_id: str, reason: str, notice: str | None
    ) -> TurnResult:
        """Return a human handoff to the AI now (admin)."""
        if principal.role != "admin":
            raise forbidden("roll back conversations")
        await self.require_known(conversation_id)
        return await self.handoffs.rollback(conversation_id, reason, notice)

    async def update_state(
        self,
        principal: Principal,
        conversation_id: str,
        values: dict[str, Any] | None,
        *,
        as_node: str | None,
        checkpoint_id: str | None,
    ) -> Any:
        """Write state as a node (admin); see ``BatonRuntime.update_state``."""
        if principal.role != "admin":
            raise forbidden("write conversation state")
        await self.require_known(conversation_id)
        return await self.engine.update_state(
            conversation_id, values, as_node=as_node, checkpoint_id=checkpoint_id
        )

    async def delete(self, principal: Principal, conversation_id: str) -> None:
        """Delete a conversation's transcript (admin)."""
        if principal.role != "admin":
            raise forbidden("delete conversations")
        await self.require_known(conversation_id)
        await self.engine.delete(conversation_id)


def check_text(text: str, limit: int, field: str = "text") -> None:
    """422 naming ``field`` when ``text`` is over the configured limit or has nothing but whitespace."""
    problem = f"at most {limit} characters" if len(text) > limit else ""
    if not text.strip():
        problem = "no text: empty or only whitespace"
    if problem:
        raise ApiError(
            422,
            "validation_error",
            f"invalid request: {field}",
            details=[{"field": field, "location": "body", "message": problem}],
        )


def _human(text: str) -> HumanMessage:
    return HumanMessage(text)
