"""Experiments through the API: start, variants recorded on handoffs, analytics per variant, stop,
promote through the publish path (with its history), and who may do what."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from graph.policy_store import check_policy_file
from policies.experiments import assign, experiment_of
from tests.test_api_support import ADMIN, Api, api_settings, serve_in_thread
from tests.test_experiments import SELL_18M, write_experiment

EXP = "/v1/experiments/luxury_threshold"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    policy = write_experiment(tmp_path, status="draft")
    app = create_app(api_settings(tmp_path, policy=policy))
    with serve_in_thread(app) as url:
        yield url, policy


async def _one_per_variant(api: Api, policy: Path) -> dict[str, tuple[str, str]]:
    """Open conversations until each variant has one: variant -> (conversation id, customer token)."""
    experiment = experiment_of(check_policy_file(policy).policy)
    assert experiment is not None
    found: dict[str, tuple[str, str]] = {}
    for _ in range(40):
        cid, token = await api.conversation()
        found.setdefault(assign(experiment, cid).name, (cid, token))
        if len(found) == len(experiment.variants):
            return found
    raise AssertionError("40 conversations never reached every variant")


async def test_an_experiment_runs_records_its_variant_and_is_promoted(served: tuple[str, Path]) -> None:
    url, policy = served
    admin = Api.auth(ADMIN)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        api = Api(url, http)
        agent = await api.agent("maria", {"real_estate": 0.9})
        listed = (await http.get("/v1/experiments", headers=admin)).json()
        assert [(e["id"], e["status"], e["control"]) for e in listed] == [
            ("luxury_threshold", "draft", "control")
        ]
        assert listed[0]["variants"][1]["changes"] == ["rule luxury_interest: when, narration"]

        assert (await http.post(f"{EXP}/start", headers=Api.auth(agent))).status_code == 403
        started = await http.post(
            f"{EXP}/start", json={"published_by": "dana", "note": "two weeks"}, headers=admin
        )
        assert started.status_code == 200, started.text
        assert started.json()["status"] == "running"
        assert started.json()["history"][0]["note"] == "experiment luxury_threshold: start (two weeks)"
        again = await http.post(f"{EXP}/start", headers=admin)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "conflict"
        assert "status: running" in policy.read_text(encoding="utf-8")  # published into the file

        chats = await _one_per_variant(api, policy)
        handoffs: dict[str, str] = {}
        for variant, (cid, token) in chats.items():
            first = await api.say(cid, token, SELL_18M)
            assert first["active_agent"] == (
                "luxury_specialist" if variant == "lower_threshold" else "seller_bot"
            )
            turn = await api.say(cid, token, "I'm Dana Whitfield. Can I talk to a real person please?")
            handoffs[variant] = turn["handoff"]["handoff_id"]
            view = (await http.get(f"/v1/conversations/{cid}", headers=admin)).json()
            assert (view["handoff"]["experiment"], view["handoff"]["variant"]) == (
                "luxury_threshold",
                variant,
            )
            assert view["handoff"]["id"] == handoffs[variant]
        # maria takes the handoff the desk offers her first; the other one is left waiting
        offered = ""
        for _ in range(100):
            mine = (await http.get("/v1/handoffs", headers=Api.auth(agent))).json()
            offered = next((h["handoff_id"] for h in mine if h["offered_agent_id"] == "maria"), "")
            if offered:
                break
            await asyncio.sleep(0.1)
        served_variant = next(v for v, h in handoffs.items() if h == offered)
        waiting_variant = next(v for v in handoffs if v != served_variant)
        assert (await api.act(offered, "accept", agent)).status_code == 200
        reply = await api.act(offered, "reply", agent, {"text": "Hi! What's your name?"})
        assert reply.status_code == 200
        assert (await api.act(offered, "complete", agent, {"note": "done"})).status_code == 200
        cid, token = chats[served_variant]
        rated = await http.post(f"/v1/conversations/{cid}/csat", json={"rating": 5}, headers=Api.auth(token))
        assert rated.status_code < 300, rated.text

        analytics = (await http.get(f"{EXP}/analytics", headers=admin)).json()
        rows = {row["variant"]: row for row in analytics["variants"]}
        assert analytics["control"] == "control"
        assert analytics["verdict"] == "not enough data yet"
        for variant in ("control", "lower_threshold"):
            assert rows[variant]["conversations"] == 1
            assert rows[variant]["metrics"]["handoff_rate"]["estimate"]["successes"] == 1
        served = rows[served_variant]["metrics"]
        assert served["completion_rate"]["estimate"]["successes"] == 1
        assert served["time_to_accept_s"]["estimate"]["n"] == 1
        assert served["csat"]["estimate"]["value"] == 5.0
        repeat = served["repeat_question_rate"]["estimate"]
        assert (repeat["successes"], repeat["n"]) == (1, 1)  # asked for the name the brief gave
        assert rows[waiting_variant]["metrics"]["completion_rate"]["estimate"]["n"] == 0
        assert rows[waiting_variant]["metrics"]["repeat_question_rate"]["estimate"]["n"] == 0

        stopped = await http.post(f"{EXP}/stop", headers=admin)
        assert stopped.json()["status"] == "stopped"
        assert (await http.post(f"{EXP}/stop", headers=admin)).status_code == 409
        cid, token = await api.conversation()
        await api.say(cid, token, SELL_18M)
        view = (await http.get(f"/v1/conversations/{cid}", headers=admin)).json()
        assert view["handoffs"] == []  # a stopped experiment assigns nobody; the bot assignment is no handoff

        assert (await http.post(f"{EXP}/promote", json={"variant": "nope"}, headers=admin)).status_code == 422
        promoted = await http.post(
            f"{EXP}/promote", json={"variant": "lower_threshold", "published_by": "dana"}, headers=admin
        )
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["note"] == "experiment luxury_threshold: promote lower_threshold"
        live = (await http.get("/v1/policies/real_estate", headers=admin)).json()
        assert "experiment:" not in live["yaml"]
        assert "1500000" in live["yaml"]
        versions = (await http.get("/v1/policies/real_estate/versions", headers=admin)).json()
        assert [v["note"] for v in versions[:3]] == [
            "experiment luxury_threshold: promote lower_threshold",
            "experiment luxury_threshold: stop",
            "experiment luxury_threshold: start (two weeks)",
        ]
        assert versions[0]["published_by"] == "dana"
        assert (await http.get("/v1/experiments", headers=admin)).json() == []
        assert (await http.post(f"{EXP}/start", headers=admin)).status_code == 404
        # the analytics outlive the experiment: the control is read from the policy history
        after = (await http.get(f"{EXP}/analytics", headers=admin)).json()
        assert after["control"] == "control"
        assert [r["variant"] for r in after["variants"]] == ["control", "lower_threshold"]
        # a promoted 1.8M seller now goes to the luxury specialist, whatever the conversation
        cid, token = await api.conversation()
        turn = await api.say(cid, token, SELL_18M)
        assert turn["active_agent"] == "luxury_specialist"
