"""Callbacks: a customer nobody could serve now is called back later, as work agents take and finish.

A callback is recorded when the routing policy's no-agent choice is ``callback`` and the wait runs
out, or when a waiting customer asks for one. It holds the contact (a phone number or an e-mail
address, validated), the handoff's brief and the reason, and moves ``open -> taken -> done`` with an
outcome. Records live in the conversation store's database (SQLite or Postgres), so they survive
restarts whichever desk backend runs; taking one is a single conditional UPDATE, so of two agents
who take the same callback at once exactly one wins.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from desk.errors import Conflict, InvalidRequest, NotFound

CallbackStatus = Literal["open", "taken", "done"]
CallbackOutcome = Literal["reached", "resolved", "no_answer", "wrong_contact", "not_needed"]
CallbackReason = Literal["no_agent", "requested"]
ContactKind = Literal["phone", "email"]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")

SCHEMA = """CREATE TABLE IF NOT EXISTS baton_callbacks (
    id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, status TEXT NOT NULL, agent_id TEXT,
    created_at DOUBLE PRECISION NOT NULL, data TEXT NOT NULL)"""


class SqlDb(Protocol):
    """The two statements the store needs (``api.db.Db`` satisfies it)."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query."""
        ...


class Contact(BaseModel):
    """How to reach the customer: a phone number (digits, optional leading +) or an e-mail address."""

    kind: ContactKind
    value: str = Field(examples=["+4915112345678", "dana@example.com"])


def parse_contact(text: str) -> Contact:
    """Read a phone number or an e-mail address from what the customer typed.

    Raises:
        InvalidRequest: Neither a valid e-mail address nor a phone number of 7-15 digits.
    """
    raw = text.strip()
    if "@" in raw:
        if len(raw) <= 254 and _EMAIL.match(raw):
            return Contact(kind="email", value=raw.lower())
        msg = f"{raw[:80]!r} is not a valid e-mail address"
        raise InvalidRequest(msg)
    digits = re.sub(r"\D", "", raw)
    if _PHONE_CHARS.match(raw) and 7 <= len(digits) <= 15:
        return Contact(kind="phone", value=("+" if raw.startswith("+") else "") + digits)
    msg = "give a phone number (7-15 digits, e.g. +49 151 1234567) or an e-mail address"
    raise InvalidRequest(msg)


class Callback(BaseModel):
    """One callback request and what became of it."""

    id: str
    conversation_id: str
    handoff_id: str = Field(default="", description="The handoff nobody took, or the one withdrawn.")
    reason: CallbackReason
    contact: Contact | None = Field(default=None, description="None until the customer gives one.")
    summary: str = Field(default="", description="The brief's one-line summary, for the work list.")
    brief: dict[str, Any] = Field(default_factory=dict, description="The handoff's brief.")
    status: CallbackStatus = "open"
    created_at: float
    agent_id: str | None = None
    taken_at: float | None = None
    done_at: float | None = None
    outcome: CallbackOutcome | None = None
    note: str = ""


