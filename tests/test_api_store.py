"""The API store on both backends: cached lookups stay right across writers, SQLite commits per statement."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from api.auth import AGENT_PREFIX, CUSTOMER_PREFIX, Principal, new_token, resolve
from api.errors import ApiError
from api.store import ApiStore, Lru, open_db
from api.supervisor_store import SupervisorStore
from tests.conftest import POSTGRES_URL, _postgres_ok, service_missing

ADMIN = "adm_store_test"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest) -> str:
    """``""`` opens SQLite under the data dir; Postgres is the real server (tables shared across tests)."""
    if request.param == "sqlite":
        return ""
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    return POSTGRES_URL


@pytest.fixture
async def stores(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[ApiStore, ApiStore]]:
    """Two stores over the same tables, as two workers (or a worker and its restart) have."""
    async with open_db(db_url, tmp_path / "data") as first, open_db(db_url, tmp_path / "data") as second:
        yield ApiStore(first), ApiStore(second)


def _cid() -> str:
    return f"c-{uuid.uuid4().hex}"


async def test_assignment_changes_are_seen_by_every_store(stores: tuple[ApiStore, ApiStore]) -> None:
    a, b = stores
    cid, token = _cid(), new_token(CUSTOMER_PREFIX)
    await a.add_conversation(cid, token, {"name": "Dana"})
    for store in (a, b):  # warm every cached read path on both
        assert await store.conversation_for_token(token) == cid
        assert await store.has_conversation(cid)
        record = await store.conversation(cid)
        assert record is not None
        assert (record["handoff_id"], record["agent_id"]) == (None, None)

    await a.set_assignment(cid, "h-1", None)
    for store in (a, b):
        record = await store.conversation(cid)
        assert record is not None
        assert (record["handoff_id"], record["agent_id"]) == ("h-1", None)

    await b.set_assignment(cid, "h-1", "maria")
    for store in (a, b):
        record = await store.conversation(cid)
        assert record is not None
        assert (record["handoff_id"], record["agent_id"]) == ("h-1", "maria")
        assert record["profile"] == {"name": "Dana"}

    await a.set_assignment(cid, None, None)
    record = await b.conversation(cid)
    assert record is not None
    assert (record["handoff_id"], record["agent_id"]) == (None, None)


async def test_wrong_token_is_rejected_after_the_right_one_is_cached(
    stores: tuple[ApiStore, ApiStore],
) -> None:
    store, _ = stores
    c1, t1, c2, t2 = _cid(), new_token(CUSTOMER_PREFIX), _cid(), new_token(CUSTOMER_PREFIX)
    await store.add_conversation(c1, t1, {})
    await store.add_conversation(c2, t2, {})
    assert await resolve(t1, ADMIN, store, SupervisorStore(store.db)) == Principal("customer", c1)
    assert await resolve(t1, ADMIN, store, SupervisorStore(store.db)) == Principal(
        "customer", c1
    )  # from the cache now
    for wrong in (t1 + "x", t1[:-1], CUSTOMER_PREFIX, new_token(CUSTOMER_PREFIX)):
        with pytest.raises(ApiError) as caught:
            await resolve(wrong, ADMIN, store, SupervisorStore(store.db))
        assert caught.value.status == 401
    assert await resolve(t2, ADMIN, store, SupervisorStore(store.db)) == Principal("customer", c2)
    assert not await store.has_conversation(_cid())


async def test_a_miss_is_not_cached(stores: tuple[ApiStore, ApiStore]) -> None:
    """Another worker may create the conversation right after this one looked for it."""
    a, b = stores
    cid, token = _cid(), new_token(CUSTOMER_PREFIX)
    assert await b.conversation_for_token(token) is None
    assert not await b.has_conversation(cid)
    await a.add_conversation(cid, token, {})
    assert await b.has_conversation(cid)  # before the token lookup, which would cache the id too
    assert await b.conversation_for_token(token) == cid


async def test_a_failed_insert_caches_nothing(stores: tuple[ApiStore, ApiStore]) -> None:
    store, _ = stores
    cid, token, other = _cid(), new_token(CUSTOMER_PREFIX), new_token(CUSTOMER_PREFIX)
    await store.add_conversation(cid, token, {})
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        await store.add_conversation(cid, other, {})
    assert await store.conversation_for_token(other) is None
    with pytest.raises(ApiError):
        await resolve(other, ADMIN, store, SupervisorStore(store.db))
    assert await store.conversation_for_token(token) == cid


async def test_a_rotated_agent_token_is_rejected_by_every_store(stores: tuple[ApiStore, ApiStore]) -> None:
    a, b = stores
    agent, old, new = f"agent-{uuid.uuid4().hex}", new_token(AGENT_PREFIX), new_token(AGENT_PREFIX)
    await a.set_agent_token(agent, old)
    assert await resolve(old, ADMIN, b, SupervisorStore(b.db)) == Principal("agent", agent)
    await a.set_agent_token(agent, new)
    for store in (a, b):
        with pytest.raises(ApiError):
            await resolve(old, ADMIN, store, SupervisorStore(store.db))
        assert await resolve(new, ADMIN, store, SupervisorStore(store.db)) == Principal("agent", agent)


async def test_lookups_stay_right_past_the_cache_size(db_url: str, tmp_path: Path) -> None:
    async with open_db(db_url, tmp_path / "data") as db:
        store = ApiStore(db, cache_size=2)
        made = [(_cid(), new_token(CUSTOMER_PREFIX)) for _ in range(6)]
        await asyncio.gather(*(store.add_conversation(cid, token, {}) for cid, token in made))
        for _ in range(2):
            for cid, token in made:
                assert await store.conversation_for_token(token) == cid
                assert await store.has_conversation(cid)


def test_lru_drops_the_least_recently_used() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the oldest
    cache.put("c", 3)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    cache.put("a", 10)
    assert cache.get("a") == 10
    assert len(cache) == 2


# -- Postgres: one round trip per statement ------------------------------------------------------
async def test_postgres_statements_run_without_a_transaction_around_them(tmp_path: Path) -> None:
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    async with open_db(POSTGRES_URL, tmp_path) as db:
        for _ in range(3):  # the pool hands back the same connection: no BEGIN left over either
            # Inside a BEGIN sent first, now() is when BEGIN ran, before the statement started.
            assert await db.fetchall("SELECT now() = statement_timestamp()") == [(True,)]
        with pytest.raises(psycopg.errors.DivisionByZero):
            await db.fetchall("SELECT 1 / 0")
        assert await db.fetchall("SELECT 2") == [(2,)], "a failed statement leaves nothing to roll back"


# -- SQLite: statements on the loop, each committed before execute returns ------------------------
async def test_sqlite_write_is_visible_to_a_fresh_connection_at_once(tmp_path: Path) -> None:
    cid, token = _cid(), new_token(CUSTOMER_PREFIX)
    async with open_db("", tmp_path) as db:
        store = ApiStore(db)
        assert await db.fetchall("PRAGMA synchronous") == [(1,)]  # NORMAL
        await store.add_conversation(cid, token, {})
        await store.append_events_each([("conv:x", [(1, "{}")])])
        other = sqlite3.connect(tmp_path / "api.sqlite")
        try:
            assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            rows = other.execute("SELECT id FROM baton_api_conversations WHERE id = ?", (cid,)).fetchall()
            assert rows == [(cid,)]
            assert other.execute("SELECT data FROM baton_api_events").fetchall() == [("{}",)]
            other.execute("UPDATE baton_api_conversations SET agent_id = 'lee' WHERE id = ?", (cid,))
            other.commit()
        finally:
            other.close()
        record = await store.conversation(cid)
        assert record is not None
        assert record["agent_id"] == "lee", "the store reads what another connection committed"


_KILLED_WRITER = """
import asyncio, os, signal, sys
from pathlib import Path
from api.store import ApiStore, open_db

