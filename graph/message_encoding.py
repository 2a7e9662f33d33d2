"""A checkpoint's messages encoded once each, not once per checkpoint.

LangGraph stores the whole message list in every checkpoint that changes it, so each turn encoded
every message of the conversation again: one ``model_dump`` and a nested msgpack pack per message,
growing with the conversation (about a tenth of a relay turn's CPU at 200-300 messages:
benchmarks/README.md, "Each message encoded once").

:class:`MessageEncoder` is LangGraph's serializer with one change: a message's msgpack extension is
kept after it is built, and a later checkpoint holding the same message object takes it from there.
The bytes are the ones LangGraph's serializer writes. A stored message is never changed in place
(LangGraph's reducer gives a new message its id before the checkpoint that first holds it is
written, and makes a new list for every change), and an entry is used only for the very object it
was built from with the same id, so an object still being given its id is encoded afresh. The
entries do not keep messages alive: one whose message is gone is never matched again.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any, NamedTuple

import ormsgpack
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer, _msgpack_default, _option

# Messages whose encoding is kept (least recently used out first): a dozen long conversations, or the
# last messages of many. An entry holds ~0.3-1 KB of bytes and a weak reference, not the message.
KEPT_MESSAGES = 4_096


class _Encoded(NamedTuple):
    message: weakref.ref[BaseMessage]  # not held: an id() reused by a new object finds it dead
    message_id: str | None
    ext: Any  # what LangGraph's encoder made of it (an ormsgpack.Ext)


class _Kept:
    """The kept encodings, shared by a serializer and the copies LangGraph makes of it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.by_object: OrderedDict[int, _Encoded] = OrderedDict()
        self.lock = threading.Lock()  # a saver may serialize from a worker thread


class MessageEncoder(JsonPlusSerializer):
    """``JsonPlusSerializer`` that encodes each message of a checkpoint once (see the module docstring)."""

    def __init__(self, kept_messages: int = KEPT_MESSAGES) -> None:
        super().__init__()
        self._kept = _Kept(kept_messages)

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if obj is None or isinstance(obj, bytes | bytearray) or self._kept.size <= 0:
            return super().dumps_typed(obj)
        try:
            return "msgpack", ormsgpack.packb(obj, default=self._default, option=_option)
        except ormsgpack.MsgpackEncodeError:
            return super().dumps_typed(obj)  # what LangGraph does with it (its pickle fallback, or raise)

    def _default(self, obj: Any) -> Any:
        if not isinstance(obj, BaseMessage):
            return _msgpack_default(obj)
        kept, key = self._kept, id(obj)
        with kept.lock:
            found = kept.by_object.get(key)
            if found is not None and found.message() is obj and found.message_id == obj.id:
                kept.by_object.move_to_end(key)
                return found.ext
        ext = _msgpack_default(obj)
        with kept.lock:
            kept.by_object[key] = _Encoded(weakref.ref(obj), obj.id, ext)
            while len(kept.by_object) > kept.size:
                kept.by_object.popitem(last=False)
        return ext

    @property
    def messages_kept(self) -> int:
        """How many messages' encodings are kept."""
        return len(self._kept.by_object)

    @property
    def kept_limit(self) -> int:
        """At most this many are kept (0: every message is encoded each time, as LangGraph does)."""
        return self._kept.size

    @kept_limit.setter
    def kept_limit(self, size: int) -> None:
        with self._kept.lock:
            self._kept.size = size
            while len(self._kept.by_object) > max(0, size):
                self._kept.by_object.popitem(last=False)
