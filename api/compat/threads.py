"""``/threads``: create, read, search and delete threads; read, edit and list their checkpoints."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from langchain_core.runnables import RunnableConfig

from api.auth import Principal, forbidden, require_admin
from api.compat.models import HistoryQuery, StateAt, StateUpdate, ThreadCreate, ThreadPatch, ThreadSearch
from api.compat.records import ThreadRecord
from api.compat.serde import customer_state, customer_thread
from api.compat.state import (
    checkpoint_json,
    find_thread,
    require_thread,
    snapshot_at,
    state_json,
    thread_config,
    thread_json,
)
from api.compat.store import StoreDep
from api.deps import PrincipalDep, RuntimeDep, TurnsDep
from api.errors import ApiError, error_responses

router = APIRouter(prefix="/threads", tags=["langgraph-compat"])


@router.post("", summary="Create a thread", responses=error_responses(403, 409, 413))
async def create_thread(
    body: ThreadCreate, principal: PrincipalDep, runtime: RuntimeDep, store: StoreDep, turns: TurnsDep
) -> dict[str, Any]:
    """A new, empty thread (admin; ``thread_id`` optional); ``if_exists`` decides between 409 and reuse.

    A customer may only "create" its own conversation with ``if_exists: do_nothing``, which returns it.
    """
    thread_id = body.thread_id or str(uuid.uuid4())
    if principal.role != "admin" and not (
        principal.is_customer_of(thread_id) and body.if_exists == "do_nothing"
    ):
        raise forbidden("create threads")
    record = await find_thread(store, turns, thread_id)
    if record is None:
        if not await turns.engine.register(thread_id):
            raise ApiError(409, "thread_deleted", f"thread {thread_id} was deleted; ids are not reused")
        record = await store.threads.add(ThreadRecord(thread_id, dict(body.metadata)))
    elif body.if_exists == "raise":
        raise ApiError(409, "thread_exists", f"thread {thread_id} already exists")
    snap = await runtime.graph.aget_state(thread_config(thread_id))
    thread = thread_json(store, record, snap)
    return customer_thread(thread) if principal.role == "customer" else thread


@router.post("/search", summary="Search threads", responses=error_responses(413))
async def search_threads(
    body: ThreadSearch, principal: PrincipalDep, runtime: RuntimeDep, store: StoreDep, turns: TurnsDep
) -> list[dict[str, Any]]:
    """Threads the caller may read among those created or used through this API."""
    found: list[dict[str, Any]] = []
    active = await store.run_rows.active_threads()  # runs of every worker, in one read
    for record in await store.threads.listed(set(body.ids) if body.ids else None):
        if not await turns.can_read(principal, record.thread_id):
            continue
        if any(record.metadata.get(k) != v for k, v in (body.metadata or {}).items()):
            continue
        snap = await runtime.graph.aget_state(thread_config(record.thread_id))
        thread = thread_json(store, record, snap, busy_elsewhere=record.thread_id in active)
        if body.status and thread["status"] != body.status:
            continue
        if any(thread["values"].get(k) != v for k, v in (body.values or {}).items()):
            continue
        found.append(customer_thread(thread) if principal.role == "customer" else thread)
    found.sort(key=lambda t: str(t[body.sort_by]), reverse=body.sort_order == "desc")
    return found[body.offset : body.offset + body.limit]


@router.get("/{thread_id}", summary="Get a thread", responses=error_responses(403, 404))
async def get_thread(
    thread_id: str, principal: PrincipalDep, runtime: RuntimeDep, store: StoreDep, turns: TurnsDep
) -> dict[str, Any]:
    """The thread with its status, current values and pending interrupts."""
    record = await require_thread(store, turns, principal, thread_id)
    snap = await runtime.graph.aget_state(thread_config(thread_id))
    thread = thread_json(store, record, snap, busy_elsewhere=await store.run_rows.any_active(thread_id))
    return customer_thread(thread) if principal.role == "customer" else thread


@router.patch("/{thread_id}", summary="Update a thread's metadata", responses=error_responses(403, 404, 413))
async def patch_thread(
    thread_id: str,
    body: ThreadPatch,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    store: StoreDep,
    turns: TurnsDep,
) -> dict[str, Any]:
    """Merge ``metadata`` into the thread's (admin)."""
    require_admin(principal, "change thread metadata")
    record = await require_thread(store, turns, principal, thread_id)
    record.metadata |= body.metadata
    await store.threads.save(record)
    return thread_json(store, record, await runtime.graph.aget_state(thread_config(thread_id)))


@router.delete(
    "/{thread_id}",
    status_code=204,
    summary="Delete a thread and its checkpoints",
    responses=error_responses(403, 404, 409),
)
async def delete_thread(
    thread_id: str, principal: PrincipalDep, store: StoreDep, turns: TurnsDep
) -> Response:
    """Delete the conversation (admin): its checkpoints, its desk handoff; refused while a run is active."""
    require_admin(principal, "delete threads")
    await require_thread(store, turns, principal, thread_id)
    if await store.busy_anywhere(thread_id):
        raise ApiError(409, "thread_busy", f"thread {thread_id} has an active run")
    await turns.delete(principal, thread_id)
    await store.forget_thread(thread_id)
    return Response(status_code=204)


