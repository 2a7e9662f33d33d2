"""The runtime every entry point uses (CLI, API, evals): post turns, resume humans, roll back.

One ``BatonRuntime`` per process. Turns of one conversation are serialised by a per-thread lock;
different conversations run concurrently.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.constants import START
from langgraph.errors import InvalidUpdateError
from langgraph.types import Command, Interrupt, StateSnapshot
from langgraph.types import StreamMode as GraphMode

from graph.actions import Close, Reply, ReturnToAI
from graph.builder import BatonGraph, build_graph
from graph.case_memory import CaseMemory
from graph.chat_model import make_chat_model
from graph.checkpointer import open_checkpointer
from graph.deps import BatonContext
from graph.handoffs import HandoffRegistry, load_registry
from graph.policy_store import PolicyStore
from graph.runtime_models import CheckpointInfo, ConversationView, TurnReply, TurnResult
from graph.settings import Settings, get_settings
from graph.signal_service import SignalService
from graph.state import HandoffRecord, WaitingHandoff, all_handoffs, current_handoff
from graph.transcript import SYSTEM_NAME, to_turns
from graph.turn_times import stamp
from nodes.names import BOT_NODES, HUMAN_AGENT, ROUTER


class ConversationNotFound(LookupError):
    """No conversation (thread) with that id has any checkpoint."""


class CheckpointNotFound(LookupError):
    """No checkpoint with that id in the conversation."""


class NotInterrupted(RuntimeError):
    """A resume was sent to a conversation that is not waiting for a human."""


class NothingToRollBack(RuntimeError):
    """Rollback asked for a conversation with no human handoff in progress."""


class AwaitingHuman(RuntimeError):
    """A change that would drop the pending human task (a write on a paused head, a jump to a bot)."""


class InvalidStateUpdate(ValueError):
    """A state write the graph refuses (unknown node, a write as the human node, bad values)."""


@dataclass(frozen=True)
class StreamTap:
    """Extra stream modes a caller watches while a run executes (the LangGraph-compatible API).

    ``emit(mode, chunk)`` receives every chunk of ``modes`` and of ``values`` as the graph yields it,
    on the event loop, before the run's result is known.
    """

    modes: tuple[GraphMode, ...]
    emit: Callable[[str, Any], None]
    recursion_limit: int | None = None


# Where a ``values`` stream chunk carries the run's pending interrupts (the constant is private upstream).
_INTERRUPT = "__interrupt__"


def _pending(interrupts: Sequence[Interrupt]) -> WaitingHandoff | None:
    """What the first pending interrupt waits on (the human node's payload)."""
    return WaitingHandoff.model_validate(interrupts[0].value) if interrupts else None


def _config(conversation_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": conversation_id}}


class BatonRuntime:
    """Runs the Baton graph for many conversations over one checkpointer."""

    def __init__(self, graph: BatonGraph, context: BatonContext, memory: CaseMemory | None = None) -> None:
        self.graph = graph
        self.context = context
        self.memory = memory
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

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
        memory = CaseMemory(settings.data_dir) if settings.case_memory else None
        context = BatonContext(
            settings=settings,
            policies=policies,
            signals=SignalService(model),
            model=model,
            registry=registry,
            retriever=memory.similar if memory else None,
        )
        url = settings.checkpoint_url if checkpoint_url is None else checkpoint_url
        async with open_checkpointer(url, settings.data_dir) as saver:
            yield cls(build_graph(saver), context, memory)

    def thread_lock(self, conversation_id: str) -> asyncio.Lock:
        """The lock that serialises runs of one conversation (for callers that drive the graph directly)."""
        return self._lock(conversation_id)

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def _snapshot(self, conversation_id: str) -> StateSnapshot:
        return await self.graph.aget_state(_config(conversation_id))

    async def _stream(
        self,
        conversation_id: str,
        payload: Any,
        config: RunnableConfig | None = None,
        tap: StreamTap | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any], tuple[Interrupt, ...]]:
        """Run the graph once; return the state it started from, the state it ended in, and its interrupts.

        Both states come from the ``values`` stream instead of ``aget_state`` before and after: on
        SQLite those two reads cost as much as the run itself (benchmarks/README.md). A ``tap`` sees
        the chunks of the stream modes it asks for as they come.
        """
        first: dict[str, Any] | None = None
        last: dict[str, Any] = {}
        interrupts: tuple[Interrupt, ...] = ()
        modes: list[GraphMode] = list(dict.fromkeys(["values", *(tap.modes if tap else ())]))
        config = config or _config(conversation_id)
        if tap is not None and tap.recursion_limit:
            config = {**config, "recursion_limit": tap.recursion_limit}
        async for part in self.graph.astream(
            payload,
            config,
            context=self.context,
            # "sync" (default) keeps a checkpoint per step for time travel; "exit" writes one per run
            # before the turn is answered (settings.checkpoint_durability, benchmarks/README.md).
            durability=self.context.settings.checkpoint_durability,
            stream_mode=modes if tap else "values",
        ):
            if tap is not None:
                mode, chunk = cast(tuple[str, Any], part)  # a list of modes streams (mode, chunk) pairs
                tap.emit(mode, chunk)
                if mode != "values":
                    continue
            else:
                chunk = part
            values = dict(chunk)
            interrupts = values.pop(_INTERRUPT, ()) or interrupts
            first = values if first is None else first
            last = values
        if first is None:  # nothing ran (e.g. an already finished fork): report the stored state
            snap = await self._snapshot(conversation_id)
            return snap.values, snap.values, snap.interrupts
        return first, last, interrupts

    async def _run(
        self,
        conversation_id: str,
        payload: Any,
        config: RunnableConfig | None = None,
        tap: StreamTap | None = None,
    ) -> tuple[TurnResult, dict[str, Any]]:
        before, after, interrupts = await self._stream(conversation_id, payload, config, tap)
        old_handoff = (before.get("handoff") or {}).get("id")  # JSON of HandoffRecord
        # ``before`` already holds the customer's new turn; replies never include customer turns.
        old_count = len(before.get("messages", []))
        return self._result(conversation_id, after, interrupts, old_count, old_handoff), after

    def _result(
        self,
        conversation_id: str,
        values: Mapping[str, Any],
        interrupts: Sequence[Interrupt],
        old_count: int,
        old_handoff: str | None,
    ) -> TurnResult:
        turns = to_turns(values.get("messages", []))
        replies = [
            TurnReply(index=t.index, role=t.role, speaker=t.speaker, text=t.text)
            for t in turns[old_count:]
            if t.role != "customer"
        ]
        record = current_handoff(values)
        return TurnResult(
            conversation_id=conversation_id,
            status=values.get("status", "bot"),
            active_agent=values.get("active_agent", ""),
            replies=replies,
            handoff=record if record and record.id != old_handoff else None,
            pending_interrupt=_pending(interrupts),
            routing=dict(values["routing"]) if values.get("routing") else None,
        )

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
        async with self._lock(conversation_id):
            return (await self._run(conversation_id, update, tap=tap))[0]

    async def resume(
        self, conversation_id: str, action: Reply | ReturnToAI | Close, *, tap: StreamTap | None = None
    ) -> TurnResult:
        """Resume a run paused at the human node with an explicit, typed human action.

        Raises:
            NotInterrupted: The conversation is not waiting for a human.
        """
        async with self._lock(conversation_id):
            snap = await self._snapshot(conversation_id)
            if not snap.interrupts:
                msg = f"conversation {conversation_id} is not waiting for a human"
                raise NotInterrupted(msg)
            command: Command[Any] = Command(resume=action.model_dump(mode="json"))
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
        async with self._lock(conversation_id):
            snap = await self._snapshot(conversation_id)
            if not snap.values.get("messages"):
                raise ConversationNotFound(conversation_id)
            return (await self._run(conversation_id, {"escalation": escalation}, tap=tap))[0]

    async def seed_history(self, conversation_id: str, messages: Sequence[BaseMessage]) -> None:
        """Load an existing transcript into a new conversation (imports, evals) without running bots."""
        entry = self.context.policies.current().policy.entry
        await self.graph.aupdate_state(
            _config(conversation_id),
            {"messages": list(messages), "active_agent": entry, "status": "bot"},
            as_node=entry,
        )

    async def get(self, conversation_id: str) -> ConversationView:
        """Transcript, status, signals and handoffs of a conversation.

        Raises:
            ConversationNotFound: Unknown id.
        """
        snap = await self._snapshot(conversation_id)
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
            pending_interrupt=_pending(snap.interrupts),
            checkpoint_id=str(snap.config["configurable"].get("checkpoint_id", "")),
        )

    async def checkpoints(self, conversation_id: str, *, limit: int | None = None) -> list[CheckpointInfo]:
        """The conversation's checkpoints, newest first (for audits, replay and rollback)."""
        infos: list[CheckpointInfo] = []
        async for snap in self.graph.aget_state_history(_config(conversation_id), limit=limit):
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
        """Return a conversation in a human handoff to the AI from the checkpoint before the handoff.

        The conversation forks from that checkpoint, but everything said since (the trigger turn, the
        narration, any waiting customer turns or human replies) is carried over so nothing is lost, the
        failed handoff stays in ``handoffs`` as ``rolled_back``, and the bot that handed off speaks next
        with ``notice`` (what the customer is told happens now).

        Raises:
            NothingToRollBack: No human handoff is in progress.
        """
        async with self._lock(conversation_id):
            head = await self._snapshot(conversation_id)
            record = current_handoff(head.values)
            if not record or record.kind != "human" or record.status != "active":
                msg = f"conversation {conversation_id} has no human handoff in progress"
                raise NothingToRollBack(msg)
            pre = await self._pre_handoff(conversation_id, record)
            policy = self.context.policies.current().policy
            bot = record.from_agent if record.from_agent in BOT_NODES else policy.entry
            text = notice or policy.handoff.no_agent_message
            rolled = record.changed(status="rolled_back", note=text, ended_at=len(head.values["messages"]))
            pre_ids = {m.id for m in pre.values.get("messages", [])}
            carried = [m for m in head.values["messages"] if m.id not in pre_ids]
            marker = AIMessage(f"Handoff to {record.to} rolled back: {reason}", name=SYSTEM_NAME)
            fork = await self.graph.aupdate_state(
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
            _, after, interrupts = await self._stream(conversation_id, Command(goto=bot), fork, tap)
            return self._result(conversation_id, after, interrupts, old_count, record.id)

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
        async with self._lock(conversation_id):
            past = await self.snapshot(conversation_id, checkpoint_id)
            head = await self._snapshot(conversation_id)
            fork = await self.graph.aupdate_state(past.config, dict(values or {}), as_node=START)
            _, after, interrupts = await self._stream(conversation_id, None, fork, tap)
            return self._result(
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
        async with self._lock(conversation_id):
            head = await self._snapshot(conversation_id)
            if not head.values.get("messages"):
                # A jump on a thread with no turn leaves a checkpoint LangGraph cannot read back.
                raise ConversationNotFound(conversation_id)
            if head.interrupts:
                msg = f"conversation {conversation_id} is waiting for a human: resume it with a human action"
                raise AwaitingHuman(msg)
            old_handoff = (head.values.get("handoff") or {}).get("id")
            _, after, interrupts = await self._stream(conversation_id, Command(goto=bot), tap=tap)
            old_count = len(head.values.get("messages", []))
            return self._result(conversation_id, after, interrupts, old_count, old_handoff)

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
        async with self._lock(conversation_id):
            if checkpoint_id:
                config = (await self.snapshot(conversation_id, checkpoint_id)).config
            else:
                config = _config(conversation_id)
                if (await self._snapshot(conversation_id)).interrupts:
                    msg = (
                        f"conversation {conversation_id} is waiting for a human: "
                        "resume it with a human action, or fork a checkpoint"
                    )
                    raise AwaitingHuman(msg)
            try:
                return await self.graph.aupdate_state(config, dict(values or {}), as_node=as_node)
            except (InvalidUpdateError, ValueError, TypeError, KeyError, NotImplementedError) as exc:
                raise InvalidStateUpdate(str(exc)) from exc

    async def delete(self, conversation_id: str) -> None:
        """Delete every checkpoint of the conversation."""
        saver = self.graph.checkpointer
        async with self._lock(conversation_id):
            if saver is not None and not isinstance(saver, bool):
                await saver.adelete_thread(conversation_id)

    async def snapshot(self, conversation_id: str, checkpoint_id: str | None = None) -> StateSnapshot:
        """The state at the head, or at one earlier checkpoint.

        Raises:
            CheckpointNotFound: ``checkpoint_id`` is given and is not a checkpoint of the conversation.
        """
        if not checkpoint_id:
            return await self._snapshot(conversation_id)
        config: RunnableConfig = {
            "configurable": {
                "thread_id": conversation_id,
                "checkpoint_ns": "",
                "checkpoint_id": checkpoint_id,
            }
        }
        snap = await self.graph.aget_state(config)
        if snap.metadata is None and not snap.values:
            msg = f"no checkpoint {checkpoint_id} in conversation {conversation_id}"
            raise CheckpointNotFound(msg)
        return snap

    async def _pre_handoff(self, conversation_id: str, record: HandoffRecord) -> StateSnapshot:
        """The newest checkpoint about to route the turn that triggered ``record``."""
        wanted = record.message_index + 1
        async for snap in self.graph.aget_state_history(_config(conversation_id)):
            if snap.next == (ROUTER,) and len(snap.values.get("messages", [])) == wanted:
                return snap
        msg = f"no pre-handoff checkpoint for handoff {record.id} in {conversation_id}"
        raise NothingToRollBack(msg)
