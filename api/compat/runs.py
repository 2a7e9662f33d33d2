"""``/threads/{thread_id}/runs``: background, waited and streamed runs, their status and joins.

Run records live in memory (see ``records``); the checkpoints they write are durable.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse

from api.auth import Principal, forbidden
from api.compat.assistants import resolve_assistant
from api.compat.executor import execute, make_request, recursion_limit, tap_for
from api.compat.models import RunCreate
from api.compat.records import Event, RunRecord, RunStatus, ThreadRecord
from api.compat.serde import CUSTOMER_STREAM_MODES, jsonable, sse_frame
from api.compat.state import find_thread, require_thread
from api.compat.store import CompatStore, StoreDep
from api.deps import PrincipalDep, TurnsDep
from api.errors import ApiError, error_responses
from api.turns import TurnService
from graph.builder import GRAPH_ID

router = APIRouter(
    prefix="/threads/{thread_id}/runs", tags=["langgraph-compat"], responses=error_responses(403, 404)
)
# A new run: the thread may be busy or deleted, and the door may refuse the turn for its rate or load.
_START = error_responses(409, 413, 429, 503)


async def _start(
    thread_id: str,
    body: RunCreate,
    principal: Principal,
    turns: TurnService,
    store: CompatStore,
    *,
    listen: bool,
) -> tuple[RunRecord, asyncio.Queue[Event | None] | None]:
    """Translate the body, let the door admit it, and queue the run (its task runs it through the door)."""
    assistant_id = resolve_assistant(body.assistant_id)
    request = make_request(thread_id, body)
    thread = (
        await find_thread(store, turns, thread_id) if await turns.can_read(principal, thread_id) else None
    )
    if thread is None:
        if principal.role != "admin" and not principal.is_customer_of(thread_id):
            raise forbidden(f"run on thread {thread_id}")
        if body.if_not_exists != "create" or principal.role != "admin":
            raise ApiError(404, "thread_not_found", f"thread {thread_id} not found")
        if not await turns.engine.register(thread_id):
            raise ApiError(409, "thread_deleted", f"thread {thread_id} was deleted; ids are not reused")
        thread = await store.threads.add(ThreadRecord(thread_id))
    if body.multitask_strategy == "reject" and await store.busy_anywhere(thread_id):
        raise ApiError(
            409, "thread_busy", f"thread {thread_id} has an active run (multitask_strategy=reject)"
        )
    modes = tuple(body.modes())
    tap_limit = recursion_limit(body)
    customer = principal.role == "customer"
    if customer and not set(modes) <= CUSTOMER_STREAM_MODES:
        msg = f"a customer may stream only {', '.join(sorted(CUSTOMER_STREAM_MODES))}"
        raise ApiError(403, "forbidden", msg)
    ticket = await turns.admit(principal, request)
    if "graph_id" not in thread.metadata or "assistant_id" not in thread.metadata:
        thread.metadata.setdefault("graph_id", GRAPH_ID)
        thread.metadata.setdefault("assistant_id", assistant_id)
        await store.threads.save(thread)
    run = RunRecord(
        run_id=str(uuid.uuid4()),
        thread_id=thread_id,
        assistant_id=assistant_id,
        metadata=dict(body.metadata),
        multitask_strategy=body.multitask_strategy,
        kwargs=jsonable(
            {
                "input": body.input.model_dump(exclude_none=True) if body.input else None,
                "command": body.command.model_dump(exclude_none=True) if body.command else None,
                "checkpoint_id": body.fork_from(),
                "stream_mode": list(modes),
                "config": body.config or {},
            }
        ),
        started_by=_who(principal),
    )
    tap = tap_for(run, modes, tap_limit, customer=customer)
    await store.add_run(run)
    queue = run.listen() if listen else None
    run.task = asyncio.create_task(execute(turns, store, run, ticket, tap), name=f"baton-run-{run.run_id}")
    await store.threads.touch(thread_id)
    return run, queue


def _who(principal: Principal) -> str:
    return f"{principal.role}:{principal.subject}"


def _may_stop(principal: Principal, run: RunRecord) -> None:
    if principal.role != "admin" and run.started_by != _who(principal):
        raise forbidden(f"stop run {run.run_id}")


def _location(run: RunRecord) -> dict[str, str]:
    # Content-Location lets the SDK's on_run_created callback read the run id; no Location header,
    # so the SDK does not try to reconnect to an unbuffered stream.
    return {"Content-Location": f"/threads/{run.thread_id}/runs/{run.run_id}"}


def _final(run: RunRecord) -> Any:
    """What ``wait``/``join`` return: the last values (with ``__interrupt__`` when paused), or ``__error__``."""
    if run.status == "error" and run.error:
        return {"__error__": run.error}
    return run.output


async def _ended_elsewhere(store: CompatStore, run: RunRecord) -> RunRecord:
    """Another worker's run once it has ended, read again from its record (polled, up to once a second)."""
    delay = 0.05
    while run.active:
        await asyncio.sleep(delay)
        delay = min(1.0, delay * 2)
        again = await store.run_rows.get(run.thread_id, run.run_id)
        if again is None:  # deleted meanwhile
            break
        run = again
    return run


async def _require_run(
    store: CompatStore, turns: TurnService, principal: Principal, thread_id: str, run_id: str
) -> RunRecord:
    await turns.require_read(principal, thread_id)
    run = await store.find_run(thread_id, run_id)
    if run is None:
        raise ApiError(404, "run_not_found", f"run {run_id} not found in thread {thread_id}")
    return run


