"""One graph run on one conversation's thread: the per-thread lock, the streamed run, its result.

``GraphRunner`` is what the runtime's turns (``graph.runtime``) and its time travel
(``graph.time_travel``) share: it serialises runs of one conversation, streams one run (with an
optional ``StreamTap``), reads snapshots at the head or at a checkpoint, and turns a run's end state
into a ``TurnResult``.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.types import Durability, Interrupt, StateSnapshot
from langgraph.types import StreamMode as GraphMode

from graph.builder import BatonGraph
from graph.deps import BatonContext
from graph.inline_sqlite import InlineSqliteSaver
from graph.run_writes import run_writes
from graph.runtime_errors import CheckpointNotFound
from graph.runtime_models import TurnReply, TurnResult
from graph.state import WaitingHandoff, current_handoff
from graph.transcript import to_turns


@dataclass(frozen=True)
class StreamTap:
    """Extra stream modes a caller watches while a run executes (the LangGraph-compatible API).

    ``emit(mode, chunk)`` receives every chunk of ``modes`` and of ``values`` as the graph yields it,
    on the event loop, before the run's result is known.
    """

    modes: tuple[GraphMode, ...]
    emit: Callable[[str, Any], None]
    recursion_limit: int | None = None


# Held threads remembered per process (~100 bytes each); more than a worker holds open at once.
_HELD_MAX = 100_000

# Where a ``values`` stream chunk carries the run's pending interrupts (the constant is private upstream).
_INTERRUPT = "__interrupt__"
_MESSAGES = "messages"


def pending(interrupts: Sequence[Interrupt]) -> WaitingHandoff | None:
    """What the first pending interrupt waits on (the human node's payload)."""
    return WaitingHandoff.model_validate(interrupts[0].value) if interrupts else None


def thread_config(conversation_id: str) -> RunnableConfig:
    """The config of a conversation's thread at its head."""
    return {"configurable": {"thread_id": conversation_id}}


def collect_run_garbage() -> None:
    """Free what a finished run left in reference cycles: one young collection.

    LangGraph's loop, runner, channels and an interrupt's traceback (~360 objects a run) are
    unreachable once the run is done but in cycles. Left to the young threshold, one collection freed
    ~25 runs' worth and paused every request in flight for 5-12 ms (benchmarks/README.md). The older
    generations stay on Python's own schedule: collecting the middle one here every 10 runs as well
    gave 13 middle collections over 5 ms at 10,000 held, and a longer relay tail.
    """
    gc.collect(0)


class GraphRunner:
    """Runs the compiled graph over its checkpointer; runs of one conversation never overlap."""

    def __init__(self, graph: BatonGraph, context: BatonContext) -> None:
        self.graph = graph
        self.context = context
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Threads whose last run here paused at the human node. Their runs (a customer turn while a
        # person holds the conversation, the person's reply, return or close) write one checkpoint at
        # the end instead of one per step: time travel never starts inside them (a rollback forks from
        # before the handoff turn), and the end-of-run checkpoint is written before the run returns, so
        # kill -9 loses nothing. A hint only: another worker may have moved the thread on, which
        # changes how many checkpoints one run writes, never what the conversation holds. Threads
        # another worker moved on stay here, so the oldest are forgotten past _HELD_MAX (insertion
        # order of a dict): their next run writes per step until a resume notes them again.
        self._held: dict[str, None] = {}

    def lock(self, conversation_id: str) -> asyncio.Lock:
        """The lock that serialises runs of one conversation."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def head(self, conversation_id: str) -> StateSnapshot:
        """The state at the head of the conversation's thread."""
        return await self.graph.aget_state(thread_config(conversation_id))

    async def head_messages(self, conversation_id: str) -> list[BaseMessage] | None:
        """The messages at the head of the thread; None when the thread holds no state.

        Read from the head checkpoint alone: ``head`` rebuilds every channel and the next tasks to
        give the same list (~0.5 ms per read of a handoff by its agent). A pending write of the head
        that adds messages (a step that is running or was cut short) is applied by ``head``, so such a
        head is read through it.
        """
        saver = self.graph.checkpointer
        if isinstance(saver, BaseCheckpointSaver):
            saved = await saver.aget_tuple(thread_config(conversation_id))
            if saved is None:
                return None
            if not any(write[1] == _MESSAGES for write in saved.pending_writes or ()):
                values = saved.checkpoint["channel_values"]
                return list(values.get(_MESSAGES, ())) if values else None
        snap = await self.head(conversation_id)
        return list(snap.values.get(_MESSAGES, ())) if snap.values else None

    async def holds_state(self, conversation_id: str) -> bool:
        """Whether the thread holds state: ``head_messages`` would return a list, here not built.

        A human action checks that its conversation was not deleted before it runs; building the
        transcript for that took ~1-2 ms of turning messages into turns on a long thread.
        """
        saver = self.graph.checkpointer
        if isinstance(saver, BaseCheckpointSaver):
            saved = await saver.aget_tuple(thread_config(conversation_id))
            if saved is None:
                return False
            if saved.checkpoint["channel_values"]:
                return True
        return await self.head_messages(conversation_id) is not None  # pending writes only: rare

    async def awaits_person(self, conversation_id: str) -> bool:
        """Whether the thread's head is paused at an ``interrupt`` (the human node waits for a person)."""
        return await self.paused_head(conversation_id) is not None

    async def paused_head(self, conversation_id: str) -> CheckpointTuple | None:
        """The thread's head checkpoint when it is paused at an ``interrupt``, else ``None``.

        Read from the head checkpoint's pending writes, where LangGraph keeps a paused task's
        interrupt: ``aget_state`` finds it there too, after rebuilding every channel and the next
        tasks (0.4-0.6 ms per resume) that this check does not need.
        """
        saver = self.graph.checkpointer
        if not isinstance(saver, BaseCheckpointSaver):  # compiled without one: nothing can be paused
            return None
        saved = await saver.aget_tuple(thread_config(conversation_id))
        if saved is not None and any(write[1] == _INTERRUPT for write in saved.pending_writes or ()):
            return saved
        return None

    async def snapshot(self, conversation_id: str, checkpoint_id: str | None = None) -> StateSnapshot:
        """The state at the head, or at one earlier checkpoint.

        Raises:
            CheckpointNotFound: ``checkpoint_id`` is given and is not a checkpoint of the conversation.
        """
        if not checkpoint_id:
            return await self.head(conversation_id)
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

    async def stream(
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
        config = config or thread_config(conversation_id)
        if tap is not None and tap.recursion_limit:
            config = {**config, "recursion_limit": tap.recursion_limit}
        async with run_writes(self.graph.checkpointer, conversation_id):
            async for part in self.graph.astream(
                payload,
                config,
                context=self.context,
                durability=self.durability(conversation_id),
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
            snap = await self.head(conversation_id)
            first = last = snap.values
            interrupts = snap.interrupts
        self.held(conversation_id, bool(interrupts))
        if isinstance(self.graph.checkpointer, InlineSqliteSaver):
            self.graph.checkpointer.run_ended(conversation_id)
        if self.context.settings.gc_after_run and gc.isenabled():
            collect_run_garbage()
        return first, last, interrupts

    def durability(self, conversation_id: str) -> Durability:
        """How often a run on this thread writes checkpoints.

        ``settings.checkpoint_durability``: "sync" (default) keeps a checkpoint per step for time
        travel, "exit" one per run, written before the turn is answered (benchmarks/README.md). Runs
        on a thread a person holds are "exit" in both (see ``_held``).
        """
        if conversation_id in self._held:
            return "exit"
        return self.context.settings.checkpoint_durability

    def held(self, conversation_id: str, paused: bool) -> None:
        """Note whether the thread's latest run paused at the human node (or forget it: ``False``)."""
        self._held.pop(conversation_id, None)
        if paused:
            self._held[conversation_id] = None
            if len(self._held) > _HELD_MAX:
                del self._held[next(iter(self._held))]

    def result(
        self,
        conversation_id: str,
        values: Mapping[str, Any],
        interrupts: Sequence[Interrupt],
        old_count: int,
        old_handoff: str | None,
    ) -> TurnResult:
        """What a run produced: the replies after the first ``old_count`` messages, a new handoff, a pause."""
        # Only the run's own messages: the whole history grows with the conversation, every turn.
        turns = to_turns(values.get("messages", []), old_count)
        replies = [
            TurnReply(index=t.index, role=t.role, speaker=t.speaker, text=t.text)
            for t in turns
            if t.role != "customer"
        ]
        record = current_handoff(values)
        return TurnResult(
            conversation_id=conversation_id,
            status=values.get("status", "bot"),
            active_agent=values.get("active_agent", ""),
            replies=replies,
            handoff=record if record and record.id != old_handoff else None,
            pending_interrupt=pending(interrupts),
            routing=dict(values["routing"]) if values.get("routing") else None,
        )
