"""Changes to a live handoff from outside its lifecycle: its routing fields and its context.

A CRM or a supervisor re-prioritises a waiting handoff, asks for other skills or an agent, or adds
facts and notes for whoever takes it. Each change is written once over ``Tx`` (so both backends
run it), recorded on the handoff's ``audit`` list and emitted as a ``handoff_updated`` event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from desk.core import DeskCore
from desk.errors import Conflict, InvalidRequest
from desk.events import HandoffUpdated
from desk.lifecycle import TERMINAL
from desk.models import Agent, AuditAction, AuditEntry, ContextNote, Handoff
from desk.ops import skills_of
from desk.store import Tx

# Agent settings ``configure_agent`` may change (the rest is the profile, re-registered as a whole).
AGENT_SETTINGS = frozenset({"schedule", "auto_accept", "notifications"})
# Fields ``update`` may change; anything else about a handoff moves only through its lifecycle.
EDITABLE = frozenset(
    {
        "priority",
        "urgency",
        "required_skills",
        "optional_skills",
        "preferred_agent_id",
        "campaign_id",
        "lead_id",
        "estimated_handle_time_min",
    }
)


def _audit(
    tx: Tx, handoff: Handoff, actor: str, action: AuditAction, changes: dict[str, Any], now: datetime
) -> None:
    """Record a change on the handoff and as an event (the audit trail)."""
    handoff.audit.append(AuditEntry(at=now, actor=actor, action=action, changes=changes))
    handoff.updated_at = now
    tx.put_handoff(handoff)
    tx.emit(
        HandoffUpdated(
            ts=now,
            handoff_id=handoff.handoff_id,
            conversation_id=handoff.conversation_id,
            actor=actor,
            action=action,
            changes=changes,
        )
    )


class HandoffEdits(DeskCore):
    """``update`` and ``add_context`` of the ``Desk`` protocol."""

    async def update(self, handoff_id: str, actor: str, changes: dict[str, Any]) -> Handoff:
        """Change routing fields of an open handoff (see ``EDITABLE``); a waiting one is re-queued in order.

        Args:
            handoff_id: The handoff.
            actor: Who changes it ('admin' or an agent id), for the audit trail.
            changes: Field -> new value; ``None`` clears ``preferred_agent_id``.

        Raises:
            InvalidRequest: An unknown field, a preferred agent that is not registered, or required
                skills no registered agent has.
            Conflict: The handoff has ended.
            NotFound: Unknown handoff.
        """
        unknown = sorted(set(changes) - EDITABLE)
        if unknown or not changes:
            msg = f"cannot change {', '.join(unknown)}" if unknown else "nothing to change"
            raise InvalidRequest(msg)
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            handoff = await tx.handoff(handoff_id)
            if handoff.status in TERMINAL:
                msg = f"handoff {handoff_id} is {handoff.status}; an ended handoff cannot change"
                raise Conflict(msg)
            preferred = changes.get("preferred_agent_id")
            if preferred is not None and await tx.maybe_agent(preferred) is None:
                msg = f"no agent {preferred!r} is registered"
                raise InvalidRequest(msg)
            if "required_skills" in changes:
                missing = sorted(set(changes["required_skills"]) - skills_of(await tx.view_agents()))
                if missing:
                    msg = f"no registered agent has skill(s) {', '.join(missing)}"
                    raise InvalidRequest(msg)
            validated = Handoff.model_validate({**handoff.model_dump(), **changes})
            for name in changes:
                setattr(handoff, name, getattr(validated, name))
            _audit(tx, handoff, actor, "updated", _json(changes), now)
            return handoff

        await self._run(fn)
        await self._dispatch()  # a new preferred agent or lower skill bar may be served now
        return await self._run(lambda tx: tx.handoff(handoff_id))

    async def add_context(self, handoff_id: str, actor: str, notes: list[ContextNote]) -> Handoff:
        """Add facts or notes for the agent (each stamped with ``actor`` and the desk's clock).

        Raises:
            InvalidRequest: No notes.
            Conflict: The handoff has ended.
            NotFound: Unknown handoff.
        """
        if not notes:
            msg = "add at least one fact or note"
            raise InvalidRequest(msg)
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            handoff = await tx.handoff(handoff_id)
            if handoff.status in TERMINAL:
                msg = f"handoff {handoff_id} is {handoff.status}; context cannot be added to an ended handoff"
                raise Conflict(msg)
            stamped = [n.model_copy(update={"by": actor, "at": now}) for n in notes]
            handoff.context_notes = [*handoff.context_notes, *stamped]
            added = [n.model_dump(mode="json", include={"kind", "key", "text"}) for n in stamped]
            _audit(tx, handoff, actor, "context_added", {"context_notes": added}, now)
            return handoff

        return await self._run(fn)

    async def audit(
        self, handoff_id: str, actor: str, action: AuditAction, changes: dict[str, Any]
    ) -> Handoff:
        """Record a change another operation made (an assignment) on the handoff's audit trail."""
        now = self.clock.now()

        async def fn(tx: Tx) -> Handoff:
            handoff = await tx.handoff(handoff_id)
            _audit(tx, handoff, actor, action, changes, now)
            return handoff

        return await self._run(fn)

    async def configure_agent(self, agent_id: str, changes: dict[str, Any]) -> Agent:
        """Change an agent's schedule, auto-accept or notification preferences (``AGENT_SETTINGS``).

        Raises:
            InvalidRequest: An unknown field or nothing to change.
            NotFound: Unknown agent.
        """
        unknown = sorted(set(changes) - AGENT_SETTINGS)
        if unknown or not changes:
            msg = f"cannot change {', '.join(unknown)}" if unknown else "nothing to change"
            raise InvalidRequest(msg)

        async def fn(tx: Tx) -> Agent:
            agent = await tx.agent(agent_id)
            validated = Agent.model_validate({**agent.model_dump(), **changes})
            for name in changes:
                setattr(agent, name, getattr(validated, name))
            tx.put_agent(agent)
            return agent

        await self._run(fn)
        await self._dispatch()  # a schedule that opens now, or auto-accept, may take waiting handoffs
        return await self._run(lambda tx: tx.agent(agent_id))


def _json(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in changes.items()}
