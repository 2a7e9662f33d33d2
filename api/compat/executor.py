"""Running the graph for one platform-API run: plan it, check it, execute it, stream its events.

A run is one of: a customer turn (``input``), a typed human action (``command.resume``), a jump to a
bot (``command.goto``), or a fork from an earlier checkpoint (``checkpoint_id``) that re-enters the
router (optionally with a new turn, then optionally resumed on the new head). Runs of one thread
execute one at a time under the runtime's per-thread lock, with the runtime's context.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.constants import START
from langgraph.types import Command
from langgraph.types import StreamMode as GraphMode
from pydantic import ValidationError

from api.compat.models import RunCreate, StreamMode
from api.compat.records import CompatStore, RunRecord
from api.compat.serde import jsonable
from api.compat.state import snapshot_at, thread_config
from api.errors import ApiError
from graph.actions import HUMAN_ACTION
from graph.runtime import BatonRuntime
from nodes.names import BOT_NODES

log = logging.getLogger("baton.api.compat")

# The graph's stream mode behind each platform stream mode.
GRAPH_MODE: dict[str, GraphMode] = {
    "values": "values",
    "updates": "updates",
    "messages": "messages",
    "messages-tuple": "messages",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
}


@dataclass(frozen=True)
class RunPlan:
    """What a run will do, validated before it is queued."""

    thread_id: str
    input: dict[str, Any] | None
    resume: dict[str, Any] | None
    goto: str | None
    fork_from: str | None
    modes: tuple[StreamMode, ...]
    recursion_limit: int | None


def _unsupported(field: str, why: str) -> ApiError:
    return ApiError(422, "unsupported", f"{field} is not supported: {why}")


def make_plan(thread_id: str, body: RunCreate) -> RunPlan:
    """Validate a run body; 422 on anything Baton cannot run faithfully."""
    if body.context:
        raise _unsupported("context", "Baton runs with its server-side context (model, policies, desk)")
    if body.interrupt_before or body.interrupt_after:
        raise _unsupported("interrupt_before/interrupt_after", "Baton pauses only at the human node")
    if body.webhook or body.after_seconds:
        raise _unsupported("webhook/after_seconds", "runs start now and report through the API")
    if body.multitask_strategy in ("interrupt", "rollback"):
        raise _unsupported(f"multitask_strategy {body.multitask_strategy!r}", "use 'enqueue' or 'reject'")
    fork_from = body.fork_from()
    command = body.command
    if body.input is not None and command is not None:
        raise ApiError(422, "invalid_run", "send either input (a customer turn) or command, not both")
    if body.input is None and command is None and fork_from is None:
        raise ApiError(422, "invalid_run", "a run needs input, a command, or a checkpoint_id to fork from")
    resume: dict[str, Any] | None = None
    goto: str | None = None
    if command is not None:
        if (command.resume is None) == (command.goto is None):
            raise ApiError(422, "invalid_command", "a command needs exactly one of resume or goto")
        if command.resume is not None:
            try:
                action = HUMAN_ACTION.validate_python(command.resume)
            except ValidationError as exc:
                details = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
                msg = "command.resume must be a human action: reply, return_to_ai or close"
                raise ApiError(422, "invalid_human_action", msg, details=details) from exc
            resume = action.model_dump(mode="json")
        elif command.goto not in BOT_NODES:
            raise ApiError(422, "invalid_command", f"command.goto must be one of {', '.join(BOT_NODES)}")
        else:
            goto = command.goto
            if fork_from:
                raise ApiError(422, "invalid_run", "command.goto cannot be combined with a fork")
    limit = (body.config or {}).get("recursion_limit")
    return RunPlan(
        thread_id=thread_id,
        input=body.input.to_graph() if body.input is not None else None,
        resume=resume,
        goto=goto,
        fork_from=fork_from,
        modes=tuple(body.modes()),
        recursion_limit=int(limit) if limit else None,
    )


def _not_interrupted(thread_id: str, where: str = "") -> ApiError:
    return ApiError(
        409, "not_interrupted", f"thread {thread_id}{where} is not waiting for a human; nothing to resume"
    )


async def check(runtime: BatonRuntime, plan: RunPlan) -> None:
    """Refuse a run the thread's state does not allow (404 unknown checkpoint, 409 wrong pause state).

    Checked when the request arrives and again when the run starts under the thread's lock.
    """
    if plan.fork_from:
        past = await snapshot_at(runtime, plan.thread_id, plan.fork_from)
        if plan.resume is not None and not past.interrupts:
            raise _not_interrupted(plan.thread_id, f" at checkpoint {plan.fork_from}")
        return
    head = await runtime.graph.aget_state(thread_config(plan.thread_id))
    if plan.resume is not None and not head.interrupts:
        raise _not_interrupted(plan.thread_id)
    if plan.goto is not None and head.interrupts:
        msg = f"thread {plan.thread_id} is waiting for a human: resume it with a human action"
        raise ApiError(409, "awaiting_human", msg)


class _MessageEvents:
    """The ``messages`` stream mode's events: metadata once per message id, then partial or complete."""

    def __init__(self) -> None:
        self.seen: dict[str, BaseMessage] = {}

    def events(self, message: BaseMessage, metadata: dict[str, Any]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        key = message.id or str(id(message))
        previous = self.seen.get(key)
        if previous is None:
            out.append(("messages/metadata", {key: {"metadata": jsonable(metadata)}}))
        if isinstance(message, AIMessageChunk):
            merged = message if not isinstance(previous, AIMessageChunk) else previous + message
            self.seen[key] = merged
            out.append(("messages/partial", [jsonable(merged)]))
        else:
            self.seen[key] = message
            out.append(("messages/complete", [jsonable(message)]))
        return out


async def _stream(
    runtime: BatonRuntime, payload: Any, config: RunnableConfig, plan: RunPlan
) -> AsyncIterator[tuple[str, Any]]:
    """The graph's stream as platform events; ``values`` always (it is the run's output)."""
    graph_modes: list[GraphMode] = list(dict.fromkeys(["values", *(GRAPH_MODE[m] for m in plan.modes)]))
    if plan.recursion_limit:
        config = {**config, "recursion_limit": plan.recursion_limit}
    messages = _MessageEvents()
    async for part in runtime.graph.astream(
        payload, config, context=runtime.context, stream_mode=graph_modes, durability="sync"
    ):
        mode, chunk = cast(tuple[str, Any], part)  # a list of modes streams (mode, chunk) pairs
        if mode != "messages":
            yield mode, jsonable(chunk)
            continue
        message, metadata = cast(tuple[BaseMessage, dict[str, Any]], chunk)
        if "messages-tuple" in plan.modes:
            yield "messages", [jsonable(message), jsonable(metadata)]
        if "messages" in plan.modes:
            for event in messages.events(message, metadata):
                yield event


async def run_events(runtime: BatonRuntime, plan: RunPlan) -> AsyncIterator[tuple[str, Any]]:
    """Execute the plan (caller holds the thread's lock) and yield its events."""
    await check(runtime, plan)
    graph = runtime.graph
    head = thread_config(plan.thread_id)
    if plan.fork_from:
        past = await snapshot_at(runtime, plan.thread_id, plan.fork_from)
        # A fork is a new child of the old checkpoint entering at the router: resuming the old
        # checkpoint itself would replay the answer stored there instead of deciding again.
        fork = await graph.aupdate_state(past.config, plan.input or {}, as_node=START)
        async for event in _stream(runtime, None, fork, plan):
            yield event
        if plan.resume is None:
            return
        if not (await graph.aget_state(head)).interrupts:
            raise _not_interrupted(plan.thread_id, " after the fork")
    payload: Any = plan.input
    if plan.resume is not None:
        payload = Command(resume=plan.resume)
    elif plan.goto is not None:
        payload = Command(goto=plan.goto)
    async for event in _stream(runtime, payload, head, plan):
        yield event


def _requested(event: str, modes: tuple[StreamMode, ...]) -> bool:
    if event.startswith("messages/"):
        return "messages" in modes
    if event == "messages":
        return "messages-tuple" in modes
    return event in modes


async def execute(runtime: BatonRuntime, store: CompatStore, run: RunRecord, plan: RunPlan) -> None:
    """The body of a run's task: wait for the thread, run, record the outcome, tell listeners."""
    try:
        async with runtime.thread_lock(plan.thread_id):
            run.set_status("running")
            before = (await runtime.graph.aget_state(thread_config(plan.thread_id))).values.get("handoff")
            async for event, data in run_events(runtime, plan):
                if event == "values":
                    run.output = data
                if _requested(event, plan.modes):
                    run.publish(event, data)
            snap = await runtime.graph.aget_state(thread_config(plan.thread_id))
            if run.output is None:
                run.output = jsonable(snap.values)
            record = snap.values.get("handoff")
        if record and record["id"] != (before or {}).get("id") and store.on_handoff is not None:
            await store.on_handoff(plan.thread_id, dict(record))
        run.set_status("interrupted" if snap.interrupts else "success")
    except asyncio.CancelledError:
        run.error = {"error": "cancelled", "message": f"run {run.run_id} was cancelled"}
        run.set_status("interrupted")
        raise
    except ApiError as exc:
        run.error = {"error": exc.code, "message": exc.message}
        run.set_status("error")
    except Exception as exc:
        log.exception("run %s on thread %s failed", run.run_id, plan.thread_id)
        run.error = {"error": type(exc).__name__, "message": str(exc)}
        run.set_status("error")
    finally:
        if run.error:
            run.publish("error", run.error)
        run.publish("end", {"run_id": run.run_id, "status": run.status})
        run.close()
        thread = store.threads.get(plan.thread_id)
        if thread is not None:
            thread.touch()
