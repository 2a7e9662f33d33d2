"""A handoff changes hands: transferred to a colleague, a queue or a skill; returned to the AI; cancelled.

Written once over ``Tx`` like the rest of the desk's actions (:mod:`desk.actions`), which it extends.
"""

from __future__ import annotations

import builtins
from typing import Any

from desk import assign, ops
from desk.actions import HandoffActions
from desk.errors import Conflict, InvalidRequest
from desk.events import HandoffCancelled, HandoffReturnedToAi, HandoffTransferred
from desk.lifecycle import transition
from desk.models import CustomerNotice, Handoff, TransferRecord
from desk.store import AfterCommit, Tx


class HandoffHandovers(HandoffActions):
    """Transfer, return to the AI and cancel."""

    async def transfer(
        self,
        handoff_id: str,
        from_agent_id: str,
        to_agent_id: str | None = None,
        to_skills: builtins.list[str] | None = None,
        reason: str = "",
        human_segment: builtins.list[dict[str, Any]] | None = None,
    ) -> Handoff:
        """Human -> human transfer; the brief stays and ``human_segment`` is appended to the handoff.

        To an agent: offered to that agent directly (it must be available). To a skill set: the
        required skills are replaced, optional ones dropped, and the handoff is re-queued. Either
        way a new offer round starts and the transferring agent is excluded. Targets are checked
        before anything changes.

        Raises:
            InvalidRequest: Neither or both targets given, a transfer to oneself, to an agent that
                is not registered, or to skills no registered agent has.
            Conflict: Not held by ``from_agent_id``, or the target agent is not available.
        """
        if (to_agent_id is None) == (to_skills is None):
            msg = "transfer needs exactly one of to_agent_id or to_skills"
            raise InvalidRequest(msg)
        if to_agent_id == from_agent_id:
            msg = f"agent {from_agent_id} cannot transfer a handoff to themself"
            raise InvalidRequest(msg)
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            await tx.prefetch([handoff_id], [from_agent_id, *([to_agent_id] if to_agent_id else [])])
            handoff = await self._held_by(tx, handoff_id, from_agent_id)
            transition(handoff, "transferred", now, reason=reason)  # a private copy until commit
            target = await ops.transfer_target(tx, to_agent_id, to_skills)
            if target is not None and not assign.is_available(target, now, self.config):
                msg = f"agent {target.id} is not available to take a transfer"
                raise Conflict(msg)
            await ops.release_agent(tx, handoff, now, "revoked", "transferred")
            segment = builtins.list(human_segment or [])
            handoff.transfers.append(
                TransferRecord(
                    at=now,
                    from_agent_id=from_agent_id,
                    to_agent_id=to_agent_id,
                    to_skills=to_skills,
                    reason=reason,
                    human_segment=segment,
                )
            )
            handoff.human_segment.extend(segment)
            handoff.assigned_agent_id = None
            handoff.excluded_agent_ids = [from_agent_id]
            handoff.round_started_at, handoff.stuck_alerted_at = now, None
            if to_skills is not None:
                handoff.required_skills, handoff.optional_skills = builtins.list(to_skills), []
            handoff.preferred_agent_id = to_agent_id
            tx.emit(
                HandoffTransferred(
                    ts=now,
                    **self._base(handoff),
                    from_agent_id=from_agent_id,
                    to_agent_id=to_agent_id,
                    to_skills=to_skills,
                    reason=reason,
                )
            )
            if target is not None:
                score = assign.score_agent(target, handoff, now, self.config).score
                ops.offer(tx, handoff, target, score, now, self.config)
            else:
                transition(handoff, "pending", now, reason="transferred to skills")
            tx.put_handoff(handoff)
            return handoff

        await self._run(fn)
        await self._dispatch()
        return await self.get(handoff_id)

    async def return_to_ai(self, handoff_id: str, agent_id: str | None = None, note: str = "") -> Handoff:
        """Send the conversation back to the AI and await ``on_revert`` (the graph's single resume path).

        Raises:
            Conflict: ``agent_id`` given but the handoff is held by or offered to someone else.
        """
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            await tx.prefetch([handoff_id], [agent_id] if agent_id else [])
            handoff = await tx.handoff(handoff_id)
            if agent_id is not None and agent_id not in (handoff.assigned_agent_id, handoff.offered_agent_id):
                msg = f"handoff {handoff_id} is not with agent {agent_id}"
                raise Conflict(msg)
            transition(handoff, "returned_to_ai", now, reason=note)
            await ops.release_agent(tx, handoff, now, "revoked", "returned_to_ai")
            notice = CustomerNotice(kind="ai", message=note or "Back to the assistant.", reverted=True)
            handoff.outcome, handoff.notice = "returned_to_ai", notice
            tx.put_handoff(handoff)
            tx.emit(
                HandoffReturnedToAi(
                    ts=now, **self._base(handoff), agent_id=agent_id, note=note, notice=notice
                )
            )
            tx.after_commit(AfterCommit("revert", handoff, notice))
            return handoff

        result = await self._run(fn)
        await self._dispatch()
        return result

    async def cancel(self, handoff_id: str, reason: str = "") -> Handoff:
        """Cancel any non-terminal handoff; frees its agent, calls no callback."""
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            handoff = await tx.handoff(handoff_id)
            transition(handoff, "cancelled", now, reason=reason)
            await ops.release_agent(tx, handoff, now, "revoked", "cancelled")
            handoff.outcome = "cancelled"
            tx.put_handoff(handoff)
            tx.emit(HandoffCancelled(ts=now, **self._base(handoff), reason=reason))
            return handoff

        result = await self._run(fn)
        await self._dispatch()
        return result
