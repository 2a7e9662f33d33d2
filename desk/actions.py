"""Handoff operations (submit, accept, decline, start, complete, queue position), written once over ``Tx``."""

from __future__ import annotations

import builtins
from datetime import datetime

from desk import assign, ops, timers
from desk.base import QueuePosition
from desk.core import DeskCore
from desk.errors import Conflict, InvalidRequest
from desk.events import (
    HandoffAccepted,
    HandoffCompleted,
    HandoffCreated,
    HandoffDeclined,
    HandoffStarted,
)
from desk.lifecycle import HELD, TERMINAL, transition
from desk.models import (
    Agent,
    AuditEntry,
    Handoff,
    HandoffRequest,
    HandoffStatus,
    TransitionRecord,
)
from desk.store import Tx


class HandoffActions(DeskCore):
    """Handoff lifecycle operations of the ``Desk`` protocol."""

    async def submit(self, request: HandoffRequest) -> Handoff:
        """Queue a handoff and offer it right away when an agent is free.

        Raises:
            Conflict: A handoff with this id already exists.
        """
        return (await self._submit(request, placed=False))[0]

    async def submit_placed(self, request: HandoffRequest) -> tuple[Handoff, QueuePosition]:
        """``submit``, and where the handoff stands (``queue_position``'s answer).

        A handoff offered at once is placed in the submit's own transaction (its offer and agent are
        what that transaction wrote); a queued one is counted once it is committed, since a
        transaction's count of the queue on Redis does not see the moves it has not committed yet.

        Raises:
            Conflict: A handoff with this id already exists.
        """
        handoff, position = await self._submit(request, placed=True)
        if position is None:
            position = await self.queue_position(handoff.handoff_id)
        return handoff, position

    async def _submit(self, request: HandoffRequest, *, placed: bool) -> tuple[Handoff, QueuePosition | None]:
        now = self.clock.now()

        async def fn(tx: Tx) -> tuple[Handoff, QueuePosition | None]:
            if await tx.maybe_handoff(request.handoff_id) is not None:
                msg = f"handoff {request.handoff_id!r} already exists"
                raise Conflict(msg)
            data = request.model_dump()
            data["created_at"] = request.created_at or now
            handoff = Handoff(**data)
            handoff.history.append(TransitionRecord(from_status=None, to_status="pending", at=now))
            handoff.audit.append(AuditEntry(at=now, actor=handoff.created_by, action="created"))
            handoff.updated_at, handoff.round_started_at = now, handoff.created_at
            tx.put_handoff(handoff)
            tx.emit(
                HandoffCreated(
                    ts=now,
                    **self._base(handoff),
                    priority=handoff.priority,
                    urgency=handoff.urgency,
                    required_skills=handoff.required_skills,
                )
            )
            # Offered in the same commit when an agent is free (queue order still rules: one queued
            # before it is offered first). The transaction's object is the caller's: a commit stores
            # copies (in process) or JSON (Redis).
            await self._offer_queued(tx, now)
            if not placed or handoff.status == "pending":
                return handoff, None
            return handoff, await self._position(tx, handoff, now)

        return await self._run(fn)

    async def get(self, handoff_id: str) -> Handoff:
        """One handoff; raises ``NotFound``."""

        async def fn(tx: Tx) -> Handoff:
            return await tx.handoff(handoff_id)

        return await self._run(fn)

    async def list(
        self, status: HandoffStatus | None = None, agent_id: str | None = None
    ) -> builtins.list[Handoff]:
        """Handoffs in creation order, optionally filtered by status and by offered/assigned agent."""

        async def fn(tx: Tx) -> builtins.list[Handoff]:
            open_only = status is not None and status not in TERMINAL
            ids = await tx.handoff_ids(open_only=open_only, agent_id=agent_id, status=status)
            found = await tx.handoffs(ids)
            return [
                h
                for h in found
                if (status is None or h.status == status)
                and (agent_id is None or agent_id in (h.assigned_agent_id, h.offered_agent_id))
            ]

        return await self._run(fn)

    async def accept(self, handoff_id: str, agent_id: str) -> Handoff:
        """Accept an offer, or pull a pending handoff the agent qualifies for.

        Exactly one of many concurrent accepts wins; the others raise ``Conflict``. The agent's
        capacity is re-checked atomically. With ``auto_start_on_accept`` the handoff goes straight
        to ``active`` (both transitions and events are recorded).

        Raises:
            Conflict: Offered to someone else, already taken, agent excluded/unqualified/full.
            IllegalTransition: The handoff is terminal.
        """
        return (await self.accept_by(handoff_id, agent_id))[0]

    async def accept_by(self, handoff_id: str, agent_id: str) -> tuple[Handoff, Agent]:
        """``accept``, returning the agent too, as the accept left them (their name for the customer's
        "joined" line, without reading them again).

        Raises:
            Conflict: As ``accept``.
            IllegalTransition: As ``accept``.
        """
        now = self.clock.now()

        async def fn(tx: Tx) -> tuple[Handoff, Agent]:
            await tx.prefetch([handoff_id], [agent_id])
            handoff = await tx.handoff(handoff_id)
            agent = await tx.agent(agent_id)
            pre_status = handoff.status
            if handoff.status in HELD:
                msg = f"handoff {handoff_id} was already accepted by {handoff.assigned_agent_id}"
                raise Conflict(msg)
            if handoff.status == "offered" and handoff.offered_agent_id != agent_id:
                msg = f"handoff {handoff_id} is offered to another agent"
                raise Conflict(msg)
            if handoff.status == "pending":
                self._check_pull(handoff, agent)
                ops.offer(
                    tx,
                    handoff,
                    agent,
                    assign.score_agent(agent, handoff, now, self.config).score,
                    now,
                    self.config,
                    auto=False,  # this very call accepts it
                )
            if len(agent.active_handoff_ids) >= agent.max_concurrent:
                msg = f"agent {agent_id} is at capacity ({agent.max_concurrent})"
                raise Conflict(msg)
            transition(handoff, "accepted", now, reason=f"accepted by {agent_id}")
            tx.guard_accept(handoff_id, pre_status, agent_id)
            ops.close_offer(handoff, agent, "accepted", now, "")
            handoff.assigned_agent_id = agent_id
            handoff.metrics.time_to_accept_s = timers.since(handoff.created_at, now)
            agent.active_handoff_ids.append(handoff_id)
            agent.last_assigned_at = now
            tx.put_agent(agent)
            tx.put_handoff(handoff)
            tx.emit(
                HandoffAccepted(
                    ts=now,
                    **self._base(handoff),
                    agent_id=agent_id,
                    time_to_accept_s=handoff.metrics.time_to_accept_s or 0.0,
                )
            )
            if self.config.auto_start_on_accept:
                transition(handoff, "active", now, reason="auto_start")
                tx.emit(HandoffStarted(ts=now, **self._base(handoff), agent_id=agent_id))
            return handoff, agent

        return await self._run(fn)

    def _check_pull(self, handoff: Handoff, agent: Agent) -> None:
        """An agent may pull a pending handoff when online, holding the required skills, with room.

        Exclusion (a missed or declined offer) only keeps the desk from offering it to them again;
        picking it from the queue is their own choice, so it is allowed while the handoff waits.
        """
        problem = ""
        if agent.status == "offline":
            problem = "is offline"
        elif not all(s in agent.skills for s in handoff.required_skills):
            problem = f"lacks required skills {handoff.required_skills}"
        elif agent.load >= agent.max_concurrent:
            problem = f"is at capacity ({agent.max_concurrent})"
        if problem:
            msg = f"agent {agent.id} cannot take handoff {handoff.handoff_id}: agent {problem}"
            raise Conflict(msg)

    async def decline(self, handoff_id: str, agent_id: str, reason: str = "") -> Handoff:
        """Decline an offer: ``offered -> declined -> pending``, agent excluded, re-offered next.

        After ``max_offers`` offers in the round the no-agent policy applies immediately.
        """
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            await tx.prefetch([handoff_id], [agent_id])  # the offer it frees is (normally) theirs
            handoff = await tx.handoff(handoff_id)
            if handoff.status == "offered" and handoff.offered_agent_id != agent_id:
                msg = f"handoff {handoff_id} is not offered to agent {agent_id}"
                raise Conflict(msg)
            transition(handoff, "declined", now, reason=reason)
            await ops.release_agent(tx, handoff, now, "declined", reason)
            handoff.excluded_agent_ids.append(agent_id)
            transition(handoff, "pending", now, reason="re-queued after decline")
            tx.put_handoff(handoff)
            tx.emit(HandoffDeclined(ts=now, **self._base(handoff), agent_id=agent_id, reason=reason))
            await ops.check_exhausted(tx, handoff, now, self.config)
            return handoff

        await self._run(fn)
        await self._dispatch()
        return await self.get(handoff_id)

    async def _held_by(self, tx: Tx, handoff_id: str, agent_id: str) -> Handoff:
        handoff = await tx.handoff(handoff_id)
        if handoff.status in HELD and handoff.assigned_agent_id != agent_id:
            msg = f"handoff {handoff_id} belongs to agent {handoff.assigned_agent_id}, not {agent_id}"
            raise Conflict(msg)
        return handoff

    async def start(self, handoff_id: str, agent_id: str) -> Handoff:
        """``accepted -> active``: the agent starts talking to the customer.

        Idempotent for the holder: a handoff already active with ``agent_id`` is returned unchanged
        (no transition, no event), so concurrent replies right after an accept all succeed. On Redis
        the losers of the race re-run on fresh state and land here.

        Raises:
            Conflict: The handoff is held by another agent.
            IllegalTransition: The handoff is neither accepted nor active.
        """
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            handoff = await self._held_by(tx, handoff_id, agent_id)
            if handoff.status == "active":
                return handoff  # _held_by checked it is this agent's
            transition(handoff, "active", now, reason="started")
            tx.put_handoff(handoff)
            tx.emit(HandoffStarted(ts=now, **self._base(handoff), agent_id=agent_id))
            return handoff

        return await self._run(fn)

    async def complete(
        self, handoff_id: str, agent_id: str, notes: str = "", rating: float | None = None
    ) -> Handoff:
        """Finish the conversation; updates the agent's handle time and rating averages.

        Args:
            handoff_id: The handoff.
            agent_id: Must be the assigned agent.
            notes: Wrap-up notes.
            rating: Customer rating 0-5, if any.
        """
        if rating is not None and not 0 <= rating <= 5:
            msg = f"rating must be between 0 and 5, got {rating}"
            raise InvalidRequest(msg)
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            await tx.prefetch([handoff_id], [agent_id])
            handoff = await self._held_by(tx, handoff_id, agent_id)
            if handoff.status == "accepted":
                transition(handoff, "active", now, reason="implicit start")
                tx.emit(HandoffStarted(ts=now, **self._base(handoff), agent_id=agent_id))
            transition(handoff, "completed", now, reason="completed")
            handle = timers.since(handoff.timestamp("accepted"), now)
            handoff.outcome, handoff.notes, handoff.rating = "completed", notes, rating
            handoff.metrics.handle_time_s = handle
            agent = await tx.agent(agent_id)
            if handoff_id in agent.active_handoff_ids:
                agent.active_handoff_ids.remove(handoff_id)
            perf = agent.performance
            if handle is not None:
                perf.avg_handle_time_s = (perf.avg_handle_time_s * perf.handled + handle) / (perf.handled + 1)
                perf.handled += 1
            if rating is not None:
                perf.avg_rating = (perf.avg_rating * perf.ratings + rating) / (perf.ratings + 1)
                perf.ratings += 1
            tx.put_agent(agent)
            tx.put_handoff(handoff)
            tx.emit(
                HandoffCompleted(
                    ts=now, **self._base(handoff), agent_id=agent_id, rating=rating, handle_time_s=handle
                )
            )
            return handoff

        result = await self._run(fn)
        await self._dispatch()
        return result

    async def queue_position(self, handoff_id: str) -> QueuePosition:
        """1-based position of a pending handoff and its expected wait.

        An offered handoff reports ``(0, what is left of the agents' measured response time)``,
        accepted/active ones ``(0, 0.0)``, terminal ones ``(0, None)``.
        """
        now = self.clock.now()

        async def fn(tx: Tx) -> QueuePosition:
            return await self._position(tx, await tx.handoff(handoff_id), now)

        return await self._run(fn)

    async def _position(self, tx: Tx, handoff: Handoff, now: datetime) -> QueuePosition:
        if handoff.status in TERMINAL:
            return QueuePosition(0, None)
        if handoff.status == "offered" and handoff.offers:
            answering = await tx.view_agents([handoff.offers[-1].agent_id])
            respond = assign.response_s(answering, self.config)
            waited = (now - handoff.offers[-1].offered_at).total_seconds()
            return QueuePosition(0, max(0.0, respond - waited))
        if handoff.status != "pending":
            return QueuePosition(0, 0.0)
        position = await tx.count_ahead(handoff) + 1
        # Read-only views: a widget polls this while its customer waits (Redis, 200 agents: every
        # agent's document read and copied each time, ~5 ms of the worker's CPU).
        wait = assign.expected_wait_s(position, handoff, await tx.view_agents(), now, self.config)
        return QueuePosition(position, wait)
