"""Desk events become WebSocket events (offers, transfers), webhooks, analytics rows and stored
agent statuses; with several workers each desk event goes to one of them (``Desk.deliver``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib

from api.customer_lines import AGENT_LOST
from api.engine import ConversationEngine, agent_stream
from api.store import ApiStore
from api.ws_models import HandoffStateEvent, OfferEvent, TransferRequestEvent
from desk.errors import NotFound as DeskNotFound
from desk.events import (
    AgentStatusChanged,
    DeskEvent,
    HandoffAccepted,
    HandoffNotice,
    HandoffOffered,
    HandoffRequeued,
    HandoffTimedOut,
    HandoffTransferred,
    dump_event,
)
from desk.models import Agent, AgentSpec

DESK_EVENT_GROUP = "api"  # the API workers' consumer group on the desk's events


async def remember_agent(store: ApiStore, agent: Agent) -> None:
    """Keep the agent's profile and current status, so a desk that lost its data restores them.

    Called on every status change, a heartbeat that expired included: the stored status is the one
    the desk last had, never a stale "online" of someone who closed the console.
    """
    spec = AgentSpec.model_validate(agent.model_dump(include=set(AgentSpec.model_fields)))
    await store.set_agent_profile(agent.id, spec.model_dump_json())


async def consume_desk_events(engine: ConversationEngine) -> None:
    """Forever: turn desk events into analytics rows, socket events and webhooks."""
    await engine.desk.deliver(
        DESK_EVENT_GROUP,
        functools.partial(handle_desk_event, engine),
        before=functools.partial(record_desk_events, engine.store),
    )


async def record_desk_events(store: ApiStore, events: list[DeskEvent]) -> None:
    """Store the analytics rows of the desk events a worker took at once, in one transaction.

    The desk hands each event to one worker, at least once: after a worker died mid-batch another
    takes it again, and a row is keyed by the event's body so it is kept once.
    """
    rows = []
    for event in events:
        body = dump_event(event)
        key = hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()
        rows.append((key, event.type, event.ts.timestamp(), getattr(event, "handoff_id", None), body))
    await store.add_desk_events(rows)


async def handle_desk_event(engine: ConversationEngine, event: DeskEvent) -> None:
    """Tell the people a desk event concerns (its analytics row is stored by ``record_desk_events``)."""
    if engine.metrics:
        engine.metrics.desk_events.labels(type=event.type).inc()
    if engine.webhooks is not None:
        engine.webhooks.send(dump_event(event).encode())
    if isinstance(event, HandoffOffered):
        handoff = await engine.desk.get(event.handoff_id)
        offer = OfferEvent.of(handoff, event.expires_at)
        await engine.events.append(agent_stream(event.agent_id), offer)
    elif isinstance(event, HandoffAccepted) and event.auto:
        # the desk accepted for an auto-accept agent: nobody called the engine's accept
        await engine.joined(await engine.desk.get(event.handoff_id), event.agent_id)
    elif isinstance(event, HandoffTimedOut):
        state = HandoffStateEvent(
            conversation_id=event.conversation_id,
            handoff_id=event.handoff_id,
            state="offer_withdrawn",
            agent_id=event.agent_id,
            message=event.reason,
        )
        await engine.events.append(agent_stream(event.agent_id), state)
    elif isinstance(event, HandoffTransferred):
        await engine.store.set_assignment(event.conversation_id, event.handoff_id, None)
        if event.to_agent_id:
            request = TransferRequestEvent(
                conversation_id=event.conversation_id,
                handoff_id=event.handoff_id,
                from_agent_id=event.from_agent_id,
                reason=event.reason,
            )
            await engine.events.append(agent_stream(event.to_agent_id), request)
        message = "You're being transferred to a colleague who can help further."
        state = HandoffStateEvent(handoff_id=event.handoff_id, state="transferred", message=message)
        await engine.publish(event.conversation_id, state)
    elif isinstance(event, HandoffRequeued):
        await engine.store.set_assignment(event.conversation_id, event.handoff_id, None)
        state = HandoffStateEvent(handoff_id=event.handoff_id, state="pending", message=AGENT_LOST)
        await engine.publish(event.conversation_id, state)
    elif isinstance(event, AgentStatusChanged):
        with contextlib.suppress(DeskNotFound):
            await remember_agent(engine.store, await engine.desk.get_agent(event.agent_id))
    elif isinstance(event, HandoffNotice):
        pass  # on_notice already told the customer
