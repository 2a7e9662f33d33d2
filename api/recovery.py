"""Desk recovery: after a restart, or a Redis that lost its data, the checkpoints are the truth.

Agents the API registered are put back with the status they last set (the heartbeat TTL then
takes away the ones that are gone) and every human handoff a conversation still waits on, but the
desk no longer knows, is submitted again.
"""

from __future__ import annotations

import asyncio
import logging

from api.handoffs import HandoffService
from desk.errors import DeskError
from desk.errors import NotFound as DeskNotFound
from desk.models import AgentSpec
from graph.runtime import ConversationNotFound

log = logging.getLogger("baton.api.recovery")
_YIELD_EVERY = 50


async def recover(service: HandoffService) -> tuple[int, int]:
    """Make the desk whole again after a restart or a Redis that lost its data.

    The graph checkpoints are the source of truth: agents the API registered are put back with
    their last status, and every human handoff a conversation still waits on but the desk does not
    know is submitted again. Returns (agents restored, handoffs re-submitted).
    """
    if service.redis is not None:
        # A missing mark (fresh or wiped Redis) reads "recovering" until this pass ends; a routine
        # pass keeps "1" so readiness does not flap. A wipe during the pass deletes the mark, the
        # final SET XX then sets nothing, and the next check runs another pass.
        await service.redis.set(_intact_key(service), "recovering", nx=True)
    agents = 0
    for raw in await service.store.agent_profiles():
        spec = AgentSpec.model_validate_json(raw)
        try:
            await service.desk.get_agent(spec.id)
        except DeskNotFound:
            await service.desk.register_agent(spec)  # profiles stored before status was kept: offline
            agents += 1
    handoffs = 0
    for n, (handoff_id, cid) in enumerate(await service.store.open_handoffs(service.prefix)):
        if n % _YIELD_EVERY == 0:
            await asyncio.sleep(0)  # a pass over thousands of handoffs must not hold the event loop
        try:
            await service.desk.get(handoff_id)
            continue
        except DeskNotFound:
            pass
        try:
            view = await service.runtime.get(cid)
        except ConversationNotFound:
            view = None
        record = view.handoff if view else None
        if view is None or view.pending_interrupt is None or not record or record["id"] != handoff_id:
            await service.store.close_handoff(handoff_id)  # it ended before the restart
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
        log.warning("desk recovery: %d agent(s) restored, %d handoff(s) re-submitted", agents, handoffs)
    return agents, handoffs


def _intact_key(service: HandoffService) -> str:
    return f"{service.prefix}desk:intact"


async def desk_intact(service: HandoffService) -> bool:
    """False when Redis lost the desk's data since the last recovery pass (the mark is gone)."""
    if service.redis is None:
        return True
    return await service.redis.get(_intact_key(service)) in (b"1", "1")


async def keep_recovering(service: HandoffService, every_s: float, check_s: float = 1.0) -> None:
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
