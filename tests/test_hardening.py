"""Red-team findings: private data files, pages that cannot be framed, strict analytics and CSAT input."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from graph.checkpointer import open_checkpointer
from graph.retrieval import CaseStore
from tests.test_api_support import Api, api_settings


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common 022 umask, under which files are created world-readable by default."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


# -- 1. data files are 0600, a data dir Baton creates is 0700 ----------------------------------
@pytest.mark.usefixtures("loose_umask")
@pytest.mark.parametrize("url", ["", "sqlite:///{data}/elsewhere/cp.sqlite"])
async def test_checkpoint_files_are_private(tmp_path: Path, url: str) -> None:
    data = tmp_path / "data"
    path = Path(url.format(data=data).removeprefix("sqlite:///")) if url else data / "checkpoints.sqlite"
    async with open_checkpointer(url.format(data=data), data) as saver:
        await saver.aput(  # type: ignore[attr-defined]
            {"configurable": {"thread_id": "t", "checkpoint_ns": ""}},
            {"v": 1, "id": "1", "ts": "", "channel_values": {}, "channel_versions": {}, "versions_seen": {}},
            {},
            {},
        )
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert _mode(path.parent) == 0o700


@pytest.mark.usefixtures("loose_umask")
async def test_loose_checkpoint_file_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    async with open_checkpointer("", tmp_path):
        assert _mode(path) == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_case_memory_is_private_and_sends_no_telemetry(tmp_path: Path) -> None:
    store = CaseStore(tmp_path / "data")
    assert (_mode(tmp_path / "data"), _mode(tmp_path / "data" / "chroma")) == (0o700, 0o700)
    assert store._client.get_settings().anonymized_telemetry is False


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """The real app (SQLite checkpoints and store, generated admin token) over ASGI."""
    app = create_app(api_settings(tmp_path, checkpoint_url="", admin_token=None))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield Api("http://test", http)


@pytest.mark.usefixtures("loose_umask")
async def test_the_service_keeps_its_data_dir_private(tmp_path: Path, api: Api) -> None:
    cid, token = await api.conversation()
    await api.say(cid, token, "Hi, I want to sell my house")
    data = tmp_path / "baton"
    assert _mode(data) == 0o700
    files = {p.name: _mode(p) for p in data.iterdir() if p.is_file()}
    assert {"admin_token", "api.sqlite", "checkpoints.sqlite"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)


# -- 2. only the customer widget may be framed by other sites ---------------------------------
def _frame_ancestors(response: httpx.Response) -> str:
    policy = response.headers["content-security-policy"]
    return next(d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors"))


@pytest.mark.parametrize("page", ["/console", "/policies"])
async def test_staff_pages_cannot_be_framed_by_other_sites(api: Api, page: str) -> None:
    response = await api.http.get(page)
    assert response.status_code == 200
    assert _frame_ancestors(response) == "frame-ancestors 'self'"


async def test_the_widget_can_still_be_embedded(api: Api) -> None:
    response = await api.http.get("/widget")
    assert response.status_code == 200
    assert _frame_ancestors(response) == "frame-ancestors *"
