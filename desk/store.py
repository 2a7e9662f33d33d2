"""The unit of work both backends implement: read documents, stage writes and events, commit atomically.

The shared engine (``desk.engine``) expresses every operation as a function of a ``Tx``. The
in-memory backend runs it under an ``asyncio.Lock``; the Redis backend runs it optimistically and
commits with one Lua script that checks the version of every written document (and explicit
guards), retrying the whole function when another worker got there first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from desk.assign import Scored, has_free_slot
from desk.config import DeskConfig
from desk.errors import NotFound
from desk.events import DeskEvent
from desk.models import Agent, CustomerNotice, Handoff, HandoffStatus


@dataclass(frozen=True)
class AfterCommit:
    """A caller callback to await once the transaction has committed."""

    kind: Literal["revert", "notice"]
    handoff: Handoff
    notice: CustomerNotice


class Tx(ABC):
    """Read-your-writes view of the desk for one atomic operation."""

    def __init__(self) -> None:
        self.handoff_cache: dict[str, Handoff] = {}
        self.agent_cache: dict[str, Agent] = {}
        self.dirty_handoffs: dict[str, Handoff] = {}
        self.dirty_agents: dict[str, Agent] = {}
        self.events: list[DeskEvent] = []
        self.after: list[AfterCommit] = []
        self.accept_guards: list[tuple[str, str, str]] = []  # (handoff_id, expected status, agent_id)

    # -- backend hooks -------------------------------------------------------------------------
    @abstractmethod
    async def _load_handoffs(self, ids: list[str]) -> list[Handoff | None]:
        """Load private copies of handoffs (None when missing)."""

    @abstractmethod
    async def _load_agents(self, ids: list[str]) -> list[Agent | None]:
        """Load private copies of agents (None when missing)."""

    async def _load(
        self, handoff_ids: list[str], agent_ids: list[str]
    ) -> tuple[list[Handoff | None], list[Agent | None]]:
        """Load handoffs and agents together; a backend may read both in one round trip."""
        handoffs = await self._load_handoffs(handoff_ids) if handoff_ids else []
        return handoffs, await self._load_agents(agent_ids) if agent_ids else []

    @abstractmethod
    async def agent_ids(self) -> list[str]:
        """All registered agent ids, sorted."""

    @abstractmethod
    async def queue(self) -> list[str]:
        """Pending handoff ids in queue order (priority desc, created asc, id)."""

    @abstractmethod
    async def may_queue(self) -> bool:
        """False only when nothing is pending (a cheap check before reading the queue and the agents)."""

    @abstractmethod
    async def count_ahead(self, handoff: Handoff) -> int:
        """Pending handoffs strictly ahead of ``handoff`` in the queue."""

    @abstractmethod
    async def handoff_ids(
        self, open_only: bool, agent_id: str | None = None, status: HandoffStatus | None = None
    ) -> list[str]:
        """Ids of all handoffs, or only non-terminal ones, in creation order.

        With ``agent_id`` a backend may leave out handoffs neither offered nor assigned to that agent,
        and with ``status`` those in another status (callers still filter: an agent's console asks
        for the waiting handoffs every few seconds, and the held ones are most of the open ones).
        """

    async def available_ids(self) -> set[str]:
        """Ids of the agents online with a free slot (as this transaction sees them), from an index.

        A superset of those an offer may go to: heartbeat and schedule change with the clock, so the
        caller checks them.
        """
        found = await self._stored_available()
        for agent in self.agent_cache.values():  # what this transaction read or wrote wins
            if has_free_slot(agent):
                found.add(agent.id)
            else:
                found.discard(agent.id)
        return found

    @abstractmethod
    async def _stored_available(self) -> set[str]:
        """The backend's index of the agents online with a free slot, as committed (a new set)."""

    @abstractmethod
    async def ranked_pick(self, handoff: Handoff, now: datetime, config: DeskConfig) -> Scored | None:
        """``assign.pick`` over every agent as this transaction sees them, from a kept ranking
        (``desk.ranking``): the agents this transaction read are scored as it read them."""

    # -- reads ---------------------------------------------------------------------------------
    async def prefetch(self, handoff_ids: Sequence[str] = (), agent_ids: Sequence[str] = ()) -> None:
        """Read at once the handoffs and agents an operation is about to ask for (those not read yet).

        On Redis one round trip instead of one per kind; the reads that follow come from the cache.
        """
        hids = [i for i in dict.fromkeys(handoff_ids) if i not in self.handoff_cache]
        aids = [i for i in dict.fromkeys(agent_ids) if i not in self.agent_cache]
        if not (hids or aids):
            return
        handoffs, agents = await self._load(hids, aids)
        self.handoff_cache.update((h.handoff_id, h) for h in handoffs if h is not None)
        self.agent_cache.update((a.id, a) for a in agents if a is not None)

    async def handoffs(self, ids: list[str]) -> list[Handoff]:
        """Handoffs by id (missing ones skipped), from the cache when already read."""
        missing = [i for i in ids if i not in self.handoff_cache]
        if missing:
            for hid, doc in zip(missing, await self._load_handoffs(missing), strict=True):
                if doc is not None:
                    self.handoff_cache[hid] = doc
        return [self.handoff_cache[i] for i in ids if i in self.handoff_cache]

    async def maybe_handoff(self, handoff_id: str) -> Handoff | None:
        """One handoff or None."""
        found = await self.handoffs([handoff_id])
        return found[0] if found else None

    async def handoff(self, handoff_id: str) -> Handoff:
        """One handoff; raises ``NotFound``."""
        found = await self.maybe_handoff(handoff_id)
        if found is None:
            msg = f"handoff {handoff_id!r} does not exist"
            raise NotFound(msg)
        return found

    async def agents(self, ids: list[str] | None = None) -> list[Agent]:
        """Agents by id (all when ``ids`` is None), from the cache when already read."""
        wanted = await self.agent_ids() if ids is None else ids
        missing = [i for i in wanted if i not in self.agent_cache]
        if missing:
            for aid, doc in zip(missing, await self._load_agents(missing), strict=True):
                if doc is not None:
                    self.agent_cache[aid] = doc
        return [self.agent_cache[i] for i in wanted if i in self.agent_cache]

    async def maybe_agent(self, agent_id: str) -> Agent | None:
        """One agent or None."""
        found = await self.agents([agent_id])
        return found[0] if found else None

    async def agent(self, agent_id: str) -> Agent:
        """One agent; raises ``NotFound``."""
        found = await self.maybe_agent(agent_id)
        if found is None:
            msg = f"agent {agent_id!r} is not registered"
            raise NotFound(msg)
        return found

    async def view_agents(self, ids: list[str] | None = None) -> list[Agent]:
        """Agents for scoring only (all when ``ids`` is None; never mutate them); backends may skip
        the private copies."""
        return await self.agents(ids)

    async def view_handoffs(self, ids: list[str]) -> list[Handoff]:
        """Handoffs for reading only (never mutate them); backends may skip the private copies."""
        return await self.handoffs(ids)

    # -- writes --------------------------------------------------------------------------------
    def put_handoff(self, handoff: Handoff) -> None:
        """Stage a handoff write (the queue index follows its status)."""
        self.handoff_cache[handoff.handoff_id] = handoff
        self.dirty_handoffs[handoff.handoff_id] = handoff

    def put_agent(self, agent: Agent) -> None:
        """Stage an agent write."""
        self.agent_cache[agent.id] = agent
        self.dirty_agents[agent.id] = agent

    def emit(self, event: DeskEvent) -> None:
        """Stage an event; it is published only if the transaction commits."""
        self.events.append(event)

    def after_commit(self, item: AfterCommit) -> None:
        """Schedule a caller callback for after the commit."""
        self.after.append(item)

    def guard_accept(self, handoff_id: str, expected_status: str, agent_id: str) -> None:
        """Ask the backend to re-check, atomically at commit, the preconditions of an accept."""
        self.accept_guards.append((handoff_id, expected_status, agent_id))
