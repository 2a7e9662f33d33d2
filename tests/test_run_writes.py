"""A run's checkpoints and writes are committed together when it ends (``graph/run_writes.py``).

Each step's checkpoint is still stored (the rows are the ones the savers write call by call), a
read inside the run sees what the run wrote, and a run that fails stores what LangGraph stores for
a failed step. Postgres is the real server.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.types import ERROR
from langgraph.graph import START, MessagesState, StateGraph
from test_inline_postgres import _checkpoint, _rows, _script, savers  # noqa: F401 (a fixture)

from graph.checkpointer import open_checkpointer
from graph.inline_postgres import InlinePostgresSaver
from graph.inline_sqlite import InlineSqliteSaver
from graph.run_writes import held_for, run_writes
from graph.runtime import BatonRuntime
from tests.conftest import POSTGRES_URL, _postgres_ok, service_missing


async def test_a_held_run_writes_the_rows_the_calls_write_one_by_one_in_one_transaction(
    savers: tuple[Any, InlinePostgresSaver],  # noqa: F811
) -> None:
    _, inline = savers
    one_by_one, held = f"each-{uuid.uuid4().hex}", f"held-{uuid.uuid4().hex}"
    await _script(inline, one_by_one)
    commits: list[int] = []
    original = inline.commit_held

    async def counted(batch: Any) -> None:
        commits.append(len(batch.items))
        await original(batch)

    inline.commit_held = counted  # type: ignore[method-assign]
    async with run_writes(inline, held):
        await _script(inline, held)  # two checkpoints, four sets of writes (regular and special)
        assert all(not rows for rows in (await _rows(held)).values())  # nothing committed yet
    assert commits == [6 + 2 + 8]  # blobs, checkpoints and write rows, once
    expected, found = await _rows(one_by_one), await _rows(held)
    assert len(found["checkpoints"]) == 2
    assert found == expected
    for thread in (one_by_one, held):
        await inline.adelete_thread(thread)


async def test_a_read_inside_the_run_sees_what_the_run_holds(
    savers: tuple[Any, InlinePostgresSaver],  # noqa: F811
) -> None:
    _, inline = savers
    thread = f"read-{uuid.uuid4().hex}"
    config: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    other: RunnableConfig = {"configurable": {"thread_id": f"other-{uuid.uuid4().hex}", "checkpoint_ns": ""}}
    async with run_writes(inline, thread):
        checkpoint = _checkpoint(1)
        await inline.aput(config, checkpoint, {"source": "loop", "step": 1}, checkpoint["channel_versions"])
        assert held_for(thread) is not None
        assert held_for(other["configurable"]["thread_id"]) is None  # another thread writes as before
        latest = await inline.aget_tuple(config)
        assert latest is not None
        assert latest.checkpoint["id"] == checkpoint["id"]
        assert [c.checkpoint["id"] async for c in inline.alist(config)] == [checkpoint["id"]]
    assert held_for(thread) is None
    await inline.adelete_thread(thread)


def _failing_graph(saver: BaseCheckpointSaver[Any]) -> Any:
    def first(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", "step one")]}

    def second(state: MessagesState) -> dict[str, Any]:
        msg = "the second step fails"
        raise RuntimeError(msg)

    builder = StateGraph(MessagesState)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    return builder.compile(checkpointer=saver)


async def _failed_run(url: str, tmp_path: Path, held: bool) -> tuple[list[int | None], list[str]]:
    """Run the failing graph; return the stored checkpoints' steps and the latest one's write channels."""
    config: RunnableConfig = {"configurable": {"thread_id": f"fail-{uuid.uuid4().hex}"}}
    async with open_checkpointer(url, tmp_path) as saver:
        graph = _failing_graph(saver)
        scope = run_writes(saver if held else None, config["configurable"]["thread_id"])
        async with scope:
            with pytest.raises(RuntimeError, match="second step"):
                await graph.ainvoke({"messages": [("user", "hi")]}, config, durability="sync")
        steps = [c.metadata["step"] async for c in saver.alist(config)]
        latest = await saver.aget_tuple(config)
        assert latest is not None
        channels = [w[1] for w in latest.pending_writes or []]
        await saver.adelete_thread(config["configurable"]["thread_id"])
    return steps, channels


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_failed_run_stores_what_it_stores_call_by_call(tmp_path: Path, backend: str) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    if backend == "postgres":
        if problem := await _postgres_ok():
            service_missing("PostgreSQL", problem)
        url = POSTGRES_URL
    held = await _failed_run(url, tmp_path, held=True)
    assert held == await _failed_run(url, tmp_path, held=False)
    steps, channels = held
    assert steps == [1, 0, -1]  # the input, the first step, the step the second one failed in
    assert ERROR in channels


async def test_a_sqlite_turn_commits_once_and_keeps_every_step(tmp_path: Path) -> None:
    db = tmp_path / "checkpoints.sqlite"
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url=f"sqlite:///{db}") as rt:
        saver = rt.graph.checkpointer
        assert isinstance(saver, InlineSqliteSaver)
        statements: list[str] = []
        saver.conn.set_trace_callback(statements.append)
        await rt.post_message("c1", "Hi")
        saver.conn.set_trace_callback(None)
        kept = len(await rt.checkpoints("c1"))
        # Another connection sees every step's checkpoint once the turn is answered.
        with sqlite3.connect(db) as other:
            stored = other.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 'c1'").fetchone()[0]
    assert statements.count("COMMIT") == 1
    assert sum(s.startswith("INSERT OR REPLACE INTO checkpoints") for s in statements) >= 3  # one per step
    assert stored == kept >= 3
