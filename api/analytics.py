"""Handoff analytics data (seed 000 §5): what is recorded when handoffs happen, and reading it back.

The graph's handoffs, desk events and ratings are in the API store already; this module adds the
two facts only the API sees (which policy version and rule started a handoff, each agent's first
reply on it) and ``load``, which reads one window's rows once into an ``Inputs``. The figures are
computed from an ``Inputs`` by the pure functions of ``api.analytics_figures``.
"""

from __future__ import annotations

import json
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from api.db import Db
from api.handoff_trail import Trail
from api.store import ApiStore, Lru
from graph.state import HandoffRecord

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS baton_api_handoff_policies (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, policy TEXT NOT NULL,
        policy_version TEXT NOT NULL, rule_id TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS baton_api_agent_replies (
        handoff_id TEXT NOT NULL, agent_id TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (handoff_id, agent_id))""",
)
_ready: weakref.WeakSet[Db] = weakref.WeakSet()
REPLIES_KEPT = 20_000  # (handoff, agent) pairs whose first reply a worker knows is stored
_replied: weakref.WeakKeyDictionary[Db, Lru[tuple[str, str], bool]] = weakref.WeakKeyDictionary()

UNKNOWN = "unknown"
"""Policy name/version of a handoff recorded before versions were (or by a door that has none)."""


async def _tables(db: Db) -> Db:
    if db not in _ready:  # SQLite reads DOUBLE PRECISION as REAL
        for stmt in SCHEMA:
            await db.execute(stmt)
        _ready.add(db)
    return db


# -- recording ---------------------------------------------------------------------------------------


async def record_policy(
    store: ApiStore, conversation_id: str, record: HandoffRecord, policy: str, at: float | None = None
) -> None:
    """Remember which policy version and rule started a handoff (per-version outcomes)."""
    db = await _tables(store.db)
    await db.execute(
        "INSERT INTO baton_api_handoff_policies (id, conversation_id, policy, policy_version, rule_id, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (
            record.id,
            conversation_id,
            policy or UNKNOWN,
            record.policy_version or UNKNOWN,
            record.rule_id,
            time.time() if at is None else at,
        ),
    )


async def record_reply(store: ApiStore, handoff_id: str, agent_id: str, at: float | None = None) -> None:
    """Remember an agent's first reply on a handoff (later ones change nothing).

    A worker that stored it skips the statement for that agent's later replies on the handoff (one
    SQLite commit or one Postgres round trip each); another worker's first try changes nothing.
    """
    key = (handoff_id, agent_id)
    noted = _replied.setdefault(store.db, Lru(REPLIES_KEPT))
    if noted.get(key):
        return
    db = await _tables(store.db)
    await db.execute(
        "INSERT INTO baton_api_agent_replies (handoff_id, agent_id, ts) VALUES (?, ?, ?) "
        "ON CONFLICT (handoff_id, agent_id) DO NOTHING",
        (handoff_id, agent_id, time.time() if at is None else at),
    )
    noted.put(key, True)


# -- reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedHandoff:
    """A handoff the graph started, with the policy version and rule that started it."""

    id: str
    conversation_id: str
    kind: str
    trigger: str
    created_at: float
    policy: str = UNKNOWN
    policy_version: str = UNKNOWN
    rule_id: str = ""


@dataclass
class Inputs:
    """Everything the figures of one window are computed from."""

    since: float
    until: float
    conversations: int
    handoffs: list[StartedHandoff]
    trails: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Desk events per handoff id, oldest first (events inside the window)."""
    replies: dict[str, dict[str, float]] = field(default_factory=dict)
    """handoff id -> agent id -> time of that agent's first reply."""
    ratings: dict[str, int] = field(default_factory=dict)
    """conversation id -> CSAT given in the window."""
    names: dict[str, str] = field(default_factory=dict)
    """agent id -> display name."""
    first_seen: float | None = None
    """Earliest handoff or conversation in the data (the start of an open window)."""
    read: dict[str, Trail] | None = field(default=None, repr=False)
    """The trails, once ``trails()`` has read them."""

    def only(self, handoffs: Iterable[StartedHandoff]) -> Inputs:
        """The same window restricted to ``handoffs`` (a group: a policy version, a variant)."""
        chosen = list(handoffs)
        ids = {h.id for h in chosen}
        cids = {h.conversation_id for h in chosen}
        return Inputs(
            since=self.since,
            until=self.until,
            conversations=len(cids),
            handoffs=chosen,
            trails={k: v for k, v in self.trails.items() if k in ids},
            replies={k: v for k, v in self.replies.items() if k in ids},
            ratings={k: v for k, v in self.ratings.items() if k in cids},
            names=self.names,
            first_seen=self.first_seen,
            read=None if self.read is None else {k: v for k, v in self.read.items() if k in ids},
        )


async def load(store: ApiStore, since: float, until: float) -> Inputs:
    """Read the window's rows from the API store (SQLite or Postgres, whichever the app runs on)."""
    db = await _tables(store.db)
    rows = await db.fetchall(
        "SELECT h.id, h.conversation_id, h.kind, h.trigger, h.created_at, p.policy, p.policy_version, "
        "p.rule_id FROM baton_api_handoffs h LEFT JOIN baton_api_handoff_policies p ON p.id = h.id "
        "WHERE h.created_at >= ? AND h.created_at < ? ORDER BY h.created_at",
        (since, until),
    )
    handoffs = [
        StartedHandoff(
            id=str(r[0]),
            conversation_id=str(r[1]),
            kind=str(r[2]),
            trigger=str(r[3]),
            created_at=float(r[4]),
            policy=str(r[5] or UNKNOWN),
            policy_version=str(r[6] or UNKNOWN),
            rule_id=str(r[7] or ""),
        )
        for r in rows
    ]
    trails: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in await store.desk_events(since, until):
        trails[str(event.get("handoff_id") or "")].append(event)
    replies: dict[str, dict[str, float]] = defaultdict(dict)
    for handoff_id, agent_id, ts in await db.fetchall(
        "SELECT handoff_id, agent_id, ts FROM baton_api_agent_replies WHERE ts >= ? AND ts < ?",
        (since, until),
    ):
        replies[str(handoff_id)][str(agent_id)] = float(ts)
    ratings = {
        str(cid): int(rating)
        for cid, rating in await db.fetchall(
            "SELECT conversation_id, rating FROM baton_api_csat WHERE created_at >= ? AND created_at < ?",
            (since, until),
        )
    }
    names: dict[str, str] = {}
    for spec in await store.agent_profiles():
        data = json.loads(spec)
        names[str(data.get("id"))] = str(data.get("display_name") or data.get("id"))
    earliest = await db.fetchall(
        "SELECT MIN(created_at) FROM baton_api_conversations WHERE created_at >= ? AND created_at < ?",
        (since, until),
    )
    starts = [h.created_at for h in handoffs[:1]] + [float(r[0]) for r in earliest if r[0] is not None]
    return Inputs(
        since=since,
        until=until,
        conversations=await store.count_conversations(since, until),
        handoffs=handoffs,
        trails=dict(trails),
        replies=dict(replies),
        ratings=ratings,
        names=names,
        first_seen=min(starts, default=None),
    )
