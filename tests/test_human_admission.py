"""A human action is admitted on the conversation's head alone: no transcript built, 404 once it is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_desk_api import held_by_maria, serving

from graph.runtime import BatonRuntime, ConversationNotFound, NotInterrupted


def calls_to(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """The conversation ids ``BatonRuntime.<method>`` is called with from now on (it still runs)."""
    seen: list[str] = []
    original = getattr(BatonRuntime, method)

    async def counted(self: BatonRuntime, conversation_id: str) -> object:
        seen.append(conversation_id)
        return await original(self, conversation_id)

    monkeypatch.setattr(BatonRuntime, method, counted)
    return seen


async def test_a_reply_reads_no_transcript_and_a_deleted_conversation_is_404(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = calls_to(monkeypatch, "transcript")
    async with serving(tmp_path) as (http, api):
        maria, handoff_id = await held_by_maria(api)
        built.clear()
        said = await api.act(handoff_id, "reply", maria, {"text": "Hi, I'm Maria."})
        assert said.status_code == 200, said.text
        assert built == []  # admitted on the head checkpoint, not on a transcript made of it

        runtime = http._transport.app.state.engine.runtime  # type: ignore[attr-defined]
        view = (await http.get(f"/v1/handoffs/{handoff_id}", headers=api.auth(maria))).json()
        await runtime.graph.checkpointer.adelete_thread(view["handoff"]["conversation_id"])
        gone = await api.act(handoff_id, "reply", maria, {"text": "Still there?"})
        assert gone.status_code == 404, gone.text
        assert gone.json()["error"]["code"] == "not_found"


async def test_holds_state_agrees_with_the_transcript(memory_runtime: BatonRuntime) -> None:
    runner = memory_runtime._runner
    assert not await runner.holds_state("never")
    await memory_runtime.post_message("c1", "Hi")
    assert await runner.holds_state("c1")
    assert await runner.head_messages("c1")
    await memory_runtime.graph.checkpointer.adelete_thread("c1")
    assert not await runner.holds_state("c1")
    assert await runner.head_messages("c1") is None


async def test_require_paused_reads_the_head_as_resume_does(memory_runtime: BatonRuntime) -> None:
    with pytest.raises(ConversationNotFound):
        await memory_runtime.require_paused("never")
    await memory_runtime.post_message("c1", "Hi")
    with pytest.raises(NotInterrupted):
        await memory_runtime.require_paused("c1")  # a bot answers it
    await memory_runtime.post_message("c1", "Can I talk to a real person please?")
    await memory_runtime.require_paused("c1")
    await memory_runtime.graph.checkpointer.adelete_thread("c1")
    with pytest.raises(ConversationNotFound):
        await memory_runtime.require_paused("c1")


async def test_closing_builds_no_conversation_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    views = calls_to(monkeypatch, "get")
    async with serving(tmp_path) as (_http, api):
        maria, handoff_id = await held_by_maria(api)
        views.clear()
        closed = await api.act(handoff_id, "complete", maria, {"note": "sorted"})
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed"
        assert views == []  # the pause is checked on the head checkpoint, as resume checks it
        again = await api.act(handoff_id, "complete", maria, {"note": "twice"})
        assert again.status_code == 409, again.text
