"""Counts the SQL statements a ``baton serve`` worker sends (benchmarks only, via ``PYTHONPATH``).

Active only when ``BATON_BENCH_SQL_DIR`` is set: wraps psycopg's (Postgres) cursor
``execute``/``executemany`` and sqlite3's (``sqlite3.connect`` gets a counting connection class: the
checkpointer and the API store both run ``sqlite3`` in place), and writes ``{pid}.json`` with the
running counts to that directory every half second, so ``benchmarks/cpu_account.py`` can take
before/after deltas per phase. A statement inside ``executemany`` counts once per call (one round
trip in psycopg's pipeline, one prepared statement in SQLite), and its parameter rows under
``*_rows``; SQLite's commits count under ``sqlite_commits`` (the API store's connection commits each
statement itself, in autocommit mode, and those are not counted). redis-py's asyncio connections
count their writes (``redis_round_trips``: a pipeline is one) and the commands in them by name
(``redis_cmd_<name>``) when ``BATON_REDIS_URL`` is set.

Not a trace callback: sqlite3 hands the callback each statement with its parameters expanded into
SQL text, a checkpoint's blobs as hex. That took 62 us per 4 KB insert against 4.5 us without, and
counted as the server's CPU.
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


def _count_sqlite() -> None:
    import sqlite3

    class Counting:
        """``execute``/``executemany`` counted, for a cursor and a connection alike."""

        def execute(self, sql: str, parameters: Any = (), /) -> Any:
            COUNTS["sqlite_execute"] += 1
            return super().execute(sql, parameters)  # type: ignore[misc]  # a mixin

        def executemany(self, sql: str, rows: Any, /) -> Any:
            rows = list(rows)
            COUNTS["sqlite_executemany"] += 1
            COUNTS["sqlite_executemany_rows"] += len(rows)
            return super().executemany(sql, rows)  # type: ignore[misc]

    class Cursor(Counting, sqlite3.Cursor):
        pass

    class Connection(Counting, sqlite3.Connection):
        # Connection.execute* make a cursor through cursor() and run it in C: counted here once.
        def cursor(self, factory: Any = Cursor) -> Any:
            return super().cursor(factory)

        def commit(self) -> None:
            COUNTS["sqlite_commits"] += 1
            super().commit()

    original = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", Connection)
        return original(*args, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]


def _count_redis() -> None:
    """Client round trips to Redis (one write each) and the commands in them, by name."""
    from redis.asyncio.connection import AbstractConnection

    send_packed = AbstractConnection.send_packed_command
    pack_commands = AbstractConnection.pack_commands

    async def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        COUNTS["redis_round_trips"] += 1
        await send_packed(self, command, check_health)

    def counted_pack_commands(self: Any, commands: Any) -> Any:
        commands = list(commands)
        for args in commands:
            COUNTS["redis_cmd_" + str(args[0]).split()[0].lower()] += 1
        return pack_commands(self, commands)

    original_send = AbstractConnection.send_command

    async def send_command(self: Any, *args: Any, **kwargs: Any) -> None:
        COUNTS["redis_cmd_" + str(args[0]).split()[0].lower()] += 1
        await original_send(self, *args, **kwargs)

    AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    AbstractConnection.pack_commands = counted_pack_commands  # type: ignore[method-assign]
    AbstractConnection.send_command = send_command  # type: ignore[method-assign]


def _dump(directory: Path) -> None:
    path = directory / f"{os.getpid()}.json"
    written: dict[str, int] = {}
    while True:
        time.sleep(0.5)
        now = dict(COUNTS)
        if now == written:
            continue  # an idle worker's probe must not be the work it measures
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(now))
        tmp.replace(path)
        written = now


if _DIR:
    try:
        import psycopg

        _wrap(psycopg.AsyncCursor, "execute", "postgres_execute", False)
        _wrap(psycopg.AsyncCursor, "executemany", "postgres_executemany", True)
    except ImportError:
        pass
    if os.environ.get("BATON_REDIS_URL"):  # only where the app imports redis: no module added elsewhere
        _count_redis()
    _count_sqlite()
    threading.Thread(target=_dump, args=(Path(_DIR),), daemon=True, name="sqlcount").start()
