"""Supervisors' accounts: who they are and the hash of their token (the admin registers them).

A supervisor is a person, not a desk agent: the desk never offers them a conversation, so they live
here, in the API's database (SQLite or Postgres), and not in the desk. Tokens are stored hashed, as
agents' are; registering an id again rotates its token.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from api.db import Db
from api.store import token_hash

SCHEMA = """CREATE TABLE IF NOT EXISTS baton_api_supervisors (
    id TEXT PRIMARY KEY, display_name TEXT NOT NULL, token_hash TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL)"""


class Supervisor(BaseModel):
    """A supervisor as the admin lists them (never the token)."""

    id: str = Field(examples=["sup-olga"])
    display_name: str = Field(examples=["Olga"])
    created_at: float = Field(description="Unix seconds of the first registration.")


class SupervisorStore:
    """Typed access to the supervisors' table."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def setup(self) -> None:
        """Create the table (idempotent)."""
        await self.db.execute(SCHEMA)

    async def register(self, supervisor_id: str, display_name: str, token: str) -> None:
        """Add a supervisor, or rename one and rotate their token."""
        await self.db.execute(
            "INSERT INTO baton_api_supervisors (id, display_name, token_hash, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, "
            "token_hash = excluded.token_hash",
            (supervisor_id, display_name, token_hash(token), time.time()),
        )

    async def by_token(self, token: str) -> Supervisor | None:
        """The supervisor a token belongs to."""
        rows = await self.db.fetchall(
            "SELECT id, display_name, created_at FROM baton_api_supervisors WHERE token_hash = ?",
            (token_hash(token),),
        )
        return Supervisor(id=rows[0][0], display_name=rows[0][1], created_at=rows[0][2]) if rows else None

    async def get(self, supervisor_id: str) -> Supervisor | None:
        """One supervisor by id."""
        rows = await self.db.fetchall(
            "SELECT id, display_name, created_at FROM baton_api_supervisors WHERE id = ?", (supervisor_id,)
        )
        return Supervisor(id=rows[0][0], display_name=rows[0][1], created_at=rows[0][2]) if rows else None

    async def list(self) -> list[Supervisor]:
        """Every supervisor, by id."""
        rows = await self.db.fetchall(
            "SELECT id, display_name, created_at FROM baton_api_supervisors ORDER BY id"
        )
        return [Supervisor(id=a, display_name=b, created_at=c) for a, b, c in rows]
