"""LangGraph's SQLite checkpointer with its async API answered on the calling thread.

``AsyncSqliteSaver`` sends every statement to aiosqlite's thread and waits for the answer: a thread
hop, a future and a GIL handover per statement (~0.4 ms here), for statements that take microseconds
on a WAL database with ``synchronous=NORMAL`` (a commit is a write to the WAL file, no fsync). A
customer turn makes about nine of them. This saver runs the synchronous ``SqliteSaver``'s code in
place, as the API store does with its own statements (api/db.py): same schema, same serialisation,
same commit per ``put`` outside a run. A run commits once, when it ends and before its turn is
answered (:mod:`graph.run_writes`), so an answered turn survives a ``kill -9`` as before. Its
serializer keeps each recent thread's messages decoded between runs (:mod:`graph.checkpoint_memo`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

from graph.checkpoint_memo import MemoSerializer
from graph.head_reuse import handed_head
from graph.run_writes import HeldWrites, held_for
from graph.wal import open_wal

# Threads whose latest messages stay decoded (~13 KB each with a short history): the live chats of
# ~100 agents; a thread read after it was dropped is decoded from its bytes as before.
MEMO_THREADS = 256


class InlineSqliteSaver(SqliteSaver):
    """``SqliteSaver`` whose ``a*`` methods run the synchronous ones in place.

    Nothing awaits inside a call, so on one event loop calls never interleave; the inherited lock
    still serialises a call from another thread (a sync ``get_state`` off the loop).
    """

    def __init__(self, conn: sqlite3.Connection, *, memo_threads: int = MEMO_THREADS) -> None:
        super().__init__(conn, serde=MemoSerializer(memo_threads))
        self._uncommitted_by: int | None = None  # the thread whose write leaves its commit to the run

    @contextmanager
    def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
        commit = transaction and self._uncommitted_by != threading.get_ident()
        with super().cursor(transaction=commit) as cur:
            yield cur

    @contextmanager
    def _held(self, thread_id: object) -> Iterator[None]:
        """Inside a run holding its writes, a write here leaves its commit to the run's end."""
        held = held_for(thread_id)
        if held is None:
            yield
            return
        held.items.append(None)  # something to commit
        self._uncommitted_by = threading.get_ident()
        try:
            yield
        finally:
            self._uncommitted_by = None

    async def commit_held(self, held: HeldWrites) -> None:
        """Commit what the run wrote (the statements ran as they came, in one open transaction)."""
        held.items.clear()
        with self.lock:
            self.conn.commit()

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[InlineSqliteSaver]:
        """A saver on the database file at ``path`` (created, WAL, set up), closed on exit."""
        with open_wal(path) as conn:
            saver = cls(conn)
            saver.setup()
            yield saver

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        with self._held(config["configurable"]["thread_id"]):
            saved = super().put(config, checkpoint, metadata, new_versions)
        if isinstance(self.serde, MemoSerializer):  # LangGraph's allowlisted copy of it is one too
            self.serde.wrote(
                str(config["configurable"]["thread_id"]), config["configurable"]["checkpoint_ns"]
            )
        return saved

    def run_ended(self, thread_id: str) -> None:
        """A run on the thread ended: keep the last checkpoint it wrote decoded for the next run."""
        if isinstance(self.serde, MemoSerializer):
            self.serde.seal(thread_id)

    def delete_thread(self, thread_id: str) -> None:
        super().delete_thread(thread_id)
        if isinstance(self.serde, MemoSerializer):
            self.serde.forget_thread(str(thread_id))

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return handed_head(config) or self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        # Read to the end first: the sync generator holds the saver's lock while it yields, and the
        # caller may await something that touches the saver between items.
        for item in list(self.list(config, filter=filter, before=before, limit=limit)):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        with self._held(config["configurable"]["thread_id"]):
            super().put_writes(config, writes, task_id, task_path)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        return self.get_delta_channel_history(config=config, channels=channels)
