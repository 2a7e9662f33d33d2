"""The one interface every desk backend implements, and the callback types callers pass in."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, NamedTuple, Protocol

from desk.config import DeskConfig
from desk.events import DeskBatchHook, DeskEvent, DeskEventHandler, EventPage
from desk.models import (
    Agent,
    AgentSpec,
    AgentStatus,
    AuditAction,
    ContextNote,
    CustomerNotice,
    Handoff,
    HandoffRequest,
    HandoffStatus,
    HeldStatus,
)
from desk.ops import TickReport

OnRevert = Callable[[Handoff, CustomerNotice], Awaitable[None]]
"""``await on_revert(handoff, notice)`` after a handoff went back to the AI (``returned_to_ai``) or
expired: the graph resumes the conversation from its checkpoint and tells the customer
``notice.message``. Called once per revert, by the worker that committed it, after the commit."""

OnNotice = Callable[[Handoff, CustomerNotice], Awaitable[None]]
"""``await on_notice(handoff, notice)`` when ``no_agent_policy: queue`` tells a still-waiting
customer their position and expected wait (nothing is reverted)."""


class QueuePosition(NamedTuple):
    """1-based position among pending handoffs (0 = not queued) and the expected wait."""

    position: int
    expected_wait_s: float | None


class Desk(Protocol):
    """Human-agent desk: agents, the handoff queue, offers, timers and events."""

    config: DeskConfig

    async def register_agent(self, spec: AgentSpec) -> Agent:
        """Register or update an agent (profile only; runtime state is kept)."""
        ...

    async def get_agent(self, agent_id: str) -> Agent:
        """One agent; raises ``NotFound``."""
        ...

    async def list_agents(self) -> builtins.list[Agent]:
        """All agents, sorted by id."""
        ...

    async def unknown_agents(self, agent_ids: Sequence[str]) -> set[str]:
        """The ids among ``agent_ids`` the desk holds no agent for (no document parsed)."""
        ...

    async def set_status(self, agent_id: str, status: AgentStatus) -> Agent:
        """Change an agent's status (counts as a heartbeat)."""
        ...

    async def configure_agent(self, agent_id: str, changes: dict[str, Any]) -> Agent:
        """Change an agent's schedule, auto-accept or notification preferences."""
        ...

    async def heartbeat(self, agent_id: str) -> None:
        """Record that the agent's desk client is alive."""
        ...

    async def known_skills(self) -> set[str]:
        """Every skill at least one registered agent has (valid transfer and queue targets)."""
        ...

    async def submit(self, request: HandoffRequest) -> Handoff:
        """Queue a handoff and offer it right away if an agent is free."""
        ...

    async def submit_placed(self, request: HandoffRequest) -> tuple[Handoff, QueuePosition]:
        """``submit``, and where the handoff then stands (as ``queue_position`` says)."""
        ...

    async def get(self, handoff_id: str) -> Handoff:
        """One handoff; raises ``NotFound``."""
        ...

    async def unknown_handoffs(self, handoff_ids: Sequence[str]) -> set[str]:
        """The ids among ``handoff_ids`` the desk holds no handoff for (no document parsed)."""
        ...

    async def list(
        self, status: HandoffStatus | None = None, agent_id: str | None = None
    ) -> builtins.list[Handoff]:
        """Handoffs, optionally filtered by status and by assigned/offered agent."""
        ...

    async def accept(self, handoff_id: str, agent_id: str) -> Handoff:
        """Accept an offer (or pull a pending handoff); exactly one concurrent accept wins."""
        ...

    async def accept_by(self, handoff_id: str, agent_id: str) -> tuple[Handoff, Agent]:
        """``accept``, and the agent as the accept left them."""
        ...

    async def decline(self, handoff_id: str, agent_id: str, reason: str = "") -> Handoff:
        """Decline an offer; the handoff is re-offered without this agent."""
        ...

    async def start(self, handoff_id: str, agent_id: str) -> Handoff:
        """accepted -> active; a handoff already active with this agent is returned unchanged."""
        ...

    async def restore(
        self, request: HandoffRequest, agent_id: str, status: HeldStatus = "accepted"
    ) -> Handoff:
        """Re-create a handoff the desk lost (a restart) as held by ``agent_id``; nobody is offered it."""
        ...

    async def complete(
        self, handoff_id: str, agent_id: str, notes: str = "", rating: float | None = None
    ) -> Handoff:
        """Finish the conversation (starts it first if still ``accepted``)."""
        ...

    async def transfer(
        self,
        handoff_id: str,
        from_agent_id: str,
        to_agent_id: str | None = None,
        to_skills: builtins.list[str] | None = None,
        reason: str = "",
        human_segment: builtins.list[dict[str, Any]] | None = None,
    ) -> Handoff:
        """Human -> human transfer to a registered agent or to known skills, keeping brief and segment."""
        ...

    async def return_to_ai(self, handoff_id: str, agent_id: str | None = None, note: str = "") -> Handoff:
        """Send the conversation back to the AI (calls ``on_revert``)."""
        ...

    async def offer_to(self, handoff_id: str, agent_id: str, reason: str = "") -> Handoff:
        """Offer a waiting handoff to the agent a supervisor picked (withdrawing any other offer)."""
        ...

    async def update(self, handoff_id: str, actor: str, changes: dict[str, Any]) -> Handoff:
        """Change an open handoff's routing fields (``desk.edits.EDITABLE``), audited as ``actor``."""
        ...

    async def add_context(self, handoff_id: str, actor: str, notes: builtins.list[ContextNote]) -> Handoff:
        """Add facts or notes for the agent to an open handoff, audited as ``actor``."""
        ...

    async def audit(
        self, handoff_id: str, actor: str, action: AuditAction, changes: dict[str, Any]
    ) -> Handoff:
        """Record on the handoff's audit trail a change another operation made (an assignment)."""
        ...

    async def cancel(self, handoff_id: str, reason: str = "") -> Handoff:
        """Cancel a non-terminal handoff (no callback)."""
        ...

    async def queue_position(self, handoff_id: str) -> QueuePosition:
        """Where a pending handoff stands and how long it should wait."""
        ...

    async def tick(self) -> TickReport:
        """Process due timers: offer timeouts, expiry, stuck alerts, lost agents; then dispatch."""
        ...

    async def run(self, interval: float = 1.0) -> None:
        """Call ``tick()`` every ``interval`` seconds until ``close()``."""
        ...

    def subscribe(self, since: str | None = None) -> AsyncIterator[DeskEvent]:
        """Live events (from now, or after cursor ``since``); every subscriber gets every event."""
        ...

    async def deliver(
        self,
        group: str,
        handle: DeskEventHandler,
        *,
        before: DeskBatchHook | None = None,
        reclaim_after_s: float = 30.0,
    ) -> None:
        """Until ``close()``: hand each event to ``handle`` in one of the callers that share ``group``.

        Unlike ``subscribe``, the callers of a group (one per worker) split the events. An event whose
        handler raised is logged and counts as handled. ``before`` gets each batch of events a caller
        took at once, before ``handle`` gets them one by one (to record a batch in one write); its
        failure is logged and the events are still handled. On Redis, an event a caller took and never
        finished (its worker was killed) goes to another after ``reclaim_after_s`` (at least once),
        and events that arrived while no caller ran are handled when one starts.
        """
        ...

    async def events_since(self, cursor: str | None = None, limit: int = 1000) -> EventPage:
        """Event history after ``cursor`` (from the start when None)."""
        ...

    async def cursor(self) -> str:
        """The cursor of the latest event (for ``subscribe(since=...)``)."""
        ...

    async def close(self) -> None:
        """Stop ``run()``, end subscriptions and release connections."""
        ...
