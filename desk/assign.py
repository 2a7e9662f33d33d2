"""Pure assignment logic: eligibility, scoring, ranking and queue order (deterministic given ``now``).

Scoring follows the reference router (section 2.2) with the weights of ``DeskConfig.weights``:

* skill: mean proficiency over the skills the handoff asks for now (required, plus optional ones
  until ``relax_after_s``; after that optional skills still count, with 0 for an agent who lacks
  them, so holders of optional skills rank higher but non-holders stay eligible). No skills asked = 1.
* performance: the reference formula, ``rating/5`` averaged with ``max(0, 1 - aht_minutes/30)`` when
  the handle time is known; ``DeskConfig.acceptance_share`` (default 0) blends in the acceptance rate.
* availability: candidates are online with a fresh heartbeat, so this measures how long they stay:
  ``min(1, seconds_left_in_slot / availability_horizon_s)``; 1 without a schedule.
* load: ``1 - (active + offered) / max_concurrent``.

Ties go to the agent idle longest (oldest ``last_assigned_at``, never-assigned first), then by id.
An eligible ``preferred_agent_id`` wins outright.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from desk.config import DeskConfig
from desk.models import WEEKDAYS, Agent, Handoff, Schedule

_DAY_S = 86400.0


@dataclass(frozen=True)
class Scored:
    """An agent's score for one handoff, with its breakdown."""

    agent_id: str
    score: float
    skill: float
    performance: float
    availability: float
    load: float
    preferred: bool = False


def _secs(t: time) -> float:
    return t.hour * 3600.0 + t.minute * 60.0 + t.second


def slot_remaining_s(schedule: Schedule | None, now: datetime) -> float | None:
    """Seconds left in the schedule slot containing ``now``.

    Returns:
        ``None`` without a schedule (always available), ``0.0`` outside every slot or on an
        exception date, else the seconds until the current slot ends.
    """
    if schedule is None:
        return None
    local = now.astimezone(ZoneInfo(schedule.timezone))
    if any(r.start <= local.date() <= r.end for r in schedule.exceptions):
        return 0.0
    t = _secs(local.time())
    best = 0.0
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
    for slot in schedule.weekly.get(today, []):
        start, end = _secs(slot.start), _secs(slot.end)
        if start < end and start <= t < end:
            best = max(best, end - t)
        elif end <= start and t >= start:  # crosses midnight
            best = max(best, _DAY_S - t + end)
    for slot in schedule.weekly.get(yesterday, []):
        start, end = _secs(slot.start), _secs(slot.end)
        if end <= start and t < end:  # tail of yesterday's overnight slot
            best = max(best, end - t)
    return best


def in_schedule(agent: Agent, now: datetime) -> bool:
    """Whether ``now`` falls inside the agent's working hours."""
    remaining = slot_remaining_s(agent.schedule, now)
    return remaining is None or remaining > 0


def heartbeat_fresh(agent: Agent, now: datetime, config: DeskConfig) -> bool:
    """Whether the agent's last heartbeat is younger than ``heartbeat_ttl_s``."""
    return beat_fresh(agent.last_heartbeat, now, config)


def beat_fresh(beat: datetime | None, now: datetime, config: DeskConfig) -> bool:
    """Whether a heartbeat at ``beat`` (``None``: never) is younger than ``heartbeat_ttl_s`` at ``now``."""
    if beat is None:
        return False
    return (now - beat).total_seconds() <= config.heartbeat_ttl_s


def has_free_slot(agent: Agent) -> bool:
    """Online with a free slot: what the desk's indexes of free agents hold. Heartbeat and schedule
    change with the clock, so they are checked when an offer is made (``is_available``)."""
    return agent.status == "online" and agent.load < agent.max_concurrent


def is_available(agent: Agent, now: datetime, config: DeskConfig) -> bool:
    """Online, fresh heartbeat, inside the schedule and with a free slot."""
    return has_free_slot(agent) and heartbeat_fresh(agent, now, config) and in_schedule(agent, now)


def waited_s(handoff: Handoff, now: datetime) -> float:
    """Seconds the handoff has waited in its current round (since creation, re-queue or transfer)."""
    start = handoff.round_started_at or handoff.created_at
    return max(0.0, (now - start).total_seconds())