async def main() -> None:
    async with open_db("", Path(sys.argv[1])) as db:
        store = ApiStore(db)
        await store.add_conversation(sys.argv[2], "cus_killed", {})
        await store.set_assignment(sys.argv[2], "h-9", "maria")
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no shutdown code

asyncio.run(main())
"""


def test_sqlite_writes_survive_kill9_right_after_execute(tmp_path: Path) -> None:
    cid = _cid()
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path), cid], cwd=ROOT, capture_output=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    conn = sqlite3.connect(tmp_path / "api.sqlite")
    try:
        rows = conn.execute(
            "SELECT handoff_id, agent_id FROM baton_api_conversations WHERE id = ?", (cid,)
        ).fetchall()
    finally:
        conn.close()
    assert rows == [("h-9", "maria")]


# -- SQLite files: transcripts are private to the service's user ----------------------------------
def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common 022 umask, under which files are created world-readable by default."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
async def test_sqlite_files_and_a_new_data_dir_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    async with open_db("", data) as db:
        await ApiStore(db).add_conversation(_cid(), new_token(CUSTOMER_PREFIX), {})
        files = [data / f"api.sqlite{suffix}" for suffix in ("", "-wal", "-shm")]
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert _mode(data) == 0o700


@pytest.mark.usefixtures("loose_umask")
async def test_loose_sqlite_files_are_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "api.sqlite"
    other = sqlite3.connect(path)  # another process's connection keeps the -wal and -shm files
    try:
        other.execute("PRAGMA journal_mode=WAL")
        other.execute("CREATE TABLE t (x)")
        other.commit()
        files = [path, tmp_path / "api.sqlite-wal", tmp_path / "api.sqlite-shm"]
        for f in files:
            f.chmod(0o644)
        async with open_db("", tmp_path) as db:
            await db.fetchall("SELECT 1")
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        other.close()
