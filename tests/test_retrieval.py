"""CaseStore: the exact in-memory search over the case table, on SQLite and on the real Postgres."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graph import retrieval
from graph.case_rows import CaseRows, PostgresCaseRows, SqliteCaseRows, chroma_cases
from graph.embeddings import MODEL_ID, get_embedder
from graph.retrieval import CaseStore

CASES_DATA = [
    ("c-login", "Customer locked out of online banking after a password reset", "Unlocked and resent link", "account"),
    ("c-refund", "Refund from a merchant has not appeared in the account", "Explained 5-day refund window", "billing"),
    ("c-card", "New debit card never arrived in the post", "Cancelled and reissued card", "cards"),
]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def open_rows(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of connections to one case table (each call: a new worker's connection)."""
    opened: list[CaseRows] = []
    if request.param == "sqlite":

        def make() -> CaseRows:
            opened.append(SqliteCaseRows(tmp_path / "cases.sqlite"))
            return opened[-1]

    else:
        url = request.getfixturevalue("postgres_schema")

        def make() -> CaseRows:
            opened.append(PostgresCaseRows(url))
            return opened[-1]

    yield make
    for rows in opened:
        rows.close()


@pytest.fixture
def store(open_rows: Any) -> CaseStore:
    s = CaseStore(open_rows())
    for case_id, summary, resolution, dept in CASES_DATA:
        s.add_case(case_id, summary, resolution, {"department": dept, "outcome": "resolved", "note": None})
    return s


def test_similar_case_ranks_first_with_highest_score(store: CaseStore) -> None:
    hits = store.similar_cases("my card still hasn't been delivered", k=3, min_score=0.0)
    assert hits[0].id == "c-card"
    assert hits[0].resolution == "Cancelled and reissued card"
    assert hits[0].metadata == {"department": "cards", "outcome": "resolved"}
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    expected = float(
        get_embedder().embed(["my card still hasn't been delivered"])[0]
        @ get_embedder().embed([CASES_DATA[2][1]])[0]
    )
    assert hits[0].score == pytest.approx(expected, abs=1e-5)  # the cosine itself, not an estimate


def test_min_score_and_department_filter(store: CaseStore) -> None:
    assert store.similar_cases("what's the weather on Mars tomorrow", min_score=0.6) == []
    only_billing = store.similar_cases(
        "my card still hasn't been delivered", min_score=0.0, department="billing"
    )
    assert [h.id for h in only_billing] == ["c-refund"]
    assert store.similar_cases("card", department="nobody") == []
    assert store.similar_cases("   ") == []


def test_upsert_is_idempotent(store: CaseStore) -> None:
    store.add_case("c-card", "New debit card never arrived in the post", "Sent a replacement by courier", {})
    assert store.count() == 3
    top = store.similar_cases("card not delivered", k=1, min_score=0.0)[0]
    assert top.resolution == "Sent a replacement by courier"


def test_persists_across_reopen(open_rows: Any) -> None:
    CaseStore(open_rows()).add_case("c-1", "Transfer to a friend is still pending", "Released the hold", {})
    reopened = CaseStore(open_rows())
    assert reopened.count() == 1
    assert reopened.similar_cases("pending transfer", min_score=0.0)[0].id == "c-1"


