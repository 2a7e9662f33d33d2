"""``BaseDesk``: the full ``Desk`` protocol (agents, handoffs, timers) over a backend's ``Tx``."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import logging
from datetime import datetime

from desk import assign, ops, timers
from desk.edits import HandoffEdits
from desk.errors import Conflict
from desk.events import (
    AgentStatusChanged,
    DeskBatchHook,
    DeskEvent,
    DeskEventHandler,
)
from desk.handovers import HandoffHandovers
from desk.models import (
    Agent,
    AgentSpec,
    AgentStatus,
    Handoff,
    HandoffRequest,
    HeldStatus,
)
from desk.ops import TickReport
from desk.store import Tx
from desk.supervise import SupervisorActions

log = logging.getLogger("baton.desk")


async def handle_logged(handle: DeskEventHandler, event: DeskEvent) -> None:
    """Run a ``deliver`` handler; its failure is logged, so one bad event never stops the rest."""
    try:
        await handle(event)
    except Exception:
        log.exception("failed to handle desk event %s", event.type)


async def before_logged(before: DeskBatchHook | None, events: list[DeskEvent]) -> None:
    """Run a ``deliver`` batch hook; its failure is logged, and the batch's events are handled anyway."""
    if before is None or not events:
        return
    try:
        await before(events)
    except Exception:
        log.exception("failed to take a batch of %d desk events", len(events))