@router.get("/{thread_id}/state", summary="The thread's current state", responses=error_responses(403, 404))
async def get_state(
    thread_id: str, principal: PrincipalDep, runtime: RuntimeDep, store: StoreDep, turns: TurnsDep
) -> dict[str, Any]:
    """Values, next nodes, tasks with their interrupts, and the head checkpoint."""
    await require_thread(store, turns, principal, thread_id)
    return _view(principal, state_json(await runtime.graph.aget_state(thread_config(thread_id)), thread_id))


@router.get(
    "/{thread_id}/state/{checkpoint_id}",
    summary="The state at one checkpoint",
    responses=error_responses(403, 404),
)
async def get_state_at(
    thread_id: str,
    checkpoint_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    store: StoreDep,
    turns: TurnsDep,
) -> dict[str, Any]:
    """The state as it was at ``checkpoint_id``."""
    await require_thread(store, turns, principal, thread_id)
    return _view(principal, state_json(await snapshot_at(runtime, thread_id, checkpoint_id), thread_id))


@router.post(
    "/{thread_id}/state/checkpoint",
    summary="The state at one checkpoint (by object)",
    responses=error_responses(403, 404, 413),
)
async def post_state_at(
    thread_id: str,
    body: StateAt,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    store: StoreDep,
    turns: TurnsDep,
) -> dict[str, Any]:
    """Like ``GET /threads/{id}/state/{checkpoint_id}``, with the checkpoint in the body."""
    await require_thread(store, turns, principal, thread_id)
    ref = body.checkpoint
    if not ref.checkpoint_id:
        return _view(
            principal, state_json(await runtime.graph.aget_state(thread_config(thread_id)), thread_id)
        )
    snap = await snapshot_at(runtime, thread_id, ref.checkpoint_id, ref.checkpoint_ns)
    return _view(principal, state_json(snap, thread_id))


@router.post(
    "/{thread_id}/state",
    summary="Update the thread's state",
    responses=error_responses(403, 404, 409, 413),
)
async def update_state(
    thread_id: str, body: StateUpdate, principal: PrincipalDep, store: StoreDep, turns: TurnsDep
) -> dict[str, Any]:
    """Write ``values`` as if ``as_node`` had run (admin), on the head or on ``checkpoint`` (which forks).

    A paused head is not writable (409), and nothing may write as the human node (422): a paused
    thread moves on only through a run whose ``command.resume`` is a typed human action.
    """
    require_admin(principal, "write thread state")
    await require_thread(store, turns, principal, thread_id)
    checkpoint_id = body.checkpoint_id or (body.checkpoint.checkpoint_id if body.checkpoint else None)
    new_config = await turns.update_state(
        principal, thread_id, body.values, as_node=body.as_node, checkpoint_id=checkpoint_id
    )
    await store.threads.touch(thread_id)
    return {"checkpoint": checkpoint_json(new_config, thread_id)}


def _view(principal: Principal, state: dict[str, Any]) -> dict[str, Any]:
    return customer_state(state) if principal.role == "customer" else state


async def _history(runtime: RuntimeDep, thread_id: str, query: HistoryQuery) -> list[dict[str, Any]]:
    ref = query.checkpoint
    config = thread_config(thread_id, ref.checkpoint_id if ref else None, ref.checkpoint_ns if ref else "")
    before: RunnableConfig | None = None
    if query.before is not None:
        before_id = query.before if isinstance(query.before, str) else query.before.checkpoint_id
        before = thread_config(thread_id, before_id) if before_id else None
    return [
        state_json(snap, thread_id)
        async for snap in runtime.graph.aget_state_history(
            config, filter=query.metadata, before=before, limit=query.limit
        )
    ]


@router.post(
    "/{thread_id}/history",
    summary="The thread's checkpoints, newest first",
    responses=error_responses(403, 404, 413),
)
async def post_history(
    thread_id: str,
    body: HistoryQuery,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    store: StoreDep,
    turns: TurnsDep,
) -> list[dict[str, Any]]:
    """Up to ``limit`` states, newest first, optionally ``before`` a checkpoint or matching ``metadata``."""
    await require_thread(store, turns, principal, thread_id)
    return [_view(principal, s) for s in await _history(runtime, thread_id, body)]


@router.get(
    "/{thread_id}/history",
    summary="The thread's checkpoints, newest first (query form)",
    responses=error_responses(403, 404),
)
async def get_history(
    thread_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    store: StoreDep,
    turns: TurnsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    """Like ``POST /threads/{id}/history`` with ``limit`` and ``before`` as query parameters."""
    await require_thread(store, turns, principal, thread_id)
    history = await _history(runtime, thread_id, HistoryQuery(limit=limit, before=before))
    return [_view(principal, s) for s in history]