def skills_needed(handoff: Handoff, now: datetime, config: DeskConfig) -> list[str]:
    """Skills a candidate must hold now: required + optional before ``relax_after_s``, then required."""
    if waited_s(handoff, now) >= config.relax_after_s:
        return list(handoff.required_skills)
    return list(dict.fromkeys([*handoff.required_skills, *handoff.optional_skills]))


def is_candidate(agent: Agent, handoff: Handoff, now: datetime, config: DeskConfig) -> bool:
    """Whether the desk may offer ``handoff`` to ``agent`` now."""
    return eligible(agent, handoff, skills_needed(handoff, now, config), now, config)


def eligible(agent: Agent, handoff: Handoff, needed: list[str], now: datetime, config: DeskConfig) -> bool:
    """``is_candidate`` with the skills ``needed`` now already read (once per offer, not per agent)."""
    if agent.id in handoff.excluded_agent_ids or not all(skill in agent.skills for skill in needed):
        return False
    return is_available(agent, now, config)


def performance_score(agent: Agent, acceptance_share: float = 0.0) -> float:
    """Seed 000's performance score: rating / 5, averaged with ``max(0, 1 - aht_minutes / 30)`` when the
    handle time is known; ``acceptance_share`` of it may go to the acceptance rate (0 by default)."""
    perf = agent.performance
    ref = perf.avg_rating / 5.0
    if perf.avg_handle_time_s > 0:
        time_score = max(0.0, 1.0 - (perf.avg_handle_time_s / 60.0) / 30.0)
        ref = (ref + time_score) / 2.0
    return (1.0 - acceptance_share) * ref + acceptance_share * perf.acceptance_rate


def asked_skills(handoff: Handoff) -> list[str]:
    """The skills the score averages over: required, then optional, each once."""
    return list(dict.fromkeys([*handoff.required_skills, *handoff.optional_skills]))


Parts = tuple[float, float, float, float, float]  # score, skill, performance, availability, load


def scorer(handoff: Handoff, now: datetime, config: DeskConfig) -> Callable[[Agent], Parts]:
    """A function scoring agents for ``handoff`` now: ``(score, skill, performance, availability, load)``.

    What is the same for every agent (the skills asked, the weights) is read once per offer.
    """
    return skill_scorer(asked_skills(handoff), now, config)


def skill_scorer(asked: Sequence[str], now: datetime | None, config: DeskConfig) -> Callable[[Agent], Parts]:
    """``scorer`` for the skills ``asked``; with ``now`` None, availability counts as 1 for everyone.

    Without a clock the score is an upper bound (availability is at most 1), and exact for an agent
    without a schedule: what ``desk.ranking`` orders agents by.
    """
    w = config.weights
    w_skill, w_perf, w_avail, w_load = w.skill, w.performance, w.availability, w.load
    share, horizon = config.acceptance_share, config.availability_horizon_s

    def parts(agent: Agent) -> Parts:
        skills = agent.skills
        skill = sum([skills.get(s, 0.0) for s in asked]) / len(asked) if asked else 1.0
        performance = performance_score(agent, share)
        remaining = None if now is None else slot_remaining_s(agent.schedule, now)
        availability = 1.0 if remaining is None else min(1.0, remaining / horizon)
        load = max(0.0, 1.0 - agent.load / agent.max_concurrent)
        total = w_skill * skill + w_perf * performance + w_avail * availability + w_load * load
        return round(total, 9), skill, performance, availability, load

    return parts


def score_agent(agent: Agent, handoff: Handoff, now: datetime, config: DeskConfig) -> Scored:
    """Score ``agent`` for ``handoff`` (see the module docstring for the formula)."""
    return breakdown(agent, scorer(handoff, now, config)(agent), handoff.preferred_agent_id)


def breakdown(agent: Agent, parts: Parts, preferred_id: str | None) -> Scored:
    """``agent``'s score for an offer with its parts, as ``scorer`` computed them."""
    score, skill, performance, availability, load = parts
    return Scored(
        agent_id=agent.id,
        score=score,
        skill=skill,
        performance=performance,
        availability=availability,
        load=load,
        preferred=agent.id == preferred_id,
    )


