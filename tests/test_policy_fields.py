"""Policy fields: time-based rules from real turn stamps, declared ranges, the lead score's scale."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from graph.policy_store import check_policy_file, check_policy_text
from graph.runtime import BatonRuntime
from graph.signals import CONDITION_FIELDS
from graph.turn_times import STAMP, conversation_times, stamp, time_fields
from policies.evaluator import first_match
from policies.models import Condition
from tests.conftest import POLICIES, make_settings
from tests.test_api_support import ADMIN, Api, api_settings, in_process
from tests.test_policy_loader import MINIMAL

OLD_POLICY = Path(__file__).parent / "fixtures" / "policies" / "lead_score_0_1_v1.yaml"
RULE = '{field: intent, op: "==", value: buy}'
T0 = 1_767_614_400.0  # 2026-01-05 12:00 UTC

TIME_RULE = """\
  - id: too_long_without_resolution
    description: ten minutes and still not resolved
    when: {field: unresolved_minutes, op: ">=", value: 10}
    target: support_agent
    trigger: time_based
    urgency: high
"""


class FakeClock:
    """Unix time that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


def with_condition(condition: str) -> str:
    return MINIMAL.replace(RULE, condition)


# -- time-based rules ------------------------------------------------------------------------------


@pytest.fixture
async def timed(tmp_path: Path) -> AsyncIterator[tuple[BatonRuntime, FakeClock]]:
    text = (POLICIES / "support.yaml").read_text()
    policy = tmp_path / "support.yaml"
    policy.write_text(text.replace("rules:\n", "rules:\n" + TIME_RULE, 1))
    clock = FakeClock()
    async with BatonRuntime.open(make_settings(tmp_path, policy=str(policy)), checkpoint_url="memory") as rt:
        rt.context.clock = clock
        yield rt, clock


async def test_time_based_rule_hands_over_after_ten_minutes_without_resolution(
    timed: tuple[BatonRuntime, FakeClock],
) -> None:
    rt, clock = timed
    first = await rt.post_message("c1", "Where is my order? It was supposed to come on Monday.")
    assert first.status == "bot"
    clock.advance(4)
    second = await rt.post_message("c1", "Can you check the shipping status for me?")
    assert second.status == "bot"  # 4 minutes: the rule does not hold yet
    clock.advance(6.5)
    third = await rt.post_message("c1", "Any news about the delivery?")
    assert third.handoff is not None
    assert (third.handoff.kind, third.handoff.trigger, third.handoff.rule_id) == (
        "human",
        "time_based",
        "too_long_without_resolution",
    )
    assert third.routing is not None
    assert "unresolved_minutes=10.5" in third.routing["explanation"]
    assert "waiting_minutes=6.5" in third.routing["explanation"]  # since the bot's last answer
    snap = await rt.snapshot("c1")
    stamps = [m.additional_kwargs.get(STAMP) for m in snap.values["messages"]]
    assert stamps[0] == T0
    assert all(isinstance(s, float) for s in stamps)  # customer turns and bot answers alike


def test_times_count_from_the_current_case_and_are_unknown_without_stamps() -> None:
    messages = [
        stamp(HumanMessage("hi"), T0),
        stamp(AIMessage("hello"), T0 + 5),
        stamp(HumanMessage("I want a person"), T0 + 60),
        stamp(AIMessage("connecting you"), T0 + 61),
        stamp(HumanMessage("thanks, solved"), T0 + 600),
        stamp(HumanMessage("one more question"), T0 + 1200),
        stamp(AIMessage("sure"), T0 + 1201),
    ]
    assert time_fields(messages, T0 + 1321, case_start=5) == {
        "elapsed_minutes": 22.017,
        "unresolved_minutes": 2.017,  # the case reopened at T0 + 1200
        "waiting_minutes": 2.0,
    }
    handoff = {
        "id": "h1",
        "from_agent": "support_bot",
        "to": "people",
        "kind": "human",
        "trigger": "explicit_request",
        "rule_id": "r",
        "ended_at": 5,
    }
    state = {"messages": messages, "handoffs": {"h1": handoff}}
    assert conversation_times(state, T0 + 1321)["unresolved_minutes"] == 2.017
    old = [HumanMessage("hi"), AIMessage("hello")]  # a checkpoint from before stamps
    assert time_fields(old, T0, 0) == dict.fromkeys(
        ("elapsed_minutes", "unresolved_minutes", "waiting_minutes")
    )
    unknown = Condition(field="unresolved_minutes", op=">=", value=10)
    loaded = check_policy_text(with_condition(unknown.model_dump_json()), "p.yaml")
    assert first_match(loaded.policy, {**time_fields(old, T0, 0)}) is None


