"""Handoff analytics figures (seed 000 §5): pure functions over one window's ``Inputs``.

Every figure is computed per handoff from its trail of desk events, never by counting events: a
transfer makes a second ``handoff_accepted`` for the same handoff, which is one accepted handoff (the
double count this module exists to avoid), one more segment of handle time, and a second agent's work.
``Inputs.only(handoffs)`` narrows the inputs to a group (a policy version here; an experiment's
variants can be grouped the same way) and every figure is computed per group. What is recorded, and
how a window is read into ``Inputs``, is ``api.analytics``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from api.analytics import UNKNOWN, Inputs, StartedHandoff
from api.handoff_trail import Trail, read_trail


class Percentiles(BaseModel):
    """p50/p95 and mean of a duration in seconds (None without data)."""

    p50: float | None = Field(default=None, examples=[4.2])
    p95: float | None = Field(default=None, examples=[28.0])
    average: float | None = Field(default=None, examples=[7.5])
    count: int = Field(default=0, examples=[12])


def percentiles(values: Sequence[float]) -> Percentiles:
    """Nearest-rank p50/p95 and the mean, rounded to milliseconds."""
    if not values:
        return Percentiles()
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))], 3)

    return Percentiles(
        p50=at(0.5), p95=at(0.95), average=round(sum(ordered) / len(ordered), 3), count=len(ordered)
    )


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Summary(BaseModel):
    """The window's handoff figures (the fields ``/v1/analytics/handoffs`` adds to its counts)."""

    human_handoffs: int
    bot_handoffs: int
    window_hours: float | None = Field(
        description="Hours the rate is over: since..until, or from the first recorded conversation or "
        "handoff when since is not given."
    )
    handoffs_per_hour: float | None = Field(description="Human handoffs per hour of the window.")
    trigger_mix: dict[str, int] = Field(description="Human handoffs by trigger.")
    trigger_share_pct: dict[str, float] = Field(description="Each trigger's share of human handoffs, in %.")
    accepted: int = Field(
        description="Handoffs an agent accepted (a transfer's second acceptance is not another handoff)."
    )
    transfers: int = Field(description="Agent-to-agent transfers.")
    completed: int
    returned_by_agent: int
    rollbacks: int = Field(description="Handoffs no agent took, rolled back to the AI.")
    abandoned_in_queue: int = Field(description="Customers who left the queue before an agent took them.")
    completion_rate: float | None = Field(description="Completed / ended human handoffs.")
    time_to_assign_s: Percentiles = Field(description="Creation to the first offer.")
    time_to_accept_s: Percentiles = Field(description="Creation to the first acceptance.")
    average_handle_time_s: float | None = Field(
        description="Mean seconds people held a handoff that ended with an agent (every agent's part of "
        "a transferred one)."
    )
    handle_time_s: Percentiles = Field(description="The same, as percentiles.")
    time_to_first_reply_s: Percentiles = Field(description="Creation to the first thing an agent wrote.")


def trails(inputs: Inputs) -> dict[str, Trail]:
    """Every human handoff's trail (desk events of handoffs only the desk knows count too), read once."""
    if inputs.read is None:
        ids = {h.id for h in inputs.handoffs if h.kind == "human"} | {k for k in inputs.trails if k}
        inputs.read = {hid: read_trail(inputs.trails.get(hid, [])) for hid in sorted(ids)}
    return inputs.read


def summarize(inputs: Inputs) -> Summary:
    """The window's figures; each counts handoffs, never events."""
    human = [h for h in inputs.handoffs if h.kind == "human"]
    created = {h.id: h.created_at for h in inputs.handoffs}
    read = trails(inputs)
    ends = Counter(t.ended for t in read.values())
    ended = sum(ends[k] for k in ("completed", "returned", "rolled_back", "abandoned", "cancelled"))
    start = inputs.since if inputs.since > 0 else inputs.first_seen
    hours = (inputs.until - start) / 3600 if start is not None and inputs.until > start else None
    mix = Counter(h.trigger for h in human)
    first_replies = []
    for hid, by_agent in inputs.replies.items():
        opened = read[hid].created if hid in read and read[hid].created is not None else created.get(hid)
        if opened is not None and by_agent:
            first_replies.append(max(0.0, min(by_agent.values()) - opened))
    handles = [t.handle_s for t in read.values() if t.handle_s is not None]
    return Summary(
        human_handoffs=len(human),
        bot_handoffs=len(inputs.handoffs) - len(human),
        window_hours=round(hours, 4) if hours else None,
        handoffs_per_hour=round(len(human) / hours, 3) if hours else None,
        trigger_mix=dict(mix),
        trigger_share_pct={k: round(100 * v / len(human), 1) for k, v in mix.items()},
        accepted=sum(1 for t in read.values() if t.accepted_by),
        transfers=sum(len(t.transferred_by) for t in read.values()),
        completed=ends["completed"],
        returned_by_agent=ends["returned"],
        rollbacks=ends["rolled_back"],
        abandoned_in_queue=ends["abandoned"],
        completion_rate=_rate(ends["completed"], ended),
        time_to_assign_s=percentiles([t.first_offer_s for t in read.values() if t.first_offer_s is not None]),
        time_to_accept_s=percentiles(
            [t.first_accept_s for t in read.values() if t.first_accept_s is not None]
        ),
        average_handle_time_s=_mean(handles),
        handle_time_s=percentiles(handles),
        time_to_first_reply_s=percentiles(first_replies),
    )


