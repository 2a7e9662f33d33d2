"""The LangGraph API's thread records (metadata, created and changed stamps) are kept in the API's
database: they survive a restart and every worker sees the same threads. They were per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from tests.test_api_support import ADMIN, api_settings

KEY = {"x-api-key": ADMIN}


@asynccontextmanager
async def _served(
    tmp_path: Path, checkpoint_url: str, name: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """One worker (its own app, lifespan and data dir) on the shared checkpoint database."""
    app = create_app(api_settings(tmp_path / name, checkpoint_url=checkpoint_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as http:
            yield app, http


@asynccontextmanager
async def _worker(tmp_path: Path, checkpoint_url: str, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _served(tmp_path, checkpoint_url, name) as (_, http):
        yield http


async def _search(http: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    r = await http.post("/threads/search", json=body, headers=KEY)
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_a_threads_metadata_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    async with _worker(tmp_path, url, "data") as http:
        made = await http.post("/threads", json={"metadata": {"crm_id": "A-17"}}, headers=KEY)
        assert made.status_code == 200, made.text
        thread_id = made.json()["thread_id"]
        r = await http.patch(f"/threads/{thread_id}", json={"metadata": {"tier": "gold"}}, headers=KEY)
        assert r.status_code == 200, r.text
        created = r.json()["created_at"]
    async with _worker(tmp_path, url, "data") as http:  # the same data dir: a restart
        thread = (await http.get(f"/threads/{thread_id}", headers=KEY)).json()
        found = await _search(http, metadata={"crm_id": "A-17"})
    assert thread["metadata"] == {"crm_id": "A-17", "tier": "gold"}
    assert thread["created_at"] == created
    assert [t["thread_id"] for t in found] == [thread_id]


@pytest.mark.services
async def test_two_workers_on_postgres_see_the_same_threads(tmp_path: Path, postgres_schema: str) -> None:
    async with (
        _worker(tmp_path, postgres_schema, "one") as one,
        _worker(tmp_path, postgres_schema, "two") as two,
    ):
        made = await one.post("/threads", json={"metadata": {"crm_id": "B-4"}}, headers=KEY)
        assert made.status_code == 200, made.text
        thread_id = made.json()["thread_id"]
        assert [t["thread_id"] for t in await _search(two, metadata={"crm_id": "B-4"})] == [thread_id]
        r = await two.patch(f"/threads/{thread_id}", json={"metadata": {"owner": "lee"}}, headers=KEY)
        assert r.status_code == 200, r.text
        seen = (await one.get(f"/threads/{thread_id}", headers=KEY)).json()
        assert seen["metadata"] == {"crm_id": "B-4", "owner": "lee"}
        # the id is taken on the other worker too
        again = await two.post("/threads", json={"thread_id": thread_id, "if_exists": "raise"}, headers=KEY)
        assert again.status_code == 409, again.text
        gone = await two.delete(f"/threads/{thread_id}", headers=KEY)
        assert gone.status_code == 204, gone.text
        assert await _search(one, metadata={"crm_id": "B-4"}) == []
        assert (await one.get(f"/threads/{thread_id}", headers=KEY)).status_code == 404


RUN = {
    "assistant_id": "baton",
    "input": {"messages": [{"role": "user", "content": "I want to sell my house"}]},
}


async def test_runs_are_listed_and_read_after_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    async with _worker(tmp_path, url, "data") as http:
        thread_id = (await http.post("/threads", json={}, headers=KEY)).json()["thread_id"]
        done = await http.post(f"/threads/{thread_id}/runs/wait", json=RUN, headers=KEY)
        assert done.status_code == 200, done.text
        run_id = done.headers["Content-Location"].rsplit("/", 1)[1]
    async with _worker(tmp_path, url, "data") as http:
        listed = (await http.get(f"/threads/{thread_id}/runs", headers=KEY)).json()
        run = (await http.get(f"/threads/{thread_id}/runs/{run_id}", headers=KEY)).json()
        joined = (await http.get(f"/threads/{thread_id}/runs/{run_id}/join", headers=KEY)).json()
        gone = await http.delete(f"/threads/{thread_id}/runs/{run_id}", headers=KEY)
        assert gone.status_code == 204, gone.text
        missing = await http.get(f"/threads/{thread_id}/runs/{run_id}", headers=KEY)
    assert [r["run_id"] for r in listed] == [run_id]
    assert run["status"] == "success"
    assert joined["messages"][0]["content"] == "I want to sell my house"
    assert missing.status_code == 404


@pytest.mark.services
async def test_a_run_started_on_one_worker_is_read_and_joined_on_another(
    tmp_path: Path, postgres_schema: str
) -> None:
    async with (
        _worker(tmp_path, postgres_schema, "one") as one,
        _worker(tmp_path, postgres_schema, "two") as two,
    ):
        thread_id = (await one.post("/threads", json={}, headers=KEY)).json()["thread_id"]
        started = await one.post(f"/threads/{thread_id}/runs", json=RUN, headers=KEY)
        assert started.status_code == 200, started.text
        run_id = started.json()["run_id"]
        joined = await two.get(f"/threads/{thread_id}/runs/{run_id}/join", headers=KEY)
        assert joined.status_code == 200, joined.text
        assert joined.json()["messages"][0]["content"] == "I want to sell my house"
        seen = (await two.get(f"/threads/{thread_id}/runs/{run_id}", headers=KEY)).json()
        assert seen["status"] == "success"
        assert [r["run_id"] for r in (await two.get(f"/threads/{thread_id}/runs", headers=KEY)).json()] == [
            run_id
        ]


async def test_another_workers_run_is_not_cancelled_here_and_a_stale_one_reads_as_failed(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime, timedelta

    from api.compat.records import RunRecord

    async with _served(tmp_path, "memory", "data") as (app, http):
        thread_id = (await http.post("/threads", json={}, headers=KEY)).json()["thread_id"]
        store = app.state.baton_compat
        elsewhere = RunRecord("run-elsewhere", thread_id, "baton", {}, "reject", {}, status="running")
        await store.run_rows.save(elsewhere)  # as another worker keeps it
        refused = await http.post(f"/threads/{thread_id}/runs/run-elsewhere/cancel", headers=KEY)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "run_elsewhere"
        old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        stale = RunRecord("run-stale", thread_id, "baton", {}, "reject", {}, status="running", updated_at=old)
        await store.run_rows.save(stale)  # its worker stopped an hour ago
        seen = (await http.get(f"/threads/{thread_id}/runs/run-stale", headers=KEY)).json()
        joined = (await http.get(f"/threads/{thread_id}/runs/run-stale/join", headers=KEY)).json()
    assert seen["status"] == "error"
    assert joined["__error__"]["error"] == "worker_gone"


async def test_a_run_active_on_another_worker_makes_the_thread_busy_here_too(tmp_path: Path) -> None:
    from api.compat.records import RunRecord

    async with _served(tmp_path, "memory", "data") as (app, http):
        thread_id = (await http.post("/threads", json={}, headers=KEY)).json()["thread_id"]
        running = RunRecord("run-elsewhere", thread_id, "baton", {}, "reject", {}, status="running")
        await app.state.baton_compat.run_rows.save(running)  # as another worker keeps it
        rejected = await http.post(
            f"/threads/{thread_id}/runs", json={**RUN, "multitask_strategy": "reject"}, headers=KEY
        )
        seen = (await http.get(f"/threads/{thread_id}", headers=KEY)).json()
        busy = [t["thread_id"] for t in await _search(http, status="busy")]
        kept = await http.delete(f"/threads/{thread_id}", headers=KEY)
    assert rejected.status_code == 409, rejected.text
    assert seen["status"] == "busy"
    assert busy == [thread_id]
    assert kept.status_code == 409, kept.text
