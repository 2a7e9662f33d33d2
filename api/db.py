"""The API's database connection: the two statements every API table needs, on SQLite or Postgres.

SQLite under ``data_dir`` by default; Postgres when the checkpointer is Postgres (so several workers
share the tables). SQL is written once with ``?`` placeholders; the Postgres side translates them.
Which tables exist and what is read from them belongs to the stores (``api.store`` and the others).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from graph.private_files import private_sqlite
from graph.wal import open_wal

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool


class Db(Protocol):
    """What every store needs of its database."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query."""
        ...

    async def ping(self) -> None:
        """Raise if the database is unreachable."""
        ...

    async def execute_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run statements now in one transaction (on Postgres, one round trip), even inside
        ``together``; a single one runs as its own."""
        ...


# Statements executed inside ``together(db)`` wait here for the block's end: (the db, its statements).
_HELD: ContextVar[tuple[Db, list[tuple[str, Sequence[Any]]]] | None] = ContextVar(
    "baton_db_held", default=None
)


async def _hold(db: Db, sql: str, params: Sequence[Any]) -> bool:
    """Inside ``together(db)``, keep a write for the block's end (``True``); otherwise it runs now.

    DDL always runs now (its callers retry a failed ``CREATE``), after what the block holds.
    """
    held = _HELD.get()
    if held is None or held[0] is not db:
        return False
    if sql.lstrip().upper().startswith("CREATE "):
        await _flush(db)
        return False
    held[1].append((sql, params))
    return True


async def _flush(db: Db) -> None:
    """Run what ``together(db)`` holds (before a read, DDL or the block's end), in one transaction."""
    held = _HELD.get()
    if held is not None and held[0] is db and held[1]:
        statements = list(held[1])
        held[1].clear()
        await db.execute_all(statements)


@asynccontextmanager
async def together(db: Db) -> AsyncIterator[None]:
    """Writes to ``db`` inside the block are committed together when it ends: one transaction.

    Each runs in order, however the block ends (as one by one they would have run up to an error);
    a read inside the block first commits what is held. A block inside another leaves its writes to
    the outer one when both are on the same database (another database's run as they come).
    """
    if _HELD.get() is not None:  # an outer block holds (its own database's) writes
        yield
        return
    token = _HELD.set((db, []))
    try:
        yield
    finally:
        try:
            await _flush(db)
        finally:
            _HELD.reset(token)


class _Sqlite:
    """One ``sqlite3`` connection; statements run inline on the event loop.

    Each is a few microseconds on a local WAL file, far less than the ~0.4 ms thread round trip that
    running it off the loop (aiosqlite) cost. Nothing awaits between a statement and its commit, so
    no lock is needed. The connection is in autocommit mode: every ``execute`` is its own transaction,
    committed before it returns.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if not await _hold(self, sql, params):
            self._conn.execute(sql, tuple(params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        await _flush(self)
        rows: list[tuple[Any, ...]] = self._conn.execute(sql, tuple(params)).fetchall()
        return rows

    async def execute_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        if len(statements) <= 1:
            for sql, params in statements:
                self._conn.execute(sql, tuple(params))
            return
        self._conn.execute("BEGIN")
        try:
            for sql, params in statements:
                self._conn.execute(sql, tuple(params))
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    async def ping(self) -> None:
        await self.fetchall("SELECT 1")


_SCHEMA_LOCK = 0x6261746F6E  # "baton": the advisory lock key for schema creation


class _Postgres:
    """A pool of autocommit connections: every statement is its own transaction, as on SQLite.

    A pooled connection outside autocommit would send ``BEGIN`` before each statement and
    ``COMMIT`` when the pool takes it back: three round trips for what one does.
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if await _hold(self, sql, params):
            return
        async with self._pool.connection() as conn:
            if sql.lstrip().upper().startswith("CREATE "):
                # `CREATE ... IF NOT EXISTS` is not atomic in Postgres: two workers starting on a
                # fresh database both try to insert the catalog row and one dies on
                # UniqueViolation. A transaction-scoped advisory lock makes them take turns.
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    await conn.execute(sql.replace("?", "%s"), tuple(params))
                return
            await conn.execute(sql.replace("?", "%s"), tuple(params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        await _flush(self)
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql.replace("?", "%s"), tuple(params))
            return [tuple(r) for r in await cur.fetchall()]

    async def execute_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        if len(statements) <= 1:
            async with self._pool.connection() as conn:
                for sql, params in statements:
                    await conn.execute(sql.replace("?", "%s"), tuple(params))
            return
        async with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
            for sql, params in statements:
                await conn.execute(sql.replace("?", "%s"), tuple(params))

    async def ping(self) -> None:
        await self.fetchall("SELECT 1")


@asynccontextmanager
async def connect(checkpoint_url: str, data_dir: Path, schema: Sequence[str]) -> AsyncIterator[Db]:
    """Postgres when the checkpointer is Postgres, else SQLite ``data_dir/api.sqlite``, with ``schema`` run."""
    db: Db
    if checkpoint_url.startswith(("postgres://", "postgresql://")):
        from psycopg_pool import AsyncConnectionPool  # an embedded worker never loads psycopg

        async with AsyncConnectionPool(
            checkpoint_url, min_size=1, max_size=8, open=False, kwargs={"autocommit": True}
        ) as pool:
            await pool.open(wait=True, timeout=10)
            db = _Postgres(pool)
            for stmt in schema:
                await db.execute(stmt)
            yield db
        return
    path = private_sqlite(data_dir / "api.sqlite")  # holds transcripts and desk events: 0600
    with open_wal(path, timeout=30, isolation_level=None) as conn:
        db = _Sqlite(conn)
        for stmt in schema:
            await db.execute(stmt.replace("DOUBLE PRECISION", "REAL"))
        yield db
