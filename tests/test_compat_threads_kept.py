"""The LangGraph API's thread records (metadata, created and changed stamps) are kept in the API's
database: they survive a restart and every worker sees the same threads. They were per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from tests.test_api_support import ADMIN, api_settings

KEY = {"x-api-key": ADMIN}


@asynccontextmanager
async def _worker(tmp_path: Path, checkpoint_url: str, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """One worker (its own app, lifespan and data dir) on the shared checkpoint database."""
    app = create_app(api_settings(tmp_path / name, checkpoint_url=checkpoint_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as http:
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
