"""A resume reads the thread's head once: its check hands the checkpoint to the run (graph.head_reuse)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from graph.actions import Close, Reply
from graph.head_reuse import hand_head, handed_head
from graph.runtime import BatonRuntime, NotInterrupted


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def stored_runtime(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BatonRuntime]:
    """A runtime on each saver (the real Postgres in a schema of its own)."""
    urls = {"memory": "memory", "sqlite": f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"}
    url = urls.get(request.param) or request.getfixturevalue("postgres_schema")
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url=url) as rt:
        yield rt


def count_head_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The thread ids of the reads that reach the store from now on (each saver's own read)."""
    seen: list[str] = []
    sqlite_read, postgres_read = SqliteSaver.get_tuple, AsyncPostgresSaver.aget_tuple
    memory_read = InMemorySaver.aget_tuple

    def sqlite_counted(self: SqliteSaver, config: Any) -> CheckpointTuple | None:
        seen.append(config["configurable"]["thread_id"])
        return sqlite_read(self, config)

    async def postgres_counted(self: AsyncPostgresSaver, config: Any) -> CheckpointTuple | None:
        seen.append(config["configurable"]["thread_id"])
        return await postgres_read(self, config)

    async def memory_counted(self: InMemorySaver, config: Any) -> CheckpointTuple | None:
        seen.append(config["configurable"]["thread_id"])
        return await memory_read(self, config)

    monkeypatch.setattr(SqliteSaver, "get_tuple", sqlite_counted)
    monkeypatch.setattr(InMemorySaver, "aget_tuple", memory_counted)
    monkeypatch.setattr(AsyncPostgresSaver, "aget_tuple", postgres_counted)
    return seen


async def test_a_resume_reads_the_head_once_and_runs_from_it(
    stored_runtime: BatonRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = stored_runtime
    await rt.post_message("c1", "Hi")
    paused = await rt.post_message("c1", "Can I talk to a real person please?")
    assert paused.pending_interrupt
    reads = count_head_reads(monkeypatch)

    first = await rt.resume("c1", Reply(text="Hi, I'm Maria.", agent_id="a1"))
    assert reads == ["c1"]  # the pause check's read; the run started from it
    assert [r.text for r in first.replies] == ["Hi, I'm Maria."]

    reads.clear()
    second = await rt.resume("c1", Reply(text="How can I help?", agent_id="a1"))
    assert reads == ["c1"]  # read again: a handed head serves one run only
    assert [r.text for r in second.replies] == ["How can I help?"]

    closed = await rt.resume("c1", Close(note="sorted", text="", agent_id="a1"))
    assert closed.status == "closed"
    texts = [t.text for t in await rt.transcript("c1")]
    assert texts[-2:] == ["Hi, I'm Maria.", "How can I help?"]  # both runs built on the newest head
    reads.clear()
    with pytest.raises(NotInterrupted):
        await rt.resume("c1", Reply(text="late", agent_id="a1"))
    assert reads == ["c1"]


def _tuple(thread_id: str) -> CheckpointTuple:
    config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": "x"}}
    return CheckpointTuple(config, {"id": "x"}, {}, None, [])  # type: ignore[typeddict-item]


def test_a_handed_head_answers_only_its_threads_head_read_and_only_once() -> None:
    saved = _tuple("c1")
    head: Any = {"configurable": {"thread_id": "c1", "checkpoint_ns": ""}}
    assert handed_head(head) is None  # nothing handed outside the block
    with hand_head("c1", saved):
        assert handed_head({"configurable": {"thread_id": "c2", "checkpoint_ns": ""}}) is None
        assert handed_head({"configurable": {"thread_id": "c1", "checkpoint_ns": "sub:1"}}) is None
        assert handed_head({"configurable": {"thread_id": "c1", "checkpoint_id": "older"}}) is None
        assert handed_head(head) is saved
        assert handed_head(head) is None  # taken
    assert handed_head(head) is None
