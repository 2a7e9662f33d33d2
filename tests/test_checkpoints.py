"""Time travel and rollback, in the style of LangGraph's test_time_travel, over every checkpointer."""

from __future__ import annotations

from pathlib import Path

from conftest import make_settings
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from graph.actions import Reply
from graph.runtime import BatonRuntime, NothingToRollBack

SELL = "I'd like to sell my house at 12 Oak Street, we're relocating for a new job."
DISTRESS = "Honestly I'm devastated. My ex-husband's lawyer says there's a lien on the title."


def _config(cid: str) -> RunnableConfig:
    return {"configurable": {"thread_id": cid}}


async def _paused(rt: BatonRuntime, cid: str) -> None:
    for text in ("Hi", SELL, DISTRESS):
        result = await rt.post_message(cid, text)
    assert result.pending_interrupt is not None


async def test_interrupt_resume_and_history(runtime: BatonRuntime, conversation_id: str) -> None:
    await _paused(runtime, conversation_id)
    result = await runtime.graph.ainvoke(None, _config(conversation_id), context=runtime.context)
    assert "__interrupt__" in result  # running again without a resume pauses again, nothing applied
    result = await runtime.graph.ainvoke(
        Command(resume={"type": "reply", "text": "Maria here"}),
        _config(conversation_id),
        context=runtime.context,
    )
    assert "__interrupt__" in result
    assert result["messages"][-1].text == "Maria here"
    history = await runtime.checkpoints(conversation_id)
    assert history[0].next == ["human_agent"]
    assert [h.step for h in history] == sorted((h.step for h in history), reverse=True)
    assert any(h.source == "input" for h in history)


async def test_an_old_paused_checkpoint_keeps_no_stored_answer(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    """LangGraph 1.2 keeps a resume's answer as a pending write of the paused checkpoint when a run
    writes per step, and a later resume of that checkpoint replays it. A resume here writes once, at
    the end of its run (``GraphRunner._held``), so the paused checkpoint takes a new answer; forks
    still go through ``runtime.fork``, which pauses again for a fresh resume."""
    await _paused(runtime, conversation_id)
    paused = await runtime.graph.aget_state(_config(conversation_id))
    await runtime.resume(conversation_id, Reply(text="first answer"))
    replay = await runtime.graph.ainvoke(
        Command(resume={"type": "reply", "text": "second answer"}), paused.config, context=runtime.context
    )
    texts = [m.text for m in replay["messages"]]
    assert "second answer" in texts
    assert "first answer" not in texts


async def test_fork_from_a_past_checkpoint_re_decides(runtime: BatonRuntime, conversation_id: str) -> None:
    await _paused(runtime, conversation_id)
    paused = await runtime.graph.aget_state(_config(conversation_id))
    await runtime.resume(conversation_id, Reply(text="first answer"))
    checkpoint_id = paused.config["configurable"]["checkpoint_id"]
    forked = await runtime.fork(conversation_id, checkpoint_id)
    assert forked.pending_interrupt is not None  # the fork waits for a human again
    result = await runtime.resume(conversation_id, Reply(text="second answer"))
    texts = [t.text for t in (await runtime.get(conversation_id)).transcript]
    assert texts[-1] == "second answer"
    assert "first answer" not in texts  # that branch is history, not the head
    assert result.status == "human"
    # The fork is a child of the past checkpoint, so the old branch is still in the history.
    history = await runtime.checkpoints(conversation_id)
    assert any(h.parent_id == checkpoint_id for h in history)


async def test_fork_with_an_edit_changes_the_route(runtime: BatonRuntime, conversation_id: str) -> None:
    await runtime.post_message(conversation_id, "Hi")
    await runtime.post_message(conversation_id, SELL)
    history = await runtime.checkpoints(conversation_id)
    before_sell = next(h for h in history if h.next == ["router"] and h.messages == 3)
    # Had we known the customer is a VIP, the same turn goes to a human instead of the seller bot.
    forked = await runtime.fork(conversation_id, before_sell.checkpoint_id, {"customer": {"vip": True}})
    assert forked.pending_interrupt is not None
    assert forked.pending_interrupt.rule_id == "human_vip"
    view = await runtime.get(conversation_id)
    assert view.transcript[-2].text == SELL  # the same customer turn, routed differently


async def test_rollback_returns_to_the_ai_from_the_pre_handoff_checkpoint(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    await _paused(runtime, conversation_id)
    await runtime.post_message(conversation_id, "Hello? Anyone?")
    head = await runtime.get(conversation_id)
    record = head.handoff
    assert record is not None
    pre = next(
        h
        for h in await runtime.checkpoints(conversation_id)
        if h.next == ["router"] and h.messages == record.message_index + 1
    )

    result = await runtime.rollback(
        conversation_id, reason="no agent accepted", notice="You're back with me."
    )

    assert result.status == "bot"
    assert result.active_agent == "seller_bot"
    assert result.pending_interrupt is None
    assert result.replies[-1].speaker == "seller_bot"
    assert "You're back with me." in result.replies[-1].text
    view = await runtime.get(conversation_id)
    texts = [t.text for t in view.transcript]
    # Nothing said during the failed handoff is lost, and the failure is visible.
    for turn in head.transcript:
        assert turn.text in texts
    assert any("rolled back" in t for t in texts)
    assert view.handoffs[-1].status == "rolled_back"
    # The new head descends from the pre-handoff checkpoint, not from the interrupted one.
    history = await runtime.checkpoints(conversation_id)
    lineage = {h.checkpoint_id: h.parent_id for h in history}
    node = history[0].checkpoint_id
    ancestors = set()
    while lineage.get(node):
        node = lineage[node]  # type: ignore[assignment]
        ancestors.add(node)
    assert pre.checkpoint_id in ancestors
    assert head.checkpoint_id not in ancestors
    # And the conversation goes on with the AI.
    result = await runtime.post_message(conversation_id, "OK, what do you need from me?")
    assert result.active_agent == "seller_bot"
    assert result.pending_interrupt is None


async def test_rollback_without_a_human_handoff_is_refused(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    await runtime.post_message(conversation_id, "Hi")
    try:
        await runtime.rollback(conversation_id, reason="test")
    except NothingToRollBack:
        return
    raise AssertionError("rollback should have been refused")


async def test_history_survives_a_restart(tmp_path: Path, checkpoint_url: str, conversation_id: str) -> None:
    if checkpoint_url == "memory":
        return  # memory is the one backend that forgets by design
    settings = make_settings(tmp_path)
    async with BatonRuntime.open(settings, checkpoint_url=checkpoint_url) as rt:
        await _paused(rt, conversation_id)
    async with BatonRuntime.open(settings, checkpoint_url=checkpoint_url) as rt:
        view = await rt.get(conversation_id)
        assert view.pending_interrupt is not None
        assert view.transcript[-2].text == DISTRESS  # then the narration
        result = await rt.resume(conversation_id, Reply(text="Back after a restart"))
        assert result.replies[-1].text == "Back after a restart"
