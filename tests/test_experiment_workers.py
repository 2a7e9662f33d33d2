"""An experiment on two real ``baton serve`` workers sharing Postgres and Redis: a conversation keeps its
variant whichever worker takes its turn, and either worker's analytics count what both recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from graph.policy_store import check_policy_file
from policies.experiments import assign, experiment_of
from tests.bench_server import drop_postgres, fresh_postgres
from tests.conftest import POSTGRES_URL, REDIS_URL, require_postgres_and_redis
from tests.test_api_support import ADMIN, ROOT, Api, free_port
from tests.test_experiments import SELL_18M, write_experiment


@contextmanager
def _workers(*envs: dict[str, str], ready_s: float = 300) -> Iterator[list[str]]:
    """``baton serve`` processes started one after the other (two creating the store's tables at once
    on a fresh database can collide); yields their URLs once each answers /readyz. Loading the
    language models on a busy 2-core box can take minutes."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i, env in enumerate(envs):
            port = free_port()
            log = Path(env["BATON_DATA_DIR"]).with_suffix(f".{i}.log")
            cmd = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
            with log.open("wb") as out:
                full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
                proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT)
            procs.append(proc)
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + ready_s
            while True:
                assert proc.poll() is None, (
                    f"baton serve exited with {proc.returncode}: {log.read_text()[-2000:]}"
                )
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} was not ready within {ready_s:.0f} s"
                time.sleep(0.5)
            urls.append(url)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
@pytest.mark.services
async def test_a_conversation_keeps_its_variant_across_workers(tmp_path: Path) -> None:
    await require_postgres_and_redis()
    policy = write_experiment(tmp_path)  # running
    experiment = experiment_of(check_policy_file(policy).policy)
    assert experiment is not None
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    database = fresh_postgres(POSTGRES_URL)
    base = {
        "BATON_OFFLINE": "true",
        "BATON_ADMIN_TOKEN": ADMIN,
        "BATON_CHECKPOINT_URL": database,
        "BATON_REDIS_URL": REDIS_URL,
        "BATON_REDIS_PREFIX": prefix,
        "BATON_POLICY": str(policy),
        "BATON_CASE_MEMORY": "false",
    }
    try:
        with _workers(
            {**base, "BATON_DATA_DIR": str(tmp_path / "a")}, {**base, "BATON_DATA_DIR": str(tmp_path / "b")}
        ) as [url_a, url_b]:
            async with (
                httpx.AsyncClient(base_url=url_a, timeout=60) as http_a,
                httpx.AsyncClient(base_url=url_b, timeout=60) as http_b,
            ):
                a, b = Api(url_a, http_a), Api(url_b, http_b)
                chats: dict[str, int] = {}
                for i in range(6):
                    first, second = (a, b) if i % 2 == 0 else (b, a)
                    cid, token = await first.conversation()
                    variant = assign(experiment, cid).name
                    chats[variant] = chats.get(variant, 0) + 1
                    turn = await first.say(cid, token, SELL_18M)
                    expected = "luxury_specialist" if variant == "lower_threshold" else "seller_bot"
                    assert turn["active_agent"] == expected
                    turn = await second.say(cid, token, "Can I talk to a real person please?")
                    assert turn["handoff"] is not None
                    view = await second.http.get(f"/v1/conversations/{cid}", headers=Api.auth(ADMIN))
                    assert view.json()["handoff"]["variant"] == variant
                for worker in (a, b):
                    got = await worker.http.get(
                        "/v1/experiments/luxury_threshold/analytics", headers=Api.auth(ADMIN)
                    )
                    rows = {row["variant"]: row for row in got.json()["variants"]}
                    for variant, count in chats.items():
                        assert rows[variant]["conversations"] == count
                        assert rows[variant]["metrics"]["handoff_rate"]["estimate"]["successes"] == count
    finally:
        drop_postgres(database)
        r = aioredis.from_url(REDIS_URL)
        keys = [k async for k in r.scan_iter(match=f"{prefix}*")]
        if keys:
            await r.delete(*keys)
        await r.aclose()
