"""Fold a py-spy ``--format raw`` profile of ``baton serve`` into where the server's time goes.

    py-spy record --pid <server pid> --duration 40 --nonblocking --format raw -o /tmp/server.raw
    .venv/bin/python benchmarks/spy_summary.py /tmp/server.raw > benchmarks/results/server_profile_embedded.txt

Every sample is put in the first bucket its stack matches (order below), so the shares add up to
100% of the samples: the event loop's busy time by component, its idle time, and worker threads.
"""

from __future__ import annotations

import argparse
import collections
import inspect
from pathlib import Path

import common  # noqa: F401  # puts the repository on the path

from graph.analysis_pool import DaemonPool

# (bucket, substrings of a frame); the first match wins. Component buckets match anywhere in the
# stack; the framework ones only near the leaf, since every request runs under uvicorn and Starlette.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("router node: brief", ("build_brief (graph/context/",)),
    ("router node: signals + policy", ("router (nodes/router.py",)),
    ("other graph nodes", ("(nodes/",)),
    ("checkpointer SQL calls (aiosqlite hop, loop side; before 7c8a11f)", ("aiosqlite", "sqlite/aio.py")),
    (
        "LangGraph runtime, checkpoint serde",
        ("langgraph", "(graph/runtime.py", "(graph/runner.py", "(graph/time_travel.py", "serde/", "pregel/"),
    ),
    ("desk (assignment, timers)", ("(desk/",)),
    ("API store (SQLite/Postgres)", ("(api/store.py", "(api/db.py")),
    (
        "API handlers, auth, event log",
        ("(api/routes/", "(api/handoffs.py", "(api/auth.py", "(api/eventlog.py", "(api/eventlog_redis.py"),
    ),
]
NEAR_LEAF: list[tuple[str, tuple[str, ...]]] = [
    ("access log", ("logging/",)),
    ("WebSocket framing", ("websockets",)),
    ("middleware (limits, metrics)", ("(api/limits.py", "(api/metrics.py")),
    ("HTTP stack (uvicorn, Starlette, FastAPI)", ("uvicorn", "starlette", "fastapi", "httptools")),
]
_LEAF_DEPTH = 4


def _pool_wait_frame() -> str:
    """The frame of an analysis thread waiting for work: the line of ``DaemonPool._serve`` that takes
    the next call from its queue, as py-spy names it."""
    lines, first = inspect.getsourcelines(DaemonPool._serve)
    at = next(first + i for i, line in enumerate(lines) if "self._queue.get()" in line)
    return f"DaemonPool._serve (graph/analysis_pool.py:{at})"


_POOL_WAIT = _pool_wait_frame()


def bucket(frames: list[str]) -> str:
    """The bucket of one stack (root first)."""
    if frames[0].startswith("Thread._bootstrap") or "threading.py" in frames[0]:
        # A pool worker waiting for work blocks in ``SimpleQueue.get``, which is C: no frame of its own,
        # so the leaf is the worker loop itself (its other calls, the work items, are Python frames):
        # ``ThreadPoolExecutor``'s ``_worker`` and the analysis threads' ``DaemonPool._serve``.
        idle = any(
            w in frames[-1]
            for w in ("wait", "Queue.get", "aiosqlite/core.py:59", "_worker (concurrent/futures", _POOL_WAIT)
        )
        owner = "other"
        if any("aiosqlite" in f for f in frames):
            owner = "aiosqlite (checkpointer SQL)"
        elif any("(graph/" in f for f in frames):
            owner = "analysis (signals, brief: spaCy, embeddings)"
        return f"thread: {owner}, {'idle' if idle else 'busy'}"
    if frames[-1].startswith("Runner.run (asyncio/runners.py"):
        # Only with ``--idle`` is this the loop waiting in epoll. Without it py-spy drops the samples
        # of a sleeping thread (an idle server gives none), so these ran with no Python frame above
        # the loop: uvloop's C code, or a stack read while it changed (``--nonblocking``).
        return "event loop: no Python frame (waiting in epoll only with --idle)"
    if frames[-1].startswith("SqliteSaver."):  # the statement itself (sqlite3 is C: no frame of its own)
        return "event loop: checkpointer SQL (sqlite3 in place)"
    stack = ";".join(frames)
    for name, needles in COMPONENTS:
        if any(n in stack for n in needles):
            return f"event loop: {name}"
    # The frame nearest the leaf decides: uvicorn writing a response is the HTTP stack even when the
    # body limit's and the metrics' ``send`` wrappers are the frames above it.
    for frame in reversed(frames[-_LEAF_DEPTH:]):
        for name, needles in NEAR_LEAF:
            if any(n in frame for n in needles):
                return f"event loop: {name}"
    return "event loop: other (asyncio, pydantic, json, ...)"


def main() -> None:
    """Print bucket shares and the top leaf frames."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("raw", type=Path, help="py-spy --format raw output")
    parser.add_argument("--leaves", type=int, default=20, help="leaf frames to list")
    args = parser.parse_args()
    buckets: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in args.raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        buckets[bucket(frames)] += n
        leaves[frames[-1]] += n
    print(f"{total} samples from {args.raw.name}\n")
    for name, n in buckets.most_common():
        print(f"{100 * n / total:5.1f}%  {name}")
    print("\nTop leaf frames:")
    for name, n in leaves.most_common(args.leaves):
        print(f"{100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
