"""A human handoff from the moment the desk holds it: agents act on it and the desk ends it.

The conversation engine (``api/engine.py``) runs the graph and submits the handoff a run starts;
from there ``HandoffLifecycle`` owns what happens to it, each change under the engine's lock:

* an agent accepts (the customer hears who joined), replies, hands back to the AI or completes;
  each resumes the paused run with a typed command;
* the admin or the customer (leaving the queue, asking for a callback) rolls it back to the AI;
* the desk's callbacks: when nobody takes it, ``on_revert`` rolls the conversation back (or records
  a callback), and ``on_notice`` tells a customer who keeps their place in the queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from api import analytics
from api.customer_lines import STILL_WAITING
from api.engine import ConversationEngine
from api.ws_models import HandoffStateEvent
from desk.errors import Conflict, DeskError
from desk.models import CustomerNotice, Handoff
from graph.actions import Close, Reply, ReturnToAI
from graph.runtime import StreamTap
from graph.runtime_models import TurnResult


@dataclass
class _Return:
    agent_id: str
    note: str
    target: str | None
    tap: StreamTap | None
    result: TurnResult | None = None
    error: BaseException | None = None


@dataclass
class HandoffLifecycle:
    """Agent actions on a desk handoff, its rollback to the AI, and the desk's callbacks."""

    engine: ConversationEngine
    # Records a callback when nobody took a handoff under ``no_agent: callback``; returns the bot's line.
    on_callback: Callable[[Handoff], Awaitable[str]] | None = None
    _returns: dict[str, _Return] = field(default_factory=dict)

    # -- agent side ----------------------------------------------------------------------------
    async def accept(self, handoff_id: str, agent_id: str) -> Handoff:
        """Accept an offer; the customer hears who joined ("Maria from our sales team joined the chat.")."""
        handoff, agent = await self.engine.desk.accept_by(handoff_id, agent_id)
        await self.engine.joined(handoff, agent_id, agent)
        return handoff

    async def reply(
        self, handoff: Handoff, agent_id: str, text: str, *, tap: StreamTap | None = None
    ) -> TurnResult:
        """The agent writes: resume the paused run with ``Reply``."""
        engine = self.engine
        async with engine.locked(handoff.conversation_id):
            handoff = await engine.desk.get(handoff.handoff_id)  # as it is now, not as the caller read it
            if handoff.status == "accepted":
                handoff = await engine.desk.start(handoff.handoff_id, agent_id)
            elif handoff.status != "active":
                msg = f"handoff {handoff.handoff_id} is {handoff.status}; accept it before replying"
                raise Conflict(msg)
            action = Reply(text=text, agent_id=agent_id)
            result = await engine.runtime.resume(handoff.conversation_id, action, tap=tap)
        await analytics.record_reply(engine.store, handoff.handoff_id, agent_id)  # time to first reply
        await engine.publish_replies(result, agent_id, handoff.handoff_id)
        return result

    async def return_to_ai(
        self,
        handoff: Handoff,
        agent_id: str,
        note: str,
        target: str | None = None,
        *,
        tap: StreamTap | None = None,
    ) -> TurnResult:
        """The agent hands back: the desk reverts, ``on_revert`` resumes the run with ``ReturnToAI``."""
        async with self.engine.locked(handoff.conversation_id):
            await self.engine.runtime.require_paused(handoff.conversation_id)
            pending = _Return(agent_id=agent_id, note=note, target=target, tap=tap)
            self._returns[handoff.handoff_id] = pending
            try:
                await self.engine.desk.return_to_ai(handoff.handoff_id, agent_id, note)
            finally:
                self._returns.pop(handoff.handoff_id, None)
        if pending.error is not None:
            raise pending.error
        if pending.result is None:  # pragma: no cover - the desk always calls on_revert
            msg = f"handoff {handoff.handoff_id} was not returned"
            raise Conflict(msg)
        return pending.result

    async def complete(
        self, handoff: Handoff, agent_id: str, note: str, text: str, *, tap: StreamTap | None = None
    ) -> TurnResult:
        """The agent finishes: desk ``complete``, then resume the run with ``Close``, as one change."""
        engine, cid = self.engine, handoff.conversation_id
        async with engine.locked(cid):
            await self.engine.runtime.require_paused(cid)
            await engine.desk.complete(handoff.handoff_id, agent_id, notes=note)
            result = await engine.runtime.resume(cid, Close(note=note, text=text, agent_id=agent_id), tap=tap)
        if text:  # a closing line the customer reads is an agent's reply too
            await analytics.record_reply(engine.store, handoff.handoff_id, agent_id)
        await engine.publish_replies(result, agent_id, handoff.handoff_id)
        await engine.finished(cid, handoff.handoff_id, "completed", agent_id)
        return result

    async def rollback(
        self,
        conversation_id: str,
        reason: str,
        notice: str | None,
        *,
        tap: StreamTap | None = None,
        outcome: str = "rolled_back",
    ) -> TurnResult:
        """Roll a human handoff back to the AI (an admin, or the customer leaving the queue); the desk
        handoff is cancelled, as one change. The bot says ``notice`` (the customer's one line);
        ``reason`` is for the team."""
        engine = self.engine
        async with engine.locked(conversation_id):
            record = await engine.store.conversation(conversation_id) or {}
            result = await engine.runtime.rollback(conversation_id, reason=reason, notice=notice, tap=tap)
            handoff_id, agent_id = record.get("handoff_id"), record.get("agent_id")
            if handoff_id:
                with contextlib.suppress(DeskError):  # already ended in the desk (expired, returned)
                    await engine.desk.cancel(handoff_id, reason)
        if engine.metrics:
            engine.metrics.rollbacks.inc()
        state = HandoffStateEvent(handoff_id=handoff_id or "", state=outcome)  # the bot says the notice
        await engine.publish(conversation_id, state, agent_id=agent_id)
        await engine.publish_replies(result, None)
        await engine.finished(conversation_id, handoff_id or "", outcome, agent_id)
        return result

    # -- desk callbacks --------------------------------------------------------------------------
    async def on_revert(self, handoff: Handoff, notice: CustomerNotice) -> None:
        """Back to the AI: the agent's ``return`` resumes with ``ReturnToAI``; anything else rolls back."""
        engine, cid = self.engine, handoff.conversation_id
        pending = self._returns.get(handoff.handoff_id)
        if pending is not None:
            try:
                action = ReturnToAI(note=pending.note, target=pending.target, agent_id=pending.agent_id)
                async with engine.locked(cid):
                    pending.result = await engine.runtime.resume(cid, action, tap=pending.tap)
            except Exception as exc:
                pending.error = exc
                raise
            await engine.publish_replies(pending.result, pending.agent_id, handoff.handoff_id)
            await engine.finished(cid, handoff.handoff_id, "returned_to_ai", pending.agent_id)
            return
        reason = f"no agent took the handoff ({handoff.outcome or handoff.status})"
        # "continue with the AI" speaks the policy's own no-agent message; a callback is recorded and
        # its line says what happens next. The bot says it: the customer reads it once.
        text = None if notice.kind == "ai" else notice.message
        if notice.kind == "callback" and self.on_callback is not None:
            text = await self.on_callback(handoff)
        async with engine.locked(cid):
            result = await engine.runtime.rollback(cid, reason=reason, notice=text)
        if engine.metrics:
            engine.metrics.rollbacks.inc()
        ended = "callback" if notice.kind == "callback" else "rolled_back"
        await engine.publish(cid, HandoffStateEvent(handoff_id=handoff.handoff_id, state=ended))
        await engine.publish_replies(result, None)
        await engine.finished(cid, handoff.handoff_id, ended, None)

    async def on_notice(self, handoff: Handoff, notice: CustomerNotice) -> None:
        """Queue policy: the wait ran out and the customer keeps their place; the widget's queue panel
        shows position and wait from the same numbers (one source, never two differently rounded texts)."""
        state = HandoffStateEvent(
            handoff_id=handoff.handoff_id,
            state=handoff.status,
            message=STILL_WAITING,
            queue_position=notice.queue_position,
            expected_wait_s=notice.expected_wait_s,
        )
        await self.engine.publish(handoff.conversation_id, state)
