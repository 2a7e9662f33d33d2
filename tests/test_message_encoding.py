"""Each message of a checkpoint is encoded once: the bytes are LangGraph's, new objects are not mistaken."""

from __future__ import annotations

import copy
import gc
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

import graph.message_encoding
from graph.checkpoint_memo import MemoSerializer
from graph.message_encoding import MessageEncoder


def _checkpoint(messages: list[BaseMessage]) -> dict[str, Any]:
    return {
        "v": 4,
        "id": "1f0c0000-0000-6000-8000-000000000001",
        "channel_values": {"messages": messages, "status": "bot", "handoff": {"id": "h1", "brief": {}}},
        "channel_versions": {"messages": "00000000000000000000000000000002.1", "status": "1"},
    }


def _conversation(n: int) -> list[BaseMessage]:
    return [
        HumanMessage(f"line {i}", id=f"h{i}", additional_kwargs={"baton_at": 1.5 + i})
        if i % 2
        else AIMessage(f"answer {i}", id=f"a{i}", name="seller_bot")
        for i in range(n)
    ]


@pytest.fixture
def encodings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every message LangGraph's encoder is asked to build an extension for."""
    built: list[Any] = []
    real = graph.message_encoding._msgpack_default

    def counting(obj: Any) -> Any:
        if isinstance(obj, BaseMessage):
            built.append(obj)
        return real(obj)

    monkeypatch.setattr(graph.message_encoding, "_msgpack_default", counting)
    return built


@pytest.mark.parametrize("serializer", [MessageEncoder, lambda: MemoSerializer(8)])
def test_a_growing_conversation_encodes_only_its_new_messages_to_langgraphs_bytes(
    serializer: Any, encodings: list[Any]
) -> None:
    encoder, stock = serializer(), JsonPlusSerializer()
    messages = _conversation(40)
    for turn in range(1, 6):
        messages = [*messages, HumanMessage(f"turn {turn}", id=f"t{turn}")]  # a reducer's new list
        encodings.clear()
        dumped = encoder.dumps_typed(_checkpoint(messages))
        assert dumped == stock.dumps_typed(_checkpoint(messages))
        assert encodings == ([*messages] if turn == 1 else [messages[-1]])
    assert stock.loads_typed(dumped)["channel_values"]["messages"] == messages


def test_a_message_given_its_id_after_an_encoding_is_encoded_again(encodings: list[Any]) -> None:
    encoder, stock = MessageEncoder(), JsonPlusSerializer()
    fresh = AIMessage("written by a node")  # as a node's write is stored, before the reducer's id
    assert encoder.dumps_typed([fresh]) == stock.dumps_typed([fresh])
    fresh.id = "given-by-the-reducer"
    encodings.clear()
    assert encoder.dumps_typed(_checkpoint([fresh])) == stock.dumps_typed(_checkpoint([fresh]))
    assert encodings == [fresh]


def test_the_kept_encodings_are_bounded_and_shared_with_langgraphs_copy() -> None:
    encoder = MessageEncoder(kept_messages=3)
    encoder.dumps_typed(_conversation(5))
    assert encoder.messages_kept == 3
    twin = copy.copy(encoder)  # how LangGraph's with_msgpack_allowlist makes its copy
    fresh = HumanMessage("new", id="n1")
    twin.dumps_typed([fresh])
    assert encoder.messages_kept == 3  # the copy's work lands in the same bounded store
    assert next(reversed(encoder._kept.by_object.values())).message() is fresh


def test_an_entry_does_not_keep_its_message_alive(encodings: list[Any]) -> None:
    encoder = MessageEncoder()
    gone = HumanMessage("soon gone", id="g1")
    encoder.dumps_typed([gone])
    encodings.clear()
    del gone
    gc.collect()
    assert [entry.message() for entry in encoder._kept.by_object.values()] == [None]
    again = HumanMessage("soon gone", id="g1")  # a new object, perhaps at the old one's address
    encoder.dumps_typed([again])
    assert encodings == [again]


def test_what_msgpack_cannot_encode_is_left_to_langgraph() -> None:
    encoder, stock = MessageEncoder(), JsonPlusSerializer(pickle_fallback=True)
    encoder.pickle_fallback = True
    odd = {"n": 2**70}  # past msgpack's integers
    assert encoder.dumps_typed(odd) == stock.dumps_typed(odd)
    assert encoder.dumps_typed(None) == ("null", b"")
