"""``desk.ranking``: the in-process desk's agents in score order must pick what a scan of every agent picks.

The ranking is built once and then only moved by commits (``MemoryStore.put_agent``), so these tests
change agents after it is built: load, rating, skills, status, last assignment, schedule. Scheduled
agents are ranked by a bound (availability 1) and scored exactly against the clock, so ``now`` varies
across and outside their slots. A transaction's own versions of some agents override the stored ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from desk import assign
from desk.config import DeskConfig, Weights
from desk.memory_store import MemoryStore
from desk.models import Agent, Handoff, Schedule, TimeSlot
from desk.ranking import RANKINGS

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # Monday
SKILLS = ["x", "y", "z"]
CONFIG = DeskConfig(heartbeat_ttl_s=30)
# Slots ending at 13:00 and 12:30: with the 30 minutes that score 1, availability falls below 1 in
# the last half hour of each (and is 0 after it), so ``now`` moves scheduled agents' exact scores.
SCHEDULES = [
    None,
    Schedule(weekly={"mon": [TimeSlot(start=time(0, 0), end=time(13, 0))]}),
    Schedule(weekly={"mon": [TimeSlot(start=time(8, 0), end=time(12, 30))]}),
]


def make_agent(
    i: int, spec: tuple[dict[str, float], str, int, float | None, float, int, bool], now: datetime = NOW
) -> Agent:
    """Agent ``a{i}``; its heartbeat is fresh at ``now`` or five minutes old."""
    skills, status, used, ago, rating, schedule, fresh = spec
    return Agent.model_validate(
        {
            "id": f"a{i}",
            "skills": skills,
            "status": status,
            "max_concurrent": 3,
            "active_handoff_ids": [f"x{j}" for j in range(used)],
            "last_assigned_at": None if ago is None else NOW - timedelta(minutes=ago),
            "last_heartbeat": now if fresh else now - timedelta(minutes=5),
            "performance": {"avg_rating": rating},
            "schedule": SCHEDULES[schedule],
        }
    )


agent_spec = st.tuples(
    st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([0.0, 0.5, 0.9, 1.0]), max_size=3),
    st.sampled_from(["online", "online", "online", "away"]),
    st.integers(0, 3),  # slots in use, of 3
    st.sampled_from([None, 1.0, 10.0]),  # minutes since last assigned: ties are common
    st.sampled_from([1.0, 4.0, 5.0]),
    st.sampled_from([0, 0, 1, 2]),
    st.booleans(),  # heartbeat fresh
)
handoff_spec = st.tuples(
    st.lists(st.sampled_from(SKILLS), max_size=2, unique=True),
    st.lists(st.sampled_from(SKILLS), max_size=2, unique=True),
    st.one_of(st.none(), st.integers(0, 11)),  # preferred
    st.sets(st.integers(0, 11), max_size=3),  # excluded
    st.sampled_from([0, 0, 600]),  # seconds waited: past relax_after_s, optional skills stop counting
)


def make_handoff(spec: tuple[list[str], list[str], int | None, set[int], int], now: datetime) -> Handoff:
    required, optional, preferred, excluded, waited = spec
    return Handoff.model_validate(
        {
            "handoff_id": "h",
            "conversation_id": "c",
            "created_at": now - timedelta(seconds=waited),
            "required_skills": required,
            "optional_skills": optional,
            "preferred_agent_id": None if preferred is None else f"a{preferred}",
            "excluded_agent_ids": [f"a{i}" for i in excluded],
        }
    )


@given(
    st.lists(agent_spec, min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 11), agent_spec), max_size=8),  # commits after the ranking is built
    st.lists(st.tuples(st.integers(0, 11), agent_spec), max_size=3),  # a transaction's own versions
    handoff_spec,
    st.sampled_from([0, 5, 15, 25, 45, 90]),  # minutes after noon
)
@settings(max_examples=300, deadline=None)
def test_a_ranking_picks_what_scanning_every_agent_picks(
    specs: list[tuple[dict[str, float], str, int, float | None, float, int, bool]],
    commits: list[tuple[int, tuple[dict[str, float], str, int, float | None, float, int, bool]]],
    own: list[tuple[int, tuple[dict[str, float], str, int, float | None, float, int, bool]]],
    need: tuple[list[str], list[str], int | None, set[int], int],
    minutes: int,
) -> None:
    now = NOW + timedelta(minutes=minutes)
    handoff = make_handoff(need, now)
    store = MemoryStore()
    for i, spec in enumerate(specs):
        store.put_agent(make_agent(i, spec, now))
    ranking = store.ranking(tuple(assign.asked_skills(handoff)), CONFIG)
    for i, spec in commits:  # new agents, and changes to ranked ones
        store.put_agent(make_agent(i, spec, now))
    changed = {f"a{i}": make_agent(i, spec, now) for i, spec in own}

    seen = {**store.agents, **changed}
    expected = assign.pick(handoff, list(seen.values()), now, CONFIG)
    assert ranking.pick(handoff, store.agents, changed, now, CONFIG) == expected
    # the same ranking again, not a new one, and it holds exactly the agents free to take an offer
    assert store.ranking(tuple(assign.asked_skills(handoff)), CONFIG) is ranking
    free = [a for a in store.agents.values() if a.status == "online" and a.load < a.max_concurrent]
    assert len(ranking) == len(free)


def test_a_scheduled_agent_is_ranked_by_a_bound_and_scored_by_the_clock() -> None:
    """a0 is the more skilled; its slot ends at 12:30. Ranked first by its bound, it must lose to a1
    on its real score at 12:25, and win at noon, with half an hour left."""
    for minutes, best in ((25, "a1"), (0, "a0")):
        at = NOW + timedelta(minutes=minutes)
        store = MemoryStore()
        store.put_agent(make_agent(0, ({"x": 1.0}, "online", 0, None, 5.0, 2, True), at))
        store.put_agent(make_agent(1, ({"x": 0.9}, "online", 0, None, 5.0, 0, True), at))
        handoff = make_handoff((["x"], [], None, set(), 0), at)
        picked = store.ranking(("x",), CONFIG).pick(handoff, store.agents, {}, at, CONFIG)
        assert picked is not None
        assert picked.agent_id == best


def test_a_ranking_follows_the_desk_configuration() -> None:
    store = MemoryStore()
    store.put_agent(make_agent(0, ({"x": 1.0}, "online", 0, None, 1.0, 0, True)))  # skilled, poorly rated
    store.put_agent(make_agent(1, ({"x": 0.5}, "online", 0, None, 5.0, 0, True)))  # less skilled, rated 5
    handoff = make_handoff((["x"], [], None, set(), 0), NOW)
    by_skill = CONFIG.model_copy(
        update={"weights": Weights(skill=1.0, performance=0, availability=0, load=0)}
    )
    by_rating = CONFIG.model_copy(
        update={"weights": Weights(skill=0, performance=1.0, availability=0, load=0)}
    )
    for config, best in ((by_skill, "a0"), (by_rating, "a1"), (by_skill, "a0")):
        picked = store.ranking(("x",), config).pick(handoff, store.agents, {}, NOW, config)
        assert picked is not None
        assert picked.agent_id == best


def test_rankings_are_kept_for_the_skill_sets_asked_lately() -> None:
    store = MemoryStore()
    store.put_agent(make_agent(0, ({"x": 1.0}, "online", 0, None, 5.0, 0, True)))
    first = store.ranking(("s0",), CONFIG)
    for i in range(1, RANKINGS + 1):
        store.ranking((f"s{i}",), CONFIG)
    assert store.ranking((f"s{RANKINGS}",), CONFIG) is store.ranking((f"s{RANKINGS}",), CONFIG)
    assert store.ranking(("s0",), CONFIG) is not first  # the least recently asked was dropped
