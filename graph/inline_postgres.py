"""LangGraph's async Postgres checkpointer with (de)serialisation on the calling thread.

``AsyncPostgresSaver`` sends every ``aput``'s blobs, every ``aput_writes``' rows and every read's
pending writes to a thread (``asyncio.to_thread``) to serialise them: a thread hop, a future and
two GIL handovers for work of tens of microseconds on a conversation's state. A customer turn
made 5.3 such hops (``benchmarks/postgres_path.py``). This saver does the same serialisation in
place and keeps the stock saver's SQL, connection, lock and pipeline, so the rows it writes are the
ones the stock saver writes (``tests/test_inline_postgres.py`` compares them) and a checkpoint is
committed before ``aput`` returns, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb


def _split_values(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the checkpoint row holds inline, what goes to the blobs table) of its channel values.

    Primitives stay inline. A delta snapshot goes to the blobs table and leaves ``True`` inline,
    which tells a reader that the snapshot, not a plain value, is stored there.
    """
    inline: dict[str, Any] = {}
    blobs: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, _DeltaSnapshot):
            blobs[key] = value
            inline[key] = True
        elif value is None or isinstance(value, (str, int, float, bool)):
            inline[key] = value
        else:
            blobs[key] = value
    return inline, blobs


class InlinePostgresSaver(AsyncPostgresSaver):
    """``AsyncPostgresSaver`` that serialises on the event loop's thread instead of a worker thread."""

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        conf = config["configurable"]
        thread_id, checkpoint_ns = conf["thread_id"], conf["checkpoint_ns"]
        inline, blobs = _split_values(checkpoint["channel_values"])
        row = {**checkpoint, "channel_values": inline}
        blob_versions = {k: v for k, v in new_versions.items() if k in blobs}
        async with self._cursor(pipeline=True) as cur:
            if blob_versions:
                await cur.executemany(
                    self.UPSERT_CHECKPOINT_BLOBS_SQL,
                    self._dump_blobs(thread_id, checkpoint_ns, blobs, blob_versions),
                )
            await cur.execute(
                self.UPSERT_CHECKPOINTS_SQL,
                (
                    thread_id,
                    checkpoint_ns,
                    checkpoint["id"],
                    conf.get("checkpoint_id"),  # the parent
                    Jsonb(row),
                    Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
                ),
            )
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        conf = config["configurable"]
        # Special channels (errors, interrupts, ...) have fixed indexes: writing them again replaces.
        upsert = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        rows = self._dump_writes(
            conf["thread_id"], conf["checkpoint_ns"], conf["checkpoint_id"], task_id, task_path, writes
        )
        async with self._cursor(pipeline=True) as cur:
            await cur.executemany(
                self.UPSERT_CHECKPOINT_WRITES_SQL if upsert else self.INSERT_CHECKPOINT_WRITES_SQL, rows
            )

    async def _load_checkpoint_tuple(self, value: DictRow) -> CheckpointTuple:
        where = {"thread_id": value["thread_id"], "checkpoint_ns": value["checkpoint_ns"]}
        row = value["checkpoint"]
        parent = value["parent_checkpoint_id"]
        values = {**(row.get("channel_values") or {}), **self._load_blobs(value["channel_values"])}
        return CheckpointTuple(
            {"configurable": {**where, "checkpoint_id": value["checkpoint_id"]}},
            cast(Checkpoint, {**row, "channel_values": values}),
            value["metadata"],
            {"configurable": {**where, "checkpoint_id": parent}} if parent else None,
            self._load_writes(value["pending_writes"]),
        )
