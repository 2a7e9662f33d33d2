"""Graph state as the platform API shows it: ``ThreadState``, ``Checkpoint`` and ``Thread`` objects."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from api.auth import Principal
from api.compat.records import ThreadRecord
from api.compat.serde import interrupt_json, jsonable
from api.compat.store import CompatStore
from api.errors import ApiError
from api.turns import TurnService
from graph.builder import GRAPH_ID
from graph.runtime import BatonRuntime


def thread_config(
    thread_id: str, checkpoint_id: str | None = None, checkpoint_ns: str = ""
) -> RunnableConfig:
    """The LangGraph config of a thread, or of one of its checkpoints."""
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        configurable |= {"checkpoint_ns": checkpoint_ns, "checkpoint_id": checkpoint_id}
    return {"configurable": configurable}


def checkpoint_json(config: RunnableConfig | None, thread_id: str) -> dict[str, Any] | None:
    """A ``Checkpoint`` object from a checkpoint's config."""
    if not config:
        return None
    conf = config.get("configurable", {})
    return {
        "thread_id": str(conf.get("thread_id", thread_id)),
        "checkpoint_ns": str(conf.get("checkpoint_ns", "")),
        "checkpoint_id": conf.get("checkpoint_id"),
        "checkpoint_map": conf.get("checkpoint_map"),
    }


def state_json(snap: StateSnapshot, thread_id: str) -> dict[str, Any]:
    """A ``ThreadState``: values, next nodes, tasks with their interrupts, checkpoint and parent."""
    checkpoint = checkpoint_json(snap.config, thread_id) or {}
    parent = checkpoint_json(snap.parent_config, thread_id)
    return {
        "values": jsonable(snap.values),
        "next": list(snap.next),
        "tasks": [
            {
                "id": task.id,
                "name": task.name,
                "path": jsonable(task.path),
                "error": repr(task.error) if task.error else None,
                "interrupts": [interrupt_json(i) for i in task.interrupts],
                "checkpoint": None,
                "state": None,
                "result": jsonable(task.result),
            }
            for task in snap.tasks
        ],
        "interrupts": [interrupt_json(i) for i in snap.interrupts],
        "checkpoint": checkpoint,
        "metadata": jsonable(snap.metadata) if snap.metadata is not None else {},
        "created_at": snap.created_at,
        "parent_checkpoint": parent,
        "checkpoint_id": checkpoint.get("checkpoint_id"),
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }


def thread_status(store: CompatStore, snap: StateSnapshot, busy_elsewhere: bool = False) -> str:
    """``busy`` while a run is active (here, or on another worker: ``busy_elsewhere``), else
    ``interrupted`` when paused, ``error`` after a failure, else ``idle``."""
    thread_id = str(snap.config["configurable"]["thread_id"])
    if busy_elsewhere or store.busy(thread_id):
        return "busy"
    if snap.interrupts:
        return "interrupted"
    if store.last_failed(thread_id):
        return "error"
    return "idle"


def thread_json(
    store: CompatStore, record: ThreadRecord, snap: StateSnapshot, *, busy_elsewhere: bool = False
) -> dict[str, Any]:
    """A ``Thread``: its record plus status, current values and pending interrupts by task."""
    return {
        "thread_id": record.thread_id,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "metadata": record.metadata,
        "status": thread_status(store, snap, busy_elsewhere),
        "values": jsonable(snap.values),
        "interrupts": {t.id: [interrupt_json(i) for i in t.interrupts] for t in snap.tasks if t.interrupts},
    }


async def has_checkpoints(runtime: BatonRuntime, thread_id: str) -> bool:
    """Whether the checkpointer holds anything for the thread."""
    saver = runtime.graph.checkpointer
    if saver is None or isinstance(saver, bool):
        return False
    return await saver.aget_tuple(thread_config(thread_id)) is not None


async def find_thread(store: CompatStore, turns: TurnService, thread_id: str) -> ThreadRecord | None:
    """The thread's record, or None when there is no such thread.

    A conversation started elsewhere (REST, the CLI) is adopted on first use; one with checkpoints but
    no API record (the CLI) gets one, so every door can serve it.
    """
    record = await store.threads.get(thread_id)
    engine = turns.engine
    known = await engine.store.conversation(thread_id) is not None
    if not known and (record is not None or await has_checkpoints(engine.runtime, thread_id)):
        known = await engine.register(thread_id)
    if not known:
        if record is not None:  # its conversation was deleted through another door
            await store.threads.delete(thread_id)
        return None
    if record is None:
        record = await store.threads.add(ThreadRecord(thread_id, {"graph_id": GRAPH_ID}))
    return record


async def require_thread(
    store: CompatStore, turns: TurnService, principal: Principal, thread_id: str
) -> ThreadRecord:
    """The thread's record if the caller may read it: 403 for others, then 404 when there is none."""
    await turns.require_read(principal, thread_id)
    record = await find_thread(store, turns, thread_id)
    if record is None:
        raise ApiError(404, "thread_not_found", f"thread {thread_id} not found")
    return record


async def snapshot_at(
    runtime: BatonRuntime, thread_id: str, checkpoint_id: str, ns: str = ""
) -> StateSnapshot:
    """The state at one checkpoint, or 404."""
    if ns:
        snap = await runtime.graph.aget_state(thread_config(thread_id, checkpoint_id, ns))
        if snap.metadata is None and not snap.values:
            raise ApiError(
                404, "checkpoint_not_found", f"no checkpoint {checkpoint_id} in thread {thread_id}"
            )
        return snap
    return await runtime.snapshot(thread_id, checkpoint_id)
