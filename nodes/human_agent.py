"""Human agent node: pauses the run with ``interrupt()`` until a human acts through ``Command(resume=)``.

A customer turn that arrives meanwhile re-enters here through the router and pauses again with a fresh
payload: only an explicit resume carrying a typed ``HumanAction`` moves the conversation on.
"""

from __future__ import annotations

from typing import Literal, cast

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from graph.actions import HUMAN_ACTION, Close, Reply, ReturnToAI
from graph.deps import BatonContext
from graph.state import BatonState, current_handoff
from graph.transcript import HUMAN_AGENT_NAME, SYSTEM_NAME
from nodes.names import BOT_NODES, HUMAN_AGENT, BotName

Goto = BotName | Literal["human_agent", "__end__"]


def _waiting(state: BatonState, since: int) -> int:
    """Customer turns from the one that triggered the handoff, after the human's last reply."""
    count = 0
    for message in reversed(state["messages"][since:]):
        if isinstance(message, HumanMessage):
            count += 1
        elif message.name == HUMAN_AGENT_NAME:
            break
    return count


async def human_agent(state: BatonState, *, runtime: Runtime[BatonContext]) -> Command[Goto]:
    """Pause for the human; apply their reply, return-to-AI or close when resumed."""
    record = current_handoff(state)
    if record is None or record.kind != "human":
        msg = "human_agent reached without a human handoff record"
        raise RuntimeError(msg)
    payload = record.waiting(_waiting(state, record.message_index))
    action = HUMAN_ACTION.validate_python(interrupt(payload.model_dump(mode="json")))

    if isinstance(action, Reply):
        return Command(
            goto=HUMAN_AGENT,
            update={
                "messages": [
                    AIMessage(
                        action.text,
                        name=HUMAN_AGENT_NAME,
                        additional_kwargs={"agent_id": action.agent_id},
                    )
                ],
                "status": "human",
                "active_agent": HUMAN_AGENT,
            },
        )
    if isinstance(action, ReturnToAI):
        policy = runtime.context.policies.current().policy
        fallback = record.from_agent if record.from_agent in BOT_NODES else policy.entry
        target = action.target or fallback
        if target not in BOT_NODES:
            msg = f"cannot return to {target!r}: not a bot"
            raise ValueError(msg)
        closed = record.changed(
            status="returned", note=action.note, returned_to=target, ended_at=len(state["messages"])
        )
        note = f"Human agent returned the conversation to {target}" + (
            f": {action.note}" if action.note else ""
        )
        return Command(
            goto=target,  # type: ignore[arg-type]
            update={
                "messages": [AIMessage(note, name=SYSTEM_NAME)],
                "status": "bot",
                "active_agent": target,
                "handoff": closed.to_state(),
                "handoffs": {closed.id: closed.to_state()},
            },
        )
    assert isinstance(action, Close)
    closed = record.changed(status="closed", note=action.note, ended_at=len(state["messages"]))
    messages = [AIMessage(action.text, name=HUMAN_AGENT_NAME)] if action.text else []
    return Command(
        goto=cast(Goto, END),
        update={
            "messages": messages,
            "status": "closed",
            "handoff": closed.to_state(),
            "handoffs": {closed.id: closed.to_state()},
        },
    )
