"""Counts the SQL statements a ``baton serve`` worker sends (benchmarks only, via ``PYTHONPATH``).

Active only when ``BATON_BENCH_SQL_DIR`` is set: wraps psycopg's (Postgres) and aiosqlite's
(the SQLite checkpointer) cursor ``execute``/``executemany`` and writes ``{pid}.json`` with the
running counts to that directory every half second, so ``benchmarks/cpu_account.py`` can take
before/after deltas per phase. A statement inside ``executemany`` counts once per call (one round trip
in psycopg's pipeline), and its parameter rows under ``*_rows``.
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


def _wrap_plain(cls: Any, name: str, key: str) -> None:
    """For aiosqlite's ``Connection.execute``: its result is awaited *or* used with ``async with``."""
    original = getattr(cls, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTS[key] += 1
        return original(self, *args, **kwargs)

    setattr(cls, name, wrapper)


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
    try:
        import aiosqlite

        _wrap_plain(aiosqlite.Connection, "execute", "sqlite_execute")
        _wrap_plain(aiosqlite.Connection, "executemany", "sqlite_executemany")
        _wrap(aiosqlite.Cursor, "execute", "sqlite_execute", False)
        _wrap(aiosqlite.Cursor, "executemany", "sqlite_executemany", True)
    except ImportError:
        pass
    threading.Thread(target=_dump, args=(Path(_DIR),), daemon=True, name="sqlcount").start()
