"""Several workers creating their tables at once on a fresh Postgres database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import psycopg

from api.store import open_db
from graph.checkpointer import open_checkpointer
from tests.conftest import POSTGRES_URL, _postgres_ok, service_missing


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    name = f"baton_race_{uuid.uuid4().hex[:8]}"
    admin = await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_workers_starting_together_on_a_fresh_database(tmp_path: Path) -> None:
    async with fresh_database() as url, AsyncExitStack() as stack:
        # Eight workers' start-ups at once: before the advisory lock one of them died on
        # UniqueViolation while another created the same table.
        dbs = await asyncio.gather(
            *(stack.enter_async_context(open_db(url, tmp_path / str(i))) for i in range(8))
        )
        rows = await dbs[0].fetchall(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'baton_api_conversations'"
        )
        assert rows == [(1,)]


async def test_checkpointer_migrations_run_once_when_workers_start_together(tmp_path: Path) -> None:
    async with fresh_database() as url, AsyncExitStack() as stack:
        # Before the advisory lock two savers both inserted migration 0 (checkpoint_migrations_pkey).
        savers = await asyncio.gather(
            *(stack.enter_async_context(open_checkpointer(url, tmp_path)) for _ in range(6))
        )
        assert len(savers) == 6
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cur = await conn.execute("SELECT count(*), count(DISTINCT v) FROM checkpoint_migrations")
            total, distinct = await cur.fetchone() or (0, 0)
        assert total == distinct > 0