OrderKey = tuple[bool, float, float, str]


def order_key(agent: Agent, preferred: bool, score: float) -> OrderKey:
    """Sort key of a candidate: preferred first, then score, then idle longest, then id."""
    last = agent.last_assigned_at
    return (not preferred, -score, last.timestamp() if last is not None else -math.inf, agent.id)


def rank(handoff: Handoff, agents: list[Agent], now: datetime, config: DeskConfig) -> list[Scored]:
    """Eligible agents for ``handoff``, best first (preferred, score, longest idle, id)."""
    by_id = {a.id: a for a in agents}
    needed = skills_needed(handoff, now, config)  # once per handoff, not once per agent
    parts = scorer(handoff, now, config)
    preferred_id = handoff.preferred_agent_id
    scored = [
        breakdown(a, parts(a), preferred_id) for a in agents if eligible(a, handoff, needed, now, config)
    ]
    return sorted(scored, key=lambda s: order_key(by_id[s.agent_id], s.preferred, s.score))


def pick(handoff: Handoff, agents: list[Agent], now: datetime, config: DeskConfig) -> Scored | None:
    """The best eligible agent for ``handoff`` (``rank``'s first), or None.

    It keeps the best sort key as it goes and builds the breakdown for the winner only. The desks
    keep their free agents in this order instead (``desk.ranking``), and their choices are checked
    against this function (``tests/test_desk_ranking.py``, ``tests/test_desk_indexes.py``).
    """
    needed = skills_needed(handoff, now, config)
    parts = scorer(handoff, now, config)
    preferred_id = handoff.preferred_agent_id
    best: Agent | None = None
    best_key: OrderKey | None = None
    for agent in agents:
        if not eligible(agent, handoff, needed, now, config):
            continue
        key = order_key(agent, agent.id == preferred_id, parts(agent)[0])
        if best_key is None or key < best_key:
            best, best_key = agent, key
    return None if best is None else breakdown(best, parts(best), preferred_id)


QueueKey = tuple[int, float, str]


def queue_key(handoff: Handoff) -> QueueKey:
    """Sort key of the queue: priority desc, then created_at asc, then id (its last item)."""
    return (-handoff.priority, handoff.created_at.timestamp(), handoff.handoff_id)


def queue_score(handoff: Handoff) -> float:
    """One float with the queue order (for a Redis sorted set): priority band, then created ms."""
    created_ms = round(handoff.created_at.timestamp() * 1000)  # < 10**13 until year 2286
    return float((100 - handoff.priority) * 10**13 + created_ms)


def expected_wait_s(
    position: int, handoff: Handoff, agents: list[Agent], now: datetime, config: DeskConfig
) -> float | None:
    """Wait estimate for the handoff at 1-based queue ``position``, from measured desk figures.

    Agents that could take it (online, fresh, in schedule, holding the required skills) serve the
    queue in parallel: a handoff within the free slots waits for an agent to answer the offer (their
    measured mean offer -> accept time, ``response_s``); the rest also wait one mean handle time per
    full round of slots. ``None`` when no agent could take it at all.
    """
    able = [
        a
        for a in agents
        if a.status == "online"
        and heartbeat_fresh(a, now, config)
        and in_schedule(a, now)
        and all(s in a.skills for s in handoff.required_skills)
    ]
    slots = sum(a.max_concurrent for a in able)
    if slots == 0:
        return None
    free = sum(max(0, a.max_concurrent - a.load) for a in able)
    respond = response_s(able, config)
    if position <= free:
        return respond
    known = [a.performance.avg_handle_time_s for a in able if a.performance.avg_handle_time_s > 0]
    aht = sum(known) / len(known) if known else config.default_handle_time_s
    rounds = math.ceil((position - free) / slots)
    return float(rounds * aht + respond)


def response_s(agents: list[Agent], config: DeskConfig) -> float:
    """How long ``agents`` take to accept an offer: their measured mean, else half the accept timeout."""
    known = [a.performance.avg_accept_s for a in agents if a.performance.avg_accept_s > 0]
    return sum(known) / len(known) if known else config.accept_timeout_s / 2
