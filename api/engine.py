"""The conversation engine: keeps the graph and the desk consistent and feeds the event streams.

It trusts its caller: who may do what, limits and load shedding are the turn service's
(``api/turns.py``), the one door every entrance uses. Here:

* every change to a conversation runs under its lock (per process, and in Redis across workers),
  held across the desk and the graph together so the two never disagree;
* customer turns, escalations and operator changes (forks, jumps, state writes, deletes) run the
  graph; a run that starts a human handoff submits it to the desk, and a change that ends one
  records it (``finished``); what agents and the desk do to a handoff in between (accept, reply,
  return, complete, rollback, the desk's callbacks) is ``api/handoff_lifecycle.py``'s;
* every message becomes an event on the conversation's stream (and the agent's when one holds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.messages import HumanMessage

from api import analytics, experiments
from api.conversation_lock import ConversationLocks
from api.customer_lines import agent_line
from api.db import together
from api.desk_handoffs import desk_request, placed
from api.eventlog import EventLog
from api.metrics import Metrics
from api.store import ApiStore
from api.webhooks import WebhookSender
from api.ws_models import (
    AgentMessageEvent,
    BotMessageEvent,
    CustomerMessageEvent,
    HandoffCompleteEvent,
    HandoffStateEvent,
    _Event,
)
from desk.base import Desk
from desk.errors import Busy, DeskError
from desk.models import Agent, Handoff, HandoffRequest
from graph.runtime import BatonRuntime, StreamTap
from graph.runtime_models import TurnResult
from graph.state import HandoffRecord

if TYPE_CHECKING:
    import redis.asyncio as aioredis  # only the scaled profile loads redis

log = logging.getLogger("baton.api.engine")

# A handoff the desk was too contended to take is submitted again after these waits (seconds); past
# them the recovery pass (``BATON_DESK_RECOVER_S``) finds the conversation waiting and submits it.
_RESUBMIT_AFTER_S = (0.1, 0.3, 1.0, 3.0, 10.0)


def conv_stream(conversation_id: str) -> str:
    """Event stream of one conversation (the customer's socket)."""
    return f"c:{conversation_id}"


def agent_stream(agent_id: str) -> str:
    """Event stream of one agent (the agent's socket)."""
    return f"a:{agent_id}"


SUPERVISOR_STREAM = "s:desk"
"""Event stream of the supervisors' (and the admin's) live desk."""


@dataclass
class TurnOutcome:
    """A run's result plus what the API adds: the desk's queue position and the stream seq."""

    result: TurnResult
    seq: int
    queue_position: int | None = None
    expected_wait_s: float | None = None


@dataclass
class ConversationEngine:
    """Owns every change to a conversation's graph state, its desk handoff and its events."""

    runtime: BatonRuntime
    desk: Desk
    store: ApiStore
    events: EventLog
    webhooks: WebhookSender | None = None
    redis: aioredis.Redis | None = None
    prefix: str = "baton:"
    metrics: Metrics | None = None
    _locks: ConversationLocks = field(init=False, repr=False)
    _resubmits: dict[str, asyncio.Task[None]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._locks = ConversationLocks(self.redis, self.prefix)

    # -- plumbing -------------------------------------------------------------------------------
    def locked(self, conversation_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the conversation: one change at a time, in this process and (with Redis) across workers
        (``api/conversation_lock.py``). Re-entrant within a task, so a desk callback that runs inside
        a locked action does not wait for itself.
        """
        return self._locks.hold(conversation_id)

    async def publish(self, conversation_id: str, *events: _Event, agent_id: str | None = None) -> int:
        """Append to the conversation's stream (and the agent's, when one holds it), one write each;
        returns the last seq."""
        return await self._append(conversation_id, events, events, agent_id)

    async def _append(
        self, cid: str, shown: Sequence[_Event], told: Sequence[_Event], agent_id: str | None
    ) -> int:
        """``shown`` to the conversation's stream, ``told`` to the holding agent's, in one write (the
        agent's copy reaches the console as soon as the customer's); returns the conversation's last
        seq (0 when nothing was shown)."""
        for event in (*shown, *told):
            event.conversation_id = cid
        appends: list[tuple[str, Sequence[_Event]]] = []
        if shown:
            appends.append((conv_stream(cid), shown))
        if agent_id and told:
            appends.append((agent_stream(agent_id), [e.model_copy(update={"seq": 0}) for e in told]))
        if not appends:
            return 0
        heads = await self.events.append_each(appends)
        return heads[0] if shown else 0

    async def publish_replies(
        self, result: TurnResult, agent_id: str | None, handoff_id: str = "", *, first: Sequence[_Event] = ()
    ) -> int:
        """``first``, then every message a run produced, as events: one write per stream; returns the
        last seq (0 when there was none)."""
        shown: list[_Event] = list(first)
        told: list[_Event] = list(first)  # the holding agent's stream: the same and the internal lines
        for reply in result.replies:
            event: _Event
            if reply.role == "system":
                # Internal lines (an agent's note, a rollback's reason) are for the team, never the customer.
                if agent_id:
                    told.append(BotMessageEvent(text=reply.text, speaker=reply.speaker, role=reply.role))
                continue
            if reply.role == "agent":
                event = AgentMessageEvent(text=reply.text, agent_id=agent_id or "", handoff_id=handoff_id)
            elif reply.role == "customer":
                event = CustomerMessageEvent(text=reply.text)
            else:
                event = BotMessageEvent(text=reply.text, speaker=reply.speaker, role=reply.role)
            shown.append(event)
            told.append(event)
        return await self._append(result.conversation_id, shown, told, agent_id)

    # -- customer side -------------------------------------------------------------------------
    async def customer_message(
        self,
        conversation_id: str,
        texts: list[str],
        *,
        profile: dict[str, Any] | None,
        agent_id: str | None,
        tap: StreamTap | None = None,
    ) -> TurnOutcome:
        """Record and run a customer turn; submit a human handoff it starts to the desk."""
        async with self.locked(conversation_id):
            messages = [HumanMessage(t) for t in texts]
            result = await self.runtime.post_message(conversation_id, messages, customer=profile, tap=tap)
        if self.metrics:
            self.metrics.turns.inc()
        said = [CustomerMessageEvent(text=text) for text in texts]
        outcome = TurnOutcome(result=result, seq=await self.publish_replies(result, agent_id, first=said))
        await experiments.record_turn(self.store, conversation_id, result)
        if result.handoff:
            await self._started(result.handoff, outcome)
        return outcome

    async def handoff_started_elsewhere(
        self, conversation_id: str, record: HandoffRecord, *, recorded: bool = False
    ) -> None:
        """A handoff the desk does not know yet (re-submitted after a restart when ``recorded``)."""
        view = await self.runtime.get(conversation_id)
        result = TurnResult(
            conversation_id=conversation_id,
            status=view.status,
            active_agent=view.active_agent,
            replies=[],
            handoff=record,
            pending_interrupt=view.pending_interrupt,
        )
        await self._started(record, TurnOutcome(result=result, seq=0), recorded=recorded)

    async def escalate(
        self, conversation_id: str, actor: str, escalation: dict[str, Any], *, tap: StreamTap | None = None
    ) -> TurnOutcome:
        """A handoff asked for from outside the graph (a CRM, a supervisor) as ``actor``.

        The run pauses at the human node as for a handoff a rule started (brief, narration, desk).
        """
        async with self.locked(conversation_id):
            result = await self.runtime.escalate(conversation_id, **escalation, tap=tap)
        outcome = TurnOutcome(result=result, seq=await self.publish_replies(result, None))
        if result.handoff:
            await self._started(result.handoff, outcome, created_by=actor)
        return outcome

    async def _started(
        self,
        record: HandoffRecord,
        outcome: TurnOutcome,
        *,
        recorded: bool = False,
        created_by: str = "graph",
    ) -> None:
        """Give a new human handoff to the desk (``recorded``: re-submitted after a restart)."""
        cid = outcome.result.conversation_id
        human = record.kind == "human"
        async with together(self.store.db):  # the handoff's rows: one transaction, before the desk
            if not recorded:
                await self.store.add_handoff(record.id, cid, record.kind, record.trigger, record.to)
                await experiments.record_handoff(self.store, cid, record)
                policy_name = self.runtime.context.policies.current().policy.name
                await analytics.record_policy(self.store, cid, record, policy_name)
            if human:
                await self.store.set_assignment(cid, record.id, None)
                await self.store.open_handoff(record.id, cid, self.prefix)
        if self.metrics:
            self.metrics.handoffs.labels(kind=record.kind, trigger=record.trigger).inc()
        if not human:
            state = HandoffStateEvent(handoff_id=record.id, state="completed", kind="bot", to=record.to)
            outcome.seq = await self.publish(cid, state)
            return
        request = desk_request(cid, record, created_by)
        # The routing policy decides how long offers stand and what happens when nobody takes it
        # (its rule's choice, else its own).
        routing = self.runtime.context.policies.current().policy
        chosen = routing.handoff_for(record.rule_id)
        request.no_agent, request.no_agent_after_s, request.accept_timeout_s = chosen
        try:
            handoff, position = await self.desk.submit_placed(request)
        except Busy:
            # The turn and the handoff's rows are recorded: the customer waits for a person as if
            # queued, and the desk gets the handoff from a retry here or, should this worker stop,
            # from the recovery pass.
            log.warning("desk too busy to take handoff %s of %s now; submitting it again", record.id, cid)
            task = asyncio.create_task(self._submit_again(request, record.to))
            self._resubmits[record.id] = task
            task.add_done_callback(lambda _: self._resubmits.pop(record.id, None))
            if not recorded:
                waiting = HandoffStateEvent(handoff_id=record.id, state="pending", to=record.to)
                outcome.seq = await self.publish(cid, waiting)
            return
        outcome.queue_position, outcome.expected_wait_s = position.position, position.expected_wait_s
        if not recorded:  # a re-submitted handoff was already announced to the customer
            outcome.seq = await self.publish(cid, placed(handoff, position, record.to))

    async def submitted(self, handoff_id: str) -> None:
        """Return once a handoff the desk was too busy to take has been submitted again (or given up on
        until the recovery pass); at once for any other."""
        task = self._resubmits.get(handoff_id)
        if task is not None:
            await asyncio.shield(task)

    async def _submit_again(self, request: HandoffRequest, to: str) -> None:
        for wait_s in _RESUBMIT_AFTER_S:
            await asyncio.sleep(wait_s)
            try:
                handoff, position = await self.desk.submit_placed(request)
            except Busy:
                continue
            except DeskError as exc:  # taken meanwhile (the recovery pass), or no longer possible
                log.info("handoff %s not submitted again: %s", request.handoff_id, exc)
                return
            await self.publish(request.conversation_id, placed(handoff, position, to))
            return
        log.warning("handoff %s still not taken by the desk; the recovery pass will", request.handoff_id)

    # -- a handoff taken, a handoff ended ------------------------------------------------------
    async def joined(self, handoff: Handoff, agent_id: str, agent: Agent | None = None) -> None:
        """An agent took the handoff (an accept, or the desk's for an auto-accept agent): tell everyone.

        ``agent``: the agent as the accept left them, when the caller has them (else read here).
        """
        handoff_id, cid = handoff.handoff_id, handoff.conversation_id
        await self.store.set_assignment(cid, handoff_id, agent_id)
        if agent is None:
            agent = await self.desk.get_agent(agent_id)
        name, line = agent_line(agent, taken_over=bool(handoff.transfers))
        state = HandoffStateEvent(
            handoff_id=handoff_id, state=handoff.status, agent_id=agent_id, agent_name=name, message=line
        )
        await self.publish(cid, state, agent_id=agent_id)

    async def finished(self, cid: str, handoff_id: str, outcome: str, agent_id: str | None) -> None:
        """A handoff ended (``outcome``): clear the assignment, close the record, tell everyone."""
        async with together(self.store.db):
            await self.store.set_assignment(cid, None, None)
            if handoff_id:
                await self.store.close_handoff(handoff_id)
        done = HandoffCompleteEvent(handoff_id=handoff_id, outcome=outcome, agent_id=agent_id)
        await self.publish(cid, done, agent_id=agent_id)

    # -- operator changes (forks, jumps, state writes, deletes) ---------------------------------
    async def fork(
        self,
        conversation_id: str,
        checkpoint_id: str,
        values: dict[str, Any] | None,
        *,
        tap: StreamTap | None = None,
    ) -> TurnResult:
        """Continue from an earlier checkpoint; a desk handoff the new head no longer waits on ends."""
        async with self.locked(conversation_id):
            result = await self.runtime.fork(conversation_id, checkpoint_id, values, tap=tap)
            await self._reconcile(conversation_id, result)
        await self.publish_replies(result, None)
        if result.handoff:
            await self._started(result.handoff, TurnOutcome(result=result, seq=0))
        return result

    async def goto(self, conversation_id: str, bot: str, *, tap: StreamTap | None = None) -> TurnResult:
        """Let a bot speak next (operator); its messages reach the customer like any other."""
        async with self.locked(conversation_id):
            result = await self.runtime.goto(conversation_id, bot, tap=tap)
        await self.publish_replies(result, None)
        if result.handoff:
            await self._started(result.handoff, TurnOutcome(result=result, seq=0))
        return result

    async def update_state(
        self,
        conversation_id: str,
        values: dict[str, Any] | None,
        *,
        as_node: str | None,
        checkpoint_id: str | None,
    ) -> Any:
        """Write state as a node (operator), under the conversation's lock; returns the new config."""
        async with self.locked(conversation_id):
            return await self.runtime.update_state(
                conversation_id, values, as_node=as_node, checkpoint_id=checkpoint_id
            )

    async def delete(self, conversation_id: str) -> None:
        """Delete the transcript (operator); an open desk handoff is cancelled first."""
        async with self.locked(conversation_id):
            record = await self.store.conversation(conversation_id) or {}
            handoff_id = record.get("handoff_id")
            if handoff_id:
                with contextlib.suppress(DeskError):
                    await self.desk.cancel(handoff_id, "conversation deleted")
                await self.finished(conversation_id, handoff_id, "cancelled", record.get("agent_id"))
            await self.runtime.delete(conversation_id)
            await self.events.erase(conv_stream(conversation_id))  # the stream holds the transcript too
            await self.store.delete_conversation(conversation_id)

    async def register(self, conversation_id: str) -> bool:
        """Give a conversation started outside the REST API (platform API, CLI) its API record.

        Its customer token is random and never shown: only the admin can act on such a conversation.
        Returns False when the id belonged to a deleted conversation (ids are never reused).
        """
        if await self.store.conversation(conversation_id) is not None:
            return True
        if await self.store.was_deleted(conversation_id):
            return False
        with contextlib.suppress(Exception):  # another request registered it first
            await self.store.add_conversation(conversation_id, secrets.token_urlsafe(32), {})
        return await self.store.conversation(conversation_id) is not None

    async def _reconcile(self, conversation_id: str, result: TurnResult) -> None:
        """End the desk handoff a fork left behind (the new head waits on another one, or none)."""
        record = await self.store.conversation(conversation_id) or {}
        handoff_id = record.get("handoff_id")
        pending = result.pending_interrupt
        if not handoff_id or (pending is not None and pending.handoff_id == handoff_id):
            return
        with contextlib.suppress(DeskError):
            await self.desk.cancel(handoff_id, "the conversation was forked from an earlier checkpoint")
        await self.finished(conversation_id, handoff_id, "cancelled", record.get("agent_id"))
