"""``BatonRuntime.transcript`` reads the head checkpoint alone and must give what ``get`` gives."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.base import BaseCheckpointSaver

from graph.actions import Close, Reply
from graph.runner import thread_config
from graph.runtime import BatonRuntime, ConversationNotFound

SELL = "I'd like to sell my house at 12 Oak Street, we're relocating for a new job."
PERSON = "Can I talk to a real person please?"


async def _same(rt: BatonRuntime, cid: str) -> list[str]:
    quick = await rt.transcript(cid)
    assert quick == (await rt.get(cid)).transcript
    return [t.text for t in quick]


async def test_every_step_of_a_conversation_reads_as_get_does(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    cid = conversation_id
    await runtime.post_message(cid, "Hi")
    assert (await _same(runtime, cid))[0] == "Hi"
    await runtime.post_message(cid, SELL)
    await _same(runtime, cid)
    await runtime.post_message(cid, PERSON)  # paused at the human node
    await runtime.post_message(cid, "Are you there?")  # recorded while a person holds it
    await runtime.resume(cid, Reply(text="Maria here, how can I help?"))
    assert (await _same(runtime, cid))[-1] == "Maria here, how can I help?"
    await runtime.resume(cid, Close(note="done", text="Bye for now."))
    texts = await _same(runtime, cid)
    assert "Are you there?" in texts
    assert texts[-1] == "Bye for now."


async def test_a_pending_write_of_messages_is_read_as_get_applies_it(memory_runtime: BatonRuntime) -> None:
    """A step still running (or cut short) keeps its writes beside the head checkpoint: ``get``
    applies them, and so must the transcript."""
    rt, cid = memory_runtime, "pending-write"
    await rt.post_message(cid, "Hi")
    await rt.post_message(cid, PERSON)
    snap = await rt.graph.aget_state(thread_config(cid))
    saver = rt.graph.checkpointer
    assert isinstance(saver, BaseCheckpointSaver)
    task_id = snap.tasks[0].id  # the paused human task
    await saver.aput_writes(snap.config, [("messages", [AIMessage("written by a running step")])], task_id)
    texts = await _same(rt, cid)
    assert texts[-1] == "written by a running step"


async def test_an_unknown_or_deleted_conversation_is_not_found(memory_runtime: BatonRuntime) -> None:
    with pytest.raises(ConversationNotFound):
        await memory_runtime.transcript("nobody")
    await memory_runtime.post_message("gone", "Hi")
    await memory_runtime.delete("gone")
    with pytest.raises(ConversationNotFound):
        await memory_runtime.transcript("gone")
