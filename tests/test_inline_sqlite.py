"""The SQLite checkpointer answers its async API in place, on the file LangGraph's own saver writes."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import START, MessagesState, StateGraph

from graph.checkpointer import open_checkpointer
from graph.inline_sqlite import InlineSqliteSaver


def _echo_graph(saver: Any) -> Any:
    def echo(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", f"heard {len(state['messages'])}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("echo", echo)
    builder.add_edge(START, "echo")
    return builder.compile(checkpointer=saver)


def _config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


async def test_checkpoint_sql_runs_on_the_event_loops_thread(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    threads: set[int] = set()
    async with open_checkpointer("", tmp_path) as saver:
        assert isinstance(saver, InlineSqliteSaver)
        saver.conn.set_trace_callback(lambda _sql: threads.add(threading.get_ident()))
        graph = _echo_graph(saver)
        await graph.ainvoke({"messages": [HumanMessage("hi")]}, _config("t"))
        await graph.ainvoke({"messages": [HumanMessage("again")]}, _config("t"))
        state = await graph.aget_state(_config("t"))
    assert [m.content for m in state.values["messages"]] == ["hi", "heard 1", "again", "heard 3"]
    assert threads == {loop_thread}  # aiosqlite ran every statement on a thread of its own


async def test_it_reads_what_langgraphs_async_saver_wrote_and_back(tmp_path: Path) -> None:
    # An existing data dir was written by AsyncSqliteSaver; both must read each other's threads.
    path = tmp_path / "checkpoints.sqlite"
    async with AsyncSqliteSaver.from_conn_string(str(path)) as old:
        await _echo_graph(old).ainvoke({"messages": [HumanMessage("before the upgrade")]}, _config("t"))
    with InlineSqliteSaver.open(path) as new:
        graph = _echo_graph(new)
        await graph.ainvoke({"messages": [HumanMessage("after")]}, _config("t"))
        history = [c async for c in new.alist(_config("t"))]
    async with AsyncSqliteSaver.from_conn_string(str(path)) as old:
        state = await _echo_graph(old).aget_state(_config("t"))
        old_history = [c async for c in old.alist(_config("t"))]
    assert [m.content for m in state.values["messages"]] == [
        "before the upgrade",
        "heard 1",
        "after",
        "heard 3",
    ]
    assert [c.config for c in history] == [c.config for c in old_history]


async def test_listing_while_the_saver_is_used_does_not_deadlock(tmp_path: Path) -> None:
    with InlineSqliteSaver.open(tmp_path / "c.sqlite") as saver:
        graph = _echo_graph(saver)
        for text in ("one", "two", "three"):
            await graph.ainvoke({"messages": [HumanMessage(text)]}, _config("t"))
        seen = []
        async with asyncio.timeout(10):
            async for item in saver.alist(_config("t")):
                # the sync generator would hold the saver's lock here; a read in between must not wait
                assert await saver.aget_tuple(item.config) is not None
                seen.append(item.config["configurable"]["checkpoint_id"])
        assert len(seen) == len(set(seen)) >= 6
        await saver.adelete_thread("t")
        assert await saver.aget_tuple(_config("t")) is None
