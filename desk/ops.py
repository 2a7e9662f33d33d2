"""State changes shared by both backends, expressed on a ``Tx`` (no I/O of their own).

Each function mutates private copies read from the transaction, validates every lifecycle move
through ``desk.lifecycle.transition`` and stages the matching event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from desk import assign
from desk.config import DeskConfig
from desk.errors import Conflict, InvalidRequest
from desk.events import (
    AgentStatusChanged,
    HandoffAccepted,
    HandoffExpired,
    HandoffNotice,
    HandoffOffered,
    HandoffRequeued,
    HandoffRestored,
    HandoffReturnedToAi,
    HandoffStarted,
    HandoffStuck,
    HandoffTimedOut,
)
from desk.lifecycle import TERMINAL, transition
from desk.models import (
    Agent,
    CustomerNotice,
    Handoff,
    HandoffRequest,
    HeldStatus,
    Offer,
    OfferOutcome,
    TransitionRecord,
)
from desk.store import AfterCommit, Tx
from desk.timers import accept_timeout_s, expires_after_s, offer_lapsed, since, timer_due


@dataclass
class TickReport:
    """What one ``tick()`` did (counts)."""

    timed_out: int = 0
    reverted: int = 0
    notices: int = 0
    stuck: int = 0
    requeued: int = 0
    agents_lost: int = 0
    offered: int = 0


def _remove(ids: list[str], item: str) -> None:
    if item in ids:
        ids.remove(item)


def offer(
    tx: Tx,
    handoff: Handoff,
    agent: Agent,
    score: float,
    now: datetime,
    config: DeskConfig,
    *,
    auto: bool = True,
) -> None:
    """Offer ``handoff`` to ``agent`` (reserves one of the agent's slots).

    An agent with ``auto_accept`` takes it in the same step (``auto=False``: the caller accepts).
    """
    transition(handoff, "offered", now, reason=f"offered to {agent.id}")
    handoff.offered_agent_id = agent.id
    handoff.offers.append(Offer(agent_id=agent.id, offered_at=now, score=score))
    handoff.metrics.offer_count += 1
    if handoff.metrics.time_to_first_offer_s is None:
        handoff.metrics.time_to_first_offer_s = since(handoff.created_at, now)
    agent.offered_handoff_ids.append(handoff.handoff_id)
    tx.put_handoff(handoff)
    tx.put_agent(agent)
    tx.emit(
        HandoffOffered(
            ts=now,
            handoff_id=handoff.handoff_id,
            conversation_id=handoff.conversation_id,
            agent_id=agent.id,
            attempt=handoff.metrics.offer_count,
            score=score,
            expires_at=now + timedelta(seconds=accept_timeout_s(handoff, config)),
        )
    )
    if auto and agent.auto_accept and len(agent.active_handoff_ids) < agent.max_concurrent:
        _accept_now(tx, handoff, agent, now, config)


def _accept_now(tx: Tx, handoff: Handoff, agent: Agent, now: datetime, config: DeskConfig) -> None:
    """The desk accepts an offer on behalf of an auto-accept agent (as ``accept`` records it)."""
    transition(handoff, "accepted", now, reason=f"auto-accepted by {agent.id}")
    close_offer(handoff, agent, "accepted", now, "auto_accept")
    handoff.assigned_agent_id = agent.id
    handoff.metrics.time_to_accept_s = since(handoff.created_at, now)
    agent.active_handoff_ids.append(handoff.handoff_id)
    agent.last_assigned_at = now
    base = {"handoff_id": handoff.handoff_id, "conversation_id": handoff.conversation_id}
    accepted = handoff.metrics.time_to_accept_s or 0.0
    tx.emit(HandoffAccepted(ts=now, **base, agent_id=agent.id, time_to_accept_s=accepted, auto=True))
    if config.auto_start_on_accept:
        transition(handoff, "active", now, reason="auto_start")
        tx.emit(HandoffStarted(ts=now, **base, agent_id=agent.id))
    tx.put_handoff(handoff)
    tx.put_agent(agent)


def close_offer(
    handoff: Handoff, agent: Agent | None, outcome: OfferOutcome, now: datetime, reason: str
) -> None:
    """Record the answer to the current offer and free the slot it reserved."""
    if handoff.offers and handoff.offers[-1].outcome == "pending":
        last = handoff.offers[-1]
        last.outcome, last.responded_at, last.reason = outcome, now, reason
    handoff.offered_agent_id = None
    if agent is None:
        return
    _remove(agent.offered_handoff_ids, handoff.handoff_id)
    if outcome in ("accepted", "declined", "timed_out"):
        perf = agent.performance
        perf.offers += 1
        perf.accepts += outcome == "accepted"
        perf.acceptance_rate = perf.accepts / perf.offers
        if outcome == "accepted" and handoff.offers:  # the measured response time behind wait estimates
            took = max(0.0, (now - handoff.offers[-1].offered_at).total_seconds())
            perf.avg_accept_s += (took - perf.avg_accept_s) / perf.accepts


async def release_agent(tx: Tx, handoff: Handoff, now: datetime, outcome: OfferOutcome, reason: str) -> None:
    """Free whatever slot the handoff holds (an offer or an assignment) before it leaves its agent."""
    if handoff.offered_agent_id is not None:
        agent = await tx.maybe_agent(handoff.offered_agent_id)
        close_offer(handoff, agent, outcome, now, reason)
        if agent is not None:
            tx.put_agent(agent)
    if handoff.assigned_agent_id is not None:
        agent = await tx.maybe_agent(handoff.assigned_agent_id)
        if agent is not None:
            _remove(agent.active_handoff_ids, handoff.handoff_id)
            tx.put_agent(agent)


async def lapse_offer(
    tx: Tx,
    handoff: Handoff,
    now: datetime,
    config: DeskConfig,
    *,
    outcome: Literal["timed_out", "revoked"],
    reason: str,
) -> None:
    """An offer lapsed: ``offered -> timed_out -> pending`` with the agent excluded."""
    agent_id = handoff.offered_agent_id or ""
    await release_agent(tx, handoff, now, outcome, reason)
    transition(handoff, "timed_out", now, reason=reason)
    if agent_id and agent_id not in handoff.excluded_agent_ids:
        handoff.excluded_agent_ids.append(agent_id)
    transition(handoff, "pending", now, reason=reason)
    tx.put_handoff(handoff)
    tx.emit(
        HandoffTimedOut(
            ts=now,
            handoff_id=handoff.handoff_id,
            conversation_id=handoff.conversation_id,
            agent_id=agent_id,
            reason=reason,
        )
    )
    await check_exhausted(tx, handoff, now, config)


async def shed_offers(tx: Tx, agent: Agent, now: datetime, config: DeskConfig, reason: str) -> None:
    """Revoke the agent's newest offers until what it holds and is offered fits its capacity."""
    while agent.load > agent.max_concurrent and agent.offered_handoff_ids:
        handoff = await tx.handoff(agent.offered_handoff_ids[-1])
        await lapse_offer(tx, handoff, now, config, outcome="revoked", reason=reason)


def skills_of(agents: list[Agent]) -> set[str]:
    """Every skill at least one of ``agents`` has."""
    return {skill for agent in agents for skill in agent.skills}


async def transfer_target(tx: Tx, to_agent_id: str | None, to_skills: list[str] | None) -> Agent | None:
    """The agent a transfer goes to (None for a skill transfer), refusing targets nobody can take.

    Raises:
        InvalidRequest: ``to_agent_id`` is not registered (a mistyped id left the customer waiting
            for nobody), or ``to_skills`` names skills no registered agent has.
    """
    if to_agent_id is not None:
        target = await tx.maybe_agent(to_agent_id)
        if target is None:
            msg = f"cannot transfer to agent {to_agent_id!r}: no agent with that id is registered"
            raise InvalidRequest(msg)
        return target
    unknown = sorted(set(to_skills or []) - skills_of(await tx.view_agents()))
    if unknown:
        msg = f"cannot transfer to skills {unknown}: no registered agent has them"
        raise InvalidRequest(msg)
    return None


async def restore(
    tx: Tx, request: HandoffRequest, agent_id: str, status: HeldStatus, now: datetime, config: DeskConfig
) -> Handoff:
    """Re-create a handoff the desk lost as held by ``agent_id``, counted against its capacity.

    Raises:
        Conflict: The desk knows the handoff, or the agent already holds ``max_concurrent``.
        NotFound: The agent is not registered.
    """
    if await tx.maybe_handoff(request.handoff_id) is not None:
        msg = f"handoff {request.handoff_id!r} already exists"
        raise Conflict(msg)
    agent = await tx.agent(agent_id)
    if len(agent.active_handoff_ids) >= agent.max_concurrent:
        msg = f"agent {agent_id} is at capacity ({agent.max_concurrent}); cannot restore {request.handoff_id}"
        raise Conflict(msg)
    data = request.model_dump()
    data["created_at"] = request.created_at or now
    handoff = Handoff(**data, status="accepted", assigned_agent_id=agent_id, updated_at=now)
    handoff.round_started_at = handoff.created_at
    handoff.history.append(
        TransitionRecord(from_status=None, to_status="accepted", at=now, reason=f"restored for {agent_id}")
    )
    if status == "active":
        transition(handoff, "active", now, reason="restored")
    agent.active_handoff_ids.append(handoff.handoff_id)
    tx.put_agent(agent)
    tx.put_handoff(handoff)
    tx.emit(
        HandoffRestored(
            ts=now,
            handoff_id=handoff.handoff_id,
            conversation_id=handoff.conversation_id,
            agent_id=agent_id,
            status=status,
        )
    )
    await shed_offers(tx, agent, now, config, reason="restored_hold")
    return handoff


async def check_exhausted(tx: Tx, handoff: Handoff, now: datetime, config: DeskConfig) -> bool:
    """Apply the no-agent policy to a pending handoff out of offers or time; True if applied."""
    if handoff.status != "pending":
        return False
    out_of_offers = handoff.offers_this_round() >= config.max_offers
    out_of_time = assign.waited_s(handoff, now) >= expires_after_s(handoff, config)
    if not (out_of_offers or out_of_time):
        return False
    await no_agent(tx, handoff, now, config, why="max_offers" if out_of_offers else "expired")
    return True


async def no_agent(tx: Tx, handoff: Handoff, now: datetime, config: DeskConfig, why: str) -> None:
    """Apply the no-agent policy (the handoff's own, from the routing policy, else the desk's)."""
    policy = handoff.no_agent or config.no_agent_policy
    base = {"ts": now, "handoff_id": handoff.handoff_id, "conversation_id": handoff.conversation_id}
    if policy == "queue":
        position = await tx.count_ahead(handoff) + 1
        wait = assign.expected_wait_s(position, handoff, await tx.view_agents(), now, config)
        wait_text = "soon" if wait is None else f"in about {max(1, round(wait / 60))} min"
        notice = CustomerNotice(
            kind="queue",
            message=f"You are number {position} in the queue; an agent should be with you {wait_text}.",
            queue_position=position,
            expected_wait_s=wait,
            reverted=False,
        )
        handoff.notice, handoff.notified_at = notice, now
        handoff.round_started_at = now  # a new round: everyone may be offered again
        handoff.excluded_agent_ids = []
        tx.put_handoff(handoff)
        tx.emit(HandoffNotice(**base, notice=notice))
        tx.after_commit(AfterCommit("notice", handoff, notice))
        return
    await release_agent(tx, handoff, now, "revoked", why)
    handoff.outcome = why
    if policy == "callback":
        notice = CustomerNotice(
            kind="callback",
            message="All our agents are busy right now. We will call you back as soon as one is free.",
            reverted=True,
        )
        transition(handoff, "expired", now, reason=why)
        handoff.notice = notice
        tx.emit(HandoffExpired(**base, notice=notice))
    else:
        notice = CustomerNotice(
            kind="ai",
            message="No specialist is free right now, so I'll keep helping you myself.",
            reverted=True,
        )
        transition(handoff, "returned_to_ai", now, reason=why)
        handoff.notice = notice
        tx.emit(HandoffReturnedToAi(**base, agent_id=None, note=why, notice=notice))
    tx.put_handoff(handoff)
    tx.after_commit(AfterCommit("revert", handoff, notice))


async def vanish(tx: Tx, agent_id: str, now: datetime, config: DeskConfig, report: TickReport) -> None:
    """An agent's heartbeat expired: mark it offline and re-queue everything it held or was offered."""
    agent = await tx.maybe_agent(agent_id)
    if agent is None or agent.status == "offline" or assign.heartbeat_fresh(agent, now, config):
        return  # another worker handled it, or the agent came back
    for hid in list(agent.offered_handoff_ids):
        handoff = await tx.maybe_handoff(hid)
        if handoff is not None and handoff.status == "offered" and handoff.offered_agent_id == agent_id:
            await lapse_offer(tx, handoff, now, config, outcome="revoked", reason="agent_unavailable")
            report.requeued += 1
    for hid in list(agent.active_handoff_ids):
        handoff = await tx.maybe_handoff(hid)
        if (
            handoff is None
            or handoff.assigned_agent_id != agent_id
            or handoff.status not in ("accepted", "active")
        ):
            continue
        transition(handoff, "pending", now, reason="agent_vanished")
        handoff.assigned_agent_id = None
        handoff.excluded_agent_ids.append(agent_id)
        handoff.round_started_at = now
        handoff.stuck_alerted_at = None
        tx.put_handoff(handoff)
        tx.emit(
            HandoffRequeued(
                ts=now,
                handoff_id=hid,
                conversation_id=handoff.conversation_id,
                agent_id=agent_id,
                reason="heartbeat_expired",
            )
        )
        report.requeued += 1
    agent.offered_handoff_ids, agent.active_handoff_ids = [], []
    old = agent.status
    agent.status = "offline"
    tx.put_agent(agent)
    tx.emit(
        AgentStatusChanged(
            ts=now, agent_id=agent_id, old_status=old, new_status="offline", reason="heartbeat_expired"
        )
    )
    report.agents_lost += 1


async def run_timers(tx: Tx, handoff_id: str, now: datetime, config: DeskConfig, report: TickReport) -> None:
    """Process one handoff's due timers; re-checks state so concurrent workers never double-apply."""
    handoff = await tx.maybe_handoff(handoff_id)
    if handoff is None or not timer_due(handoff, now, config):
        return
    if offer_lapsed(handoff, now, config):
        await lapse_offer(tx, handoff, now, config, outcome="timed_out", reason="accept_timeout")
        report.timed_out += 1
    waited = assign.waited_s(handoff, now)
    alerted = since(handoff.stuck_alerted_at, now)
    stuck = waited >= config.stuck_after_s and (alerted is None or alerted >= config.stuck_after_s)
    if handoff.status in ("pending", "offered") and stuck:
        status = handoff.status
        if config.stuck_action == "escalate":
            handoff.priority = min(100, handoff.priority + config.stuck_priority_bump)
        handoff.stuck_alerted_at = now
        tx.put_handoff(handoff)
        tx.emit(
            HandoffStuck(
                ts=now,
                handoff_id=handoff_id,
                conversation_id=handoff.conversation_id,
                status=status,
                waited_s=waited,
                action=config.stuck_action,
                priority=handoff.priority,
            )
        )
        report.stuck += 1
        if config.stuck_action == "requeue" and status == "offered":
            await lapse_offer(tx, handoff, now, config, outcome="revoked", reason="stuck_requeue")
    await check_exhausted(tx, handoff, now, config)
    report.reverted += handoff.status in TERMINAL
    report.notices += handoff.notified_at == now and handoff.status == "pending"
