"""Authorization matrix, bad input (422 naming the field, 413, 429, never 500) and policy updates."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from tests.conftest import POLICIES
from tests.test_api_support import ADMIN, Api, api_settings, serve_in_thread


@dataclass
class World:
    api: Api
    c1: str
    cust1: str
    c2: str
    cust2: str
    a1: str
    a2: str
    sup: str
    h1: str
    policy_file: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("security")
    policy = tmp / "policy.yaml"
    shutil.copy(POLICIES / "real_estate.yaml", policy)
    # maria's offer must outlive the matrix, however slow a busy machine makes it
    desk = tmp / "desk.yaml"
    desk.write_text("accept_timeout_s: 900\nexpires_after_s: 1800\nstuck_after_s: 1800\n")
    settings = api_settings(
        tmp, policy=policy, rate_limit_per_minute=8, max_body_bytes=64_000, desk_config=desk
    )
    app = create_app(settings)
    with serve_in_thread(app) as url:
        yield url, policy


async def _setup(url: str, policy: Path) -> World:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        api = Api(url, http)
        a1 = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
        a2 = await api.agent("lee", {"legal": 0.9})
        made = await http.post(
            "/v1/supervisors", json={"id": "sup-olga", "name": "Olga"}, headers=api.auth(ADMIN)
        )
        assert made.status_code == 201, made.text
        sup = str(made.json()["supervisor_token"])
        c1, cust1 = await api.conversation()
        c2, cust2 = await api.conversation()
        turn = await api.to_a_person(c1, cust1)
        await api.say(c2, cust2, "Hi")
        return World(api, c1, cust1, c2, cust2, a1, a2, sup, turn["handoff"]["handoff_id"], policy)


@pytest.fixture(scope="module")
def shared(server: tuple[str, Path]) -> World:
    """Two customers, two agents, one handoff offered to maria (built once per module)."""
    return asyncio.run(_setup(*server))


@pytest.fixture
async def world(shared: World) -> AsyncIterator[World]:
    async with httpx.AsyncClient(base_url=shared.api.url, timeout=30) as http:
        shared.api = Api(shared.api.url, http)
        yield shared


PRINCIPALS = ("none", "wrong", "customer", "other_customer", "agent", "other_agent", "supervisor", "admin")


def _token(w: World, who: str, owner: str) -> str | None:
    own_c1 = owner != "c2"
    return {
        "none": None,
        "wrong": "cus_not-a-real-token",
        "customer": w.cust1 if own_c1 else w.cust2,
        "other_customer": w.cust2 if own_c1 else w.cust1,
        "agent": w.a1,
        "other_agent": w.a2,
        "supervisor": w.sup,
        "admin": ADMIN,
    }[who]


AGENTS_ADMIN = {"agent", "other_agent", "admin"}
# The admin and supervisors: the desk's live view, reassigning, the queue, analytics, every brief and note.
OVERSIGHT = {"supervisor", "admin"}
ANY_TOKEN = {"customer", "other_customer", "agent", "other_agent", "supervisor", "admin"}
# (method, path template, body, owner conversation, principals allowed)
MATRIX: list[tuple[str, str, object, str, set[str]]] = [
    ("GET", "/v1/conversations/{c1}", None, "c1", {"customer", "admin"}),
    ("POST", "/v1/conversations/{c1}/messages", {"text": "still there?"}, "c1", {"customer", "admin"}),
    ("GET", "/v1/conversations/{c1}/checkpoints", None, "c1", {"admin"}),
    ("POST", "/v1/conversations/{c2}/rollback", {"reason": "test"}, "c2", {"admin"}),
    ("POST", "/v1/conversations/{c1}/csat", {"rating": 4}, "c1", {"customer"}),
    ("POST", "/v1/agents", {"id": "x", "name": "X", "skills": ["legal"]}, "c1", {"admin"}),
    ("GET", "/v1/agents", None, "c1", OVERSIGHT),
    ("GET", "/v1/agents/maria", None, "c1", {"agent"} | OVERSIGHT),
    ("PUT", "/v1/agents/maria/status", {"status": "online"}, "c1", {"agent", "admin"}),
    ("POST", "/v1/agents/maria/heartbeat", None, "c1", {"agent", "admin"}),
    ("GET", "/v1/handoffs", None, "c1", {"agent", "other_agent"} | OVERSIGHT),
    ("GET", "/v1/handoffs/{h1}", None, "c1", {"agent"} | OVERSIGHT),
    ("POST", "/v1/handoffs/{h1}/reply", {"text": "hi"}, "c1", {"agent"}),
    ("POST", "/v1/handoffs/{h1}/transfer", {"to_skills": ["legal"]}, "c1", set()),
    ("POST", "/v1/handoffs/{h1}/complete", {}, "c1", set()),
    ("GET", "/v1/policies/real_estate", None, "c1", {"admin"}),
    ("POST", "/v1/policies/real_estate/explain", {"message": "sell my house"}, "c1", {"admin"}),
    ("GET", "/v1/analytics/handoffs", None, "c1", OVERSIGHT),
    ("GET", "/v1/analytics/agents", None, "c1", OVERSIGHT),
    ("GET", "/v1/analytics/policies", None, "c1", OVERSIGHT),
    # experiments: the security policy declares none, so the admin's writes are 404s that change nothing
    ("GET", "/v1/experiments", None, "c1", {"admin"}),
    ("GET", "/v1/experiments/luxury_threshold", None, "c1", {"admin"}),
    ("GET", "/v1/experiments/luxury_threshold/analytics", None, "c1", OVERSIGHT),
    ("POST", "/v1/experiments/luxury_threshold/start", {}, "c1", {"admin"}),
    ("POST", "/v1/experiments/luxury_threshold/stop", {}, "c1", {"admin"}),
    ("POST", "/v1/experiments/luxury_threshold/promote", {"variant": "b"}, "c1", {"admin"}),
    # waiting and callbacks: c2 waits for nobody (409 for those allowed), cb-none does not exist (404)
    ("GET", "/v1/conversations/{c1}/queue", None, "c1", {"customer", "admin"}),
    ("POST", "/v1/conversations/{c2}/queue/leave", None, "c2", {"customer", "admin"}),
    ("POST", "/v1/conversations/{c2}/callback", {"contact": "+4915112345678"}, "c2", {"customer", "admin"}),
    ("GET", "/v1/callbacks", None, "c1", {"agent", "other_agent"} | OVERSIGHT),
    ("POST", "/v1/callbacks/cb-none/take", None, "c1", {"agent", "other_agent"}),
    ("POST", "/v1/callbacks/cb-none/complete", {"outcome": "no_answer"}, "c1", AGENTS_ADMIN),
    # the agent console's routes: maria is offered c1's handoff, lee is not on it
    ("GET", "/v1/conversations/{c1}/notes", None, "c1", {"agent"} | OVERSIGHT),
    ("POST", "/v1/conversations/{c1}/notes", {"text": "for the team"}, "c1", {"agent"} | OVERSIGHT),
    ("GET", "/v1/conversations/{c1}/customer", None, "c1", {"agent"} | OVERSIGHT),
    ("GET", "/v1/saved-replies", None, "c1", {"agent", "other_agent"} | OVERSIGHT),
    ("PUT", "/v1/saved-replies/all", {"replies": []}, "c1", {"admin"}),
    ("GET", "/v1/desk/queue", None, "c1", {"agent", "other_agent"} | OVERSIGHT),
    ("GET", "/v1/desk/transfer-targets", None, "c1", {"agent", "other_agent"} | OVERSIGHT),
    ("GET", "/v1/desk/live", None, "c1", OVERSIGHT),
    ("POST", "/v1/desk/handoffs/{h1}/reassign", {"to_agent_id": "maria"}, "c1", OVERSIGHT),
    ("GET", "/v1/policies/real_estate/disk", None, "c1", {"admin"}),
    # seed 000's handoff API: c1 already waits for a person (409 for the admin), no handoff "nope" (404)
    ("POST", "/v1/handoffs", {"conversation_id": "{c1}"}, "c1", {"admin"}),
    ("PATCH", "/v1/handoffs/{h1}", {"lead_id": "L-1"}, "c1", {"admin"}),
    ("POST", "/v1/handoffs/{h1}/context", {"notes": [{"text": "called twice"}]}, "c1", {"agent", "admin"}),
    ("POST", "/v1/agents/maria/assign", {"handoff_id": "nope"}, "c1", OVERSIGHT),
    ("PATCH", "/v1/agents/maria", {"notifications": {"sound": True}}, "c1", {"agent", "admin"}),
    # accounts: anyone may ask who their token is; only the admin registers and lists supervisors
    ("GET", "/v1/me", None, "c1", ANY_TOKEN),
    ("POST", "/v1/supervisors", {"id": "sup-x", "name": "X"}, "c1", {"admin"}),
    ("GET", "/v1/supervisors", None, "c1", {"admin"}),
]


async def test_authorization_matrix(world: World) -> None:
    w = world
    failures = []
    for method, template, body, owner, allowed in MATRIX:
        path = template.format(c1=w.c1, c2=w.c2, h1=w.h1)
        if isinstance(body, dict) and body.get("conversation_id") == "{c1}":
            body = {**body, "conversation_id": w.c1}
        for who in PRINCIPALS:
            if who == "agent" and "handoffs/" in path and method == "POST" and who not in allowed:
                continue  # the offered agent's mutating actions are exercised in the story test
            r = await w.api.http.request(method, path, json=body, headers=Api.auth(_token(w, who, owner)))
            if who in ("none", "wrong"):
                expected_ok = r.status_code == 401
            elif who in allowed:
                expected_ok = r.status_code not in (401, 403, 500)
            else:
                expected_ok = r.status_code == 403
            if not expected_ok or ("error" not in r.json() and r.status_code >= 400):
                failures.append(f"{method} {template} as {who}: {r.status_code} {r.text[:120]}")
            if r.status_code >= 400:
                assert set(r.json()["error"]) >= {"code", "message"}
    assert not failures, "\n".join(failures)


async def test_socket_authorization(world: World) -> None:
    w = world
    cases = [
        (f"/v1/conversations/{w.c1}/ws", None, 4401),
        (f"/v1/conversations/{w.c1}/ws", "cus_bogus", 4401),
        (f"/v1/conversations/{w.c1}/ws", w.cust2, 4403),
        (f"/v1/conversations/{w.c1}/ws", w.a1, 4403),
        ("/v1/agents/maria/ws", w.a2, 4403),
        ("/v1/agents/maria/ws", w.cust1, 4403),
        ("/v1/agents/maria/ws", w.sup, 4403),
        (f"/v1/conversations/{w.c1}/ws", w.sup, 4403),
        # the supervisors' desk stream: the admin and supervisors only
        ("/v1/desk/ws", None, 4401),
        ("/v1/desk/ws", w.cust1, 4403),
        ("/v1/desk/ws", w.a1, 4403),
        # the voice door authenticates as the conversation socket does
        (f"/v1/conversations/{w.c1}/voice", None, 4401),
        (f"/v1/conversations/{w.c1}/voice", "cus_bogus", 4401),
        (f"/v1/conversations/{w.c1}/voice", w.cust2, 4403),
        (f"/v1/conversations/{w.c1}/voice", w.a1, 4403),
    ]
    for path, token, code in cases:
        async with w.api.ws(path, token or "") as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert first["type"] == "error"
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == code, path


async def test_bad_input_is_a_422_naming_the_field(world: World) -> None:
    w = world
    path = f"/v1/conversations/{w.c2}/messages"
    auth = Api.auth(w.cust2)
    cases: list[tuple[object, str]] = [
        ({"text": 5}, "text"),
        ({"txt": "hello"}, "txt"),
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 4001}, "text"),
    ]
    for body, field in cases:
        r = await w.api.http.post(path, json=body, headers=auth)
        assert r.status_code == 422, (body, r.text)
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert field in error["message"]
        assert any(d["field"] == field for d in error["details"])
    r = await w.api.http.post(
        path, content=b'{"text": ', headers={**auth, "content-type": "application/json"}
    )
    assert r.status_code == 422
    r = await w.api.http.post(f"/v1/conversations/{w.c2}/csat", json={"rating": 6}, headers=auth)
    assert r.status_code == 422
    assert "rating" in r.json()["error"]["message"]
    r = await w.api.http.put("/v1/agents/maria/status", json={"status": "asleep"}, headers=Api.auth(ADMIN))
    assert r.status_code == 422
    assert "status" in r.json()["error"]["message"]
    r = await w.api.http.get("/v1/analytics/handoffs?since=yesterday", headers=Api.auth(ADMIN))
    assert r.status_code == 422
    assert "since" in r.json()["error"]["message"]
    r = await w.api.http.get("/v1/handoffs/nope", headers=Api.auth(ADMIN))
    assert r.status_code == 404
    r = await w.api.http.post(f"/v1/handoffs/{w.h1}/accept", headers=Api.auth(w.a2))
    assert r.status_code == 403


async def test_body_too_large_is_413(world: World) -> None:
    r = await world.api.http.post(
        f"/v1/conversations/{world.c2}/messages",
        content=b'{"text": "' + b"x" * 70_000 + b'"}',
        headers={**Api.auth(world.cust2), "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


async def test_rate_limit_is_429_with_retry_after(world: World) -> None:
    cid, token = await world.api.conversation()
    statuses = []
    for i in range(9):
        r = await world.api.http.post(
            f"/v1/conversations/{cid}/messages", json={"text": f"hello {i}"}, headers=Api.auth(token)
        )
        statuses.append(r.status_code)
    assert statuses[:8] == [200] * 8
    assert statuses[8] == 429
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
    metrics = (await world.api.http.get("/metrics", headers=Api.auth(ADMIN))).text
    counted = [line for line in metrics.splitlines() if line.startswith("baton_rate_limited_total ")]
    assert counted
    assert float(counted[0].split()[1]) >= 1


def test_no_input_produces_a_500(server: tuple[str, Path]) -> None:
    url, _ = server
    with httpx.Client(base_url=url, timeout=30) as http:
        cid = http.post("/v1/conversations").json()["conversation_id"]

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            path=st.sampled_from(
                [
                    f"/v1/conversations/{cid}/messages",
                    "/v1/agents",
                    "/v1/policies/real_estate/explain",
                    "/v1/handoffs/x/transfer",
                    f"/v1/conversations/{cid}/csat",
                    "/v1/conversations",
                ]
            ),
            body=st.one_of(
                st.binary(max_size=200),
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                    max_leaves=6,
                ).map(lambda v: json.dumps(v).encode()),
            ),
            token=st.sampled_from([None, ADMIN, "cus_x", "agt_x"]),
        )
        def check(path: str, body: bytes, token: str | None) -> None:
            headers = {"content-type": "application/json", **Api.auth(token)}
            r = http.post(path, content=body, headers=headers)
            assert r.status_code < 500, (path, body, r.text)
            if r.status_code >= 400:
                assert "error" in r.json()

        check()


async def test_broken_policy_is_refused_and_the_old_one_keeps_serving(world: World) -> None:
    http, admin = world.api.http, Api.auth(ADMIN)
    before = (await http.get("/v1/policies/real_estate", headers=admin)).json()
    broken = before["yaml"].replace(
        "rules:",
        "rules:\n  - id: broken\n    when: {field: nonsense, op: '>', value: 1}\n    target: nowhere",
        1,
    )
    r = await http.put(
        "/v1/policies/real_estate", content=broken, headers={**admin, "content-type": "text/yaml"}
    )
    assert r.status_code == 422, r.text
    issues = r.json()["error"]["details"]
    assert issues
    assert all(isinstance(i["line"], int) and i["message"] for i in issues)
    r = await http.put(
        "/v1/policies/real_estate", content="a: [", headers={**admin, "content-type": "text/yaml"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["line"] is not None
    after = (await http.get("/v1/policies/real_estate", headers=admin)).json()
    assert after["version"] == before["version"]
    assert world.policy_file.read_text(encoding="utf-8") == before["yaml"]
    cid, token = await world.api.conversation()
    assert (await world.api.say(cid, token, "Hi"))["active_agent"] == "concierge_bot"  # still routing

    edited = before["yaml"] + "\n# tuned by ops\n"
    r = await http.put("/v1/policies/real_estate", json={"yaml": edited}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["version"] != before["version"]
    explained = await http.post(
        "/v1/policies/real_estate/explain", json={"message": "I want to sell my house"}, headers=admin
    )
    assert explained.status_code == 200
    assert explained.json()["fired"]
