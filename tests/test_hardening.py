"""Red-team findings: private data files, pages that cannot be framed, strict analytics and CSAT input."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from graph.case_rows import SqliteCaseRows
from graph.checkpointer import open_checkpointer
from graph.settings import Settings
from tests.test_api_support import ADMIN, Api, api_settings, in_process


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
def test_case_memory_is_private(tmp_path: Path) -> None:
    rows = SqliteCaseRows(tmp_path / "data" / "cases.sqlite")
    rows.put("c1", "Refund has not appeared", "Explained the window", {}, "m", b"\0" * 4)
    assert (_mode(tmp_path / "data"), _mode(rows.path)) == (0o700, 0o600)
    assert {_mode(p) for p in (tmp_path / "data").glob("cases.sqlite-*")} == {0o600}  # its WAL files
    rows.close()


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Api]:
    """The real app over ASGI, its lifespan running."""
    app = create_app(settings)
    async with in_process(app) as api:
        yield api


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """The real app with the test admin token."""
    async with serving(api_settings(tmp_path)) as client:
        yield client


@pytest.mark.usefixtures("loose_umask")
async def test_the_service_keeps_its_data_dir_private(tmp_path: Path) -> None:
    async with serving(api_settings(tmp_path, checkpoint_url="", admin_token=None)) as api:
        cid, token = await api.conversation()
        await api.say(cid, token, "Hi, I want to sell my house")
        data = tmp_path / "baton"
        assert _mode(data) == 0o700
        files = {p.name: _mode(p) for p in data.iterdir() if p.is_file()}
    assert {"admin_token", "api.sqlite-wal", "checkpoints.sqlite-wal"} <= set(files)
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


# -- 6. analytics dates the platform cannot convert are a 422, not a dropped connection -----------
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=0001-01-01", "since"),
        ("until=0001-01-01", "until"),
        ("since=0001-01-01T00:00:00%2B14:00", "since"),
        ("until=9999-12-31T23:59:59-14:00", "until"),
        ("since=2026-02-01&until=2026-01-01", "until"),
    ],
)
async def test_analytics_window_out_of_range_is_a_422(api: Api, query: str, field: str) -> None:
    response = await api.http.get(f"/v1/analytics/handoffs?{query}", headers=api.auth(ADMIN))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]


async def test_analytics_window_at_the_edges_still_answers(api: Api) -> None:
    response = await api.http.get(
        "/v1/analytics/handoffs?since=1970-01-02T00:00:00Z&until=9999-12-30T00:00:00Z",
        headers=api.auth(ADMIN),
    )
    assert response.status_code == 200, response.text
    until = datetime.fromisoformat(response.json()["until"])
    assert until == datetime(9999, 12, 30, tzinfo=UTC)


# -- 7. a CSAT rating is an integer, not a string or a boolean ------------------------------------
@pytest.mark.parametrize("rating", ["5", True, 4.0, "4.0"], ids=["str", "bool", "float", "float-str"])
async def test_csat_rating_must_be_a_json_integer(api: Api, rating: object) -> None:
    cid, token = await api.conversation()
    response = await api.http.post(
        f"/v1/conversations/{cid}/csat", json={"rating": rating}, headers=api.auth(token)
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], [d["field"] for d in error["details"]]) == ("validation_error", ["rating"])


async def test_csat_integer_rating_is_recorded(api: Api) -> None:
    cid, token = await api.conversation()
    response = await api.http.post(
        f"/v1/conversations/{cid}/csat", json={"rating": 5, "comment": "great"}, headers=api.auth(token)
    )
    assert response.status_code == 200, response.text
    stats = await api.http.get("/v1/analytics/handoffs", headers=api.auth(ADMIN))
    assert stats.json()["csat"]["distribution"]["5"] == 1
