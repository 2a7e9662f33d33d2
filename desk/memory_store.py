"""What the in-process desk holds: handoffs (held ones compactly), agents, events and read indexes.

A held or ended handoff (most of them: 10,000 held in the load benchmark) is kept as its JSON bytes,
one object the garbage collector does not track, instead of a Pydantic tree of ~50 tracked objects
and ~10 KB. Every full collection walked those trees, and each request in flight waited for it: that
was the WebSocket relay's p99 with 10,000 held (benchmarks/README.md). Waiting handoffs (pending,
offered), which every dispatch and tick reads, stay objects. Events are kept as JSON text likewise.

The indexes answer the reads that used to scan everything: ``available`` (agents online with a free
slot) and the rankings (``desk.ranking``) give an offer its agent; a heap of timer deadlines
(``timers.timer_deadline``) gives a tick the handoffs it has work for; the queue in its order
(``PendingQueue``) gives a dispatch the queued handoffs and a customer their place in line.
"""

from __future__ import annotations

import bisect
import heapq
from datetime import datetime

from desk.assign import QueueKey, has_free_slot, queue_key
from desk.config import DeskConfig
from desk.lifecycle import TERMINAL, WAITING
from desk.models import Agent, Handoff, HandoffStatus
from desk.ranking import Ranking, Rankings

# created_at, status, assigned agent, offered agent: what listing and sorting need without a parse.
# A tuple of atomic values, so the collector stops tracking it after its first pass.
Meta = tuple[datetime, HandoffStatus, str | None, str | None]


def meta_of(handoff: Handoff) -> Meta:
    """The fields ``handoff_ids`` filters and sorts on."""
    return (handoff.created_at, handoff.status, handoff.assigned_agent_id, handoff.offered_agent_id)


class PendingQueue:
    """The queued (pending) handoff ids in queue order (``assign.queue_key``).

    Sorted keys instead of a set: a place in line is a bisection, and a dispatch reads the order
    without sorting. With every agent busy each submit counted the whole queue and each dispatch
    sorted it: 1.1 ms of CPU per submit at 1,000 queued, 31 ms at 10,000 (``benchmarks/desk_scale.py
    --queued``).
    """

    def __init__(self) -> None:
        self._keys: list[QueueKey] = []
        self._by_id: dict[str, QueueKey] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, handoff_id: object) -> bool:
        return handoff_id in self._by_id

    def key(self, handoff_id: str) -> QueueKey | None:
        """The key the handoff is queued under; None when it is not queued."""
        return self._by_id.get(handoff_id)

    def put(self, handoff: Handoff) -> None:
        """Queue the handoff, or move it when its key changed (a new priority)."""
        key = queue_key(handoff)
        old = self._by_id.get(handoff.handoff_id)
        if old == key:
            return
        if old is not None:
            self._remove(old)
        bisect.insort(self._keys, key)
        self._by_id[handoff.handoff_id] = key

    def discard(self, handoff_id: str) -> None:
        old = self._by_id.pop(handoff_id, None)
        if old is not None:
            self._remove(old)

    def _remove(self, key: QueueKey) -> None:
        del self._keys[bisect.bisect_left(self._keys, key)]

    def in_order(self) -> list[QueueKey]:
        """Every key in queue order (a copy)."""
        return list(self._keys)

    def ids(self) -> list[str]:
        """Every queued id in queue order."""
        return [key[2] for key in self._keys]

    def ahead_of(self, key: QueueKey) -> int:
        """How many queued handoffs come before ``key``."""
        return bisect.bisect_left(self._keys, key)


class MemoryStore:
    """Desk state of one process; the ``InMemoryDesk`` writes it only when a transaction commits."""

    def __init__(self) -> None:
        self.live: dict[str, Handoff] = {}  # waiting (pending, offered) handoffs as objects
        self.packed: dict[str, bytes] = {}  # every other handoff as its JSON
        self.meta: dict[str, Meta] = {}
        self.open: set[str] = set()  # non-terminal handoff ids, so the queue never scans history
        self.pending = PendingQueue()  # queued ids in order, so a dispatch never scans the held ones
        self.agents: dict[str, Agent] = {}
        self.available: set[str] = set()  # agents online with a free slot
        self._rankings = Rankings()
        self.events: list[str] = []  # the newest events as JSON; events[0] has cursor ``dropped``
        self.dropped = 0
        self._deadlines: dict[str, float] = {}  # handoff id -> its timer deadline (epoch seconds)
        self._timers: list[tuple[float, str]] = []  # heap of (deadline, id); stale entries are skipped

    # -- handoffs ------------------------------------------------------------------------------
    def view(self, handoff_id: str) -> Handoff | None:
        """The handoff for reading only (the stored object itself while it waits)."""
        live = self.live.get(handoff_id)
        if live is not None:
            return live
        packed = self.packed.get(handoff_id)
        return None if packed is None else Handoff.model_validate_json(packed)

    def copy(self, handoff_id: str) -> Handoff | None:
        """A private copy of the handoff, for a transaction to change."""
        live = self.live.get(handoff_id)
        return live.clone() if live is not None else self.view(handoff_id)

    def put_handoff(self, handoff: Handoff, deadline: datetime | None) -> None:
        """Store a committed handoff (a copy) and move its indexes and timer."""
        hid = handoff.handoff_id
        self.meta[hid] = meta_of(handoff)
        if handoff.status in WAITING:
            self.live[hid] = handoff.clone()
            self.packed.pop(hid, None)
        else:
            self.packed[hid] = handoff.model_dump_json().encode()
            self.live.pop(hid, None)
        if handoff.status in TERMINAL:
            self.open.discard(hid)
        else:
            self.open.add(hid)
        if handoff.status == "pending":
            self.pending.put(handoff)
        else:
            self.pending.discard(hid)
        self._schedule(hid, deadline)

    def _schedule(self, handoff_id: str, deadline: datetime | None) -> None:
        if deadline is None:
            self._deadlines.pop(handoff_id, None)
            return
        when = deadline.timestamp()
        if self._deadlines.get(handoff_id) == when:
            return
        self._deadlines[handoff_id] = when
        heapq.heappush(self._timers, (when, handoff_id))
        if len(self._timers) > 2 * len(self._deadlines) + 64:  # mostly moved or finished timers: rebuild
            self._timers = [(t, i) for i, t in self._deadlines.items()]
            heapq.heapify(self._timers)

    def due(self, by: datetime) -> list[str]:
        """Waiting handoffs whose timer deadline is at or before ``by`` (they stay until a commit moves it)."""
        limit, heap, found = by.timestamp(), self._timers, {}
        while heap and heap[0][0] <= limit:
            when, hid = heapq.heappop(heap)
            if self._deadlines.get(hid) == when:
                found[hid] = when
        for hid, when in found.items():
            heapq.heappush(heap, (when, hid))
        return list(found)

    # -- agents --------------------------------------------------------------------------------
    def put_agent(self, agent: Agent) -> None:
        """Store a committed agent (a copy the caller no longer changes) and move its indexes."""
        if has_free_slot(agent):
            self.available.add(agent.id)
        else:
            self.available.discard(agent.id)
        self.agents[agent.id] = agent
        self._rankings.put(agent)

    def ranking(self, asked: tuple[str, ...], config: DeskConfig) -> Ranking:
        """The free agents in offer order for the skills ``asked`` (built on first use)."""
        return self._rankings.get(asked, config, self.agents)
