"""``BaseDesk``: the full ``Desk`` protocol (agents, handoffs, timers) over a backend's ``Tx``."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import logging

from desk import assign, ops
from desk.actions import HandoffActions
from desk.events import (
    AgentStatusChanged,
)
from desk.models import (
    Agent,
    AgentSpec,
    AgentStatus,
)
from desk.ops import TickReport
from desk.store import Tx

log = logging.getLogger("baton.desk")


class BaseDesk(HandoffActions):
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
            else:
                fields = spec.model_dump(exclude={"performance"})
                agent = old.model_copy(update={**fields, "last_heartbeat": now})
            tx.put_agent(agent)
            if old is None or old.status != agent.status:
                tx.emit(
                    AgentStatusChanged(
                        ts=now,
                        agent_id=agent.id,
                        old_status=None if old is None else old.status,
                        new_status=agent.status,
                        reason="registered",
                    )
                )
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
            old = agent.status
            if old == status:
                return agent
            agent.status = status
            tx.put_agent(agent)
            tx.emit(AgentStatusChanged(ts=now, agent_id=agent_id, old_status=old, new_status=status))
            if status == "offline":
                for hid in builtins.list(agent.offered_handoff_ids):
                    handoff = await tx.handoff(hid)
                    if handoff.status == "offered" and handoff.offered_agent_id == agent_id:
                        await ops.lapse_offer(
                            tx, handoff, now, self.config, outcome="revoked", reason="agent_offline"
                        )
            return agent

        await self._run(fn)
        await self._write_heartbeat(agent_id, now)
        await self._dispatch()
        return await self.get_agent(agent_id)

    async def heartbeat(self, agent_id: str) -> None:
        """Record that the agent's client is alive; a returning agent triggers a dispatch."""
        now = self.clock.now()
        agent = await self.get_agent(agent_id)
        was_fresh = assign.heartbeat_fresh(agent, now, self.config)
        await self._write_heartbeat(agent_id, now)
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
        for agent in await self._peek_agents():
            if agent.status != "offline" and not assign.heartbeat_fresh(agent, now, self.config):
                await self._run(
                    functools.partial(
                        ops.vanish, agent_id=agent.id, now=now, config=self.config, report=report
                    )
                )
        for handoff in await self._peek_open():
            if ops.timer_due(handoff, now, self.config):
                timers = functools.partial(
                    ops.run_timers, handoff_id=handoff.handoff_id, now=now, config=self.config, report=report
                )
                await self._run(timers)
        report.offered = await self._dispatch()
        return report

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
