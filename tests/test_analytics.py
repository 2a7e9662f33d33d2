"""Analytics from a scripted day of handoffs, with every figure worked out by hand.

The script runs on a real desk (in memory, and Redis) with a fake clock; its events land in the real
API store (SQLite, and Postgres in a schema of its own) exactly as the desk-event consumer writes them.
One handoff is transferred from Maria to Lee: two acceptances, one accepted handoff.

    h1  explicit_request  v1  t=0 offered Maria, 10 accepted, 40 Maria replies, 100 transferred to Lee,
                              110 Lee accepts, 130 Lee replies, 400 completed; CSAT 5
    h2  sentiment_based   v1  t=500 offered Maria, 520 accepted, 530 replies, 800 completed; CSAT 4
    h3  explicit_request  v2  t=900 offered Maria, 910 declined -> Lee, 930 accepted, 1000 returned to AI
    h4  time_based        v2  t=1100 offered Maria, 1135 lapsed -> Lee, 1150 the customer leaves the queue
    b1  bot handoff       v1  t=1200
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_desk_helpers import Recorder, desk_factory_for, request, spec

from api import analytics, analytics_figures
from api.app import create_app
from api.store import ApiStore, open_db
from desk.clock import FakeClock
from desk.engine import BaseDesk
from desk.events import dump_event
from graph.state import HandoffRecord
from tests.test_api_support import ADMIN, Api, api_settings

T0 = 1_767_614_400.0  # FakeClock's start, 2026-01-05 12:00 UTC
HOURS = 2


@pytest.fixture(params=["memory+sqlite", "redis+postgres"])
async def backends(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[BaseDesk, ApiStore, FakeClock]]:
    desk_kind, store_kind = request.param.split("+")
    clock = FakeClock()
    # the real Postgres in a schema of its own (conftest's postgres_schema), the store's tables only
    url = request.getfixturevalue("postgres_schema") if store_kind == "postgres" else "memory"
    async for make in desk_factory_for(desk_kind, clock, Recorder()):
        async with open_db(url, tmp_path) as db:
            yield await make(), ApiStore(db), clock


async def _at(desk: BaseDesk, clock: FakeClock, t: float) -> None:
    clock.set(clock.now().fromtimestamp(T0 + t, tz=clock.now().tzinfo))
    for agent in await desk.list_agents():
        await desk.heartbeat(agent.id)


async def _handoff(
    store: ApiStore, hid: str, kind: str, trigger: str, version: str, t: float, rule: str
) -> None:
    cid = f"conv-{hid}"
    await store.db.execute(
        "INSERT INTO baton_api_handoffs (id, conversation_id, kind, trigger, target, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (hid, cid, kind, trigger, "human_agent" if kind == "human" else "buyer_bot", T0 + t),
    )
    record = HandoffRecord(
        id=hid,
        from_agent="concierge_bot",
        to="human_agent",
        kind="human",
        trigger=trigger,
        rule_id=rule,
        policy_version=version,
    )
    await analytics.record_policy(store, cid, record, "real_estate", at=T0 + t)


async def _copy_events(desk: BaseDesk, store: ApiStore) -> int:
    """What api/desk_events.py does with each event: one row, keyed by the event's hash."""
    cursor, copied = None, 0
    while True:
        page = await desk.events_since(cursor)
        for event in page.events:
            body = dump_event(event)
            key = hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()
            await store.add_desk_event(
                key, event.type, event.ts.timestamp(), getattr(event, "handoff_id", None), body
            )
            copied += 1
        if not page.events:
            return copied
        cursor = page.cursor


async def _rate(store: ApiStore, hid: str, rating: int, t: float) -> None:
    await store.db.execute(
        "INSERT INTO baton_api_csat (conversation_id, rating, comment, created_at) VALUES (?, ?, ?, ?)",
        (f"conv-{hid}", rating, "", T0 + t),
    )


