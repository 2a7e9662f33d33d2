"""Checkpointer factory: SQLite under the data dir (default), Postgres by URL, or memory for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from graph.private_files import private_sqlite


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
        yield InMemorySaver()
        return
    if kind == "postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = (
        Path(url.removeprefix("sqlite:///"))
        if url.startswith("sqlite:///")
        else data_dir / "checkpoints.sqlite"
    )
    private_sqlite(path)  # every conversation's transcript: 0600, like the admin token
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        await saver.conn.execute("PRAGMA journal_mode=WAL")
        await saver.conn.execute("PRAGMA synchronous=NORMAL")
        await saver.setup()
        yield saver
