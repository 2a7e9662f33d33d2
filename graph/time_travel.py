"""Time travel over a conversation's checkpoints: roll back a handoff, fork, jump to a bot, write state.

Each of these starts from a checkpoint (the one before a handoff, an earlier one, or the head) rather
than from a customer turn, and none of them may drop a pending human task. ``BatonRuntime`` offers
them as its own methods; the runs go through the same ``GraphRunner`` (and per-thread lock) as turns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.constants import START
from langgraph.errors import InvalidUpdateError
from langgraph.types import Command, StateSnapshot

from graph.runner import GraphRunner, StreamTap, thread_config
from graph.runtime_errors import (
    AwaitingHuman,
    ConversationNotFound,
    InvalidStateUpdate,
    NothingToRollBack,
)
from graph.runtime_models import TurnResult
from graph.state import HandoffRecord, current_handoff
from graph.transcript import SYSTEM_NAME
from nodes.names import BOT_NODES, HUMAN_AGENT, ROUTER


class TimeTravel:
    """Moves conversations through their checkpoint history with the runner's locks and runs."""

    def __init__(self, runner: GraphRunner) -> None:
        self._runner = runner

    async def rollback(
        self,
        conversation_id: str,
        *,
        reason: str,
        notice: str | None = None,
        tap: StreamTap | None = None,
    ) -> TurnResult:
        """Return a conversation in a human handoff to the AI from the checkpoint before the handoff.

        The conversation forks from that checkpoint, but everything said since (the trigger turn, the
        narration, any waiting customer turns or human replies) is carried over so nothing is lost, the
        failed handoff stays in ``handoffs`` as ``rolled_back``, and the bot that handed off speaks next
        with ``notice`` (what the customer is told happens now).

        Raises:
            NothingToRollBack: No human handoff is in progress.
        """
        async with self._runner.lock(conversation_id):
            head = await self._runner.head(conversation_id)
            record = current_handoff(head.values)
            if not record or record.kind != "human" or record.status != "active":
                msg = f"conversation {conversation_id} has no human handoff in progress"
                raise NothingToRollBack(msg)
            pre = await self._pre_handoff(conversation_id, record)
            policy = self._runner.context.policies.current().policy
            bot = record.from_agent if record.from_agent in BOT_NODES else policy.entry
            text = notice or policy.handoff.no_agent_message
            rolled = record.changed(status="rolled_back", note=text, ended_at=len(head.values["messages"]))
            pre_ids = {m.id for m in pre.values.get("messages", [])}
            carried = [m for m in head.values["messages"] if m.id not in pre_ids]
            marker = AIMessage(f"Handoff to {record.to} rolled back: {reason}", name=SYSTEM_NAME)
            fork = await self._runner.graph.aupdate_state(
                pre.config,
                {
                    "messages": [*carried, marker],
                    "status": "bot",
                    "active_agent": bot,
                    "handoff": rolled.to_state(),
                    "handoffs": {rolled.id: rolled.to_state()},
                },
                as_node=ROUTER,
            )
            old_count = len(head.values["messages"])
            _, after, interrupts = await self._runner.stream(conversation_id, Command(goto=bot), fork, tap)
            return self._runner.result(conversation_id, after, interrupts, old_count, record.id)

    async def fork(
        self,
        conversation_id: str,
        checkpoint_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        tap: StreamTap | None = None,
    ) -> TurnResult:
        """Time travel: continue the conversation from an earlier checkpoint, optionally edited.

        Resuming an old interrupted checkpoint directly would replay the answer stored there, so the
        fork is a new checkpoint (child of the old one) that re-enters the graph at the router; a
        thread that was waiting for a human pauses there again, ready for a fresh ``resume``.

        Raises:
            ConversationNotFound: Unknown conversation or checkpoint.
        """
        async with self._runner.lock(conversation_id):
            past = await self._runner.snapshot(conversation_id, checkpoint_id)
            head = await self._runner.head(conversation_id)
            fork = await self._runner.graph.aupdate_state(past.config, dict(values or {}), as_node=START)
            _, after, interrupts = await self._runner.stream(conversation_id, None, fork, tap)
            return self._runner.result(
                conversation_id,
                after,
                interrupts,
                len(past.values.get("messages", [])),
                (head.values.get("handoff") or {}).get("id"),
            )

    async def goto(self, conversation_id: str, bot: str, *, tap: StreamTap | None = None) -> TurnResult:
        """Let ``bot`` speak next without a customer turn (an operator's jump; never past a paused human).

        Raises:
            AwaitingHuman: The conversation waits for a human; only a human action moves it on.
            InvalidStateUpdate: ``bot`` is not a bot node.
        """
        if bot not in BOT_NODES:
            msg = f"cannot go to {bot!r}: not a bot ({', '.join(BOT_NODES)})"
            raise InvalidStateUpdate(msg)
        async with self._runner.lock(conversation_id):
            head = await self._runner.head(conversation_id)
            if not head.values.get("messages"):
                # A jump on a thread with no turn leaves a checkpoint LangGraph cannot read back.
                raise ConversationNotFound(conversation_id)
            if head.interrupts:
                msg = f"conversation {conversation_id} is waiting for a human: resume it with a human action"
                raise AwaitingHuman(msg)
            old_handoff = (head.values.get("handoff") or {}).get("id")
            _, after, interrupts = await self._runner.stream(conversation_id, Command(goto=bot), tap=tap)
            old_count = len(head.values.get("messages", []))
            return self._runner.result(conversation_id, after, interrupts, old_count, old_handoff)

    async def update_state(
        self,
        conversation_id: str,
        values: Mapping[str, Any] | None,
        *,
        as_node: str | None = None,
        checkpoint_id: str | None = None,
    ) -> RunnableConfig:
        """Write ``values`` as if ``as_node`` had run, on the head or on an earlier checkpoint (a fork).

        Nothing may write as the human node, and a paused head is not writable: either would drop the
        pending human task, which only a typed human action may end.

        Raises:
            AwaitingHuman: The head waits for a human.
            InvalidStateUpdate: The graph refuses the write (unknown node, the human node, bad values).
            CheckpointNotFound: ``checkpoint_id`` is not a checkpoint of the conversation.
        """
        if as_node == HUMAN_AGENT:
            msg = f"cannot write as {HUMAN_AGENT}: resume the conversation with a human action"
            raise InvalidStateUpdate(msg)
        async with self._runner.lock(conversation_id):
            if checkpoint_id:
                config = (await self._runner.snapshot(conversation_id, checkpoint_id)).config
            else:
                config = thread_config(conversation_id)
                if await self._runner.awaits_person(conversation_id):
                    msg = (
                        f"conversation {conversation_id} is waiting for a human: "
                        "resume it with a human action, or fork a checkpoint"
                    )
                    raise AwaitingHuman(msg)
            try:
                return await self._runner.graph.aupdate_state(config, dict(values or {}), as_node=as_node)
            except (InvalidUpdateError, ValueError, TypeError, KeyError, NotImplementedError) as exc:
                raise InvalidStateUpdate(str(exc)) from exc

    async def _pre_handoff(self, conversation_id: str, record: HandoffRecord) -> StateSnapshot:
        """The newest checkpoint about to route the turn that triggered ``record``.

        A trigger turn run with one checkpoint per run (``checkpoint_durability=exit``, or a worker
        that believed the thread was still held) has no such checkpoint: then the end of the run
        before it, and the rollback carries the trigger turn like every later one; on a first turn,
        the head itself (nothing came before it).
        """
        wanted = record.message_index + 1
        head: StateSnapshot | None = None
        earlier: StateSnapshot | None = None
        async for snap in self._runner.graph.aget_state_history(thread_config(conversation_id)):
            head = head or snap
            count = len(snap.values.get("messages", []))
            if snap.next == (ROUTER,) and count == wanted:
                return snap
            if earlier is None and 0 < count < wanted:
                earlier = snap
        found = earlier or head
        if found is None:
            msg = f"no checkpoint for handoff {record.id} in {conversation_id}"
            raise NothingToRollBack(msg)
        return found
