"""The runtime every entry point uses (CLI, API, evals): post turns, resume humans, roll back.

One ``BatonRuntime`` per process. Turns of one conversation are serialised by a per-thread lock;
different conversations run concurrently. This module owns the turns (a customer message, a human's
resume, an escalation) and reading a conversation; time travel over checkpoints (rollback, fork,
goto, state writes) is ``graph.time_travel``, and both run the graph through ``graph.runner``.
Entry points import the runtime's whole vocabulary (``StreamTap``, the errors) from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StateSnapshot

from graph.actions import Close, Reply, ReturnToAI
from graph.builder import BatonGraph, build_graph
from graph.case_memory import CaseMemory
from graph.chat_model import make_chat_model
from graph.checkpointer import open_checkpointer
from graph.deps import BatonContext
from graph.handoffs import HandoffRegistry, load_registry
from graph.head_reuse import hand_head
from graph.policy_store import PolicyStore
from graph.runner import GraphRunner, StreamTap, pending, thread_config
from graph.runtime_errors import (
    AwaitingHuman,
    CheckpointNotFound,
    ConversationNotFound,
    InvalidStateUpdate,
    NothingToRollBack,
    NotInterrupted,
)
from graph.runtime_models import CheckpointInfo, ConversationView, TurnResult
from graph.settings import Settings, get_settings
from graph.signal_service import SignalService
from graph.state import all_handoffs, current_handoff
from graph.time_travel import TimeTravel
from graph.transcript import Turn, to_turns
from graph.turn_times import stamp

__all__ = [
    "AwaitingHuman",
    "BatonRuntime",
    "CheckpointNotFound",
    "ConversationNotFound",
    "InvalidStateUpdate",
    "NotInterrupted",
    "NothingToRollBack",
    "StreamTap",
]


class BatonRuntime:
    """Runs the Baton graph for many conversations over one checkpointer."""

    def __init__(self, graph: BatonGraph, context: BatonContext, memory: CaseMemory | None = None) -> None:
        self.graph = graph
        self.context = context
        self.memory = memory
        self._runner = GraphRunner(graph, context)
        self._travel = TimeTravel(self._runner)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings | None = None,
        *,
        registry: HandoffRegistry | None = None,
        checkpoint_url: str | None = None,
    ) -> AsyncIterator[BatonRuntime]:
        """Open the checkpointer, load the policy and compile the graph for the process's lifetime."""
        settings = settings or get_settings()
        model = make_chat_model(settings)
        if registry is None:
            modules = [m.strip() for m in settings.handoff_modules.split(",") if m.strip()]
            registry = load_registry(modules)
        policies = PolicyStore(settings.policy)
        unknown = registry.static_targets() - set(policies.current().policy.targets)
        if unknown:
            msg = f"code handoffs name targets missing from the policy: {', '.join(sorted(unknown))}"
            raise ValueError(msg)
        url = settings.checkpoint_url if checkpoint_url is None else checkpoint_url
        memory = CaseMemory(settings.data_dir, url) if settings.case_memory else None
        context = BatonContext(
            settings=settings,
            policies=policies,
            signals=SignalService(model),
            model=model,
            registry=registry,
            retriever=memory.similar if memory else None,
        )
        try:
            async with open_checkpointer(url, settings.data_dir) as saver:
                yield cls(build_graph(saver), context, memory)
        finally:
            if memory is not None:
                memory.close()

    def thread_lock(self, conversation_id: str) -> asyncio.Lock:
        """The lock that serialises runs of one conversation (for callers that drive the graph directly)."""
        return self._runner.lock(conversation_id)

    async def _run(
        self,
        conversation_id: str,
        payload: Any,
        tap: StreamTap | None = None,
    ) -> tuple[TurnResult, dict[str, Any]]:
        before, after, interrupts = await self._runner.stream(conversation_id, payload, tap=tap)
        old_handoff = (before.get("handoff") or {}).get("id")  # JSON of HandoffRecord
        # ``before`` already holds the customer's new turn; replies never include customer turns.
        old_count = len(before.get("messages", []))
        return self._runner.result(conversation_id, after, interrupts, old_count, old_handoff), after

    async def post_message(
        self,
        conversation_id: str,
        text: str | Sequence[BaseMessage],
        *,
        customer: Mapping[str, Any] | None = None,
        tap: StreamTap | None = None,
    ) -> TurnResult:
        """Record a customer turn and run the graph; on a thread waiting for a human it only records it.

        Args:
            conversation_id: The thread.
            text: The customer's text, or the customer messages of one turn.
            customer: The customer profile to store with the turn.
            tap: Extra stream modes to watch.
        """
        messages = [HumanMessage(text)] if isinstance(text, str) else list(text)
        now = self.context.clock()
        messages = [stamp(m, now) for m in messages]  # the time-based rules read when each turn came
        update: dict[str, Any] = {"messages": messages}
        if customer is not None:
            update["customer"] = dict(customer)
        async with self._runner.lock(conversation_id):
            return (await self._run(conversation_id, update, tap=tap))[0]

    async def resume(
        self, conversation_id: str, action: Reply | ReturnToAI | Close, *, tap: StreamTap | None = None
    ) -> TurnResult:
        """Resume a run paused at the human node with an explicit, typed human action.

        Raises:
            NotInterrupted: The conversation is not waiting for a human.
        """
        async with self._runner.lock(conversation_id):
            paused = await self._runner.paused_head(conversation_id)
            if paused is None:
                msg = f"conversation {conversation_id} is not waiting for a human"
                raise NotInterrupted(msg)
            self._runner.held(conversation_id, True)  # also after a restart: one checkpoint per run
            command: Command[Any] = Command(resume=action.model_dump(mode="json"))
            with hand_head(conversation_id, paused):  # the run starts from the head just read
                result, values = await self._run(conversation_id, command, tap=tap)
        if self.memory is not None and not isinstance(action, Reply):
            ended = current_handoff(values)
            if ended and ended.status in ("returned", "closed"):
                await asyncio.to_thread(self.memory.remember, ended)
        return result

    async def escalate(
        self,
        conversation_id: str,
        *,
        reason: str,
        target: str | None = None,
        urgency: str = "medium",
        trigger: str = "explicit_request",
        details: Mapping[str, Any] | None = None,
        tap: StreamTap | None = None,
    ) -> TurnResult:
        """Hand the conversation to a human (or ``target``) now, outside the policy's rules.

        ``details`` are the caller's own handoff fields (skills, priority, campaign, lead, context
        notes, ...; see ``graph.handoff_fields``), carried into the handoff record as given.
        """
        escalation = {
            **(details or {}),
            "reason": reason,
            "target": target,
            "urgency": urgency,
            "trigger": trigger,
        }
        async with self._runner.lock(conversation_id):
            snap = await self._runner.head(conversation_id)
            if not snap.values.get("messages"):
                raise ConversationNotFound(conversation_id)
            return (await self._run(conversation_id, {"escalation": escalation}, tap=tap))[0]

    async def seed_history(self, conversation_id: str, messages: Sequence[BaseMessage]) -> None:
        """Load an existing transcript into a new conversation (imports, evals) without running bots."""
        entry = self.context.policies.current().policy.entry
        await self.graph.aupdate_state(
            thread_config(conversation_id),
            {"messages": list(messages), "active_agent": entry, "status": "bot"},
            as_node=entry,
        )

    async def get(self, conversation_id: str) -> ConversationView:
        """Transcript, status, signals and handoffs of a conversation.

        Raises:
            ConversationNotFound: Unknown id.
        """
        snap = await self._runner.head(conversation_id)
        if not snap.values:
            raise ConversationNotFound(conversation_id)
        values = snap.values
        return ConversationView(
            conversation_id=conversation_id,
            status=values.get("status", "bot"),
            active_agent=values.get("active_agent", ""),
            transcript=to_turns(values.get("messages", [])),
            signals=values.get("signals", {}),
            collected=values.get("collected", {}),
            routing=dict(values["routing"]) if values.get("routing") else None,
            handoff=current_handoff(values),
            handoffs=all_handoffs(values),
            consultations=[dict(c) for c in values.get("consultations", [])],
            pending_interrupt=pending(snap.interrupts),
            checkpoint_id=str(snap.config["configurable"].get("checkpoint_id", "")),
        )

    async def transcript(self, conversation_id: str) -> list[Turn]:
        """The conversation's transcript alone: what ``get`` returns as ``transcript``, read for less.

        Raises:
            ConversationNotFound: Unknown id.
        """
        messages = await self._runner.head_messages(conversation_id)
        if messages is None:
            raise ConversationNotFound(conversation_id)
        return to_turns(messages)

    async def require(self, conversation_id: str) -> None:
        """Check that the conversation holds state, reading no more than its head checkpoint.

        Raises:
            ConversationNotFound: Unknown id, or a deleted conversation.
        """
        if not await self._runner.holds_state(conversation_id):
            raise ConversationNotFound(conversation_id)

    async def require_paused(self, conversation_id: str) -> None:
        """Check that the conversation waits for a person, reading its head checkpoint alone (what
        ``resume`` accepts).

        Raises:
            ConversationNotFound: Unknown id, or a deleted conversation.
            NotInterrupted: The conversation is not waiting for a human.
        """
        if await self._runner.awaits_person(conversation_id):
            return
        await self.require(conversation_id)
        msg = f"conversation {conversation_id} is not waiting for a human"
        raise NotInterrupted(msg)

    async def checkpoints(self, conversation_id: str, *, limit: int | None = None) -> list[CheckpointInfo]:
        """The conversation's checkpoints, newest first (for audits, replay and rollback)."""
        infos: list[CheckpointInfo] = []
        async for snap in self.graph.aget_state_history(thread_config(conversation_id), limit=limit):
            infos.append(CheckpointInfo.from_snapshot(snap))
        if not infos:
            raise ConversationNotFound(conversation_id)
        return infos

    async def rollback(
        self,
        conversation_id: str,
        *,
        reason: str,
        notice: str | None = None,
        tap: StreamTap | None = None,
    ) -> TurnResult:
        """Return a conversation in a human handoff to the AI (``TimeTravel.rollback``)."""
        return await self._travel.rollback(conversation_id, reason=reason, notice=notice, tap=tap)

    async def fork(
        self,
        conversation_id: str,
        checkpoint_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        tap: StreamTap | None = None,
    ) -> TurnResult:
        """Continue from an earlier checkpoint, optionally edited (``TimeTravel.fork``)."""
        return await self._travel.fork(conversation_id, checkpoint_id, values, tap=tap)

    async def goto(self, conversation_id: str, bot: str, *, tap: StreamTap | None = None) -> TurnResult:
        """Let ``bot`` speak next without a customer turn (``TimeTravel.goto``)."""
        return await self._travel.goto(conversation_id, bot, tap=tap)

    async def update_state(
        self,
        conversation_id: str,
        values: Mapping[str, Any] | None,
        *,
        as_node: str | None = None,
        checkpoint_id: str | None = None,
    ) -> RunnableConfig:
        """Write ``values`` on the head or on an earlier checkpoint (``TimeTravel.update_state``)."""
        return await self._travel.update_state(
            conversation_id, values, as_node=as_node, checkpoint_id=checkpoint_id
        )

    async def delete(self, conversation_id: str) -> None:
        """Delete every checkpoint of the conversation."""
        saver = self.graph.checkpointer
        async with self._runner.lock(conversation_id):
            if saver is not None and not isinstance(saver, bool):
                await saver.adelete_thread(conversation_id)
            self._runner.held(conversation_id, False)

    async def snapshot(self, conversation_id: str, checkpoint_id: str | None = None) -> StateSnapshot:
        """The state at the head, or at one earlier checkpoint (``GraphRunner.snapshot``)."""
        return await self._runner.snapshot(conversation_id, checkpoint_id)
