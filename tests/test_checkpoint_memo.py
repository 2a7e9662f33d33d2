"""The SQLite saver keeps a thread's latest messages decoded, and every read still equals the bytes."""

from __future__ import annotations

import itertools
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from graph import inline_sqlite
from graph.actions import Close, Reply
from graph.checkpoint_memo import MemoSerializer
from graph.inline_sqlite import InlineSqliteSaver
from graph.runtime import BatonRuntime
from tests.conftest import make_settings


class CheckedMemo(MemoSerializer):
    """Counts the reads it answered from memory and checks each against a full decode of the bytes."""

    answered = 0

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        value = super().loads_typed(data)
        fresh = JsonPlusSerializer.loads_typed(self, data)
        assert value == fresh
        if isinstance(fresh, dict) and "channel_values" in fresh and self._by_digest:
            CheckedMemo.answered += 1
        return value


_IDS = itertools.count(1)


def _checkpoint(*texts: str) -> dict[str, Any]:
    checkpoint: dict[str, Any] = dict(empty_checkpoint())
    checkpoint["id"] = f"{next(_IDS):032d}"  # the latest is the greatest id, as with LangGraph's uuid6
    checkpoint["channel_values"] = {
        "messages": [HumanMessage(t, id=str(uuid.uuid4())) for t in texts],
        "status": "human",
        "handoff": {"id": "h1", "notes": ["a"]},
    }
    checkpoint["channel_versions"] = {"messages": 2, "status": 1}
    checkpoint["versions_seen"] = {"router": {"messages": 1}}
    return checkpoint


def _put(saver: InlineSqliteSaver, thread: str, checkpoint: dict[str, Any], *, run_ends: bool = True) -> None:
    config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    saver.put(config, checkpoint, {"source": "loop", "step": 1}, {})  # type: ignore[arg-type]
    if run_ends:
        saver.run_ended(thread)


def _latest(saver: InlineSqliteSaver, thread: str) -> dict[str, Any]:
    found = saver.get_tuple({"configurable": {"thread_id": thread}})
    assert found is not None
    return dict(found.checkpoint)


def test_a_read_of_what_was_written_equals_a_full_decode_and_is_the_run_s_own(tmp_path: Path) -> None:
    with InlineSqliteSaver.open(tmp_path / "c.sqlite") as saver:
        memo = saver.serde
        assert isinstance(memo, MemoSerializer)
        written = _checkpoint("Hi", "Can I talk to a person?")
        _put(saver, "t1", written)
        first = _latest(saver, "t1")
        assert first == JsonPlusSerializer().loads_typed(memo.dumps_typed(written))
        # The run changes what it read (LangGraph bumps versions in place); the next read is unchanged.
        first["channel_versions"]["messages"] = 99
        first["versions_seen"]["router"]["messages"] = 99
        first["channel_values"]["messages"].append(AIMessage("appended"))
        first["channel_values"]["handoff"]["notes"].append("b")
        second = _latest(saver, "t1")
        assert second["channel_versions"]["messages"] == 2
        assert second["versions_seen"]["router"]["messages"] == 1
        assert [m.text for m in second["channel_values"]["messages"]] == ["Hi", "Can I talk to a person?"]
        assert second["channel_values"]["handoff"]["notes"] == ["a"]


def test_a_checkpoint_another_writer_put_is_decoded_from_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with InlineSqliteSaver.open(path) as saver:
        _put(saver, "t1", _checkpoint("Hi"))
        # Another process (a second worker, a CLI) writes a newer checkpoint of the same thread.
        other = InlineSqliteSaver(sqlite3.connect(path, check_same_thread=False))
        theirs = _checkpoint("Hi", "theirs")
        _put(other, "t1", theirs)
        assert [m.text for m in _latest(saver, "t1")["channel_values"]["messages"]] == ["Hi", "theirs"]
        # The same id written again with other bytes is read as written, not as remembered.
        changed = _checkpoint("Hi", "changed")
        changed["id"] = theirs["id"]
        _put(other, "t1", changed)
        assert [m.text for m in _latest(saver, "t1")["channel_values"]["messages"]] == ["Hi", "changed"]
        other.conn.close()


def test_only_the_latest_checkpoint_of_the_most_recent_threads_is_kept(tmp_path: Path) -> None:
    with InlineSqliteSaver.open(tmp_path / "c.sqlite") as saver:
        saver.serde = memo = MemoSerializer(threads=2)
        for thread in ("a", "b", "a", "c"):
            _put(saver, thread, _checkpoint(f"from {thread}"))
        assert memo.threads_kept == 2
        assert set(memo._by_thread) == {("a", ""), ("c", "")}
        assert len(memo._by_digest) == 2  # a's first checkpoint went when its second was written
        saver.delete_thread("a")
        assert set(memo._by_thread) == {("c", "")}
        assert saver.get_tuple({"configurable": {"thread_id": "a"}}) is None


def test_only_the_last_checkpoint_a_run_wrote_is_kept_and_only_once_it_ended(tmp_path: Path) -> None:
    with InlineSqliteSaver.open(tmp_path / "c.sqlite") as saver:
        memo = saver.serde
        assert isinstance(memo, MemoSerializer)
        _put(saver, "t1", _checkpoint("Hi"), run_ends=False)
        _put(saver, "t1", _checkpoint("Hi", "step two"), run_ends=False)
        assert memo.threads_kept == 0  # mid-run: nothing decoded apart yet
        assert [m.text for m in _latest(saver, "t1")["channel_values"]["messages"]] == ["Hi", "step two"]
        saver.run_ended("t1")
        assert memo.threads_kept == 1
        assert len(memo._by_digest) == 1
        assert [m.text for m in _latest(saver, "t1")["channel_values"]["messages"]] == ["Hi", "step two"]


def test_langgraph_s_allowlisted_copy_shares_what_is_kept(tmp_path: Path) -> None:
    with InlineSqliteSaver.open(tmp_path / "c.sqlite") as saver:
        copy = saver.with_allowlist({("graph", "state", "Something")})
        assert isinstance(copy.serde, MemoSerializer)
        _put(copy, "t1", _checkpoint("Hi"))  # type: ignore[arg-type]  # LangGraph's copy is one too
        assert isinstance(saver.serde, MemoSerializer)
        assert saver.serde.threads_kept == 1


async def test_whole_conversations_read_back_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline_sqlite, "MemoSerializer", CheckedMemo)
    CheckedMemo.answered = 0
    settings = make_settings(tmp_path)
    async with BatonRuntime.open(settings, checkpoint_url=f"sqlite:///{tmp_path / 'c.sqlite'}") as rt:
        saver = rt.graph.checkpointer
        assert isinstance(saver, InlineSqliteSaver)
        assert isinstance(saver.serde, CheckedMemo)
        cid = "memo-1"
        await rt.post_message(cid, "Hi, I want to sell my house at 12 Elm Street")
        await rt.post_message(cid, "It is worth about $2,000,000")
        await rt.post_message(cid, "Can I talk to a real person please?")
        for k in range(5):
            await rt.post_message(cid, f"are you there? ({k})")
        await rt.resume(cid, Reply(text="Yes, I am here. Let us look at the listing."))
        await rt.post_message(cid, "Thanks!")
        await rt.resume(cid, Close(note="listing agreed"))
        await rt.post_message(cid, "One more question about the price")
        view = await rt.get(cid)
    texts = [t.text for t in view.transcript]
    assert "are you there? (4)" in texts
    assert "Yes, I am here. Let us look at the listing." in texts
    assert texts[-1] != "Thanks!"  # the turn after the close ran on what the close wrote
    assert CheckedMemo.answered >= 10
