"""The Postgres checkpointer serialises in place and writes the rows LangGraph's own saver writes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT, _DeltaSnapshot
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command, interrupt

from graph.blob_memo import BlobMemoSerializer
from graph.checkpointer import open_checkpointer
from graph.inline_postgres import InlinePostgresSaver
from tests.conftest import POSTGRES_URL, _postgres_ok, service_missing

# A table row's columns after thread_id, for each table a saver writes.
_ROWS = {
    "checkpoints": "checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata",
    "checkpoint_blobs": "checkpoint_ns, channel, version, type, blob",
    "checkpoint_writes": "checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob",
}


@pytest.fixture
async def savers() -> AsyncIterator[tuple[AsyncPostgresSaver, InlinePostgresSaver]]:
    """LangGraph's saver and Baton's, on the real server's shared tables."""
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    async with (
        AsyncPostgresSaver.from_conn_string(POSTGRES_URL) as stock,
        InlinePostgresSaver.from_conn_string(POSTGRES_URL, serde=BlobMemoSerializer()) as inline,  # as served
    ):
        await stock.setup()
        yield stock, inline


def _checkpoint(n: int) -> Checkpoint:
    checkpoint = empty_checkpoint()
    checkpoint["id"] = f"1f0c0000-0000-6000-8000-{n:012d}"
    checkpoint["ts"] = f"2026-12-04T05:0{n}:00+00:00"
    checkpoint["channel_values"] = {
        "route": "seller_bot",  # primitives stay in the checkpoint row
        "turns": n,
        "closed": None,
        "messages": [HumanMessage(f"turn {n}"), {"role": "ai", "content": "ok"}],  # blobs
        "brief": {"summary": "wants to sell", "facts": ["3 bedrooms"]},
        "history": _DeltaSnapshot(value=["a", "b"]),  # a blob marked True inline
    }
    checkpoint["channel_versions"] = {k: f"{n:032d}.1" for k in checkpoint["channel_values"]}
    return checkpoint


async def _script(saver: AsyncPostgresSaver, thread: str) -> None:
    """Two checkpoints, each with plain and special-channel writes."""
    config: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    for n in (1, 2):
        checkpoint = _checkpoint(n)
        versions = {k: v for k, v in checkpoint["channel_versions"].items() if k != "turns"}
        config = await saver.aput(config, checkpoint, {"source": "loop", "step": n}, versions)
        await saver.aput_writes(config, [("messages", [HumanMessage("more")]), ("route", "x")], "task-a")
        await saver.aput_writes(config, [(INTERRUPT, {"value": "waiting"}), (ERROR, "boom")], "task-b", "p")


async def _rows(thread: str) -> dict[str, list[tuple[Any, ...]]]:
    async with await psycopg.AsyncConnection.connect(POSTGRES_URL) as conn:
        found = {}
        for table, columns in _ROWS.items():
            cur = await conn.execute(
                f"SELECT {columns} FROM {table} WHERE thread_id = %s ORDER BY {columns}", (thread,)
            )
            found[table] = await cur.fetchall()
        return found


def _without_thread(item: Any, thread: str) -> Any:
    return repr(item).replace(thread, "<thread>")


async def test_it_writes_and_reads_the_rows_langgraphs_saver_does(
    savers: tuple[AsyncPostgresSaver, InlinePostgresSaver],
) -> None:
    stock, inline = savers
    threads = {"stock": f"stock-{uuid.uuid4().hex}", "inline": f"inline-{uuid.uuid4().hex}"}
    await _script(stock, threads["stock"])
    await _script(inline, threads["inline"])
    stock_rows, inline_rows = await _rows(threads["stock"]), await _rows(threads["inline"])
    assert len(inline_rows["checkpoints"]) == 2
    assert len(inline_rows["checkpoint_blobs"]) == 6  # three blob channels, two versions each
    assert len(inline_rows["checkpoint_writes"]) == 8
    assert inline_rows == stock_rows
    # Each reads the other's thread as it reads its own: the latest, a given one, and the history.
    for reader in (stock, inline):
        for name, thread in threads.items():
            config: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
            latest = await reader.aget_tuple(config)
            assert latest is not None
            assert latest.checkpoint["channel_values"]["history"] == _DeltaSnapshot(value=["a", "b"])
            assert latest.checkpoint["channel_values"]["route"] == "seller_bot"
            assert [w[1] for w in latest.pending_writes or []] == ["messages", "route", INTERRUPT, ERROR]
            assert latest.parent_config is not None
            history = [c async for c in reader.alist(config)]
            assert [c.config["configurable"]["checkpoint_id"] for c in history] == [
                _checkpoint(2)["id"],
                _checkpoint(1)["id"],
            ]
            other = threads["inline" if name == "stock" else "stock"]
            expected = await (inline if reader is stock else stock).aget_tuple(
                {"configurable": {"thread_id": other, "checkpoint_ns": ""}}
            )
            assert _without_thread(latest, thread) == _without_thread(expected, other)
    for thread in threads.values():
        await stock.adelete_thread(thread)


def _interrupting_graph(saver: Any) -> Any:
    def ask(state: MessagesState) -> dict[str, Any]:
        answer = interrupt("a person, please")
        return {"messages": [("ai", f"agent said {answer}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    return builder.compile(checkpointer=saver)


async def test_a_run_and_its_resume_make_no_thread_hop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    hops: list[str] = []
    real = asyncio.to_thread

    async def counted(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    config: RunnableConfig = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex}"}}
    async with open_checkpointer(POSTGRES_URL, tmp_path) as saver:
        assert isinstance(saver, InlinePostgresSaver)
        graph = _interrupting_graph(saver)
        await graph.ainvoke({"messages": [HumanMessage("help")]}, config)
        assert (await graph.aget_state(config)).next == ("ask",)
        await graph.ainvoke(Command(resume="hello"), config)
        state = await graph.aget_state(config)
        await saver.adelete_thread(config["configurable"]["thread_id"])
    assert [m.content for m in state.values["messages"]] == ["help", "agent said hello"]
    assert hops == []
    # The stock saver would have hopped for the same run (what this test guards against).
    async with AsyncPostgresSaver.from_conn_string(POSTGRES_URL) as stock:
        await _interrupting_graph(stock).ainvoke(
            {"messages": [HumanMessage("help")]}, {"configurable": {"thread_id": "hop-" + uuid.uuid4().hex}}
        )
    assert {"_dump_blobs", "_dump_writes", "_load_writes"} & set(hops)
