"""Where resolved cases are kept: one table in SQLite (embedded) or Postgres (scaled).

A row holds the case's text, its metadata as JSON and its embedding (float32 bytes, with the model that
made it), and a ``seq`` that grows with every write, a rewrite of the same id included: a worker that
has read up to ``seq`` reads what others wrote since with ``after(seq)``. The search itself is
``graph.retrieval.CaseStore``'s, in memory.

Also here: reading the cases out of the chromadb store that earlier releases kept under
``data_dir/chroma`` (plain SQL on its SQLite file), so an upgrade keeps them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from graph.private_files import private_sqlite

if TYPE_CHECKING:
    import psycopg

MetadataValue = str | int | float | bool
TABLE = "baton_cases"
_COLUMNS = "seq, id, summary, resolution, metadata, model, vector"
CONNECT_TIMEOUT_S = 5
_DDL_LOCK = 0x626174_6F6E6373  # Postgres advisory lock for the table's creation ("baton-cs")


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One stored case."""

    seq: int
    id: str
    summary: str
    resolution: str
    metadata: dict[str, MetadataValue]
    model: str
    vector: bytes


def _row(values: tuple[Any, ...]) -> CaseRow:
    seq, id_, summary, resolution, metadata, model, vector = values
    return CaseRow(
        int(seq), str(id_), str(summary), str(resolution), json.loads(metadata), str(model), bytes(vector)
    )


class CaseRows(Protocol):
    """A case table. ``reread``: how far below the highest ``seq`` seen a reader looks again, for
    writes that took their ``seq`` before another's but committed after it (0 where one writer at a
    time takes them in commit order)."""

    reread: int

    def put(
        self,
        case_id: str,
        summary: str,
        resolution: str,
        metadata: dict[str, MetadataValue],
        model: str,
        vector: bytes,
    ) -> int:
        """Insert or replace the case ``case_id``; returns its new ``seq``."""
        ...

    def newest(self, limit: int) -> list[CaseRow]:
        """The ``limit`` most recently written cases, oldest first."""
        ...

    def after(self, seq: int) -> list[CaseRow]:
        """Cases written after ``seq``, oldest first."""
        ...

    def count(self) -> int:
        """How many cases are stored."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class _CaseTable:
    """What both tables share: the statements, run through each backend's ``_fetch`` (``?``
    placeholders); only the upsert (``_UPSERT``: how a row takes its ``seq``) differs."""

    reread: int
    _UPSERT: str
    _lock: threading.Lock
    _conn: Any

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def put(
        self,
        case_id: str,
        summary: str,
        resolution: str,
        metadata: dict[str, MetadataValue],
        model: str,
        vector: bytes,
    ) -> int:
        """Insert or replace the case ``case_id`` (one statement: atomic); returns its new ``seq``."""
        (row,) = self._fetch(
            self._UPSERT, (case_id, summary, resolution, json.dumps(metadata), model, vector)
        )
        return int(row[0])

    def newest(self, limit: int) -> list[CaseRow]:
        """The newest ``limit`` rows, oldest first."""
        rows = self._fetch(f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY seq DESC LIMIT ?", (limit,))
        return [_row(r) for r in reversed(rows)]

    def after(self, seq: int) -> list[CaseRow]:
        """Rows with a higher ``seq``, oldest first."""
        return [
            _row(r) for r in self._fetch(f"SELECT {_COLUMNS} FROM {TABLE} WHERE seq > ? ORDER BY seq", (seq,))
        ]

    def count(self) -> int:
        """Stored cases."""
        return int(self._fetch(f"SELECT COUNT(*) FROM {TABLE}", ())[0][0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class SqliteCaseRows(_CaseTable):
    """The case table in a SQLite file of its own (``data_dir/cases.sqlite``, private).

    One connection, used by one thread at a time (a lock): cases are written once per resolved handoff
    and read in bulk, so a pool would buy nothing.
    """

    reread = 0  # SQLite has one writer at a time: seqs commit in order
    # Inserted or replaced, the row takes the next ``seq`` either way.
    _UPSERT = (
        f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM {TABLE}),"
        " ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
        f" seq = (SELECT MAX(seq) + 1 FROM {TABLE}), summary = excluded.summary,"
        " resolution = excluded.resolution, metadata = excluded.metadata, model = excluded.model,"
        " vector = excluded.vector RETURNING seq"
    )

    def __init__(self, path: Path) -> None:
        self.path = private_sqlite(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=10.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            " summary TEXT NOT NULL, resolution TEXT NOT NULL, metadata TEXT NOT NULL,"
            " model TEXT NOT NULL, vector BLOB NOT NULL)"
        )

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()


class PostgresCaseRows(_CaseTable):
    """The case table in the scaled profile's Postgres, shared by every worker on every host.

    A synchronous connection (the case store runs in worker threads, never on the event loop), one
    thread at a time; ``seq`` is a sequence, so two workers' writes can commit out of ``seq`` order:
    readers look ``reread`` below the highest ``seq`` they saw.
    """

    reread = 64
    # A new row takes its ``seq`` from the sequence, and so does a replaced one.
    _UPSERT = (
        f"INSERT INTO {TABLE} (id, summary, resolution, metadata, model, vector)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        f" seq = nextval(pg_get_serial_sequence('{TABLE}', 'seq')), summary = EXCLUDED.summary,"
        " resolution = EXCLUDED.resolution, metadata = EXCLUDED.metadata, model = EXCLUDED.model,"
        " vector = EXCLUDED.vector RETURNING seq"
    )

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[Any, ...]] = self._connect()
        with self._conn.transaction():
            # Two workers creating the table at once would race on its type's name.
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
                " summary TEXT NOT NULL, resolution TEXT NOT NULL, metadata TEXT NOT NULL,"
                " model TEXT NOT NULL, vector BYTEA NOT NULL)"
            )

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg  # only the scaled profile has it loaded

        # A brief waits on this in an analysis thread: an unreachable server fails it in seconds.
        return psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Run one statement; after a lost connection (a Postgres restart) connect again, once."""
        import psycopg

        sql = sql.replace("?", "%s")  # the shared statements' placeholders (no literal holds one)
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except psycopg.OperationalError:
                if not self._conn.closed:
                    raise  # the server answered with an error: not a lost connection
                self._conn = self._connect()
                return self._conn.execute(sql, params).fetchall()