def test_policy_explain_shows_the_minutes_it_compared(tmp_path: Path) -> None:
    policy = tmp_path / "support.yaml"
    policy.write_text((POLICIES / "support.yaml").read_text().replace("rules:\n", "rules:\n" + TIME_RULE, 1))
    args = ["policy", "explain", str(policy), "Any news about the delivery?", "--json"]
    fired = json.loads(CliRunner().invoke(cli, [*args, "--minutes", "12"]).stdout)
    assert fired["fired"] == "too_long_without_resolution"
    assert fired["times"]["unresolved_minutes"] == 12
    leaf = fired["rules"][0]["conditions"][0]
    assert (leaf["field"], leaf["actual"], leaf["result"]) == ("unresolved_minutes", 12, True)
    quiet = json.loads(CliRunner().invoke(cli, args).stdout)
    assert quiet["fired"] != "too_long_without_resolution"
    assert quiet["rules"][0]["conditions"][0]["actual"] is None


# -- declared ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "needle"),
    [
        (
            '{field: lead_score, op: ">=", value: 12}',
            "lead_score >= 12 can never be true: lead_score runs 0 to 10",
        ),
        (
            '{field: sentiment, op: "<", value: -1}',
            "sentiment < -1 can never be true: sentiment runs -1 to 1",
        ),
        ('{field: intent_confidence, op: ">", value: 1}', "runs 0 to 1"),
        ('{field: failed_attempts, op: "<", value: 0}', "failed_attempts runs >= 0"),
        ("{field: complexity, op: in, value: [2, 3]}", "complexity in [2, 3] can never be true"),
        ('{field: waiting_minutes, op: "<=", value: -5}', "waiting_minutes runs >= 0"),
    ],
)
def test_a_comparison_that_can_never_be_true_warns_at_its_line(condition: str, needle: str) -> None:
    loaded = check_policy_text(with_condition(condition), "p.yaml")  # valid: it loads
    assert len(loaded.warnings) == 1
    warning = loaded.warnings[0]
    assert needle in warning.message
    line = next(n for n, text in enumerate(MINIMAL.splitlines(), 1) if RULE in text)
    assert warning.line == line
    assert warning.path == "rules[0].when.value"


@pytest.mark.parametrize(
    "condition",
    [
        '{field: lead_score, op: ">=", value: 8.0}',
        '{field: lead_score, op: "<=", value: 0}',
        '{field: sentiment, op: ">", value: -1}',
        '{field: property_value, op: ">", value: 1500000}',
        '{field: turn_count, op: ">=", value: 3}',
        "{field: complexity, op: in, value: [0.5, 2]}",
        '{field: lead_score, op: "!=", value: 40}',
    ],
)
def test_a_reachable_comparison_does_not_warn(condition: str) -> None:
    assert check_policy_text(with_condition(condition), "p.yaml").warnings == ()


def test_ranges_are_the_signal_models_declaration() -> None:
    assert (CONDITION_FIELDS["lead_score"].minimum, CONDITION_FIELDS["lead_score"].maximum) == (0.0, 10.0)
    assert (CONDITION_FIELDS["sentiment"].minimum, CONDITION_FIELDS["sentiment"].maximum) == (-1.0, 1.0)
    assert CONDITION_FIELDS["property_value"].minimum is None
    assert CONDITION_FIELDS["unresolved_minutes"].minimum == 0