async def script(desk: BaseDesk, store: ApiStore, clock: FakeClock) -> analytics.Inputs:
    await _at(desk, clock, 0)
    await desk.register_agent(spec("maria", {"sales": 0.9}, display_name="Maria Lopez"))
    await desk.register_agent(spec("lee", {"sales": 0.8}, display_name="Lee Chen"))
    await store.set_agent_profile("maria", '{"id": "maria", "display_name": "Maria Lopez"}')
    await store.set_agent_profile("lee", '{"id": "lee", "display_name": "Lee Chen"}')

    await _handoff(store, "h1", "human", "explicit_request", "v1", 0, "human_explicit_request")
    assert (await desk.submit(request("h1", "sales", trigger="explicit_request"))).offered_agent_id == "maria"
    await _at(desk, clock, 10)
    await desk.accept("h1", "maria")
    await analytics.record_reply(store, "h1", "maria", at=T0 + 40)
    await _at(desk, clock, 100)
    await desk.transfer("h1", "maria", to_agent_id="lee", reason="needs a mortgage expert")
    await _at(desk, clock, 110)
    await desk.accept("h1", "lee")
    await analytics.record_reply(store, "h1", "lee", at=T0 + 130)
    await analytics.record_reply(store, "h1", "lee", at=T0 + 200)  # a later reply changes nothing
    await _at(desk, clock, 400)
    await desk.complete("h1", "lee")
    await _rate(store, "h1", 5, 410)

    await _at(desk, clock, 500)
    await _handoff(store, "h2", "human", "sentiment_based", "v1", 500, "human_distress")
    assert (await desk.submit(request("h2", "sales"))).offered_agent_id == "maria"
    await _at(desk, clock, 520)
    await desk.accept("h2", "maria")
    await analytics.record_reply(store, "h2", "maria", at=T0 + 530)
    await _at(desk, clock, 800)
    await desk.complete("h2", "maria")
    await _rate(store, "h2", 4, 810)

    await _at(desk, clock, 900)
    await _handoff(store, "h3", "human", "explicit_request", "v2", 900, "human_explicit_request")
    assert (await desk.submit(request("h3", "sales"))).offered_agent_id == "maria"
    await _at(desk, clock, 910)
    assert (await desk.decline("h3", "maria", "busy")).offered_agent_id == "lee"
    await _at(desk, clock, 930)
    await desk.accept("h3", "lee")
    await _at(desk, clock, 1000)
    await desk.return_to_ai("h3", "lee", "answered the question")

    await _at(desk, clock, 1100)
    await _handoff(store, "h4", "human", "time_based", "v2", 1100, "too_long")
    assert (await desk.submit(request("h4", "sales"))).offered_agent_id == "maria"
    await _at(desk, clock, 1135)
    await desk.tick()  # Maria's offer lapsed (30 s): Lee is offered it
    assert (await desk.get("h4")).offered_agent_id == "lee"
    await _at(desk, clock, 1150)
    await desk.cancel("h4", "the customer left the queue")

    await _handoff(store, "b1", "bot", "intent_based", "v1", 1200, "buyers")
    assert await _copy_events(desk, store) > 0
    return await analytics.load(store, T0, T0 + HOURS * 3600)


async def test_a_scripted_day_gives_the_figures_worked_out_by_hand(
    backends: tuple[BaseDesk, ApiStore, FakeClock],
) -> None:
    inputs = await script(*backends)
    events = [e["type"] for trail in inputs.trails.values() for e in trail]
    assert events.count("handoff_accepted") == 4  # what the old count showed
    s = analytics_figures.summarize(inputs)
    assert s.accepted == 3  # h1 (once, though two agents accepted it), h2, h3
    assert (s.human_handoffs, s.bot_handoffs, s.transfers) == (4, 1, 1)
    assert (s.window_hours, s.handoffs_per_hour) == (2.0, 2.0)
    assert s.trigger_mix == {"explicit_request": 2, "sentiment_based": 1, "time_based": 1}
    assert s.trigger_share_pct == {"explicit_request": 50.0, "sentiment_based": 25.0, "time_based": 25.0}
    assert (s.completed, s.returned_by_agent, s.rollbacks, s.abandoned_in_queue) == (2, 1, 0, 1)
    assert s.completion_rate == 0.5
    assert (s.time_to_accept_s.count, s.time_to_accept_s.p50, s.time_to_accept_s.average) == (3, 20.0, 20.0)
    assert s.average_handle_time_s == round((90 + 290 + 280 + 70) / 3, 3)  # h1 is both agents' time
    assert (s.handle_time_s.p50, s.handle_time_s.p95) == (280.0, 380.0)
    first = s.time_to_first_reply_s
    assert (first.count, first.p50, first.p95, first.average) == (2, 30.0, 40.0, 35.0)

    agents = {a.agent_id: a for a in analytics_figures.agent_performance(inputs)}
    maria, lee = agents["maria"], agents["lee"]
    assert [a.agent_id for a in analytics_figures.agent_performance(inputs)] == [
        "maria",
        "lee",
    ]  # 2 accepted each, more offers
    assert (maria.name, maria.offers, maria.accepted, maria.declined, maria.missed) == (
        "Maria Lopez",
        4,
        2,
        1,
        1,
    )
    assert (maria.acceptance_rate, maria.completed, maria.returned_to_ai, maria.transferred_out) == (
        0.5,
        1,
        0,
        1,
    )
    assert (maria.average_handle_time_s, maria.average_time_to_accept_s, maria.average_first_reply_s) == (
        185.0,
        15.0,
        20.0,
    )
    assert (maria.csat_average, maria.csat_count) == (4.0, 1)
    assert (lee.offers, lee.accepted, lee.declined, lee.missed, lee.acceptance_rate) == (3, 2, 0, 0, 0.6667)
    assert (lee.completed, lee.returned_to_ai, lee.transferred_out) == (1, 1, 0)
    assert (lee.average_handle_time_s, lee.average_time_to_accept_s, lee.average_first_reply_s) == (
        180.0,
        15.0,
        20.0,
    )
    assert (lee.csat_average, lee.csat_count) == (5.0, 1)

    versions = {v.policy_version: v for v in analytics_figures.policy_outcomes(inputs)}
    assert [v.policy_version for v in analytics_figures.policy_outcomes(inputs)] == [
        "v1",
        "v2",
    ]  # newest first
    v1, v2 = versions["v1"], versions["v2"]
    assert (v1.policy, v1.handoffs, v1.human_handoffs, v1.conversations) == ("real_estate", 3, 2, 3)
    assert v1.by_rule == {"human_explicit_request": 1, "human_distress": 1, "buyers": 1}
    assert (v1.accepted, v1.completed, v1.completion_rate, v1.average_time_to_accept_s) == (2, 2, 1.0, 15.0)
    assert (v1.average_handle_time_s, v1.csat_average, v1.csat_count) == (330.0, 4.5, 2)
    assert (v2.handoffs, v2.accepted, v2.completed, v2.returned_by_agent, v2.abandoned_in_queue) == (
        2,
        1,
        0,
        1,
        1,
    )
    assert (v2.completion_rate, v2.average_handle_time_s, v2.csat_average) == (0.0, 70.0, None)


