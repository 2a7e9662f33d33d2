"""Shared fixtures: isolated settings, real checkpointers, and a guard against real model calls."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from graph.runtime import BatonRuntime
from graph.settings import Settings, get_settings

if TYPE_CHECKING:
    from spacy.language import Language

POLICIES = Path(__file__).resolve().parent.parent / "policies"
POSTGRES_URL = os.environ.get("BATON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BATON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def service_missing(name: str, reason: str) -> None:
    """A test that needs a real service fails in CI and skips elsewhere when it is missing."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is required in CI but unavailable: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[None]:
    """No test reads the developer's env or reaches a model endpoint unless marked ``llm``."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATON_OPENAI_API_KEY", "BATON_OPENAI_BASE_URL"):
        if request.node.get_closest_marker("llm") is None:
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BATON_DATA_DIR", str(tmp_path / "baton"))
    get_settings.cache_clear()
    if request.node.get_closest_marker("llm") is None:
        import openai._base_client as base

        def refuse(*args: object, **kwargs: object) -> None:
            msg = "this test reached a real model endpoint; mark it @pytest.mark.llm"
            raise AssertionError(msg)

        monkeypatch.setattr(base.SyncAPIClient, "request", refuse)
        monkeypatch.setattr(base.AsyncAPIClient, "request", refuse)
    yield
    get_settings.cache_clear()


def make_settings(tmp_path: Path, policy: str = "real_estate.yaml", **extra: object) -> Settings:
    """Offline settings on a private data dir with one of the shipped policies."""
    # gc_freeze off: a test process builds hundreds of apps, and frozen objects are never freed.
    # blas_one_thread off: a process-wide setting that would follow every later test.
    options: dict[str, object] = {"case_memory": False, "gc_freeze": False, "blas_one_thread": False, **extra}
    return Settings(data_dir=tmp_path / "baton", policy=POLICIES / policy, offline=True, **options)  # type: ignore[arg-type]


async def _postgres_ok() -> str | None:
    try:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(POSTGRES_URL, connect_timeout=3)
        await conn.close()
    except Exception as exc:
        return str(exc)
    return None


async def require_postgres_and_redis() -> None:
    """Fail (in CI) or skip a test that runs several workers unless PostgreSQL and Redis answer."""
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    try:
        import redis.asyncio as aioredis

        client = aioredis.from_url(REDIS_URL)
        await client.ping()
        await client.aclose()
    except Exception as exc:
        service_missing("Redis", str(exc))


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A URL whose connections work in a schema of their own on the real Postgres (dropped after)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        service_missing("PostgreSQL", str(exc))
        raise  # not reached: service_missing fails or skips
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def checkpoint_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every checkpointer Baton supports; Postgres is the real server on 127.0.0.1:5432."""
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    return POSTGRES_URL


@pytest.fixture
async def runtime(tmp_path: Path, checkpoint_url: str) -> AsyncIterator[BatonRuntime]:
    """A runtime on the real-estate policy over each checkpointer."""
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url=checkpoint_url) as rt:
        yield rt


@pytest.fixture
async def memory_runtime(tmp_path: Path) -> AsyncIterator[BatonRuntime]:
    """A runtime on the in-memory checkpointer (for tests that are not about persistence)."""
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as rt:
        yield rt


@pytest.fixture
def conversation_id() -> str:
    """A fresh thread id (Postgres tables are shared across tests)."""
    return f"t-{uuid.uuid4().hex}"


@pytest.fixture
def current_ops() -> Iterator[None]:
    """Put thinc's current backend back (loading a pipeline sets it for the thread)."""
    from thinc.api import get_current_ops, set_current_ops

    before = get_current_ops()
    yield
    set_current_ops(before)


@pytest.fixture
def load_pipeline(current_ops: None) -> Callable[[], Language]:
    """Loads a fresh spaCy pipeline as spaCy builds it (what Baton leaves on disk excluded) on
    ``InferenceOps``, with none of Baton's changes: what a change to it is compared against."""
    import spacy
    from thinc.api import set_current_ops

    from graph.language.inference_ops import InferenceOps
    from graph.language.pipeline import LEFT_ON_DISK, model_path

    def load() -> Language:
        set_current_ops(InferenceOps())
        return spacy.load(model_path(), exclude=LEFT_ON_DISK)

    return load
