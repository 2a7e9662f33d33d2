"""LangGraph's async Postgres checkpointer with (de)serialisation on the calling thread.

``AsyncPostgresSaver`` sends every ``aput``'s blobs, every ``aput_writes``' rows and every read's
pending writes to a thread (``asyncio.to_thread``) to serialise them: a thread hop, a future and
two GIL handovers for work of tens of microseconds on a conversation's state. A customer turn
made 5.3 such hops (``benchmarks/postgres_path.py``). This saver does the same serialisation in
place and keeps the stock saver's SQL, connection, lock and pipeline, so the rows it writes are the
ones the stock saver writes (``tests/test_inline_postgres.py`` compares them) and a checkpoint is
committed before ``aput`` returns, as before, unless a run holds its writes (:mod:`graph.run_writes`):
then the run's rows go in one transaction, one round trip, when it ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
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

from graph.head_reuse import handed_head
from graph.run_writes import HeldWrites, held_for

# The kinds of row a run's held writes carry, in the order they are committed. Regular writes are
# inserted (a repeat is ignored) before special ones are upserted (a repeat replaces): the row each
# key ends with is the one the calls made one by one leave, whatever their order.
_HELD_ORDER = ("blobs", "checkpoints", "writes", "special_writes")


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
        blob_rows = self._dump_blobs(thread_id, checkpoint_ns, blobs, blob_versions) if blob_versions else []
        checkpoint_row = (
            thread_id,
            checkpoint_ns,
            checkpoint["id"],
            conf.get("checkpoint_id"),  # the parent
            Jsonb(row),
            Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
        )
        if (held := held_for(thread_id)) is not None:
            held.items += [("blobs", r) for r in blob_rows]
            held.items.append(("checkpoints", checkpoint_row))
        else:
            async with self._cursor(pipeline=True) as cur:
                if blob_rows:
                    await cur.executemany(self.UPSERT_CHECKPOINT_BLOBS_SQL, blob_rows)
                await cur.execute(self.UPSERT_CHECKPOINTS_SQL, checkpoint_row)
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
        if (held := held_for(conf["thread_id"])) is not None:
            held.items += [("special_writes" if upsert else "writes", r) for r in rows]
            return
        async with self._cursor(pipeline=True) as cur:
            await cur.executemany(
                self.UPSERT_CHECKPOINT_WRITES_SQL if upsert else self.INSERT_CHECKPOINT_WRITES_SQL, rows
            )

    async def commit_held(self, held: HeldWrites) -> None:
        """Store a run's held rows in one transaction: four statements at most, one round trip."""
        sql = {
            "blobs": self.UPSERT_CHECKPOINT_BLOBS_SQL,
            "checkpoints": self.UPSERT_CHECKPOINTS_SQL,
            "writes": self.INSERT_CHECKPOINT_WRITES_SQL,
            "special_writes": self.UPSERT_CHECKPOINT_WRITES_SQL,
        }
        items, held.items = held.items, []
        async with self._cursor(pipeline=True) as cur, cur.connection.transaction():
            for kind in _HELD_ORDER:
                if rows := [row for k, row in items if k == kind]:
                    await cur.executemany(sql[kind], rows)

    async def _commit_before_read(self, config: RunnableConfig | None) -> None:
        """A read of a thread whose run holds writes sees them: commit them first."""
        if config is not None and (held := held_for(config["configurable"].get("thread_id"))) and held.items:
            await self.commit_held(held)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        if (saved := handed_head(config)) is not None:
            return saved
        await self._commit_before_read(config)
        return await super().aget_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        await self._commit_before_read(config)
        async for item in super().alist(config, filter=filter, before=before, limit=limit):
            yield item

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        await self._commit_before_read(config)
        return await super().aget_delta_channel_history(config=config, channels=channels)

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
