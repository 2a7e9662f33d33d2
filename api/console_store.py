"""What the agent console keeps besides the desk: internal notes, saved replies, customers' conversations.

Same database as ``ApiStore`` (SQLite in the data dir, or Postgres with several workers), so all of it
survives a restart with either desk. The tables are created on first use; nothing here is ever sent to
a customer: notes have no customer route, and their events go to the team's streams only.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from api.db import Db
from api.store import Lru

CUSTOMERS_KEPT = 20_000  # conversations whose customer a worker remembers (~150 bytes each)
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS baton_api_notes (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS baton_api_notes_conv ON baton_api_notes (conversation_id, created_at)",
    """CREATE TABLE IF NOT EXISTS baton_api_saved_replies (
        team TEXT NOT NULL, position INTEGER NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
        updated_by TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (team, position))""",
    """CREATE TABLE IF NOT EXISTS baton_api_customer_conversations (
        conversation_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS baton_api_customer_conversations_id
        ON baton_api_customer_conversations (customer_id, created_at)""",
)


class Note(BaseModel):
    """An internal note on a conversation: for the team (agents on it, supervisors, admin), never the customer."""

    id: str = Field(examples=["n-3f2a9c1d7b"])
    conversation_id: str
    author: str = Field(description="Agent or supervisor id, or 'admin'.", examples=["agent-maria"])
    text: str = Field(examples=["Customer prefers a call after 5pm."])
    created_at: float = Field(description="Unix seconds.")


class SavedReply(BaseModel):
    """One canned reply of a team."""

    title: str = Field(min_length=1, max_length=80, examples=["Greeting"])
    text: str = Field(min_length=1, max_length=2000, examples=["Hi, thanks for waiting. I'm here to help."])


@dataclass
class ConsoleStore:
    """Typed access to the console's tables (created once per process, on first use)."""

    db: Db
    _ready: bool = field(default=False, repr=False)
    # Whose each conversation is: set when it is created, never changed (a deleted conversation's id
    # stays reserved), so a worker asks the database once per conversation; "" for no customer.
    _customers: Lru[str, str] = field(default_factory=lambda: Lru(CUSTOMERS_KEPT), repr=False)

    async def _schema(self) -> None:
        if self._ready:
            return
        for stmt in _SCHEMA:  # SQLite reads DOUBLE PRECISION as REAL (an 8-byte float)
            await self.db.execute(stmt)
        self._ready = True

    # -- notes -----------------------------------------------------------------------------------
    async def add_note(self, conversation_id: str, author: str, text: str) -> Note:
        """Record a note; returns it."""
        await self._schema()
        note = Note(
            id=f"n-{uuid.uuid4().hex[:12]}",
            conversation_id=conversation_id,
            author=author,
            text=text,
            created_at=time.time(),
        )
        await self.db.execute(
            "INSERT INTO baton_api_notes (id, conversation_id, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
            (note.id, note.conversation_id, note.author, note.text, note.created_at),
        )
        return note

    async def notes(self, conversation_id: str, limit: int = 200) -> list[Note]:
        """A conversation's notes, oldest first (the latest ``limit``)."""
        await self._schema()
        rows = await self.db.fetchall(
            "SELECT id, conversation_id, author, text, created_at FROM baton_api_notes "
            "WHERE conversation_id = ? ORDER BY created_at DESC LIMIT ?",
            (conversation_id, limit),
        )
        found = [Note(id=a, conversation_id=b, author=c, text=d, created_at=e) for a, b, c, d, e in rows]
        return found[::-1]

    # -- saved replies ---------------------------------------------------------------------------
    async def set_replies(self, team: str, replies: list[SavedReply], by: str) -> None:
        """Replace a team's saved replies (an empty list removes the team)."""
        await self._schema()
        await self.db.execute("DELETE FROM baton_api_saved_replies WHERE team = ?", (team,))
        now = time.time()
        for position, reply in enumerate(replies):
            await self.db.execute(
                "INSERT INTO baton_api_saved_replies (team, position, title, text, updated_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (team, position, reply.title, reply.text, by, now),
            )

    async def replies(self, teams: set[str] | None = None) -> dict[str, list[SavedReply]]:
        """Saved replies by team, in order; only ``teams`` when given."""
        await self._schema()
        rows = await self.db.fetchall(
            "SELECT team, title, text FROM baton_api_saved_replies ORDER BY team, position"
        )
        out: dict[str, list[SavedReply]] = {}
        for team, title, text in rows:
            if teams is None or team in teams:
                out.setdefault(str(team), []).append(SavedReply(title=title, text=text))
        return out

    # -- customers -------------------------------------------------------------------------------
    async def remember_customer(self, conversation_id: str, customer_id: str | None) -> None:
        """Index a new conversation under the (trusted) customer id it was started with (None: it has
        none); the worker that creates it remembers which, so its first brief asks nothing."""
        if customer_id is not None:
            await self._schema()
            await self.db.execute(
                "INSERT INTO baton_api_customer_conversations (conversation_id, customer_id, created_at) "
                "VALUES (?, ?, ?) ON CONFLICT (conversation_id) DO NOTHING",
                (conversation_id, customer_id, time.time()),
            )
        self._customers.put(conversation_id, customer_id or "")

    async def customer_of(self, conversation_id: str) -> str | None:
        """The customer id a conversation is indexed under."""
        kept = self._customers.get(conversation_id)
        if kept is not None:
            return kept or None
        await self._schema()
        rows = await self.db.fetchall(
            "SELECT customer_id FROM baton_api_customer_conversations WHERE conversation_id = ?",
            (conversation_id,),
        )
        found = str(rows[0][0]) if rows else None
        self._customers.put(conversation_id, found or "")
        return found

    async def conversations_of(self, customer_id: str, limit: int = 20) -> list[tuple[str, float]]:
        """``(conversation id, created at)`` of a customer, newest first."""
        await self._schema()
        rows = await self.db.fetchall(
            "SELECT conversation_id, created_at FROM baton_api_customer_conversations "
            "WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?",
            (customer_id, limit),
        )
        return [(str(a), float(b)) for a, b in rows]


def console_store(request: Request) -> ConsoleStore:
    """The process's console store, over the API store's database (made on first use)."""
    state = request.app.state
    found: ConsoleStore | None = getattr(state, "console_store", None)
    if found is None or found.db is not state.store.db:
        found = state.console_store = ConsoleStore(state.store.db)
    return found


async def _console_store_dep(request: Request) -> ConsoleStore:
    return console_store(request)


ConsoleStoreDep = Annotated[ConsoleStore, Depends(_console_store_dep)]
