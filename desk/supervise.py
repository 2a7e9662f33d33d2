"""What a supervisor does to a waiting handoff: offer it to the agent they pick (``offer_to``).

A held handoff is reassigned with ``transfer`` (the holder is the one it moves from); a waiting one
has no holder, so the desk's current offer, if any, is withdrawn and the chosen agent is offered it
at once, with a fresh accept timeout.
"""

from __future__ import annotations

from desk import assign, ops
from desk.core import DeskCore
from desk.errors import Conflict
from desk.lifecycle import TERMINAL, WAITING
from desk.models import Handoff
from desk.store import Tx


class SupervisorActions(DeskCore):
    """Supervisor operations of the ``Desk`` protocol, written once over ``Tx``."""

    async def offer_to(self, handoff_id: str, agent_id: str, reason: str = "") -> Handoff:
        """Offer a waiting handoff to ``agent_id`` now, withdrawing an offer made to someone else.

        The agent must be available (online, fresh heartbeat, in schedule), hold the required skills
        and have a free slot; an exclusion (a missed or declined offer) does not stop a supervisor.

        Raises:
            Conflict: The handoff is not waiting, is already offered to that agent, or the agent
                cannot take it.
            NotFound: Unknown handoff or agent.
        """
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            await tx.prefetch([handoff_id], [agent_id])
            handoff = await tx.handoff(handoff_id)
            if handoff.status not in WAITING:
                msg = f"handoff {handoff_id} is {handoff.status}, not waiting; transfer it from its agent"
                raise Conflict(msg)
            if handoff.offered_agent_id == agent_id:
                msg = f"handoff {handoff_id} is already offered to agent {agent_id}"
                raise Conflict(msg)
            agent = await tx.agent(agent_id)
            problem = ""
            if agent.load >= agent.max_concurrent:
                problem = f"agent {agent_id} is at capacity ({agent.max_concurrent})"
            elif not assign.is_available(agent, now, self.config):
                problem = f"agent {agent_id} is not available ({agent.status})"
            elif not all(s in agent.skills for s in handoff.required_skills):
                problem = f"agent {agent_id} lacks required skills {handoff.required_skills}"
            if problem:
                raise Conflict(problem)
            if handoff.status == "offered":
                # the withdrawn offer is "revoked" (not the agent's miss): they are not excluded for it
                previous = handoff.offered_agent_id
                why = reason or "reassigned"
                await ops.lapse_offer(tx, handoff, now, self.config, outcome="revoked", reason=why)
                if previous in handoff.excluded_agent_ids:
                    handoff.excluded_agent_ids.remove(previous)
                if handoff.status in TERMINAL:  # the no-agent policy took it on the way
                    tx.put_handoff(handoff)
                    return handoff
                agent = await tx.agent(agent_id)  # lapse_offer may have stored a changed copy
            score = assign.score_agent(agent, handoff, now, self.config).score
            ops.offer(tx, handoff, agent, score, now, self.config)
            return handoff

        return await self._run(fn)
