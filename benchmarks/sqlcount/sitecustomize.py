"""Counts the SQL statements a ``baton serve`` worker sends (benchmarks only, via ``PYTHONPATH``).

Active only when ``BATON_BENCH_SQL_DIR`` is set: wraps psycopg's (Postgres) cursor
``execute``/``executemany`` and has SQLite report every statement it runs (``sqlite3.connect`` gets a
trace callback: the checkpointer and the API store both run ``sqlite3`` in place), and writes
``{pid}.json`` with the running counts to that directory every half second, so
``benchmarks/cpu_account.py`` can take before/after deltas per phase. A Postgres statement inside
``executemany`` counts once per call (one round trip in psycopg's pipeline), and its parameter rows
under ``*_rows``; SQLite counts each statement it runs (``BEGIN`` and ``COMMIT`` too, and each row of
an ``executemany``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

_DIR = os.environ.get("BATON_BENCH_SQL_DIR")
COUNTS: Counter[str] = Counter()


def _wrap(cls: Any, name: str, key: str, many: bool) -> None:
    original = getattr(cls, name)

    async def wrapper(self: Any, query: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        COUNTS[key] += 1
        if many and params is not None:
            params = list(params)
            COUNTS[key + "_rows"] += len(params)
        return await original(self, query, params, *args, **kwargs)

    setattr(cls, name, wrapper)


def _trace_sqlite() -> None:
    import sqlite3

    original = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = original(*args, **kwargs)
        conn.set_trace_callback(_count_sqlite)
        return conn

    sqlite3.connect = connect


def _count_sqlite(_statement: str) -> None:
    COUNTS["sqlite_statements"] += 1


def _dump(directory: Path) -> None:
    path = directory / f"{os.getpid()}.json"
    while True:
        time.sleep(0.5)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(COUNTS)))
        tmp.replace(path)


if _DIR:
    try:
        import psycopg

        _wrap(psycopg.AsyncCursor, "execute", "postgres_execute", False)
        _wrap(psycopg.AsyncCursor, "executemany", "postgres_executemany", True)
    except ImportError:
        pass
    _trace_sqlite()
    threading.Thread(target=_dump, args=(Path(_DIR),), daemon=True, name="sqlcount").start()
