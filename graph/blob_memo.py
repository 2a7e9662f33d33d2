"""The message lists a worker last wrote to Postgres, kept decoded for the runs that read them back.

The Postgres saver stores each channel of a checkpoint as a blob of its own, the message list among
them, and every run starts by reading its thread's latest checkpoint: it rebuilt every message of the
conversation (a pydantic validation each) from the blob the run before had just written, in the
same worker more often than not. :class:`BlobMemoSerializer` keeps the lists it encoded beside a
digest of their bytes; reading the same bytes (compared by digest, so a list another worker wrote
is never mistaken for ours) gives a new list of the same message objects, which LangGraph and Baton
treat as immutable (the SQLite saver's :mod:`graph.checkpoint_memo` relies on the same). Lists are
kept by their bytes, not by thread: a deleted thread's last lists leave as newer ones come in.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from langchain_core.messages import BaseMessage

from graph.message_encoding import MessageEncoder

# Message references kept over every list (a list that shares its first messages with another counts
# them again): ~4-6 MB of messages at most; the last lists of a few hundred short conversations or a
# few long ones.
KEPT_REFERENCES = 4_096


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class _Lists:
    """The kept lists, shared by a serializer and the copies LangGraph makes of it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.by_digest: OrderedDict[bytes, tuple[BaseMessage, ...]] = OrderedDict()
        self.references = 0
        self.lock = threading.Lock()

    def keep(self, digest: bytes, messages: tuple[BaseMessage, ...]) -> None:
        with self.lock:
            old = self.by_digest.pop(digest, None)
            self.references -= len(old) if old is not None else 0
            self.by_digest[digest] = messages
            self.references += len(messages)
            self._trim()

    def resize(self, size: int) -> None:
        with self.lock:
            self.size = size
            self._trim()

    def _trim(self) -> None:
        while self.references > self.size and self.by_digest:
            _, dropped = self.by_digest.popitem(last=False)
            self.references -= len(dropped)

    def get(self, digest: bytes) -> tuple[BaseMessage, ...] | None:
        with self.lock:
            found = self.by_digest.get(digest)
            if found is not None:
                self.by_digest.move_to_end(digest)
            return found


class BlobMemoSerializer(MessageEncoder):
    """:class:`MessageEncoder` that keeps the message lists it encodes decoded (module docstring)."""

    def __init__(self, kept_references: int = KEPT_REFERENCES) -> None:
        super().__init__()
        self._lists = _Lists(kept_references)

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        dumped = super().dumps_typed(obj)
        if (
            dumped[0] == "msgpack"
            and isinstance(obj, list)
            and 0 < len(obj) <= self._lists.size
            and all(isinstance(m, BaseMessage) for m in obj)
        ):
            self._lists.keep(_digest(dumped[1]), tuple(obj))
        return dumped

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        if data[0] == "msgpack" and self._lists.by_digest:
            found = self._lists.get(_digest(data[1]))
            if found is not None:
                return list(found)
        return super().loads_typed(data)

    @property
    def lists_kept(self) -> int:
        """How many message lists are kept decoded."""
        return len(self._lists.by_digest)

    @property
    def kept_references(self) -> int:
        """At most this many message references are kept (0: every list is decoded, as LangGraph does)."""
        return self._lists.size

    @kept_references.setter
    def kept_references(self, size: int) -> None:
        self._lists.resize(size)