@dataclass(frozen=True, slots=True)
class ChromaCase:
    """A case as an earlier release's chromadb store kept it (its vector is not read: re-embedded)."""

    id: str
    summary: str
    resolution: str
    metadata: dict[str, MetadataValue]


def chroma_cases(path: Path, collection: str = "resolved_cases") -> list[ChromaCase]:
    """The cases in a chromadb ``chroma.sqlite3`` (its metadata segment: ids, documents, metadata).

    Args:
        path: The chromadb SQLite file.
        collection: The collection's name.

    Returns:
        One case per stored id; an empty list when the file holds no such collection.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT e.embedding_id, m.key, m.string_value, m.int_value, m.float_value, m.bool_value"
            " FROM embeddings e JOIN segments s ON s.id = e.segment_id"
            " JOIN collections c ON c.id = s.collection JOIN embedding_metadata m ON m.id = e.id"
            " WHERE c.name = ? AND s.scope = 'METADATA' ORDER BY e.id",
            (collection,),
        ).fetchall()
    finally:
        conn.close()
    found: dict[str, dict[str, MetadataValue]] = {}
    for case_id, key, text, integer, real, flag in rows:
        value: MetadataValue | None = next((v for v in (text, integer, real) if v is not None), None)
        if value is None and flag is not None:
            value = bool(flag)
        if value is not None:
            found.setdefault(str(case_id), {})[str(key)] = value
    out = []
    for case_id, fields in found.items():
        summary = str(fields.pop("chroma:document", ""))
        resolution = str(fields.pop("resolution", ""))
        if summary:
            out.append(ChromaCase(case_id, summary, resolution, fields))
    return out
