"""Discrete-time simulation of the desk: simulated agents and customers on a fake clock.

Nothing sleeps: the clock jumps ``tick_s`` at a time, arrivals and agent responses are scheduled on
a heap, and the desk's own ``tick()`` runs every step. Deterministic for a given seed.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel

from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.engine import BaseDesk
from desk.errors import DeskError
from desk.memory import InMemoryDesk
from desk.models import AgentSpec, HandoffRequest

SKILLS = ("billing", "tech", "sales", "refunds", "french", "spanish")
_LEAVES_QUEUE = {"handoff_offered", "handoff_returned_to_ai", "handoff_expired", "handoff_cancelled"}
_ANSWERED = {
    "handoff_accepted",
    "handoff_declined",
    "handoff_timed_out",
    "handoff_returned_to_ai",
    "handoff_expired",
    "handoff_cancelled",
}
_ENTERS_QUEUE = {"handoff_created", "handoff_timed_out", "handoff_declined", "handoff_requeued"}


class SimulationReport(BaseModel):
    """What a simulation run measured."""

    backend: str
    agents: int
    handoffs: int
    seed: int
    simulated_s: float
    wall_s: float
    accepted: int
    completed: int
    returned_to_ai: int
    expired: int
    time_to_accept_p50_s: float | None
    time_to_accept_p95_s: float | None
    time_to_accept_p99_s: float | None
    reoffers: int
    timeouts: int
    declines: int
    late_accepts: int
    max_queue_length: int


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0-100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass(order=True)
class _Action:
    at: float
    seq: int
    kind: Literal["accept", "decline", "complete"] = field(compare=False)
    handoff_id: str = field(compare=False)
    agent_id: str = field(compare=False)


async def simulate(
    agents: int,
    handoffs: int,
    *,
    seed: int = 0,
    accept_latency_s: tuple[float, float] = (1.0, 20.0),
    no_show_rate: float = 0.1,
    decline_rate: float = 0.05,
    handle_time_s: tuple[float, float] = (60.0, 600.0),
    max_concurrent: tuple[int, int] = (1, 3),
    load: float = 0.85,
    tick_s: float = 1.0,
    config: DeskConfig | None = None,
    desk: BaseDesk | None = None,
) -> SimulationReport:
    """Run ``handoffs`` customers through a desk staffed by ``agents`` simulated agents.

    Args:
        agents: Number of agents (random skills, capacity and performance).
        handoffs: Number of handoffs submitted (Poisson arrivals sized to ``load``).
        seed: Random seed; the same seed gives the same report (except ``wall_s``).
        accept_latency_s: Range of an agent's time to answer an offer.
        no_show_rate: Share of offers an agent never answers (they time out).
        decline_rate: Share of offers an agent declines.
        handle_time_s: Range of conversation lengths.
        max_concurrent: Range of agent capacities.
        load: Offered load relative to total capacity (sets the arrival rate).
        tick_s: Simulated seconds per step.
        config: Desk configuration (defaults when None).
        desk: A desk to drive (its clock must be a ``FakeClock``); an ``InMemoryDesk`` when None.
    """
    if agents < 1 or handoffs < 1:
        msg = "simulate needs at least one agent and one handoff"
        raise ValueError(msg)
    rng = random.Random(seed)
    started = time.perf_counter()
    if desk is None:
        desk = InMemoryDesk(config or DeskConfig(), clock=FakeClock())
    clock = desk.clock
    if not isinstance(clock, FakeClock):
        msg = "simulate needs a desk driven by a FakeClock"
        raise TypeError(msg)
    t0 = clock.now()

    capacity = 0
    for i in range(agents):
        skills = {s: round(rng.uniform(0.3, 1.0), 2) for s in rng.sample(SKILLS, rng.randint(2, 4))}
        cap = rng.randint(*max_concurrent)
        capacity += cap
        perf = {"avg_rating": round(rng.uniform(3.0, 5.0), 2), "acceptance_rate": 1.0}
        await desk.register_agent(
            AgentSpec(
                id=f"agent-{i:03}", skills=skills, max_concurrent=cap, status="online", performance=perf
            )
        )
    mean_handle = sum(handle_time_s) / 2
    interarrival = mean_handle / (capacity * load)
    arrivals: list[float] = []
    at = 0.0
    for _ in range(handoffs):
        at += rng.expovariate(1 / interarrival)
        arrivals.append(at)

    actions: list[_Action] = []
    seq = itertools.count()
    cursor = await desk.cursor()
    queued: set[str] = set()
    ringing: set[str] = set()  # offered, not yet answered
    last_beat = 0.0
    stats = {"max_queue": 0, "late": 0, "timeouts": 0, "declines": 0}
    next_arrival = 0
    agent_ids = [a.id for a in await desk.list_agents()]
    elapsed = 0.0
    horizon = arrivals[-1] + 4 * desk.config.expires_after_s + handle_time_s[1] + 60

    async def drain_events() -> None:
        nonlocal cursor
        page = await desk.events_since(cursor)
        cursor = page.cursor
        for ev in page.events:
            hid = getattr(ev, "handoff_id", None)
            if hid is None:
                continue
            stats["timeouts"] += ev.type == "handoff_timed_out"
            stats["declines"] += ev.type == "handoff_declined"
            if ev.type == "handoff_offered":
                ringing.add(hid)
            elif ev.type in _ANSWERED:
                ringing.discard(hid)
            if ev.type in _ENTERS_QUEUE:
                queued.add(hid)
            elif ev.type in _LEAVES_QUEUE:
                queued.discard(hid)
            if ev.type == "handoff_offered":
                roll = rng.random()
                if roll < no_show_rate:
                    continue
                kind: Literal["accept", "decline"] = (
                    "decline" if roll < no_show_rate + decline_rate else "accept"
                )
                delay = rng.uniform(*accept_latency_s)
                heapq.heappush(actions, _Action(elapsed + delay, next(seq), kind, hid, ev.agent_id))
            elif ev.type == "handoff_accepted":
                delay = rng.uniform(*handle_time_s)
                heapq.heappush(actions, _Action(elapsed + delay, next(seq), "complete", hid, ev.agent_id))
        stats["max_queue"] = max(stats["max_queue"], len(queued))

    while elapsed < horizon:
        step = tick_s
        if not queued and not ringing:  # nothing waits on a timer: jump to the next arrival/answer
            upcoming = [
                t for t in (arrivals[next_arrival] if next_arrival < handoffs else None,) if t is not None
            ]
            upcoming += [actions[0].at] if actions else []
            if upcoming:
                step = max(tick_s, tick_s * int((min(upcoming) - elapsed) / tick_s))
        elapsed += step
        clock.set(t0 + timedelta(seconds=elapsed))
        while next_arrival < handoffs and arrivals[next_arrival] <= elapsed:
            required = [rng.choice(SKILLS[:4])]
            optional = [rng.choice(SKILLS[4:])] if rng.random() < 0.3 else []
            await desk.submit(
                HandoffRequest(
                    handoff_id=f"h-{next_arrival:05}",
                    conversation_id=f"c-{next_arrival:05}",
                    priority=rng.randint(1, 100),
                    required_skills=required,
                    optional_skills=optional,
                )
            )
            next_arrival += 1
        while actions and actions[0].at <= elapsed:
            action = heapq.heappop(actions)
            try:
                if action.kind == "accept":
                    await desk.accept(action.handoff_id, action.agent_id)
                elif action.kind == "decline":
                    await desk.decline(action.handoff_id, action.agent_id, reason="simulated")
                else:
                    await desk.complete(action.handoff_id, action.agent_id, rating=rng.choice([3, 4, 5]))
            except DeskError:
                stats["late"] += action.kind != "complete"
        if elapsed - last_beat >= 10 or step > tick_s:
            last_beat = elapsed
            for agent_id in agent_ids:
                await desk.heartbeat(agent_id)
        await desk.tick()
        await drain_events()
        if next_arrival >= handoffs and not actions and not queued and not ringing:
            break

    final = await desk.list()
    accept_times = [h.metrics.time_to_accept_s for h in final if h.metrics.time_to_accept_s is not None]
    return SimulationReport(
        backend=type(desk).__name__,
        agents=agents,
        handoffs=handoffs,
        seed=seed,
        simulated_s=elapsed,
        wall_s=round(time.perf_counter() - started, 3),
        accepted=len(accept_times),
        completed=sum(h.status == "completed" for h in final),
        returned_to_ai=sum(h.status == "returned_to_ai" for h in final),
        expired=sum(h.status == "expired" for h in final),
        time_to_accept_p50_s=percentile(accept_times, 50),
        time_to_accept_p95_s=percentile(accept_times, 95),
        time_to_accept_p99_s=percentile(accept_times, 99),
        reoffers=sum(max(0, h.metrics.offer_count - 1) for h in final),
        timeouts=stats["timeouts"],
        declines=stats["declines"],
        late_accepts=stats["late"],
        max_queue_length=stats["max_queue"],
    )
