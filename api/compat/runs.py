"""``/threads/{thread_id}/runs``: background, waited and streamed runs, their status and joins.

Run records live in memory (see ``records``); the checkpoints they write are durable.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, StreamingResponse

from api.compat.assistants import resolve_assistant
from api.compat.executor import check, execute, make_plan
from api.compat.models import RunCreate
from api.compat.records import CompatStore, Event, RunRecord, RunStatus, StoreDep, ThreadRecord
from api.compat.serde import jsonable, sse_frame
from api.compat.state import find_thread, require_thread
from api.deps import RuntimeDep
from api.errors import ApiError
from graph.builder import GRAPH_ID
from graph.runtime import BatonRuntime

router = APIRouter(prefix="/threads/{thread_id}/runs", tags=["langgraph-compat"])


async def _start(
    thread_id: str, body: RunCreate, runtime: BatonRuntime, store: CompatStore, *, listen: bool
) -> tuple[RunRecord, asyncio.Queue[Event | None] | None]:
    """Validate, check and queue a run; its task starts at once and waits for the thread's lock."""
    assistant_id = resolve_assistant(body.assistant_id)
    plan = make_plan(thread_id, body)
    thread = await find_thread(store, runtime, thread_id)
    if thread is None:
        if body.if_not_exists != "create":
            raise ApiError(404, "thread_not_found", f"thread {thread_id} not found")
        thread = store.threads[thread_id] = ThreadRecord(thread_id)
    if body.multitask_strategy == "reject" and store.busy(thread_id):
        raise ApiError(
            409, "thread_busy", f"thread {thread_id} has an active run (multitask_strategy=reject)"
        )
    await check(runtime, plan)
    thread.metadata.setdefault("graph_id", GRAPH_ID)
    thread.metadata.setdefault("assistant_id", assistant_id)
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
                "checkpoint_id": plan.fork_from,
                "stream_mode": list(plan.modes),
                "config": body.config or {},
            }
        ),
    )
    store.add_run(run)
    queue = run.listen() if listen else None
    run.task = asyncio.create_task(execute(runtime, store, run, plan), name=f"baton-run-{run.run_id}")
    thread.touch()
    return run, queue


def _location(run: RunRecord) -> dict[str, str]:
    # Content-Location lets the SDK's on_run_created callback read the run id; no Location header,
    # so the SDK does not try to reconnect to an unbuffered stream.
    return {"Content-Location": f"/threads/{run.thread_id}/runs/{run.run_id}"}


def _final(run: RunRecord) -> Any:
    """What ``wait``/``join`` return: the last values (with ``__interrupt__`` when paused), or ``__error__``."""
    if run.status == "error" and run.error:
        return {"__error__": run.error}
    return run.output


def _require_run(store: CompatStore, thread_id: str, run_id: str) -> RunRecord:
    run = store.runs.get(thread_id, {}).get(run_id)
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


@router.post("", summary="Create a background run")
async def create_run(thread_id: str, body: RunCreate, runtime: RuntimeDep, store: StoreDep) -> JSONResponse:
    """Queue the run and return it (``pending``); poll it, or ``join`` it for the result."""
    run, _ = await _start(thread_id, body, runtime, store, listen=False)
    return JSONResponse(run.to_json(), headers=_location(run))


@router.post("/wait", summary="Run and wait for the result")
async def wait_run(thread_id: str, body: RunCreate, runtime: RuntimeDep, store: StoreDep) -> JSONResponse:
    """The thread's values after the run; when it paused for a human they carry ``__interrupt__``."""
    run, _ = await _start(thread_id, body, runtime, store, listen=False)
    assert run.task is not None
    try:
        await asyncio.shield(run.task)
    except asyncio.CancelledError:
        if body.on_disconnect == "cancel":
            run.task.cancel()
        raise
    return JSONResponse(_final(run), headers=_location(run))


@router.post("/stream", summary="Run and stream its events (SSE)")
async def stream_run(
    thread_id: str, body: RunCreate, runtime: RuntimeDep, store: StoreDep
) -> StreamingResponse:
    """Server-sent events: ``metadata`` (run id), then one event per ``stream_mode`` chunk, then ``end``."""
    run, queue = await _start(thread_id, body, runtime, store, listen=True)
    assert queue is not None
    return _sse_response(run, queue, body.on_disconnect == "cancel")


@router.get("", summary="List a thread's runs")
async def list_runs(
    thread_id: str,
    runtime: RuntimeDep,
    store: StoreDep,
    limit: int = 10,
    offset: int = 0,
    status: RunStatus | None = None,
) -> list[dict[str, Any]]:
    """Newest first."""
    await require_thread(store, runtime, thread_id)
    runs = [r for r in store.thread_runs(thread_id) if status is None or r.status == status]
    return [r.to_json() for r in runs[offset : offset + limit]]


@router.get("/{run_id}", summary="Get a run")
async def get_run(thread_id: str, run_id: str, store: StoreDep) -> dict[str, Any]:
    """The run with its current status."""
    return _require_run(store, thread_id, run_id).to_json()


@router.get("/{run_id}/join", summary="Wait for a run and return its result")
async def join_run(thread_id: str, run_id: str, store: StoreDep) -> JSONResponse:
    """Like ``/runs/wait`` for a run already created."""
    run = _require_run(store, thread_id, run_id)
    if run.task is not None:
        await asyncio.wait([run.task])
    return JSONResponse(_final(run))


@router.get("/{run_id}/stream", summary="Stream a run's events from now on")
async def join_run_stream(
    thread_id: str, run_id: str, store: StoreDep, cancel_on_disconnect: bool = False
) -> StreamingResponse:
    """Events the run emits after this call (not buffered), then ``end``; a finished run ends at once."""
    run = _require_run(store, thread_id, run_id)
    return _sse_response(run, run.listen(), cancel_on_disconnect)


@router.post("/{run_id}/cancel", status_code=204, summary="Cancel a run")
async def cancel_run(thread_id: str, run_id: str, store: StoreDep, wait: bool = False) -> Response:
    """Cancel a pending or running run (it ends ``interrupted``); a finished run is left as it is."""
    run = _require_run(store, thread_id, run_id)
    if run.task is not None and not run.task.done():
        run.task.cancel()
        if wait:
            await asyncio.wait([run.task])
    return Response(status_code=204)


@router.delete("/{run_id}", status_code=204, summary="Delete a finished run's record")
async def delete_run(thread_id: str, run_id: str, store: StoreDep) -> Response:
    """Forget the run; refused while it is active."""
    run = _require_run(store, thread_id, run_id)
    if run.active:
        raise ApiError(409, "run_active", f"run {run_id} is still {run.status}; cancel it first")
    del store.runs[thread_id][run_id]
    return Response(status_code=204)
