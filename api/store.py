"""The API's small durable store: tokens, conversation records, CSAT, desk events and event logs.

The tables and the typed queries on them; ``api.db`` connects to SQLite or Postgres and runs them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Generic, TypeVar

from api.db import Db, connect

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS baton_api_conversations (
        id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, profile TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        handoff_id TEXT, agent_id TEXT)""",
    """CREATE TABLE IF NOT EXISTS baton_api_agents (
        id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS baton_api_agent_profiles (id TEXT PRIMARY KEY, spec TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS baton_api_open_handoffs (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, namespace TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS baton_api_csat (
        conversation_id TEXT PRIMARY KEY, rating INTEGER NOT NULL, comment TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS baton_api_handoffs (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, kind TEXT NOT NULL, trigger TEXT NOT NULL,
        target TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS baton_api_desk_events (
        key TEXT PRIMARY KEY, type TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, handoff_id TEXT,
        data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS baton_api_events (
        stream TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (stream, seq))""",
    """CREATE TABLE IF NOT EXISTS baton_api_deleted (
        id TEXT PRIMARY KEY, deleted_at DOUBLE PRECISION NOT NULL)""",
)


K = TypeVar("K")
V = TypeVar("V")


def token_hash(token: str) -> str:
    """Tokens are stored hashed; a leaked database does not leak working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_db(checkpoint_url: str, data_dir: Path) -> AbstractAsyncContextManager[Db]:
    """The API's database (see ``api.db.connect``) with the store's tables created."""
    return connect(checkpoint_url, data_dir, SCHEMA)


class Lru(Generic[K, V]):
    """A bounded mapping that drops the least recently used entry when full (values are never None)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value, marked as just used; None when absent."""
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Insert or refresh ``key``, evicting the oldest entry past ``maxsize``."""
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value, or None when absent."""
        return self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


class ApiStore:
    """Typed access to the API tables."""

    def __init__(self, db: Db, *, cache_size: int = 20_000) -> None:
        self.db = db
        # Only immutable facts are cached, so the caches are right with any number of workers: a
        # conversation is never deleted and its customer token never changes. handoff_id/agent_id
        # do change, from any worker when the tables are in Postgres, so they are always read from
        # the database; agent tokens rotate (set_agent_token) and are not cached either. Misses are
        # not cached: the row may be written later by another worker, and guessed tokens would
        # fill the cache.
        self._token_cids: Lru[str, str] = Lru(cache_size)  # customer token hash -> conversation id
        self._known_cids: Lru[str, str] = Lru(cache_size)  # conversation id -> its token hash

    def _remember(self, cid: str, th: str) -> None:
        self._token_cids.put(th, cid)
        self._known_cids.put(cid, th)

    # -- conversations ------------------------------------------------------------------------
    async def add_conversation(self, cid: str, token: str, profile: dict[str, Any]) -> None:
        """Record a new conversation and its customer token."""
        th = token_hash(token)
        await self.db.execute(
            "INSERT INTO baton_api_conversations (id, token_hash, profile, created_at) VALUES (?, ?, ?, ?)",
            (cid, th, json.dumps(profile), time.time()),
        )
        self._remember(cid, th)  # after the write: a failed insert caches nothing

    async def conversation_for_token(self, token: str) -> str | None:
        """The conversation a customer token belongs to, or None (cached once found)."""
        th = token_hash(token)
        cid = self._token_cids.get(th)
        if cid is None:
            rows = await self.db.fetchall(
                "SELECT id FROM baton_api_conversations WHERE token_hash = ?", (th,)
            )
            if not rows:
                return None
            cid = str(rows[0][0])
            self._remember(cid, th)
        return cid

    async def has_conversation(self, cid: str) -> bool:
        """Whether the conversation exists (cached once found)."""
        if self._known_cids.get(cid) is not None:
            return True
        rows = await self.db.fetchall("SELECT token_hash FROM baton_api_conversations WHERE id = ?", (cid,))
        if rows:
            self._remember(cid, str(rows[0][0]))
        return bool(rows)

    async def conversation(self, cid: str) -> dict[str, Any] | None:
        """The record of one conversation, or None (always read: handoff_id/agent_id change)."""
        rows = await self.db.fetchall(
            "SELECT token_hash, profile, created_at, handoff_id, agent_id FROM baton_api_conversations WHERE id = ?",
            (cid,),
        )
        if not rows:
            return None
        th, profile, created, handoff_id, agent_id = rows[0]
        self._remember(cid, str(th))
        return {
            "token_hash": th,
            "profile": json.loads(profile),
            "created_at": created,
            "handoff_id": handoff_id,
            "agent_id": agent_id,
        }

    async def delete_conversation(self, cid: str) -> None:
        """Forget a conversation for good; its id is never used again.

        Token caches (here and in other workers) may still map its customer token to the id, so the
        id stays reserved: a cached token can then only reach a conversation that no longer exists.
        """
        await self.db.execute(
            "INSERT INTO baton_api_deleted (id, deleted_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
            (cid, time.time()),
        )
        await self.db.execute("DELETE FROM baton_api_conversations WHERE id = ?", (cid,))

    async def was_deleted(self, cid: str) -> bool:
        """Whether ``cid`` belonged to a conversation that was deleted (its id is reserved)."""
        return bool(await self.db.fetchall("SELECT 1 FROM baton_api_deleted WHERE id = ?", (cid,)))

    async def set_assignment(self, cid: str, handoff_id: str | None, agent_id: str | None) -> None:
        """Which desk handoff (and agent) currently holds the conversation."""
        await self.db.execute(
            "UPDATE baton_api_conversations SET handoff_id = ?, agent_id = ? WHERE id = ?",
            (handoff_id, agent_id, cid),
        )

    async def count_conversations(self, since: float, until: float) -> int:
        """Conversations created in ``[since, until)``."""
        rows = await self.db.fetchall(
            "SELECT COUNT(*) FROM baton_api_conversations WHERE created_at >= ? AND created_at < ?",
            (since, until),
        )
        return int(rows[0][0])

    # -- agents ------------------------------------------------------------------------------
    async def set_agent_token(self, agent_id: str, token: str) -> None:
        """Store (or rotate) an agent's token."""
        await self.db.execute(
            "INSERT INTO baton_api_agents (id, token_hash, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash",
            (agent_id, token_hash(token), time.time()),
        )

    async def set_agent_profile(self, agent_id: str, spec_json: str) -> None:
        """Keep an agent's desk profile so a restarted in-process desk knows the agent again."""
        await self.db.execute(
            "INSERT INTO baton_api_agent_profiles (id, spec) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET spec = excluded.spec",
            (agent_id, spec_json),
        )

    async def agent_profiles(self) -> list[str]:
        """Every stored agent profile (JSON of the desk's ``AgentSpec``)."""
        rows = await self.db.fetchall("SELECT spec FROM baton_api_agent_profiles ORDER BY id")
        return [str(row[0]) for row in rows]

    async def open_handoff(self, handoff_id: str, cid: str, namespace: str) -> None:
        """Remember a human handoff until it ends, so a restarted desk can be given it again."""
        await self.db.execute(
            "INSERT INTO baton_api_open_handoffs (id, conversation_id, namespace, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (handoff_id, cid, namespace, time.time()),
        )

    async def close_handoff(self, handoff_id: str) -> None:
        """The handoff ended (completed, returned, rolled back)."""
        await self.db.execute("DELETE FROM baton_api_open_handoffs WHERE id = ?", (handoff_id,))

    async def open_handoffs(self, namespace: str) -> list[tuple[str, str]]:
        """(handoff id, conversation id) of this deployment's unfinished human handoffs, oldest first."""
        rows = await self.db.fetchall(
            "SELECT id, conversation_id FROM baton_api_open_handoffs WHERE namespace = ? ORDER BY created_at",
            (namespace,),
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def agent_token_hash(self, agent_id: str) -> str | None:
        """The stored hash of an agent's token."""
        rows = await self.db.fetchall("SELECT token_hash FROM baton_api_agents WHERE id = ?", (agent_id,))
        return str(rows[0][0]) if rows else None

    async def agent_by_token(self, token: str) -> str | None:
        """The agent a token belongs to."""
        rows = await self.db.fetchall(
            "SELECT id FROM baton_api_agents WHERE token_hash = ?", (token_hash(token),)
        )
        return str(rows[0][0]) if rows else None

    # -- analytics inputs --------------------------------------------------------------------
    async def set_csat(self, cid: str, rating: int, comment: str) -> None:
        """Record (or replace) a conversation's CSAT."""
        await self.db.execute(
            "INSERT INTO baton_api_csat (conversation_id, rating, comment, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (conversation_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, "
            "created_at = excluded.created_at",
            (cid, rating, comment, time.time()),
        )

    async def csat(self, since: float, until: float) -> list[int]:
        """Ratings given in the window."""
        rows = await self.db.fetchall(
            "SELECT rating FROM baton_api_csat WHERE created_at >= ? AND created_at < ?", (since, until)
        )
        return [int(r[0]) for r in rows]

    async def add_handoff(self, handoff_id: str, cid: str, kind: str, trigger: str, target: str) -> None:
        """Record a handoff the graph started (bot or human)."""
        await self.db.execute(
            "INSERT INTO baton_api_handoffs (id, conversation_id, kind, trigger, target, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (handoff_id, cid, kind, trigger, target, time.time()),
        )

    async def handoffs(self, since: float, until: float) -> list[tuple[str, str, str]]:
        """``(kind, trigger, conversation_id)`` of handoffs started in the window."""
        rows = await self.db.fetchall(
            "SELECT kind, trigger, conversation_id FROM baton_api_handoffs WHERE created_at >= ? AND created_at < ?",
            (since, until),
        )
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    async def add_desk_event(
        self, key: str, type_: str, ts: float, handoff_id: str | None, data: str
    ) -> None:
        """Record one desk event once (``key`` dedupes across workers)."""
        await self.add_desk_events([(key, type_, ts, handoff_id, data)])

    async def add_desk_events(self, rows: Sequence[tuple[str, str, float, str | None, str]]) -> None:
        """Record desk events ``(key, type, ts, handoff_id, data)`` once each, in one transaction."""
        insert = (
            "INSERT INTO baton_api_desk_events (key, type, ts, handoff_id, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING"
        )
        await self.db.execute_all([(insert, row) for row in rows])

    async def desk_events(self, since: float, until: float) -> list[dict[str, Any]]:
        """Desk events in the window, oldest first."""
        rows = await self.db.fetchall(
            "SELECT data FROM baton_api_desk_events WHERE ts >= ? AND ts < ? ORDER BY ts", (since, until)
        )
        return [json.loads(r[0]) for r in rows]

    # -- event log persistence (in-process log) ----------------------------------------------
    async def append_events_each(self, appends: list[tuple[str, list[tuple[int, str]]]]) -> None:
        """Persist each stream's sequenced events ``(seq, data)``, all in one transaction."""
        # Now, even inside ``together``: an event is durable before anyone is woken for it.
        insert = "INSERT INTO baton_api_events (stream, seq, data) VALUES (?, ?, ?)"
        await self.db.execute_all(
            [(insert, (stream, seq, data)) for stream, events in appends for seq, data in events]
        )

    async def erase_events(self, stream: str) -> None:
        """Delete every persisted event of ``stream``."""
        await self.db.execute("DELETE FROM baton_api_events WHERE stream = ?", (stream,))

    async def events_after(self, stream: str, since: int) -> list[str]:
        """Persisted events of ``stream`` with ``seq > since``, in order."""
        rows = await self.db.fetchall(
            "SELECT data FROM baton_api_events WHERE stream = ? AND seq > ? ORDER BY seq", (stream, since)
        )
        return [str(r[0]) for r in rows]

    async def last_seq(self, stream: str) -> int:
        """Highest persisted seq of ``stream`` (0 if none)."""
        rows = await self.db.fetchall("SELECT MAX(seq) FROM baton_api_events WHERE stream = ?", (stream,))
        return int(rows[0][0] or 0)