def test_another_workers_case_is_found_after_the_refresh(
    open_rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, theirs = CaseStore(open_rows()), CaseStore(open_rows())
    mine.similar_cases("anything")  # read once: the next read waits REFRESH_S
    theirs.add_case("c-2", "Card payment declined abroad", "Lifted the travel block", {})
    theirs.add_case("c-2", "Card payment declined abroad", "Lifted the travel block and sent a new PIN", {})
    assert mine.similar_cases("my card was declined in Spain", min_score=0.0) == []
    monkeypatch.setattr(retrieval, "REFRESH_S", 0.0)
    (hit,) = mine.similar_cases("my card was declined in Spain", min_score=0.0)
    assert (hit.id, hit.resolution) == ("c-2", "Lifted the travel block and sent a new PIN")


def test_holds_the_newest_cases_up_to_its_limit(open_rows: Any) -> None:
    rows = open_rows()
    store = CaseStore(rows, limit=8)
    for i in range(20):
        store.add_case(f"c-{i}", f"Question number {i} about a mortgage rate", f"answer {i}", {})
    assert store.count() == 20  # the table keeps them all
    assert store._index.size <= 8 + 1  # memory holds the newest, with slack before compacting
    assert len(store._index.matrix) <= 8 + 1 + 1  # and never allocates past that
    held = {r.id for r in store._index.rows[: store._index.size]}
    assert "c-19" in held
    assert "c-0" not in held
    fresh = CaseStore(open_rows(), limit=8)
    assert [r.id for r in fresh._index.rows] == [f"c-{i}" for i in range(12, 20)]


def test_a_case_embedded_by_another_model_is_embedded_again(open_rows: Any) -> None:
    rows = open_rows()
    rows.put(
        "c-old", "Lost my card at the station", "Blocked it and sent a new one", {}, "old-model", b"\0" * 16
    )
    store = CaseStore(rows)
    (hit,) = store.similar_cases("I lost my card", min_score=0.3)
    assert hit.id == "c-old"
    (row,) = open_rows().newest(5)
    assert row.model == MODEL_ID
    assert len(row.vector) == 384 * 4
    np.testing.assert_allclose(
        np.frombuffer(row.vector, np.float32),
        get_embedder().embed(["Lost my card at the station"])[0],
        atol=1e-6,
    )


def test_bad_metadata_is_rejected(store: CaseStore) -> None:
    with pytest.raises(TypeError, match="must be str"):
        store.add_case("c-x", "summary", "resolution", {"tags": ["a", "b"]})


def _chroma_file(path: Path) -> Path:
    """The tables chromadb 1.x keeps a collection's ids, documents and metadata in (its schema, as a
    real ``chroma.sqlite3`` of an earlier release has it), with two cases and a knowledge snippet."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE collections (id TEXT PRIMARY KEY, name TEXT NOT NULL, dimension INTEGER,
            database_id TEXT NOT NULL, config_json_str TEXT, schema_str TEXT);
        CREATE TABLE segments (id TEXT PRIMARY KEY, type TEXT NOT NULL, scope TEXT NOT NULL,
            collection TEXT NOT NULL);
        CREATE TABLE embeddings (id INTEGER PRIMARY KEY, segment_id TEXT NOT NULL, embedding_id TEXT NOT NULL,
            seq_id BLOB NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
        CREATE TABLE embedding_metadata (id INTEGER, key TEXT NOT NULL, string_value TEXT, int_value INTEGER,
            float_value REAL, bool_value INTEGER, PRIMARY KEY (id, key));
        INSERT INTO collections VALUES ('col-c', 'resolved_cases', 384, 'db', NULL, NULL),
            ('col-k', 'knowledge', 384, 'db', NULL, NULL);
        INSERT INTO segments VALUES ('seg-cv', 'urn:chroma:segment/vector/hnsw-local-persisted', 'VECTOR', 'col-c'),
            ('seg-cm', 'urn:chroma:segment/metadata/sqlite', 'METADATA', 'col-c'),
            ('seg-km', 'urn:chroma:segment/metadata/sqlite', 'METADATA', 'col-k');
        INSERT INTO embeddings (id, segment_id, embedding_id, seq_id) VALUES (1, 'seg-cm', 'h-lien', 1),
            (2, 'seg-cm', 'h-refund', 2), (3, 'seg-km', 'kb-1', 3);
        INSERT INTO embedding_metadata VALUES
            (1, 'chroma:document', 'Selling a house with a lien on the title', NULL, NULL, NULL),
            (1, 'resolution', 'Title company released the lien after probate', NULL, NULL, NULL),
            (1, 'target', 'human_agent', NULL, NULL, NULL), (1, 'turns', NULL, 7, NULL, NULL),
            (1, 'vip', NULL, NULL, NULL, 1),
            (2, 'chroma:document', 'Refund has not appeared', NULL, NULL, NULL),
            (2, 'resolution', 'Explained the window', NULL, NULL, NULL),
            (3, 'chroma:document', 'Refunds take 5 days', NULL, NULL, NULL);
        """
    )
    conn.close()
    return path


def test_cases_of_an_earlier_chromadb_store_are_read_over(tmp_path: Path) -> None:
    found = {c.id: c for c in chroma_cases(_chroma_file(tmp_path / "chroma.sqlite3"))}
    assert set(found) == {"h-lien", "h-refund"}  # the knowledge collection is not a case
    assert found["h-lien"].resolution == "Title company released the lien after probate"
    assert found["h-lien"].metadata == {"target": "human_agent", "turns": 7, "vip": True}
    store = CaseStore(SqliteCaseRows(tmp_path / "cases.sqlite"))
    assert store.import_chroma(tmp_path / "chroma.sqlite3") == 2
    (hit,) = store.similar_cases("we need to sell mom's house but there is a lien", min_score=0.45)
    assert hit.id == "h-lien"


def test_postgres_rows_connect_again_after_the_server_dropped_them(postgres_schema: str) -> None:
    import psycopg

    rows = PostgresCaseRows(postgres_schema)
    store = CaseStore(rows)
    store.add_case("c-1", "Transfer to a friend is still pending", "Released the hold", {})
    with psycopg.connect(postgres_schema, autocommit=True) as admin:  # as a Postgres restart would
        admin.execute("SELECT pg_terminate_backend(%s)", (rows._conn.info.backend_pid,))
    store.add_case("c-2", "Card payment declined abroad", "Lifted the travel block", {})
    assert store.count() == 2
    store.close()
