"""``/assistants``: the one graph Baton serves, as the assistant ``baton``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from api.compat.models import AssistantSearch, RunInput
from api.compat.serde import now_iso
from api.deps import RuntimeDep
from api.errors import ApiError, error_responses
from graph.builder import GRAPH_ID

# The platform derives a graph's default assistant id the same way: uuid5 of the graph id.
ASSISTANT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, GRAPH_ID))
_CREATED_AT = now_iso()

router = APIRouter(prefix="/assistants", tags=["langgraph-compat"])
_ONE = error_responses(404)  # anything but baton (by name or uuid)


def resolve_assistant(assistant_id: str) -> str:
    """The assistant's uuid for ``baton`` or that uuid; 404 for anything else."""
    if assistant_id in (GRAPH_ID, ASSISTANT_ID):
        return ASSISTANT_ID
    raise ApiError(
        404, "assistant_not_found", f"assistant {assistant_id} not found; this server has only {GRAPH_ID!r}"
    )


def assistant_json() -> dict[str, Any]:
    """The ``Assistant`` object."""
    return {
        "assistant_id": ASSISTANT_ID,
        "graph_id": GRAPH_ID,
        "name": GRAPH_ID,
        "description": "Baton: bot -> specialist bot -> human agent handoffs without repetition.",
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "version": 1,
        "created_at": _CREATED_AT,
        "updated_at": _CREATED_AT,
    }


@router.post("/search", summary="Search assistants (there is one: baton)", responses=error_responses(413))
async def search_assistants(body: AssistantSearch) -> list[dict[str, Any]]:
    """The ``baton`` assistant when it matches the filters."""
    found = assistant_json()
    meta = body.metadata or {}
    matches = (
        body.graph_id in (None, GRAPH_ID)
        and body.name in (None, GRAPH_ID)
        and all(found["metadata"].get(k) == v for k, v in meta.items())
    )
    return [found][body.offset : body.offset + body.limit] if matches else []


@router.get("/{assistant_id}", summary="Get an assistant", responses=_ONE)
async def get_assistant(assistant_id: str) -> dict[str, Any]:
    """``baton`` (by name or uuid)."""
    resolve_assistant(assistant_id)
    return assistant_json()


@router.get("/{assistant_id}/graph", summary="The assistant's graph (nodes and edges)", responses=_ONE)
async def get_assistant_graph(assistant_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    """The compiled graph's drawable JSON, as LangGraph Studio reads it."""
    resolve_assistant(assistant_id)
    return runtime.graph.get_graph().to_json()


@router.get("/{assistant_id}/schemas", summary="The assistant's JSON schemas", responses=_ONE)
async def get_assistant_schemas(assistant_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    """Run input (customer turns only), output and state schemas; the context is server-side."""
    resolve_assistant(assistant_id)
    return {
        "graph_id": GRAPH_ID,
        "input_schema": RunInput.model_json_schema(),
        "output_schema": runtime.graph.get_output_jsonschema(),
        "state_schema": runtime.graph.get_input_jsonschema(),
        "config_schema": None,
        "context_schema": None,
    }
