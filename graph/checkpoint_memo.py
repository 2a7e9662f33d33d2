"""The messages of a thread's latest checkpoint, kept decoded between its runs.

Every run starts by reading its thread's latest checkpoint, and the SQLite saver stores the whole
message history in it: each turn rebuilt every message (a pydantic validation each) that the turn
before had just written. On a 250-message thread that was over half of a turn, and it grew with the
conversation.

:class:`MemoSerializer` is the saver's serializer: LangGraph's own, noting what the saver writes.
When a run ends, the messages of the last checkpoint it wrote are kept beside a digest of that
checkpoint's bytes. A later read of the same bytes (compared by digest, so another writer's
checkpoint is never mistaken for ours) takes the messages from there and decodes only the rest of
the checkpoint, a few small values, from bytes as before. Runs share the message objects, which
LangGraph and Baton treat as immutable: a reducer makes a new list, never edits stored messages.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from langchain_core.messages import BaseMessage

from graph.message_encoding import MessageEncoder

MESSAGES = "messages"


class _Decoded(NamedTuple):
    skeleton: dict[str, Any]  # the checkpoint without its channel values
    rest: tuple[str, bytes]  # the channel values but the messages, serialized
    messages: tuple[BaseMessage, ...]


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _plain_copy(value: Any) -> Any:
    """A copy of nested dicts and lists (a checkpoint's versions), so the run may change its own."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value


class MemoSerializer(MessageEncoder):
    """LangGraph's serializer with the messages of each thread's latest written checkpoint kept decoded
    (and each message encoded once: :class:`graph.message_encoding.MessageEncoder`).

    The saver calls :meth:`wrote` after it wrote a checkpoint for a thread, and :meth:`seal` when a
    run on the thread ended; at most ``threads`` threads are kept (least recently sealed out first).
    The copies LangGraph makes of it to add its schema's allowlist (``with_msgpack_allowlist``)
    share what it remembers.
    """

    def __init__(self, threads: int) -> None:
        super().__init__()
        self.threads = threads
        self._by_digest: dict[bytes, _Decoded] = {}
        self._by_thread: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        # What each thread's run wrote last, until the run ends: only then is it worth decoding
        # apart (a bot turn writes four checkpoints, and only the last one is read again).
        self._pending: OrderedDict[tuple[str, str], tuple[dict[str, Any], tuple[str, bytes]]] = OrderedDict()
        self._written = threading.local()  # the checkpoint this OS thread's saver call just serialized

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        dumped = super().dumps_typed(obj)
        self._written.last = (obj, dumped) if _is_checkpoint(obj) else None
        return dumped

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        decoded = self._by_digest.get(_digest(data[1])) if self._by_digest else None
        if decoded is None:
            return super().loads_typed(data)
        checkpoint: dict[str, Any] = _plain_copy(decoded.skeleton)
        channel_values = super().loads_typed(decoded.rest)
        channel_values[MESSAGES] = list(decoded.messages)
        checkpoint["channel_values"] = channel_values
        return checkpoint

    def wrote(self, thread_id: str, checkpoint_ns: str) -> None:
        """Note the checkpoint the saver just wrote for a thread: the run may write more after it."""
        written = getattr(self._written, "last", None)
        self._written.last = None
        key = (thread_id, checkpoint_ns)
        self.forget(*key)
        if written is not None and self.threads > 0:
            self._pending[key] = written
            while len(self._pending) > self.threads:
                self._pending.popitem(last=False)

    def seal(self, thread_id: str) -> None:
        """A run on the thread ended: keep the messages of the last checkpoint it wrote."""
        key = (thread_id, "")
        written = self._pending.pop(key, None)
        if written is None:
            return
        checkpoint, (_, data) = written
        values = checkpoint["channel_values"]
        messages = values.get(MESSAGES)
        if not isinstance(messages, list) or not all(isinstance(m, BaseMessage) for m in messages):
            return
        rest = super().dumps_typed({k: v for k, v in values.items() if k != MESSAGES})
        skeleton = _plain_copy({k: v for k, v in checkpoint.items() if k != "channel_values"})
        digest = _digest(data)
        self._by_digest[digest] = _Decoded(skeleton, rest, tuple(messages))
        self._by_thread[key] = digest
        while len(self._by_thread) > self.threads:
            _, old = self._by_thread.popitem(last=False)
            self._by_digest.pop(old, None)

    def forget(self, thread_id: str, checkpoint_ns: str) -> None:
        """Drop what is kept for one namespace of a thread."""
        self._pending.pop((thread_id, checkpoint_ns), None)
        old = self._by_thread.pop((thread_id, checkpoint_ns), None)
        if old is not None:
            self._by_digest.pop(old, None)

    def forget_thread(self, thread_id: str) -> None:
        """Drop what is kept for a thread (it was deleted)."""
        for key in [k for k in (*self._by_thread, *self._pending) if k[0] == thread_id]:
            self.forget(*key)

    @property
    def threads_kept(self) -> int:
        """How many threads' messages are kept (not ``__len__``: an empty one must stay truthy)."""
        return len(self._by_thread)


def _is_checkpoint(obj: Any) -> bool:
    return isinstance(obj, dict) and "channel_values" in obj and "channel_versions" in obj
