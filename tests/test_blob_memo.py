"""The Postgres saver's serializer gives back the message lists its worker wrote without decoding them."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from graph.blob_memo import BlobMemoSerializer
from graph.checkpointer import open_checkpointer
from tests.conftest import POSTGRES_URL, _postgres_ok, service_missing


def _conversation(n: int, tag: str = "") -> list[BaseMessage]:
    return [
        HumanMessage(f"{tag}line {i}", id=f"{tag}h{i}")
        if i % 2
        else AIMessage(f"{tag}answer {i}", id=f"{tag}a{i}")
        for i in range(n)
    ]


def test_a_list_it_wrote_is_read_back_as_the_same_messages_in_a_new_list() -> None:
    memo, stock = BlobMemoSerializer(), JsonPlusSerializer()
    messages = _conversation(6)
    dumped = memo.dumps_typed(messages)
    assert dumped == stock.dumps_typed(messages)  # LangGraph's bytes
    read = memo.loads_typed(dumped)
    assert read == messages
    assert all(a is b for a, b in zip(read, messages, strict=True))
    read.append(HumanMessage("a reducer's change"))  # a run's list is its own
    assert len(memo.loads_typed(dumped)) == 6


def test_bytes_it_did_not_write_are_decoded() -> None:
    memo, stock = BlobMemoSerializer(), JsonPlusSerializer()
    memo.dumps_typed(_conversation(4))
    theirs = _conversation(4, tag="other ")
    read = memo.loads_typed(stock.dumps_typed(theirs))
    assert read == theirs
    assert not any(a is b for a, b in zip(read, theirs, strict=True))
    assert memo.loads_typed(stock.dumps_typed({"route": "seller_bot"})) == {"route": "seller_bot"}


def test_the_kept_lists_are_bounded_by_messages_and_shared_with_langgraphs_copy() -> None:
    memo = BlobMemoSerializer(kept_references=10)
    first = memo.dumps_typed(_conversation(6, "a"))
    memo.dumps_typed(_conversation(12, "long"))  # longer than the bound: not kept
    assert memo.lists_kept == 1
    twin = copy.copy(memo)  # how LangGraph's with_msgpack_allowlist makes its copy
    second = twin.dumps_typed(_conversation(6, "b"))
    assert memo.lists_kept == 1  # 12 references > 10: the oldest list left
    assert memo.loads_typed(second)[0] is twin.loads_typed(second)[0]
    assert memo.loads_typed(first)[0] is not memo.loads_typed(first)[0]  # decoded each time now


async def test_a_worker_reads_its_own_checkpoint_from_postgres_without_decoding_it(tmp_path: Path) -> None:
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    thread = f"memo-{uuid.uuid4().hex}"
    config: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    messages = _conversation(8)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"messages": messages, "route": "seller_bot"}
    checkpoint["channel_versions"] = {"messages": "1", "route": "1"}
    async with (
        open_checkpointer(POSTGRES_URL, tmp_path) as writer,
        open_checkpointer(POSTGRES_URL, tmp_path) as other,  # another worker
    ):
        assert isinstance(writer.serde, BlobMemoSerializer)
        try:
            await writer.aput(config, checkpoint, {"source": "loop", "step": 1}, {"messages": "1"})
            mine, theirs = await writer.aget_tuple(config), await other.aget_tuple(config)
            assert mine is not None
            assert theirs is not None
            assert mine.checkpoint["channel_values"]["messages"] == messages
            assert theirs.checkpoint["channel_values"]["messages"] == messages
            assert mine.checkpoint["channel_values"]["messages"][0] is messages[0]
            assert theirs.checkpoint["channel_values"]["messages"][0] is not messages[0]
        finally:
            await writer.adelete_thread(thread)
