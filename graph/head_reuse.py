"""A thread's head checkpoint, read once for a resume and handed to the run that follows it.

``BatonRuntime.resume`` reads the head to refuse a thread that is not paused for a person, and
LangGraph's loop reads the same head again as the run starts: on SQLite a second decode of every
channel, on Postgres a second round trip. Both reads happen under the thread's lock, so nothing
writes between them; the run takes the tuple the check read, once (Baton's savers ask
:func:`handed_head` before reading).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple

# A list, not the tuple itself: taking it empties the list, which the contexts of the tasks LangGraph
# starts (copies of this one) share with it.
_HANDED: ContextVar[list[tuple[str, CheckpointTuple]] | None] = ContextVar("baton_handed_head", default=None)


@contextmanager
def hand_head(thread_id: str, saved: CheckpointTuple) -> Iterator[None]:
    """Inside the block, the first read of ``thread_id``'s head returns ``saved`` instead."""
    token = _HANDED.set([(thread_id, saved)])
    try:
        yield
    finally:
        _HANDED.reset(token)


def handed_head(config: RunnableConfig) -> CheckpointTuple | None:
    """The tuple handed for this read, taken once; ``None`` for any other read (another thread, a
    subgraph's namespace, a given checkpoint) and outside :func:`hand_head`."""
    handed = _HANDED.get()
    if not handed:
        return None
    conf = config.get("configurable") or {}
    thread_id, saved = handed[0]
    if conf.get("checkpoint_id") or conf.get("checkpoint_ns") or str(conf.get("thread_id")) != thread_id:
        return None
    handed.clear()
    return saved