async def _sse(
    run: RunRecord, queue: asyncio.Queue[Event | None], cancel_on_disconnect: bool
) -> AsyncIterator[bytes]:
    """``metadata`` first, then the run's events as they happen, ending with ``end``."""
    finished = False
    try:
        yield sse_frame("metadata", {"run_id": run.run_id, "attempt": 1})
        while (item := await queue.get()) is not None:
            yield sse_frame(*item)
        finished = True
    finally:
        run.unlisten(queue)
        if not finished and cancel_on_disconnect and run.task is not None and not run.task.done():
            run.task.cancel()


def _sse_response(
    run: RunRecord, queue: asyncio.Queue[Event | None], cancel_on_disconnect: bool
) -> StreamingResponse:
    return StreamingResponse(
        _sse(run, queue, cancel_on_disconnect),
        media_type="text/event-stream",
        headers={**_location(run), "Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("", summary="Create a background run", responses=_START)
async def create_run(
    thread_id: str, body: RunCreate, principal: PrincipalDep, turns: TurnsDep, store: StoreDep
) -> JSONResponse:
    """Queue the run and return it (``pending``); poll it, or ``join`` it for the result."""
    run, _ = await _start(thread_id, body, principal, turns, store, listen=False)
    return JSONResponse(run.to_json(), headers=_location(run))


@router.post("/wait", summary="Run and wait for the result", responses=_START)
async def wait_run(
    thread_id: str, body: RunCreate, principal: PrincipalDep, turns: TurnsDep, store: StoreDep
) -> JSONResponse:
    """The thread's values after the run; when it paused for a human they carry ``__interrupt__``."""
    run, _ = await _start(thread_id, body, principal, turns, store, listen=False)
    assert run.task is not None
    try:
        await asyncio.shield(run.task)
    except asyncio.CancelledError:
        if body.on_disconnect == "cancel":
            run.task.cancel()
        raise
    return JSONResponse(_final(run), headers=_location(run))


@router.post("/stream", summary="Run and stream its events (SSE)", responses=_START)
async def stream_run(
    thread_id: str, body: RunCreate, principal: PrincipalDep, turns: TurnsDep, store: StoreDep
) -> StreamingResponse:
    """Server-sent events: ``metadata`` (run id), then one event per ``stream_mode`` chunk, then ``end``."""
    run, queue = await _start(thread_id, body, principal, turns, store, listen=True)
    assert queue is not None
    return _sse_response(run, queue, body.on_disconnect == "cancel")


@router.get("", summary="List a thread's runs")
async def list_runs(
    thread_id: str,
    principal: PrincipalDep,
    turns: TurnsDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: RunStatus | None = None,
) -> list[dict[str, Any]]:
    """Newest first."""
    await require_thread(store, turns, principal, thread_id)
    return [r.to_json() for r in await store.run_rows.listed(thread_id, status, limit, offset)]


@router.get("/{run_id}", summary="Get a run")
async def get_run(
    thread_id: str, run_id: str, principal: PrincipalDep, turns: TurnsDep, store: StoreDep
) -> dict[str, Any]:
    """The run with its current status."""
    return (await _require_run(store, turns, principal, thread_id, run_id)).to_json()


@router.get("/{run_id}/join", summary="Wait for a run and return its result")
async def join_run(
    thread_id: str, run_id: str, principal: PrincipalDep, turns: TurnsDep, store: StoreDep
) -> JSONResponse:
    """Like ``/runs/wait`` for a run already created."""
    run = await _require_run(store, turns, principal, thread_id, run_id)
    if run.task is not None:
        await asyncio.wait([run.task])
    else:
        run = await _ended_elsewhere(store, run)
    return JSONResponse(_final(run))


@router.get("/{run_id}/stream", summary="Stream a run's events from now on")
async def join_run_stream(
    thread_id: str,
    run_id: str,
    principal: PrincipalDep,
    turns: TurnsDep,
    store: StoreDep,
    cancel_on_disconnect: bool = False,
) -> StreamingResponse:
    """Events the run emits after this call (not buffered), then ``end``; a finished run ends at once."""
    run = await _require_run(store, turns, principal, thread_id, run_id)
    if cancel_on_disconnect:
        _may_stop(principal, run)
    if run.task is None:  # another worker's: its events cannot be followed from here, only its end
        run = await _ended_elsewhere(store, run)
    return _sse_response(run, run.listen(), cancel_on_disconnect)


@router.post("/{run_id}/cancel", status_code=204, summary="Cancel a run")
async def cancel_run(
    thread_id: str, run_id: str, principal: PrincipalDep, turns: TurnsDep, store: StoreDep, wait: bool = False
) -> Response:
    """Cancel a pending or running run (the admin or whoever started it); a finished run is left as it is."""
    run = await _require_run(store, turns, principal, thread_id, run_id)
    _may_stop(principal, run)
    if run.task is None and run.active:
        msg = f"run {run_id} is running on another worker, which alone can cancel it; it ends on its own"
        raise ApiError(409, "run_elsewhere", msg)
    if run.task is not None and not run.task.done():
        run.task.cancel()
        if wait:
            await asyncio.wait([run.task])
    return Response(status_code=204)


@router.delete(
    "/{run_id}", status_code=204, summary="Delete a finished run's record", responses=error_responses(409)
)
async def delete_run(
    thread_id: str, run_id: str, principal: PrincipalDep, turns: TurnsDep, store: StoreDep
) -> Response:
    """Forget the run (the admin or whoever started it); refused while it is active."""
    run = await _require_run(store, turns, principal, thread_id, run_id)
    _may_stop(principal, run)
    if run.active:
        raise ApiError(409, "run_active", f"run {run_id} is still {run.status}; cancel it first")
    await store.forget_run(thread_id, run_id)
    return Response(status_code=204)
