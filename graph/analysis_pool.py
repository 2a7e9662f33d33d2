"""The threads that read customer text: daemon threads, so a reading that never ends cannot keep a
stopping worker alive.

A standard ``ThreadPoolExecutor`` joins its threads when the interpreter exits. When a reading once
looped for good (a whitespace-only message, fixed), the worker finished its shutdown on SIGTERM and
then waited for that thread for ever, holding SQLite's write lock, so the next start answered "database
is locked". A reading has no effect to finish (its caller is gone by then), so these threads are
daemons and die with the process.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_Item = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonPool(Executor):
    """A fixed number of daemon threads taking calls in order (started on the first call)."""

    def __init__(self, workers: int, name: str, initializer: Callable[[], None] | None = None) -> None:
        self._workers = workers
        self._name = name
        self._initializer = initializer
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; its future holds the result or the exception it raised."""
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            if not self._threads:
                for i in range(self._workers):
                    thread = threading.Thread(target=self._serve, name=f"{self._name}_{i}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
            future: Future[T] = Future()
            self._queue.put((future, fn, args, kwargs))
        return future

    def _serve(self) -> None:
        if self._initializer is not None:
            self._initializer()
        while (item := self._queue.get()) is not None:
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller, as ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)
            del item, future, fn, args, kwargs  # nothing of a call outlives it in this frame

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking calls; the threads end after the calls queued before (``wait``: join them)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join()
