"""Desk recovery: after a restart, or a Redis that lost its data, the checkpoints are the truth.

Agents the API registered are put back with the status they last set (the heartbeat TTL then
takes away the ones that are gone). Every human handoff a conversation still waits on, but the
desk no longer knows, is given back: to the agent who held it when the store says one did (the
chat stays theirs, nobody else is offered it), else submitted again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from pydantic import ValidationError

from api.desk_handoffs import desk_request
from api.store import ApiStore
from desk.base import Desk
from desk.errors import DeskError
from desk.errors import NotFound as DeskNotFound
from desk.models import AgentSpec, HeldStatus
from graph.runtime import BatonRuntime, ConversationNotFound
from graph.runtime_models import ConversationView
from graph.state import HandoffRecord

if TYPE_CHECKING:
    import redis.asyncio as aioredis  # only the scaled profile loads redis

log = logging.getLogger("baton.api.recovery")
_YIELD_EVERY = 50


class RecoveryHost(Protocol):
    """What recovery uses of the service that glues the graph and the desk."""

    desk: Desk
    store: ApiStore
    runtime: BatonRuntime
    redis: aioredis.Redis | None
    prefix: str

    async def handoff_started_elsewhere(
        self, conversation_id: str, record: HandoffRecord, *, recorded: bool = False
    ) -> None:
        """Submit a handoff the desk does not know (``recorded``: it was announced before)."""
        ...


async def recover(service: RecoveryHost) -> tuple[int, int]:
    """Make the desk whole again after a restart or a Redis that lost its data.

    The graph checkpoints are the source of truth: agents the API registered are put back with
    their last status, and every human handoff a conversation still waits on but the desk does not
    know is restored to the agent who held it, or submitted again when nobody did.

    Returns:
        (agents restored, handoffs given back to the desk).
    """
    if service.redis is not None:
        # A missing mark (fresh or wiped Redis) reads "recovering" until this pass ends; a routine
        # pass keeps "1" so readiness does not flap. A wipe during the pass deletes the mark, the
        # final SET XX then sets nothing, and the next check runs another pass.
        await service.redis.set(_intact_key(service), "recovering", nx=True)
    agents = 0
    specs: list[AgentSpec] = []
    for raw in await service.store.agent_profiles():
        try:
            specs.append(AgentSpec.model_validate_json(raw))
        except ValidationError as exc:  # an id from before the id rule: nobody could reach it anyway
            log.warning("stored agent profile skipped: %s", exc.errors()[0]["msg"])
    # Asked once for all: a routine pass finds every agent and handoff known, and a read of each
    # (a desk transaction apiece) cost each worker ~0.2 s every pass at 600 held.
    missing_agents = await service.desk.unknown_agents([spec.id for spec in specs])
    for spec in specs:
        if spec.id in missing_agents:
            await service.desk.register_agent(spec)  # profiles stored before status was kept: offline
            agents += 1
    handoffs = 0
    open_rows = await service.store.open_handoffs(service.prefix)
    missing = await service.desk.unknown_handoffs([handoff_id for handoff_id, _ in open_rows])
    for n, (handoff_id, cid) in enumerate(row for row in open_rows if row[0] in missing):
        if n % _YIELD_EVERY == 0:
            await asyncio.sleep(0)  # a pass over thousands of handoffs must not hold the event loop
        try:
            view = await service.runtime.get(cid)
        except ConversationNotFound:
            view = None
        record = view.handoff if view else None
        if view is None or view.pending_interrupt is None or not record or record.id != handoff_id:
            await service.store.close_handoff(handoff_id)  # it ended before the restart
            continue
        if await _restore_held(service, view, record):
            handoffs += 1
            continue
        try:
            await service.handoff_started_elsewhere(cid, record, recorded=True)
        except DeskError as exc:  # another worker re-submitted it first
            log.info("handoff %s already re-submitted: %s", handoff_id, exc)
            continue
        handoffs += 1
    if service.redis is not None:
        await service.redis.set(_intact_key(service), "1", xx=True)
    if agents or handoffs:
        log.warning("desk recovery: %d agent(s) restored, %d handoff(s) given back", agents, handoffs)
    return agents, handoffs


async def _restore_held(service: RecoveryHost, view: ConversationView, record: HandoffRecord) -> bool:
    """Give a handoff back to the agent the store says held it; False when nobody did or they can't.

    ``active`` once the agent has written since the handoff began, else ``accepted``. An agent the
    desk does not know or who is full gets nothing: the handoff is submitted again instead.
    """
    cid, handoff_id = view.conversation_id, record.id
    held = await service.store.conversation(cid) or {}
    agent_id = held.get("agent_id")
    if not agent_id or held.get("handoff_id") != handoff_id:
        return False
    since = record.message_index
    wrote = any(t.role == "agent" and t.index >= since for t in view.transcript)
    status: HeldStatus = "active" if wrote else "accepted"
    try:
        await service.desk.restore(desk_request(cid, record), str(agent_id), status)
    except DeskNotFound:
        log.warning("handoff %s: agent %s is gone; submitting it again", handoff_id, agent_id)
        return False
    except DeskError as exc:  # restored by another worker first, or the agent is full
        if await _known(service.desk, handoff_id):
            return True
        log.warning("handoff %s: not restored to %s (%s); submitting it again", handoff_id, agent_id, exc)
        return False
    return True


async def _known(desk: Desk, handoff_id: str) -> bool:
    try:
        await desk.get(handoff_id)
    except DeskNotFound:
        return False
    return True


def _intact_key(service: RecoveryHost) -> str:
    return f"{service.prefix}desk:intact"


async def desk_intact(service: RecoveryHost) -> bool:
    """False when Redis lost the desk's data since the last recovery pass (the mark is gone)."""
    if service.redis is None:
        return True
    return await service.redis.get(_intact_key(service)) in (b"1", "1")


async def keep_recovering(service: RecoveryHost, every_s: float, check_s: float = 1.0) -> None:
    """Re-check the desk against the checkpoints every ``every_s``, and within ``check_s`` of a wipe."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    while True:
        await asyncio.sleep(min(check_s, every_s))
        try:
            if loop.time() - last >= every_s or not await desk_intact(service):
                # Another worker's pass may be running ("recovering"); a second one is harmless.
                await recover(service)
                last = loop.time()
        except Exception:  # the loop must outlive a flaky Redis
            log.warning("desk recovery pass failed", exc_info=True)