async def test_the_routes_serve_the_figures_with_documented_models(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path))
    async with app.router.lifespan_context(app):
        store: ApiStore = app.state.store
        async for make in desk_factory_for("memory", FakeClock(), Recorder()):
            desk = await make()
            await script(desk, store, desk.clock)  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as http:
            window = "since=2026-01-05T12:00:00Z&until=2026-01-05T14:00:00Z"
            admin = Api.auth(ADMIN)
            summary = (await http.get(f"/v1/analytics/handoffs?{window}", headers=admin)).json()
            agents = (await http.get(f"/v1/analytics/agents?{window}", headers=admin)).json()
            versions = (await http.get(f"/v1/analytics/policies?{window}", headers=admin)).json()
            bad = await http.get("/v1/analytics/agents?since=2026-01-06&until=2026-01-05", headers=admin)
            spec_: dict[str, Any] = (await http.get("/openapi.json")).json()
    assert (summary["accepted"], summary["transfers"], summary["handoffs_per_hour"]) == (3, 1, 2.0)
    assert summary["trigger_share_pct"]["explicit_request"] == 50.0
    assert summary["time_to_first_reply_s"]["average"] == 35.0
    assert summary["abandoned_in_queue"] == 1
    assert [a["agent_id"] for a in agents["agents"]] == ["maria", "lee"]
    assert agents["agents"][0]["missed"] == 1
    assert [v["policy_version"] for v in versions["versions"]] == ["v1", "v2"]
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_error"
    schemas = spec_["components"]["schemas"]
    for name in (
        "HandoffAnalytics",
        "AgentAnalytics",
        "AgentPerformance",
        "PolicyAnalytics",
        "PolicyVersionOutcomes",
    ):
        assert name in schemas
    assert "average_handle_time_s" in schemas["HandoffAnalytics"]["properties"]
    ok = spec_["paths"]["/v1/analytics/agents"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("/AgentAnalytics")


async def test_a_later_reply_by_the_same_agent_sends_no_statement(
    backends: tuple[BaseDesk, ApiStore, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, store, _ = backends
    await analytics.record_reply(store, "h9", "maria", at=T0 + 1)
    sent: list[str] = []
    original = store.db.execute

    async def counted(sql: str, params: Sequence[Any] = ()) -> None:
        sent.append(sql)
        await original(sql, params)

    monkeypatch.setattr(store.db, "execute", counted)
    await analytics.record_reply(store, "h9", "maria", at=T0 + 2)
    assert sent == []  # this worker stored it already
    await analytics.record_reply(store, "h9", "lee", at=T0 + 3)
    assert len(sent) == 1  # another agent's first reply is stored
    rows = await store.db.fetchall(
        "SELECT agent_id, ts FROM baton_api_agent_replies WHERE handoff_id = ? ORDER BY agent_id", ("h9",)
    )
    assert [(a, float(t)) for a, t in rows] == [("lee", T0 + 3), ("maria", T0 + 1)]