class BaseDesk(HandoffHandovers, SupervisorActions, HandoffEdits):
    """Shared implementation of the ``Desk`` protocol; backends supply storage and events."""

    # -- agents --------------------------------------------------------------------------------
    async def register_agent(self, spec: AgentSpec) -> Agent:
        """Register or update an agent; re-registering keeps runtime state and learned performance.

        Args:
            spec: Profile (id, skills, capacity, schedule, initial status and performance).

        Returns:
            The stored agent.
        """
        now = self.clock.now()

        async def fn(tx: Tx) -> Agent:
            old = await tx.maybe_agent(spec.id)
            if old is None:
                agent = Agent(**spec.model_dump(), last_heartbeat=now)
                tx.put_agent(agent)
                tx.emit(
                    AgentStatusChanged(
                        ts=now,
                        agent_id=agent.id,
                        old_status=None,
                        new_status=agent.status,
                        reason="registered",
                    )
                )
                return agent
            if spec.max_concurrent < len(old.active_handoff_ids):
                msg = (
                    f"agent {spec.id} holds {len(old.active_handoff_ids)} handoffs; "
                    f"max_concurrent cannot drop to {spec.max_concurrent} until they finish"
                )
                raise Conflict(msg)
            agent = Agent(
                **spec.model_dump(exclude={"performance", "status"}),
                status=old.status,
                performance=old.performance,
                last_heartbeat=now,
                active_handoff_ids=old.active_handoff_ids,
                offered_handoff_ids=old.offered_handoff_ids,
                last_assigned_at=old.last_assigned_at,
            )
            tx.put_agent(agent)
            await self._apply_status(tx, agent, spec.status, now, reason="registered")
            await ops.shed_offers(tx, agent, now, self.config, reason="capacity_lowered")
            return agent

        await self._run(fn)
        await self._write_heartbeat(spec.id, now)
        await self._dispatch()
        return await self.get_agent(spec.id)

    async def get_agent(self, agent_id: str) -> Agent:
        """One agent; raises ``NotFound``."""

        async def fn(tx: Tx) -> Agent:
            return await tx.agent(agent_id)

        return await self._run(fn)

    async def list_agents(self) -> builtins.list[Agent]:
        """All agents, sorted by id."""

        async def fn(tx: Tx) -> builtins.list[Agent]:
            return await tx.agents()

        return await self._run(fn)

    async def set_status(self, agent_id: str, status: AgentStatus) -> Agent:
        """Change an agent's status; counts as a heartbeat. Going offline revokes pending offers.

        Accepted/active conversations stay with the agent (finish or transfer them); only a lost
        heartbeat re-queues them.
        """
        now = self.clock.now()

        async def fn(tx: Tx) -> Agent:
            agent = await tx.agent(agent_id)
            await self._apply_status(tx, agent, status, now)
            return agent

        await self._run(fn)
        await self._write_heartbeat(agent_id, now)
        await self._dispatch()
        return await self.get_agent(agent_id)

    async def _apply_status(
        self, tx: Tx, agent: Agent, status: AgentStatus, now: datetime, reason: str = ""
    ) -> None:
        old = agent.status
        if old == status:
            return
        agent.status = status
        tx.put_agent(agent)
        tx.emit(
            AgentStatusChanged(ts=now, agent_id=agent.id, old_status=old, new_status=status, reason=reason)
        )
        if status != "offline":
            return
        for hid in builtins.list(agent.offered_handoff_ids):
            handoff = await tx.handoff(hid)
            if handoff.status == "offered" and handoff.offered_agent_id == agent.id:
                await ops.lapse_offer(
                    tx, handoff, now, self.config, outcome="revoked", reason="agent_offline"
                )

    async def known_skills(self) -> set[str]:
        """Every skill at least one registered agent has, whatever its status (valid skill targets)."""
        return ops.skills_of(await self._peek_agents())

    async def restore(
        self, request: HandoffRequest, agent_id: str, status: HeldStatus = "accepted"
    ) -> Handoff:
        """Give back a handoff the desk lost (a restart), held by the agent who had it.

        The handoff is created ``accepted`` (then ``active`` when ``status`` says so) and counts
        against the agent's capacity; offers that no longer fit are revoked and re-queued. Nothing
        is offered to anyone else. Exactly one of concurrent restores of one handoff wins.

        Args:
            request: The handoff as it was submitted.
            agent_id: The agent who held it.
            status: ``accepted``, or ``active`` once the agent had written to the customer.

        Raises:
            Conflict: The desk knows the handoff, or the agent already holds ``max_concurrent``.
            NotFound: The agent is not registered.
        """
        now = self.clock.now()
        restored = functools.partial(
            ops.restore, request=request, agent_id=agent_id, status=status, now=now, config=self.config
        )
        handoff = await self._run(restored)
        await self._dispatch()  # offers revoked to make room go to someone else
        return handoff

    async def heartbeat(self, agent_id: str) -> None:
        """Record that the agent's client is alive; a returning agent triggers a dispatch.

        Every connected agent's socket answers a ping every ``ws_ping_s``: a desk of 200 agents takes 20
        beats a second while nothing else happens. A beat that finds the last one fresh is one backend
        step (``_swap_heartbeat``); the agent is read only when it returns after the TTL, or when the
        backend holds no beat of it (an unknown id then raises ``NotFound``).
        """
        now = self.clock.now()
        previous = await self._swap_heartbeat(agent_id, now)
        if previous is None:
            agent = await self.get_agent(agent_id)
            was_fresh = assign.heartbeat_fresh(agent, now, self.config)
            await self._write_heartbeat(agent_id, now)
        elif assign.beat_fresh(previous, now, self.config):
            return
        else:
            was_fresh = False
            agent = await self.get_agent(agent_id)
        if not was_fresh and agent.status == "online":
            await self._dispatch()

    async def tick(self) -> TickReport:
        """Process due timers, then dispatch. Idempotent; safe to call from several workers at once.

        Order: agents with an expired heartbeat go offline and their handoffs are re-queued; offers
        past ``accept_timeout_s`` lapse and are re-offered; waiting handoffs past ``stuck_after_s``
        alert (and escalate or re-queue); pending ones past ``expires_after_s`` or ``max_offers`` get
        the no-agent policy (``on_revert`` / ``on_notice``); finally the queue drains.
        """
        now = self.clock.now()
        report = TickReport()
        await self._excuse_downtime(now)
        for agent in await self._peek_stale(now):
            await self._run(
                functools.partial(ops.vanish, agent_id=agent.id, now=now, config=self.config, report=report)
            )
        for handoff in await self._peek_waiting(due_by=now):
            if timers.timer_due(handoff, now, self.config):
                due = functools.partial(
                    ops.run_timers, handoff_id=handoff.handoff_id, now=now, config=self.config, report=report
                )
                await self._run(due)
        report.offered = await self._dispatch()
        return report

    async def _excuse_downtime(self, now: datetime) -> None:
        """Heartbeats cannot arrive while no worker runs the desk; that silence is not the agents'.

        When no tick ran for longer than the heartbeat TTL (every worker was down or stalled), the
        agents whose heartbeat was fresh at the last tick get one now: a full TTL to reconnect
        before the usual rule re-queues what they hold. Without this, the first tick after a
        restart longer than the TTL took every accepted chat away from its agent.
        """
        last = await self._last_tick()
        # last None: this desk never ran (a new process, a new Redis); nobody could heartbeat to it yet
        if last is None or (now - last).total_seconds() > self.config.heartbeat_ttl_s:
            # Never ran: every agent, restored while the models warmed; one still fresh from the
            # restore has only what is left of its TTL, and a start a little faster than the TTL
            # took the chat of an agent whose console reconnected a second late. Down: whoever was
            # fresh when it stopped.
            excused = [
                a.id
                for a in await self._peek_agents()
                if a.status != "offline" and (last is None or assign.heartbeat_fresh(a, last, self.config))
            ]
            for agent_id in excused:
                await self._write_heartbeat(agent_id, now)
            if last is not None:
                log.warning(
                    "desk did not run for %.0f s; %d agent(s) get time to reconnect",
                    (now - last).total_seconds(),
                    len(excused),
                )
            elif excused:
                log.warning("desk starts; %d agent(s) get time to reconnect", len(excused))
        await self._mark_tick(now)  # after the heartbeats: a worker that sees the new mark sees them too

    async def run(self, interval: float = 1.0) -> None:
        """Call ``tick()`` every ``interval`` seconds until ``close()``; errors are logged, not fatal.

        Typical use in a FastAPI lifespan: ``task = asyncio.create_task(desk.run(1.0))`` and on
        shutdown ``await desk.close(); await task``.
        """
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("desk tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