class CallbackStore:
    """Callback records in the conversation store's database."""

    def __init__(self, db: SqlDb) -> None:
        self.db = db

    async def setup(self) -> None:
        """Create the table (idempotent)."""
        await self.db.execute(SCHEMA)

    async def _put(self, cb: Callback) -> None:
        await self.db.execute(
            "UPDATE baton_callbacks SET status = ?, agent_id = ?, data = ? WHERE id = ?",
            (cb.status, cb.agent_id, cb.model_dump_json(), cb.id),
        )

    async def create(
        self,
        conversation_id: str,
        *,
        handoff_id: str,
        reason: CallbackReason,
        contact: Contact | None,
        brief: dict[str, Any],
    ) -> Callback:
        """Record a callback; a conversation has at most one open callback (the existing one is returned)."""
        existing = await self.open_for(conversation_id)
        if existing is not None:
            if contact is not None and existing.contact is None:
                return await self.set_contact(existing.id, contact)
            return existing
        summary = str(brief.get("summary") or brief.get("headline") or "")[:300]
        cb = Callback(
            id=f"cb-{uuid.uuid4().hex[:16]}",
            conversation_id=conversation_id,
            handoff_id=handoff_id,
            reason=reason,
            contact=contact,
            summary=summary,
            brief=brief,
            created_at=time.time(),
        )
        await self.db.execute(
            "INSERT INTO baton_callbacks (id, conversation_id, status, agent_id, created_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (cb.id, conversation_id, cb.status, None, cb.created_at, cb.model_dump_json()),
        )
        return cb

    async def get(self, callback_id: str) -> Callback:
        """One callback; raises ``NotFound``."""
        rows = await self.db.fetchall("SELECT data FROM baton_callbacks WHERE id = ?", (callback_id,))
        if not rows:
            msg = f"no callback {callback_id!r}"
            raise NotFound(msg)
        return Callback.model_validate(json.loads(rows[0][0]))

    async def open_for(self, conversation_id: str) -> Callback | None:
        """The conversation's callback that is not done yet, if any."""
        rows = await self.db.fetchall(
            "SELECT data FROM baton_callbacks WHERE conversation_id = ? AND status <> 'done' "
            "ORDER BY created_at DESC",
            (conversation_id,),
        )
        return Callback.model_validate(json.loads(rows[0][0])) if rows else None

    async def list(self, status: CallbackStatus | None = None, limit: int = 200) -> list[Callback]:
        """Callbacks, oldest first (the order they should be worked), optionally of one status."""
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = await self.db.fetchall(
            f"SELECT data FROM baton_callbacks {where} ORDER BY created_at LIMIT {int(limit)}",
            params,
        )
        return [Callback.model_validate(json.loads(r[0])) for r in rows]

    async def set_contact(self, callback_id: str, contact: Contact) -> Callback:
        """The customer gave (or corrected) how to reach them."""
        cb = await self.get(callback_id)
        if cb.status == "done":
            msg = f"callback {callback_id} is done"
            raise Conflict(msg)
        cb = cb.model_copy(update={"contact": contact})
        await self._put(cb)
        return cb

    async def take(self, callback_id: str, agent_id: str) -> Callback:
        """An agent takes an open callback; exactly one of concurrent takes wins.

        Raises:
            NotFound: Unknown id.
            Conflict: Already taken or done, or no contact to call yet.
        """
        cb = await self.get(callback_id)
        if cb.contact is None:
            msg = f"callback {callback_id} has no contact yet; the customer has not given one"
            raise Conflict(msg)
        taken = cb.model_copy(update={"status": "taken", "agent_id": agent_id, "taken_at": time.time()})
        await self.db.execute(
            "UPDATE baton_callbacks SET status = 'taken', agent_id = ?, data = ? WHERE id = ? AND status = 'open'",
            (agent_id, taken.model_dump_json(), callback_id),
        )
        now = await self.get(callback_id)
        if now.status != "taken" or now.agent_id != agent_id or now.taken_at != taken.taken_at:
            msg = f"callback {callback_id} is {now.status}" + (f" by {now.agent_id}" if now.agent_id else "")
            raise Conflict(msg)
        return now

    async def complete(
        self, callback_id: str, agent_id: str | None, outcome: CallbackOutcome, note: str = ""
    ) -> Callback:
        """Record the outcome; ``agent_id`` must hold it (None: the admin, for any callback not done).

        Raises:
            Conflict: Done already, or held by someone else.
        """
        cb = await self.get(callback_id)
        if cb.status == "done" or (agent_id is not None and cb.agent_id != agent_id):
            msg = f"callback {callback_id} is {cb.status}" + (f" by {cb.agent_id}" if cb.agent_id else "")
            raise Conflict(msg)
        done = cb.model_copy(
            update={"status": "done", "outcome": outcome, "note": note, "done_at": time.time()}
        )
        await self._put(done)
        return done

    async def summary(self, since: float, until: float) -> dict[str, Any]:
        """Callbacks created in the window: counts by status, reason and outcome, and time to done."""
        rows = await self.db.fetchall(
            "SELECT data FROM baton_callbacks WHERE created_at >= ? AND created_at < ?", (since, until)
        )
        items = [Callback.model_validate(json.loads(r[0])) for r in rows]
        waits = sorted(c.done_at - c.created_at for c in items if c.done_at is not None)
        return {
            "requested": len(items),
            "by_status": dict(Counter(c.status for c in items)),
            "by_reason": dict(Counter(c.reason for c in items)),
            "outcomes": dict(Counter(c.outcome for c in items if c.outcome)),
            "without_contact": sum(1 for c in items if c.contact is None),
            "median_time_to_done_s": round(waits[len(waits) // 2], 1) if waits else None,
        }
