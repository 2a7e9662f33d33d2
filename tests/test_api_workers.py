"""Two real ``baton serve`` processes sharing Postgres checkpoints and Redis: live across workers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from tests.bench_server import drop_postgres, fresh_postgres
from tests.conftest import POSTGRES_URL, REDIS_URL, require_postgres_and_redis
from tests.test_api_support import ADMIN, Api, next_event, serve_subprocesses


@pytest.mark.slow
@pytest.mark.services
async def test_customer_on_worker_a_and_agent_on_worker_b_talk_live(tmp_path: Path) -> None:
    await require_postgres_and_redis()
    prefix = f"baton-test-{uuid.uuid4().hex[:8]}:"
    # Its own database: a worker restores every agent and open handoff it finds in the store.
    database = fresh_postgres(POSTGRES_URL)
    base = {
        "BATON_OFFLINE": "true",
        "BATON_ADMIN_TOKEN": ADMIN,
        "BATON_CHECKPOINT_URL": database,
        "BATON_REDIS_URL": REDIS_URL,
        "BATON_REDIS_PREFIX": prefix,
        "BATON_DESK_TICK_S": "0.5",
    }
    env_a = {**base, "BATON_DATA_DIR": str(tmp_path / "a")}
    env_b = {**base, "BATON_DATA_DIR": str(tmp_path / "b")}
    try:
        await _live_across_workers(env_a, env_b)
    finally:
        drop_postgres(database)
    r = aioredis.from_url(REDIS_URL)
    keys = [k async for k in r.scan_iter(match=f"{prefix}*")]
    if keys:
        await r.delete(*keys)
    await r.aclose()


async def _live_across_workers(env_a: dict[str, str], env_b: dict[str, str]) -> None:
    with serve_subprocesses(env_a, env_b) as [url_a, url_b]:
        async with (
            httpx.AsyncClient(base_url=url_a, timeout=30) as http_a,
            httpx.AsyncClient(base_url=url_b, timeout=30) as http_b,
        ):
            a, b = Api(url_a, http_a), Api(url_b, http_b)
            agent_id = f"maria-{uuid.uuid4().hex[:6]}"
            maria = await b.agent(agent_id, {"real_estate": 0.9, "empathy": 0.8})
            cid, token = await a.conversation()
            async with (
                a.ws(f"/v1/conversations/{cid}/ws", token) as customer,
                b.ws(f"/v1/agents/{agent_id}/ws", maria) as agent,
            ):
                turn = await a.to_a_person(cid, token)
                hid = turn["handoff"]["handoff_id"]
                offer = await next_event(agent, "offer")  # submitted on A, offered to the socket on B
                assert offer["handoff_id"] == hid
                r = await b.act(hid, "accept", maria)
                assert r.status_code == 200, r.text
                state = await next_event(customer, "handoff_state")
                while state["state"] != "accepted":
                    state = await next_event(customer, "handoff_state")

                await customer.send(json.dumps({"type": "customer_message", "text": "Are you there?"}))
                heard = await next_event(agent, "customer_message")
                assert heard["text"] == "Are you there?"
                await agent.send(
                    json.dumps({"type": "agent_message", "handoff_id": hid, "text": "Yes, Maria here."})
                )
                said = await next_event(customer, "agent_message")
                assert said["text"] == "Yes, Maria here."

                r = await b.act(hid, "return", maria, {"note": "Lien handled by the title company."})
                assert r.status_code == 200, r.text
                assert (await next_event(customer, "handoff_complete"))["outcome"] == "returned_to_ai"
            view = (await http_a.get(f"/v1/conversations/{cid}", headers=a.auth(token))).json()
            assert view["active_agent"] == "seller_bot"
            assert any(t["role"] == "agent" for t in view["transcript"])