@pytest.mark.parametrize("name", ["real_estate.yaml", "support.yaml"])
def test_shipped_policies_load_without_warnings(name: str) -> None:
    assert check_policy_file(POLICIES / name).warnings == ()


def test_policy_check_prints_warnings_and_still_passes(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(with_condition('{field: lead_score, op: ">=", value: 80}'))
    result = CliRunner().invoke(cli, ["policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "warning" in text
    assert "lead_score >= 80 can never be true" in text
    assert "1 warning(s)" in text


# -- the lead score's scale ------------------------------------------------------------------------


def test_a_policy_on_the_old_0_1_lead_score_loads_rescaled_with_a_warning() -> None:
    loaded = check_policy_file(OLD_POLICY)
    hot = loaded.policy.rules[0].when
    assert hot.all[0].value == 8.0  # type: ignore[union-attr]
    assert loaded.policy.rules[1].when.value == 5.0  # type: ignore[union-attr]
    assert [w.line for w in loaded.warnings] == [13, 18]
    assert "0.8 looks like the old 0-1 scale and is read as 8" in loaded.warnings[0].message
    signals = {"lead_score": 8.5, "intent": "immediate_buyer"}
    rule = first_match(loaded.policy, signals)
    assert rule is not None
    assert rule.id == "hot_lead"


def test_seed_001s_lead_rule_is_reachable_and_fires() -> None:
    loaded = check_policy_text(with_condition('{field: lead_score, op: ">=", value: 8.0}'), "p.yaml")
    assert loaded.warnings == ()
    assert first_match(loaded.policy, {"lead_score": 8.0}) is not None
    assert first_match(loaded.policy, {"lead_score": 7.5}) is None


# -- the editor's check ----------------------------------------------------------------------------


async def test_the_editor_check_returns_warnings_beside_ok(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text((POLICIES / "real_estate.yaml").read_text())
    app = create_app(api_settings(tmp_path, policy=policy))
    draft = policy.read_text().replace(
        "rules:\n",
        "rules:\n  - id: unreachable\n    when: {field: lead_score, op: '>', value: 10}\n"
        "    target: human_agent\n",
        1,
    )
    async with in_process(app) as api:
        r = await api.http.post(
            "/v1/policies/real_estate/check", json={"yaml": draft}, headers=Api.auth(ADMIN)
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True
    assert body["issues"] == []
    [warning] = body["warnings"]
    assert "lead_score > 10 can never be true" in warning["message"]
    assert (
        warning["line"] == draft.splitlines().index("    when: {field: lead_score, op: '>', value: 10}") + 1
    )


async def test_explaining_a_live_conversation_reads_its_turn_stamps(tmp_path: Path) -> None:
    policy = tmp_path / "support.yaml"
    policy.write_text((POLICIES / "support.yaml").read_text().replace("rules:\n", "rules:\n" + TIME_RULE, 1))
    app = create_app(api_settings(tmp_path, policy=policy))
    clock = FakeClock()
    async with app.router.lifespan_context(app):
        app.state.runtime.context.clock = clock
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as http:
            api = Api("http://test", http)
            cid, token = await api.conversation()
            await api.say(cid, token, "Where is my order? It was supposed to come on Monday.")
            clock.advance(12)
            body = {"conversation_id": cid, "message": "Any news about the delivery?"}
            r = await http.post("/v1/policies/support/draft/explain", json=body, headers=Api.auth(ADMIN))
    assert r.status_code == 200, r.text
    explained = r.json()
    assert explained["fired"] == "too_long_without_resolution"
    assert explained["times"]["unresolved_minutes"] == 12.0
    assert explained["times"]["elapsed_minutes"] == 12.0
