"""JSON and SSE encoding in the shapes the LangGraph Platform API uses (and ``langgraph_sdk`` parses)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage
from langgraph.types import Interrupt, Send
from pydantic import BaseModel

from graph.transcript import SYSTEM_NAME


def now_iso() -> str:
    """The current UTC time as ISO 8601 (how the platform API writes every timestamp)."""
    return datetime.now(UTC).isoformat()


def interrupt_json(item: Interrupt) -> dict[str, Any]:
    """An interrupt as the platform API shows it: ``{"value": ..., "id": ...}``."""
    return {"value": jsonable(item.value), "id": item.id}


def jsonable(obj: Any) -> Any:
    """Plain JSON for anything a graph puts in state, streams or checkpoint metadata.

    Messages become their ``model_dump()`` (with ``type``, like the platform API), interrupts
    ``{"value", "id"}``, other Pydantic models and dataclasses their fields; unknown objects fall
    back to ``str`` so a stream never dies on an odd value.
    """
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Interrupt):
        return interrupt_json(obj)
    if isinstance(obj, BaseMessage):
        return jsonable(obj.model_dump())
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, Send):
        return {"node": obj.node, "arg": jsonable(obj.arg)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, UUID):
        return str(obj)
    if isinstance(obj, Enum):
        return jsonable(obj.value)
    return str(obj)


def sse_frame(event: str, data: Any) -> bytes:
    """One server-sent event: ``event: <name>``, one ``data:`` line of JSON, a blank line.

    ``json.dumps`` escapes newlines inside strings, so the payload always fits on one ``data:`` line,
    which is what the SDK's decoder expects.
    """
    payload = json.dumps(jsonable(data), ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()


# What a customer may see of a thread: what was said to them and where they stand. Briefs, signals,
# routing, agents' notes and the internal lines of the transcript are for the team.
CUSTOMER_KEYS = ("messages", "status", "active_agent")
CUSTOMER_STREAM_MODES = frozenset({"values", "messages", "messages-tuple"})


def _said_to_customer(message: Any) -> bool:
    return not (isinstance(message, dict) and message.get("name") == SYSTEM_NAME)


def customer_values(values: Any) -> Any:
    """Thread values (JSON form) as the thread's customer may see them."""
    if not isinstance(values, dict):
        return values
    out = {k: values[k] for k in CUSTOMER_KEYS if k in values}
    if isinstance(out.get("messages"), list):
        out["messages"] = [m for m in out["messages"] if _said_to_customer(m)]
    if "__interrupt__" in values:
        out["__interrupt__"] = [customer_interrupt(i) for i in values["__interrupt__"]]
    return out


def customer_interrupt(item: Any) -> Any:
    """An interrupt as the customer may see it: which handoff they wait on, not its brief."""
    if not isinstance(item, dict):
        return item
    value = item.get("value")
    kept = {"handoff_id": value.get("handoff_id")} if isinstance(value, dict) else {}
    return {**item, "value": kept}


def customer_state(state: dict[str, Any]) -> dict[str, Any]:
    """A ``ThreadState`` as the thread's customer may see it."""
    return {
        **state,
        "values": customer_values(state.get("values")),
        "tasks": [
            {
                **task,
                "interrupts": [customer_interrupt(i) for i in task.get("interrupts", [])],
                "result": None,
            }
            for task in state.get("tasks", [])
        ],
        "interrupts": [customer_interrupt(i) for i in state.get("interrupts", [])],
        "metadata": {},
    }


def customer_thread(thread: dict[str, Any]) -> dict[str, Any]:
    """A ``Thread`` as its customer may see it."""
    interrupts = {k: [customer_interrupt(i) for i in v] for k, v in (thread.get("interrupts") or {}).items()}
    return {**thread, "values": customer_values(thread.get("values")), "interrupts": interrupts}
