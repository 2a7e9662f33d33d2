"""A platform-API run as a request to the one door, and the door's stream as platform events.

A run is one of: a customer turn (``input``), a typed human action (``command.resume``), a jump to a
bot (``command.goto``), or a fork from an earlier checkpoint (``checkpoint_id``) that re-enters the
router (optionally with a new turn, then optionally a human action on the new head). ``make_request``
turns the body into the door's request; the door (``api/turns.py``) admits it when the HTTP request
arrives and runs it in the run's task, with the same auth, limits, lock, events and desk as REST.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from langchain_core.messages import AIMessageChunk, BaseMessage
from langgraph.types import StreamMode as GraphMode
from pydantic import ValidationError

from api.compat.models import RunCreate, StreamMode
from api.compat.records import RunRecord
from api.compat.serde import customer_values, jsonable
from api.compat.store import CompatStore
from api.errors import ApiError, domain_error
from api.turns import CustomerTurn, ForkTurn, GotoTurn, HumanTurn, Ticket, TurnRequest, TurnService
from graph.actions import HUMAN_ACTION, Close, Reply, ReturnToAI
from graph.runtime import StreamTap
from graph.transcript import SYSTEM_NAME

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


def _action(raw: Any) -> Reply | ReturnToAI | Close:
    try:
        return HUMAN_ACTION.validate_python(raw)
    except ValidationError as exc:
        details = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        msg = "command.resume must be a human action: reply, return_to_ai or close"
        raise ApiError(422, "invalid_human_action", msg, details=details) from exc


def recursion_limit(body: RunCreate) -> int | None:
    """``config.recursion_limit`` as a positive int, or None; 422 for anything else."""
    raw = (body.config or {}).get("recursion_limit")
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= 10_000:
        raise ApiError(
            422,
            "validation_error",
            "invalid request: config.recursion_limit",
            details=[
                {"field": "config.recursion_limit", "location": "body", "message": "an integer 1-10000"}
            ],
        )
    return raw


def make_request(thread_id: str, body: RunCreate) -> TurnRequest:
    """The door's request for a run body; 422 on anything Baton cannot run faithfully.

    What Baton never supports (a context, static interrupts, webhooks, delayed runs) the model refuses.
    """
    recursion_limit(body)
    fork_from = body.fork_from()
    command = body.command
    if body.input is not None and command is not None:
        raise ApiError(422, "invalid_run", "send either input (a customer turn) or command, not both")
    texts = tuple(m.text() for m in body.input.messages) if body.input is not None else ()
    if command is not None and (command.resume is None) == (command.goto is None):
        raise ApiError(422, "invalid_command", "a command needs exactly one of resume or goto")
    action = _action(command.resume) if command is not None and command.resume is not None else None
    if fork_from:
        if command is not None and command.goto is not None:
            raise ApiError(422, "invalid_run", "command.goto cannot be combined with a fork")
        return ForkTurn(thread_id, fork_from, texts, action)
    if action is not None:
        return HumanTurn(action, conversation_id=thread_id)
    if command is not None and command.goto is not None:
        return GotoTurn(thread_id, command.goto)
    if body.input is None:
        raise ApiError(422, "invalid_run", "a run needs input, a command, or a checkpoint_id to fork from")
    return CustomerTurn(thread_id, texts, body.input.customer)


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


def tap_for(
    run: RunRecord, modes: tuple[StreamMode, ...], limit: int | None, *, customer: bool = False
) -> StreamTap:
    """A tap that turns the graph's stream into the run's output and its listeners' events.

    For the thread's ``customer`` the values are the customer's view and internal lines never stream.
    """
    messages = _MessageEvents()

    def emit(mode: str, chunk: Any) -> None:
        if mode == "values":
            run.output = customer_values(jsonable(chunk)) if customer else jsonable(chunk)
            if "values" in modes:
                run.publish("values", run.output)
            return
        if mode != "messages":
            run.publish(mode, jsonable(chunk))
            return
        message, metadata = cast(tuple[BaseMessage, dict[str, Any]], chunk)
        if customer and message.name == SYSTEM_NAME:
            return
        if "messages-tuple" in modes:
            run.publish("messages", [jsonable(message), jsonable(metadata)])
        if "messages" in modes:
            for event in messages.events(message, metadata):
                run.publish(*event)

    graph_modes = tuple(dict.fromkeys(GRAPH_MODE[m] for m in modes))
    return StreamTap(modes=graph_modes, emit=emit, recursion_limit=limit)


async def execute(
    turns: TurnService, store: CompatStore, run: RunRecord, ticket: Ticket, tap: StreamTap
) -> None:
    """The body of a run's task: run the admitted request, record the outcome, tell listeners."""
    try:
        run.set_status("running")
        await store.run_rows.save(run)
        await turns.run(ticket, tap)
        snap = await turns.engine.runtime.snapshot(run.thread_id)
        if run.output is None:
            values = jsonable(snap.values)
            run.output = customer_values(values) if ticket.principal.role == "customer" else values
        run.set_status("interrupted" if snap.interrupts else "success")
    except asyncio.CancelledError:
        run.error = {"error": "cancelled", "message": f"run {run.run_id} was cancelled"}
        run.set_status("interrupted")
        raise
    except Exception as exc:
        error = domain_error(exc)
        if error is None:
            log.exception("run %s on thread %s failed", run.run_id, run.thread_id)
            error = ApiError(500, "internal_error", "the server failed to run this")
        run.error = {"error": error.code, "message": error.message}
        run.set_status("error")
    finally:
        ticket.release()  # a run cancelled before it started still gives its slot back
        if run.error:
            run.publish("error", run.error)
        run.publish("end", {"run_id": run.run_id, "status": run.status})
        run.close()
        try:
            await store.run_rows.save(run)
            await store.threads.touch(run.thread_id)
        except Exception:  # the run's outcome is told; a record that fails must not hide it
            log.exception("could not stamp thread %s after run %s", run.thread_id, run.run_id)
