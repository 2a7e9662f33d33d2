"""End-to-end behaviour of the graph over every checkpointer: routing, handoffs, human in the loop."""

from __future__ import annotations

import pytest

from graph.actions import Close, Reply, ReturnToAI
from graph.priority import handoff_priority
from graph.runtime import BatonRuntime, ConversationNotFound, NotInterrupted
from graph.transcript import HUMAN_AGENT_NAME

SELL = (
    "My name is Dana Whitfield. I'd like to sell my house at 12 Oak Street, we're relocating for a new job."
)
PRICE = "We'd like to sell within two months, hoping for around $850,000."
DISTRESS = "Honestly I'm devastated. My ex-husband's lawyer says there's a lien on the title."


async def _to_human(rt: BatonRuntime, cid: str) -> None:
    await rt.post_message(cid, "Hi")
    await rt.post_message(cid, SELL)
    await rt.post_message(cid, PRICE)
    result = await rt.post_message(cid, DISTRESS)
    assert result.pending_interrupt is not None


async def test_new_conversation_is_greeted_by_the_entry_bot(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    result = await runtime.post_message(conversation_id, "Hi")
    assert result.active_agent == "concierge_bot"
    assert result.routing is not None
    assert result.routing["rule_id"] == "default"
    assert result.routing["handoff"] is False
    assert [r.speaker for r in result.replies] == ["concierge_bot"]


async def test_seller_handoff_carries_a_brief_and_the_bot_never_reasks(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    await runtime.post_message(conversation_id, "Hi")
    result = await runtime.post_message(conversation_id, SELL)
    assert result.active_agent == "seller_bot"
    assert result.handoff is not None
    assert result.handoff.from_agent == "concierge_bot"
    assert result.handoff.to == "seller_bot"
    assert result.routing is not None
    assert result.routing["rule_id"].startswith("seller_")
    assert result.routing["policy_version"] == runtime.context.policies.current().version
    facts = {f["key"]: f["value"] for f in result.handoff.brief["facts"]}
    assert "12 Oak Street" in facts.values()
    # Narration by the old agent, then the new one opens showing it has the context.
    speakers = [r.speaker for r in result.replies]
    assert speakers == ["concierge_bot", "seller_bot"]
    opening = result.replies[-1].text
    assert "12 Oak Street" in opening
    assert "address" not in opening.lower().split("?")[-1]  # it does not ask for the address again
    assert "When would you ideally like to sell?" in opening

    result = await runtime.post_message(conversation_id, PRICE)
    reply = result.replies[-1].text
    assert "$850,000" in reply
    assert "relocat" in reply  # motivation was said two turns ago and is reused, not re-asked
    view = await runtime.get(conversation_id)
    assert view.collected["price_expectation"]["value"] == "$850,000"


async def test_human_handoff_interrupts_with_a_typed_payload(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    await runtime.post_message(conversation_id, "Hi")
    await runtime.post_message(conversation_id, SELL)
    result = await runtime.post_message(conversation_id, DISTRESS)
    assert result.status == "awaiting_human"
    assert result.active_agent == "human_agent"
    payload = result.pending_interrupt
    assert payload is not None
    assert payload.trigger == "sentiment_based"
    # The rule says high; the brief may read it as more urgent, and then both say so.
    assert payload.urgency in ("high", "critical")
    assert payload.brief["urgency"] == payload.urgency
    signals = (await runtime.get(conversation_id)).signals
    expected = handoff_priority(
        urgency=payload.urgency,
        lead_score=signals["lead_score"],
        sentiment=signals["sentiment"],
        explicit_request=False,
    )
    assert payload.priority == expected >= 75  # at least 50 x 1.5 for high urgency
    assert "real_estate" in payload.required_skills
    assert payload.policy_version == runtime.context.policies.current().version
    assert payload.brief["facts"]
    state = await runtime.graph.aget_state({"configurable": {"thread_id": conversation_id}})
    assert state.next == ("human_agent",)


async def test_customer_turn_never_resumes_a_waiting_thread(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    await _to_human(runtime, conversation_id)
    before = await runtime.get(conversation_id)
    result = await runtime.post_message(conversation_id, "Hello? Is anyone there?")
    assert result.replies == []  # no bot answers, nobody resumed the human node
    assert result.status == "awaiting_human"
    assert result.pending_interrupt is not None
    assert result.pending_interrupt.waiting_customer_messages == 2
    after = await runtime.get(conversation_id)
    assert len(after.transcript) == len(before.transcript) + 1
    assert after.transcript[-1].text == "Hello? Is anyone there?"
    assert after.handoff is not None
    assert after.handoff.id == before.handoff.id


async def test_human_reply_then_return_to_ai(runtime: BatonRuntime, conversation_id: str) -> None:
    await _to_human(runtime, conversation_id)
    result = await runtime.resume(conversation_id, Reply(text="Hi Dana, I'm Maria.", agent_id="maria"))
    assert [r.speaker for r in result.replies] == [HUMAN_AGENT_NAME]
    assert result.status == "human"
    assert result.pending_interrupt is not None  # paused again for the next customer turn
    assert result.pending_interrupt.waiting_customer_messages == 0

    result = await runtime.resume(conversation_id, Reply(text="A second message in a row.", agent_id="maria"))
    assert result.replies[-1].text == "A second message in a row."

    result = await runtime.resume(conversation_id, ReturnToAI(note="Lien cleared with the title company"))
    assert result.status == "bot"
    assert result.active_agent == "seller_bot"
    assert result.pending_interrupt is None
    assert "Lien cleared with the title company" not in result.replies[-1].text  # the team's note
    assert result.replies[-1].role == "bot"
    notes = [r for r in result.replies if r.role == "system"]
    assert "Lien cleared with the title company" in notes[0].text
    view = await runtime.get(conversation_id)
    record = view.handoffs[-1]
    assert record.status == "returned"
    assert record.returned_to == "seller_bot"
    # The human already handled the lien: the next turn is not escalated again.
    result = await runtime.post_message(conversation_id, "Thanks! What happens next?")
    assert result.active_agent == "seller_bot"
    assert result.handoff is None


async def test_close_ends_the_conversation(runtime: BatonRuntime, conversation_id: str) -> None:
    await _to_human(runtime, conversation_id)
    result = await runtime.resume(conversation_id, Close(note="resolved", text="Take care, Dana."))
    assert result.status == "closed"
    assert result.pending_interrupt is None
    assert result.replies[-1].text == "Take care, Dana."


async def test_resume_without_interrupt_is_refused(runtime: BatonRuntime, conversation_id: str) -> None:
    await runtime.post_message(conversation_id, "Hi")
    with pytest.raises(NotInterrupted):
        await runtime.resume(conversation_id, Reply(text="hello"))


async def test_the_resume_check_agrees_with_the_state_snapshot(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    """``awaits_person`` reads the head's pending writes; the snapshot's interrupts are the truth."""
    runner = runtime._runner

    async def awaited() -> bool:
        quick = await runner.awaits_person(conversation_id)
        assert quick == bool((await runner.head(conversation_id)).interrupts)
        return quick

    assert not await awaited()  # no checkpoint yet
    await runtime.post_message(conversation_id, "Hi")
    assert not await awaited()
    await _to_human(runtime, conversation_id)
    assert await awaited()
    await runtime.post_message(conversation_id, "Are you still there?")  # recorded while a person holds it
    assert await awaited()
    await runtime.resume(conversation_id, Reply(text="Hello Dana, I'm here."))
    assert await awaited()
    await runtime.resume(conversation_id, ReturnToAI(note="Lien cleared"))
    assert not await awaited()
    with pytest.raises(NotInterrupted):
        await runtime.resume(conversation_id, Reply(text="hello again"))


async def test_invalid_resume_payload_is_rejected_by_the_node(
    memory_runtime: BatonRuntime, conversation_id: str
) -> None:
    from langgraph.types import Command
    from pydantic import ValidationError

    await _to_human(memory_runtime, conversation_id)
    config = {"configurable": {"thread_id": conversation_id}}
    with pytest.raises(ValidationError):
        await memory_runtime.graph.ainvoke(
            Command(resume={"type": "reply"}),
            config,
            context=memory_runtime.context,  # type: ignore[arg-type]
        )
    state = await memory_runtime.graph.aget_state(config)  # type: ignore[arg-type]
    assert state.next == ("human_agent",)  # still waiting; nothing was applied


async def test_sequential_handoffs_keep_one_history(runtime: BatonRuntime, conversation_id: str) -> None:
    await runtime.post_message(conversation_id, "Hi")
    r1 = await runtime.post_message(conversation_id, SELL)
    assert r1.active_agent == "seller_bot"
    r2 = await runtime.post_message(conversation_id, "Can I talk to a real person please?")
    assert r2.active_agent == "human_agent"
    assert r2.pending_interrupt is not None
    # The human's brief covers the seller conversation, including what the concierge heard.
    brief_facts = {f["value"] for f in r2.pending_interrupt.brief["facts"]}
    assert "12 Oak Street" in brief_facts
    await runtime.resume(conversation_id, Reply(text="Hi, Maria here."))
    r3 = await runtime.resume(conversation_id, ReturnToAI(note="customer prefers email"))
    assert r3.active_agent == "seller_bot"
    view = await runtime.get(conversation_id)
    assert [h.to for h in view.handoffs] == ["seller_bot", "human_agent"]
    speakers = {t.speaker for t in view.transcript}
    assert {"concierge_bot", "seller_bot", HUMAN_AGENT_NAME, "customer"} <= speakers
    assert view.transcript[0].text == "Hi"  # the whole conversation is one history


async def test_investment_question_consults_specialists_without_handoff(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    await runtime.post_message(conversation_id, "Hi")
    result = await runtime.post_message(conversation_id, "What cap rate should I expect on a rental duplex?")
    assert result.handoff is None
    assert result.active_agent == "concierge_bot"
    assert result.routing is not None
    assert result.routing["rule_id"] == "investment_consult"
    view = await runtime.get(conversation_id)
    assert {c["specialist"] for c in view.consultations} == {"luxury_specialist", "buyer_bot"}
    assert result.replies[-1].speaker == "concierge_bot"
    assert "luxury specialist" in result.replies[-1].text


async def test_escalate_hands_off_outside_the_policy(
    memory_runtime: BatonRuntime, conversation_id: str
) -> None:
    await memory_runtime.post_message(conversation_id, "Hi")
    result = await memory_runtime.escalate(conversation_id, reason="customer clicked 'talk to a person'")
    assert result.pending_interrupt is not None
    assert result.handoff is not None
    assert result.handoff.rule_id == "manual"


async def test_goto_on_a_thread_with_no_turn_is_refused_and_leaves_it_readable(
    memory_runtime: BatonRuntime, conversation_id: str
) -> None:
    with pytest.raises(ConversationNotFound):
        await memory_runtime.goto(conversation_id, "seller_bot")
    result = await memory_runtime.post_message(conversation_id, "Hi")
    assert result.active_agent == "concierge_bot"
