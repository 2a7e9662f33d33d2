"""Small text helpers shared by the signal analyzer, the brief builder, the bots and the evals.

Also what keeps reading customer text cheap for the server: :class:`DigestCache` (each turn is read
once), :func:`off_loop` (the reading runs in low-priority threads, never on the event loop) and
:func:`off_loop_unless_cached` (a reading whose parts are all cached is assembled in place: no thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import os
import re
import sys
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

from graph.analysis_pool import DaemonPool

T = TypeVar("T")
P = ParamSpec("P")

_WORD = re.compile(r"[a-z']+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept, so "don't" stays one token)."""
    return _WORD.findall(text.lower())


def normalize_value(value: str) -> str:
    """Normalise a fact value for comparison: case, accents, spacing, punctuation, digit grouping.

    Short texts are cached: a brief compares the same values and turns thousands of times.
    """
    return _normalized(value) if len(value) <= _NORMALIZED_MAX_CHARS else _normalize(value)


_NORMALIZED_MAX_CHARS = 1_000


@functools.lru_cache(maxsize=8192)
def _normalized(value: str) -> str:
    return _normalize(value)


def _normalize(value: str) -> str:
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"(?<=\d)[,\s.-](?=\d{3}\b)", "", text)  # 1,000,000 / 555-1234 grouping
    text = re.sub(r"[^\w@]+", " ", text)
    return " ".join(text.split())


def has_words(text: str, value: str) -> bool:
    """Whether ``value``'s normalised words stand together in ``text``'s, on word boundaries."""
    return f" {normalize_value(value)} " in f" {normalize_value(text)} "


def contains_value(haystack: str, value: str) -> bool:
    """True when the normalised ``value`` occurs in the normalised ``haystack`` on word boundaries."""
    needle = normalize_value(value)
    if not needle:
        return False
    hay = normalize_value(haystack)
    if needle in hay.split() or f" {needle} " in f" {hay} ":
        return True
    digits = re.sub(r"\D", "", value)
    # Phones and amounts are compared on digits alone ("(555) 123-4567" == "5551234567").
    return len(digits) >= 4 and digits == re.sub(r"\D", "", needle) and digits in re.sub(r"\D", "", hay)


class DigestCache(Generic[T]):
    """A bounded, thread-safe LRU of values computed from a text, keyed by a digest of the text.

    Per-turn analysis is kept here so a conversation's earlier turns are never scanned again. Keys are
    16-byte BLAKE2b digests, so a cache of long messages holds no copy of them.
    """

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[tuple[str, bytes], T] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, text: str, compute: Callable[[str], T], *, salt: str = "") -> T:
        """The cached value for ``text`` (and ``salt``, which tells apart what else it depends on).

        ``compute`` runs outside the lock: two threads that miss at once both compute, and one wins.
        """
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        key = (salt, digest)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        needs_work("a text not read before")
        value = compute(text)
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)
        return value


# Reading turns (regexes, the intent model, the brief) is CPU work: it runs in these threads, one fewer
# than the cores and at a lower priority, so the event loop's thread gets the CPU first for /healthz
# and every other request. Six threads (asyncio's default pool on 2 cores) running the embedding model
# at once starved the loop's thread: /healthz p99 410 ms with 20 conversations of 4,000-character turns.
_ANALYSIS_NICE = 10  # added to the process's nice value


def _yield_to_the_loop() -> None:
    if sys.platform == "linux":  # a thread has its own nice value; elsewhere this would lower the process
        with contextlib.suppress(OSError):
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + _ANALYSIS_NICE)
            )


# Daemon threads (graph/analysis_pool.py): a reading that never ends must not keep a stopping worker alive.
_ANALYSIS = DaemonPool(max(1, (os.cpu_count() or 2) - 1), "baton-analysis", initializer=_yield_to_the_loop)


class NotCached(BaseException):
    """An attempt in place (:func:`off_loop_unless_cached`) reached work that is not cached.

    A ``BaseException``, like ``CancelledError``: an ``except Exception`` fallback on the way (a reader
    that degrades when a model fails) must not swallow it and return a lesser reading.
    """


_CACHED_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("baton_cached_only", default=False)


def cached_only() -> bool:
    """True inside an attempt in place: readers must not parse, embed, fit or wait for a lock."""
    return _CACHED_ONLY.get()


def needs_work(what: str) -> None:
    """Called by a reader before it runs a model or parses: aborts an attempt in place.

    Raises:
        NotCached: Inside :func:`off_loop_unless_cached`'s attempt in place.
    """
    if cached_only():
        raise NotCached(what)


async def off_loop_unless_cached(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in place when everything it reads is cached, else in the analysis threads.

    A turn's reading mostly assembles cached parts (a text the router read moments before, the
    request for a person that every handoff repeats): that takes well under a millisecond, while the
    hop to a thread and back costs about 0.3 ms of waiting and two thread switches. The attempt in place
    stops at the first reader that would parse, embed or fit (:func:`needs_work`, every
    :class:`DigestCache` miss) and the call is made again in a thread: ``fn`` must have no effect
    before it reads (the readers only fill caches after they computed).
    """
    token = _CACHED_ONLY.set(True)
    try:
        return fn(*args, **kwargs)
    except NotCached:
        pass
    finally:
        _CACHED_ONLY.reset(token)
    return await off_loop(fn, *args, **kwargs)


async def off_loop(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn(*args, **kwargs)`` in the analysis threads, as :func:`asyncio.to_thread` would.

    ``fn`` must not touch objects bound to the event loop; give it copies of anything the loop may
    change while it runs.
    """
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_ANALYSIS, call)