class AgentPerformance(BaseModel):
    """One agent's work in the window."""

    agent_id: str = Field(examples=["agent-maria"])
    name: str = Field(examples=["Maria Lopez"])
    offers: int = Field(description="Offers made to this agent.")
    accepted: int = Field(description="Handoffs this agent accepted (an offer, a pick or a transfer).")
    declined: int
    missed: int = Field(description="Offers that lapsed unanswered.")
    acceptance_rate: float | None = Field(description="Accepted / offers.")
    completed: int
    returned_to_ai: int
    transferred_out: int
    average_handle_time_s: float | None = Field(description="Mean seconds this agent held a handoff.")
    average_time_to_accept_s: float | None = Field(description="Offer to acceptance.")
    average_first_reply_s: float | None = Field(description="Acceptance to this agent's first reply.")
    csat_average: float | None = Field(description="Ratings of the conversations this agent completed.")
    csat_count: int


def agent_performance(inputs: Inputs) -> list[AgentPerformance]:
    """Per-agent figures, busiest first."""
    read = trails(inputs)
    cid = {h.id: h.conversation_id for h in inputs.handoffs}
    for hid, events in inputs.trails.items():
        if events and hid not in cid:
            cid[hid] = str(events[0].get("conversation_id") or "")
    worked: dict[str, dict[str, Trail]] = defaultdict(
        dict
    )  # agent -> the handoffs offered to or taken by them
    for hid, t in read.items():
        for agent in {*t.offers, *t.accepted_by}:
            worked[agent][hid] = t
    out = []
    for agent, mine in worked.items():
        offers = sum(t.offers[agent] for t in mine.values())
        accepted = sum(1 for t in mine.values() if agent in t.accepted_by)
        completed = [hid for hid, t in mine.items() if t.ended == "completed" and t.ended_by == agent]
        ratings = [inputs.ratings[cid[h]] for h in completed if cid.get(h) in inputs.ratings]
        replies = [
            inputs.replies[hid][agent] - t.accepted_at[agent]
            for hid, t in mine.items()
            if agent in t.accepted_at and agent in inputs.replies.get(hid, {})
        ]
        out.append(
            AgentPerformance(
                agent_id=agent,
                name=inputs.names.get(agent, agent),
                offers=offers,
                accepted=accepted,
                declined=sum(t.declined[agent] for t in mine.values()),
                missed=sum(t.missed[agent] for t in mine.values()),
                acceptance_rate=_rate(sum(1 for t in mine.values() if agent in t.accept_after_offer), offers),
                completed=len(completed),
                returned_to_ai=sum(1 for t in mine.values() if t.ended == "returned" and t.ended_by == agent),
                transferred_out=sum(t.transferred_by.count(agent) for t in mine.values()),
                average_handle_time_s=_mean([s for t in mine.values() for a, s in t.segments if a == agent]),
                average_time_to_accept_s=_mean(
                    [t.accept_after_offer[agent] for t in mine.values() if agent in t.accept_after_offer]
                ),
                average_first_reply_s=_mean([max(0.0, r) for r in replies]),
                csat_average=_mean([float(r) for r in ratings]),
                csat_count=len(ratings),
            )
        )
    return sorted(out, key=lambda a: (-a.accepted, -a.offers, a.agent_id))


class PolicyVersionOutcomes(BaseModel):
    """How the handoffs one policy version started turned out."""

    policy: str = Field(examples=["real_estate"])
    policy_version: str = Field(description="Content hash of the policy text.", examples=["3511a3976382"])
    first_handoff_at: datetime
    last_handoff_at: datetime
    conversations: int = Field(description="Conversations with a handoff under this version.")
    handoffs: int
    human_handoffs: int
    by_rule: dict[str, int] = Field(description="Handoffs by the rule that started them.")
    accepted: int
    completed: int
    returned_by_agent: int
    rollbacks: int
    abandoned_in_queue: int
    completion_rate: float | None
    average_time_to_accept_s: float | None
    average_handle_time_s: float | None
    csat_average: float | None
    csat_count: int


def policy_outcomes(inputs: Inputs) -> list[PolicyVersionOutcomes]:
    """Outcomes per (policy, version), newest version first."""
    groups: dict[tuple[str, str], list[StartedHandoff]] = defaultdict(list)
    for h in inputs.handoffs:
        groups[(h.policy, h.policy_version)].append(h)
    out = []
    for (policy, version), handoffs in groups.items():
        group = inputs.only(handoffs)
        s = summarize(group)
        ratings = [float(r) for r in group.ratings.values()]
        out.append(
            PolicyVersionOutcomes(
                policy=policy,
                policy_version=version,
                first_handoff_at=datetime.fromtimestamp(min(h.created_at for h in handoffs)).astimezone(),
                last_handoff_at=datetime.fromtimestamp(max(h.created_at for h in handoffs)).astimezone(),
                conversations=group.conversations,
                handoffs=len(handoffs),
                human_handoffs=s.human_handoffs,
                by_rule=dict(Counter(h.rule_id or UNKNOWN for h in handoffs)),
                accepted=s.accepted,
                completed=s.completed,
                returned_by_agent=s.returned_by_agent,
                rollbacks=s.rollbacks,
                abandoned_in_queue=s.abandoned_in_queue,
                completion_rate=s.completion_rate,
                average_time_to_accept_s=s.time_to_accept_s.average,
                average_handle_time_s=s.average_handle_time_s,
                csat_average=_mean(ratings),
                csat_count=len(ratings),
            )
        )
    return sorted(out, key=lambda o: o.last_handoff_at, reverse=True)
