"""Turns keep their place in the whole history, however much of it a caller converts."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from graph.actions import Reply
from graph.runtime import BatonRuntime
from graph.transcript import HUMAN_AGENT_NAME, to_turns


def test_turns_from_a_position_keep_their_index_in_the_history() -> None:
    messages = [
        HumanMessage("Hi"),
        AIMessage("Hello, how can I help?", name="seller_bot"),
        SystemMessage("handed to a person"),
        HumanMessage("Are you there?"),
        AIMessage("Yes, I am here.", name=HUMAN_AGENT_NAME),
    ]
    whole = to_turns(messages)
    assert to_turns(messages, 3) == whole[3:]
    assert [(t.index, t.role) for t in to_turns(messages, 3)] == [(3, "customer"), (4, "agent")]
    assert to_turns(messages, 5) == []


async def test_a_reply_late_in_a_long_conversation_has_its_place_in_the_transcript(
    memory_runtime: BatonRuntime,
) -> None:
    cid = "long-held"
    await memory_runtime.post_message(cid, "Hi, I want to sell my house")
    await memory_runtime.post_message(cid, "Can I talk to a real person please?")
    for k in range(30):
        assert (await memory_runtime.post_message(cid, f"still there? ({k})")).replies == []
    result = await memory_runtime.resume(cid, Reply(text="Sorry for the wait, I am here now."))
    transcript = (await memory_runtime.get(cid)).transcript
    assert [r.text for r in result.replies] == ["Sorry for the wait, I am here now."]
    (reply,) = result.replies
    assert transcript[reply.index].text == reply.text
    assert transcript[reply.index].role == "agent"
    assert reply.index == len(transcript) - 1
