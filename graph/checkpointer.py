"""Checkpointer factory: SQLite under the data dir (default), Postgres by URL, or memory for tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.memory import InMemorySaver

from graph.head_reuse import handed_head
from graph.inline_sqlite import InlineSqliteSaver
from graph.private_files import private_sqlite


class MemorySaver(InMemorySaver):
    """LangGraph's in-memory saver that takes a resume's handed head (``graph.head_reuse``), as the
    SQLite and Postgres savers do, so every backend reads a paused thread's head once per resume."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return handed_head(config) or await super().aget_tuple(config)


class CheckpointConfigError(ValueError):
    """The checkpoint URL names a backend Baton does not support."""


def describe(url: str) -> str:
    """Short name of the backend a URL selects (for logs and /readyz)."""
    if url == "memory":
        return "memory"
    if url.startswith(("postgres://", "postgresql://")):
        return "postgres"
    if url in ("", "sqlite") or url.startswith("sqlite:"):
        return "sqlite"
    msg = f"unsupported checkpoint URL {url!r}: use '', 'sqlite:///path', 'memory' or postgresql://..."
    raise CheckpointConfigError(msg)


@asynccontextmanager
async def open_checkpointer(url: str, data_dir: Path) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open (and set up) the checkpointer a URL selects; closes its connections on exit.

    Args:
        url: ``""`` or ``sqlite:///file`` for SQLite, ``memory``, or a ``postgresql://`` URL.
        data_dir: Where the default SQLite file lives.
    """
    kind = describe(url)
    if kind == "memory":
        yield MemorySaver()
        return
    if kind == "postgres":
        from graph.blob_memo import BlobMemoSerializer
        from graph.inline_postgres import InlinePostgresSaver  # an embedded worker never loads psycopg

        # Each message encoded once, not once per checkpoint blob (graph/message_encoding.py), and the
        # message lists this worker wrote read back without decoding them again (graph/blob_memo.py).
        async with InlinePostgresSaver.from_conn_string(url, serde=BlobMemoSerializer()) as saver:
            await _setup_in_turn(saver, url)
            yield saver
        return
    path = (
        Path(url.removeprefix("sqlite:///"))
        if url.startswith("sqlite:///")
        else data_dir / "checkpoints.sqlite"
    )
    private_sqlite(path)  # every conversation's transcript: 0600, like the admin token
    with InlineSqliteSaver.open(path) as saver:
        yield saver


# The advisory lock key for LangGraph's Postgres migrations ("baton-ck").
_MIGRATION_LOCK = 0x626174_6F6E636B


async def _setup_in_turn(saver: Any, url: str) -> None:
    """Run the saver's migrations holding a Postgres advisory lock.

    Two workers starting together on a fresh database both insert migration 0 and one dies on
    ``checkpoint_migrations_pkey``; with the lock the second finds the migrations done.
    """
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as lock:
        # Poll rather than block: a session waiting in pg_advisory_lock holds a snapshot, and the
        # migrations' CREATE INDEX CONCURRENTLY waits for every snapshot: both would wait forever.
        while not await _try_lock(lock):
            await asyncio.sleep(0.05)
        try:
            await saver.setup()
        finally:
            await lock.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))


async def _try_lock(conn: Any) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_MIGRATION_LOCK,))
    row = await cur.fetchone()
    return bool(row and row[0])
