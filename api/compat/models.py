"""Request bodies of the platform API subset, as ``langgraph_sdk`` sends them.

Unknown optional fields the SDK may add are ignored; fields that would change what a run means and
that Baton does not support (static interrupts, webhooks, delayed runs) are refused explicitly.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, field_validator

from api.schemas import JsonInt
from nodes.names import BotName

StreamMode = Literal[
    "values", "updates", "messages", "messages-tuple", "custom", "debug", "tasks", "checkpoints"
]
# The platform's "interrupt" and "rollback" (cancel the active run) are not supported.
MultitaskStrategy = Literal["reject", "enqueue"]
# What the checkpointer can filter on: it refuses other metadata keys, and SQLite integers are 64-bit
# (a larger one is compared as a float).
_FILTER_KEY = r"^[A-Za-z0-9_.-]+$"
FilterValue = (
    Annotated[int, Strict(), Field(ge=-(2**63), le=2**63 - 1)]
    | float
    | str
    | bool
    | dict[str, Any]
    | list[Any]
    | None
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CheckpointRef(_Body):
    """A checkpoint as the SDK names it."""

    thread_id: str | None = None
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class ThreadCreate(_Body):
    """``POST /threads``."""

    thread_id: str | None = Field(default=None, max_length=200, examples=["conv-42"])
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = Field(
        default="raise", description="What to do when the id is taken: 409, or return the existing thread."
    )
    supersteps: list[dict[str, Any]] | None = Field(
        default=None, max_length=0, description="Not supported (post the turns as runs): empty or absent."
    )


class ThreadPatch(_Body):
    """``PATCH /threads/{thread_id}``: merge metadata."""

    metadata: dict[str, Any] = Field(default_factory=dict)


class ThreadSearch(_Body):
    """``POST /threads/search`` over the threads this process knows."""

    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = Field(
        default=None, description="Top-level state keys that must be equal."
    )
    ids: list[str] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: JsonInt = Field(default=10, ge=1, le=1000)
    offset: JsonInt = Field(default=0, ge=0)
    sort_by: Literal["thread_id", "status", "created_at", "updated_at"] = "updated_at"
    sort_order: Literal["asc", "desc"] = "desc"


class StateUpdate(_Body):
    """``POST /threads/{thread_id}/state``."""

    values: dict[str, Any] | None = None
    as_node: str | None = Field(default=None, examples=["router"])
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None


class StateAt(_Body):
    """``POST /threads/{thread_id}/state/checkpoint``."""

    checkpoint: CheckpointRef
    subgraphs: bool = Field(default=False, strict=True)


class HistoryQuery(_Body):
    """``POST /threads/{thread_id}/history``: newest first."""

    limit: JsonInt = Field(default=10, ge=1, le=1000)
    before: str | CheckpointRef | None = None
    metadata: dict[Annotated[str, StringConstraints(pattern=_FILTER_KEY)], FilterValue] | None = Field(
        default=None, json_schema_extra={"propertyNames": {"pattern": _FILTER_KEY}}
    )
    checkpoint: CheckpointRef | None = None


class AssistantSearch(_Body):
    """``POST /assistants/search``."""

    graph_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None
    limit: JsonInt = Field(default=10, ge=1, le=1000)
    offset: JsonInt = Field(default=0, ge=0)


class CustomerMessage(_Body):
    """A customer turn, in either of the dict shapes LangGraph accepts for a human message."""

    role: Literal["user", "human"] | None = None
    type: Literal["human"] | None = None
    content: str | list[dict[str, Any]]
    id: str | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text (the text blocks of a list content, joined)."""
        if isinstance(self.content, str):
            text = self.content
        else:
            text = "".join(str(b.get("text", "")) for b in self.content if b.get("type") == "text")
        if not text.strip():
            msg = "a customer message needs text"
            raise ValueError(msg)
        return text


class RunInput(BaseModel):
    """A run's ``input``: customer turns (and optionally who the customer is), nothing else.

    Every other state key is the graph's to write; set it with ``POST /threads/{id}/state`` if needed.
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[CustomerMessage] = Field(
        min_length=1, examples=[[{"role": "user", "content": "I'd like to sell my house."}]]
    )
    customer: dict[str, Any] | None = Field(default=None, description="Customer profile (name, tier, ...).")

    @field_validator("messages")
    @classmethod
    def _human_only(cls, messages: list[CustomerMessage]) -> list[CustomerMessage]:
        for m in messages:
            if m.role is None and m.type is None:
                msg = 'each message needs "role": "user" or "type": "human"'
                raise ValueError(msg)
            m.text()
        return messages


class RunCommand(BaseModel):
    """A run's ``command``: ``resume`` with a typed human action, or ``goto`` a bot."""

    model_config = ConfigDict(extra="forbid")

    resume: Any = Field(
        default=None,
        examples=[{"type": "reply", "text": "Hi Dana, I'm Maria."}],
        description="A human action.",
    )
    goto: BotName | None = Field(default=None, description="A bot to run next (thread must not be paused).")


class RunCreate(_Body):
    """``POST /threads/{thread_id}/runs``, ``/runs/wait`` and ``/runs/stream``."""

    assistant_id: str = Field(examples=["baton"])
    input: RunInput | None = None
    command: RunCommand | None = None
    checkpoint_id: str | None = Field(default=None, description="Fork from this earlier checkpoint.")
    checkpoint: CheckpointRef | None = None
    stream_mode: StreamMode | list[StreamMode] = "values"
    metadata: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = Field(
        default=None, max_length=0, description="Must be empty: Baton's context is server-side."
    )
    multitask_strategy: MultitaskStrategy = Field(
        default="enqueue", description="A run on a busy thread waits (enqueue) or is refused (reject)."
    )
    if_not_exists: Literal["create", "reject"] = "reject"
    on_disconnect: Literal["cancel", "continue"] = "continue"
    interrupt_before: list[str] | None = Field(
        default=None, max_length=0, description="Not supported (Baton pauses only at the human node)."
    )
    interrupt_after: list[str] | None = Field(default=None, max_length=0, description="Not supported.")
    webhook: None = Field(default=None, description="Not supported: runs report through the API.")
    after_seconds: JsonInt | None = Field(
        default=None, ge=0, le=0, description="Not supported: runs start now."
    )

    def modes(self) -> list[StreamMode]:
        """Requested stream modes, de-duplicated, in order."""
        raw = [self.stream_mode] if isinstance(self.stream_mode, str) else self.stream_mode
        return list(dict.fromkeys(raw))

    def fork_from(self) -> str | None:
        """The checkpoint to fork from, from ``checkpoint_id``, ``checkpoint`` or ``config``."""
        if self.checkpoint_id:
            return self.checkpoint_id
        if self.checkpoint and self.checkpoint.checkpoint_id:
            return self.checkpoint.checkpoint_id
        configurable = (self.config or {}).get("configurable") or {}
        found = configurable.get("checkpoint_id")
        return str(found) if found else None
