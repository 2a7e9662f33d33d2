"""Several workers creating the API tables at once on a fresh Postgres database."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import psycopg

from api.store import open_db
from tests.conftest import POSTGRES_URL, _postgres_ok, service_missing


async def test_workers_starting_together_on_a_fresh_database(tmp_path: Path) -> None:
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    name = f"baton_race_{uuid.uuid4().hex[:8]}"
    admin = await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        async with AsyncExitStack() as stack:
            # Eight workers' start-ups at once: before the advisory lock one of them died on
            # UniqueViolation while another created the same table.
            dbs = await asyncio.gather(
                *(stack.enter_async_context(open_db(url, tmp_path / str(i))) for i in range(8))
            )
            rows = await dbs[0].fetchall(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'baton_api_conversations'"
            )
            assert rows == [(1,)]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
