"""Pure parts of the desk: lifecycle table, scoring, schedules, config, simulation and CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from desk import assign
from desk.cli import desk_app
from desk.config import DeskConfig, Weights, load_config
from desk.errors import ConfigError, IllegalTransition
from desk.lifecycle import TERMINAL, TRANSITIONS, transition
from desk.models import Agent, DateRange, Handoff, HandoffStatus, Performance, Schedule, TimeSlot
from desk.simulate import percentile, simulate

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # Monday
STATUSES: list[HandoffStatus] = list(TRANSITIONS)


def handoff(**kw: object) -> Handoff:
    return Handoff.model_validate({"handoff_id": "h", "conversation_id": "c", "created_at": NOW, **kw})


def agent(agent_id: str, **kw: object) -> Agent:
    return Agent.model_validate({"id": agent_id, "status": "online", "last_heartbeat": NOW, **kw})


# -- lifecycle ---------------------------------------------------------------------------------
def test_happy_path_and_terminal_states() -> None:
    h = handoff()
    for target in ("offered", "accepted", "active", "completed"):
        transition(h, target, NOW)  # type: ignore[arg-type]
    assert [r.to_status for r in h.history] == ["offered", "accepted", "active", "completed"]
    assert {s for s, targets in TRANSITIONS.items() if not targets} == TERMINAL


@given(st.sampled_from(STATUSES), st.sampled_from(STATUSES))
def test_transition_table_is_enforced(current: HandoffStatus, target: HandoffStatus) -> None:
    h = handoff(status=current)
    if target in TRANSITIONS[current]:
        transition(h, target, NOW, reason="r")
        assert h.status == target
        assert h.history[-1].from_status == current
    else:
        with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
            transition(h, target, NOW)
        assert h.status == current


def test_issue_transitions_present() -> None:
    required = {
        "pending": {"offered", "returned_to_ai", "expired", "cancelled"},
        "offered": {"accepted", "declined", "timed_out", "returned_to_ai", "expired", "cancelled"},
        "declined": {"pending"},
        "timed_out": {"pending"},
        "accepted": {"active", "transferred", "returned_to_ai", "cancelled"},
        "active": {"completed", "transferred", "returned_to_ai", "cancelled"},
        "transferred": {"pending", "offered"},
    }
    for status, targets in required.items():
        assert targets <= TRANSITIONS[status]  # type: ignore[index]


# -- scoring -----------------------------------------------------------------------------------
def test_score_uses_reference_weights_and_formulas() -> None:
    a = agent(
        "a",
        skills={"billing": 0.8},
        max_concurrent=4,
        active_handoff_ids=["x"],
        performance=Performance(avg_rating=4.0, avg_handle_time_s=600, acceptance_rate=0.5),
    )
    scored = assign.score_agent(a, handoff(required_skills=["billing"]), NOW, DeskConfig())
    ref = (4.0 / 5 + (1 - 10 / 30)) / 2
    assert scored.skill == pytest.approx(0.8)
    assert scored.performance == pytest.approx(ref)  # seed 000's formula: the acceptance rate plays no part
    blended = assign.score_agent(
        a, handoff(required_skills=["billing"]), NOW, DeskConfig(acceptance_share=0.25)
    )
    assert blended.performance == pytest.approx(0.75 * ref + 0.25 * 0.5)
    assert scored.availability == 1.0
    assert scored.load == pytest.approx(0.75)
    expected = 0.40 * 0.8 + 0.25 * scored.performance + 0.20 * 1.0 + 0.15 * 0.75
    assert scored.score == pytest.approx(expected)


def test_rank_filters_and_breaks_ties_by_longest_idle() -> None:
    cfg = DeskConfig()
    agents = [
        agent("recent", skills={"b": 0.5}, last_assigned_at=NOW - timedelta(minutes=1)),
        agent("idle", skills={"b": 0.5}, last_assigned_at=NOW - timedelta(hours=1)),
        agent("never", skills={"b": 0.5}),
        agent("stale", skills={"b": 1.0}, last_heartbeat=NOW - timedelta(minutes=5)),
        agent("away", skills={"b": 1.0}, status="away"),
        agent("full", skills={"b": 1.0}, active_handoff_ids=["x"]),
        agent("unskilled", skills={"c": 1.0}),
        agent("excluded", skills={"b": 1.0}),
    ]
    ranked = assign.rank(handoff(required_skills=["b"], excluded_agent_ids=["excluded"]), agents, NOW, cfg)
    assert [s.agent_id for s in ranked] == ["never", "idle", "recent"]


scored_agents = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(["x", "y", "z"]), st.sampled_from([0.0, 0.5, 0.9, 1.0]), max_size=3),
        st.sampled_from(["online", "online", "away"]),
        st.integers(0, 3),  # slots in use, of 3
        st.sampled_from([None, 1.0, 10.0]),  # minutes since last assigned (ties are common)
        st.sampled_from([1.0, 4.0, 5.0]),  # rating
        st.booleans(),  # a schedule that ends in an hour (availability below 1)
    ),
    max_size=10,
)


@given(
    scored_agents,
    st.lists(st.sampled_from(["x", "y", "z"]), max_size=2, unique=True),
    st.lists(st.sampled_from(["x", "y", "z"]), max_size=2, unique=True),
    st.one_of(st.none(), st.integers(0, 9)),
    st.sets(st.integers(0, 9)),
)
def test_pick_is_the_head_of_the_full_ranking(
    specs: list[tuple[dict[str, float], str, int, float | None, float, bool]],
    required: list[str],
    optional: list[str],
    preferred: int | None,
    excluded: set[int],
) -> None:
    """``pick`` keeps only the best key as it goes; it must choose what sorting every agent chooses."""
    until_one = Schedule(weekly={"mon": [TimeSlot(start=time(0, 0), end=time(13, 0))]})
    agents = [
        agent(
            f"a{i}",
            skills=skills,
            status=status,
            max_concurrent=3,
            active_handoff_ids=[f"x{j}" for j in range(used)],
            last_assigned_at=None if ago is None else NOW - timedelta(minutes=ago),
            performance={"avg_rating": rating},
            schedule=until_one if scheduled else None,
        )
        for i, (skills, status, used, ago, rating, scheduled) in enumerate(specs)
    ]
    h = handoff(
        required_skills=required,
        optional_skills=optional,
        preferred_agent_id=None if preferred is None else f"a{preferred}",
        excluded_agent_ids=[f"a{i}" for i in excluded],
    )
    ranked = assign.rank(h, agents, NOW, DeskConfig())
    assert assign.pick(h, agents, NOW, DeskConfig()) == (ranked[0] if ranked else None)


def test_weights_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        Weights(skill=0.5, performance=0.5, availability=0.5, load=0.5)


def test_queue_score_orders_like_queue_key() -> None:
    hs = [
        handoff(handoff_id=f"h{i}", priority=p, created_at=NOW + timedelta(seconds=s))
        for i, (p, s) in enumerate([(10, 0), (90, 5), (90, 1), (50, 3), (100, 9), (1, 0)])
    ]
    assert sorted(hs, key=assign.queue_key) == sorted(hs, key=assign.queue_score)


# -- schedules ---------------------------------------------------------------------------------
def test_schedule_timezone_slots_and_exceptions() -> None:
    paris = Schedule(timezone="Europe/Paris", weekly={"mon": [TimeSlot(start=time(9), end=time(17))]})
    # 12:00 UTC on Monday = 13:00 in Paris: 4 h left
    assert assign.slot_remaining_s(paris, NOW) == pytest.approx(4 * 3600)
    assert assign.slot_remaining_s(paris, NOW + timedelta(hours=5)) == 0.0
    assert assign.slot_remaining_s(paris, NOW + timedelta(days=1)) == 0.0  # no Tuesday slot
    holiday = paris.model_copy(
        update={"exceptions": [DateRange(start=date(2026, 1, 5), end=date(2026, 1, 5))]}
    )
    assert assign.slot_remaining_s(holiday, NOW) == 0.0
    assert assign.slot_remaining_s(None, NOW) is None


def test_overnight_slot_and_availability_score() -> None:
    night = Schedule(timezone="UTC", weekly={"sun": [TimeSlot(start=time(22), end=time(12, 30))]})
    assert assign.slot_remaining_s(night, NOW) == pytest.approx(1800)  # Monday 12:00, slot ends 12:30
    a = agent("n", schedule=night)
    cfg = DeskConfig(availability_horizon_s=3600)
    assert assign.score_agent(a, handoff(), NOW, cfg).availability == pytest.approx(0.5)
    assert not assign.in_schedule(a, NOW + timedelta(hours=1))


def test_unknown_timezone_rejected() -> None:
    with pytest.raises(ValueError, match="unknown IANA timezone"):
        Schedule(timezone="Mars/Olympus")


# -- config ------------------------------------------------------------------------------------
def test_shipped_yaml_matches_defaults() -> None:
    assert load_config() == DeskConfig()


def test_config_typo_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "desk.yaml"
    bad.write_text("accept_timout_s: 10\n")
    with pytest.raises(ConfigError, match="accept_timout_s"):
        load_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


# -- simulation and CLI --------------------------------------------------------------------------
def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile(list(range(1, 101)), 99) == 99


async def test_simulation_is_deterministic_and_sane() -> None:
    first = await simulate(8, 120, seed=7, no_show_rate=0.2)
    second = await simulate(8, 120, seed=7, no_show_rate=0.2)
    assert first.model_dump(exclude={"wall_s"}) == second.model_dump(exclude={"wall_s"})
    assert first.completed + first.returned_to_ai + first.expired == 120
    assert first.timeouts > 0
    # each lapsed offer is offered again, or its handoff ends unaccepted (at most once per handoff)
    assert first.reoffers + first.expired + first.returned_to_ai >= first.timeouts
    assert first.time_to_accept_p50_s is not None
    assert first.time_to_accept_p50_s <= (first.time_to_accept_p99_s or 0)


def test_cli_simulate_prints_table() -> None:
    result = CliRunner().invoke(
        _app(), ["desk", "simulate", "--agents", "5", "--handoffs", "40", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "time to accept p95" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--agents", "0"],
        ["--handoffs", "-1"],
        ["--no-show-rate", "1.5"],
        ["--agents", "many"],
        ["--config", "/nope.yaml"],
    ],
)
def test_cli_bad_arguments_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(_app(), ["desk", "simulate", *args])
    assert result.exit_code == 2


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(desk_app, name="desk")
    return app
