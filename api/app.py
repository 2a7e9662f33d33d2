"""The FastAPI application: ``create_app(settings)`` wires the runtime, the desk, the engine, the door,
the store, the event log and every router; ``uvicorn --factory api.app:create_app`` serves it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api import pages, policy_admin
from api.auth import load_admin_token
from api.client_limits import ClientLimits
from api.compat import router as compat_router
from api.compat.store import open_compat_store
from api.console_store import ConsoleStore
from api.customer_history import StoredCustomerHistory
from api.desk_events import consume_desk_events
from api.engine import ConversationEngine
from api.errors import install_error_handlers
from api.eventlog import EventLog, LocalEventLog
from api.eventlog_redis import RedisEventLog
from api.handoff_lifecycle import HandoffLifecycle
from api.heap import release_free_heap
from api.http_fastpath import MessageFastPath
from api.limits import BodySizeLimit, RateLimiter, TurnGate
from api.metrics import Metrics, RequestMetrics
from api.recovery import keep_recovering, recover
from api.routes import (
    accounts,
    agents,
    conversations,
    customers,
    desk_ws,
    experiments,
    handoffs,
    notes,
    ops,
    policies,
    policy_disk,
    replies,
    supervisor,
    ws,
)
from api.routes.analytics import router as analytics_router
from api.routes.callbacks import router as callbacks_router
from api.routes.voice import router as voice_router
from api.socket_limits import SocketLimits
from api.store import ApiStore, open_db
from api.supervisor_store import SupervisorStore
from api.turns import TurnService
from api.waiting import WaitingService
from api.webhooks import WebhookSender
from api.ws_fastpath import BatonApp
from desk.base import Desk
from desk.callbacks import CallbackStore
from desk.config import DeskConfig, load_config
from desk.factory import make_desk
from desk.models import CustomerNotice, Handoff
from graph import blas
from graph.language import cues, objections, shared_pipeline
from graph.runtime import BatonRuntime
from graph.settings import Settings, get_settings

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger("baton.api")


def create_app(settings: Settings | None = None, *, desk_config: DeskConfig | None = None) -> BatonApp:
    """Build the app; services open in the lifespan (one runtime, desk and store per process).

    Args:
        settings: Configuration (default: ``BATON_*`` environment).
        desk_config: Desk timers and policies (default: ``settings.desk_config`` or ``desk/desk.yaml``).
    """
    settings = settings or get_settings()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        secret = settings.admin_token.get_secret_value() if settings.admin_token else None
        admin_token, generated = load_admin_token(secret, settings.data_dir)
        if generated:
            print(
                f"baton: generated admin token {admin_token} (saved in {settings.data_dir / 'admin_token'})",
                file=sys.stderr,
            )
        redis = _redis_client(settings.redis_url) if settings.redis_url else None
        config = desk_config or load_config(settings.desk_config)
        holder: list[HandoffLifecycle] = []

        async def on_revert(handoff: Handoff, notice: CustomerNotice) -> None:
            await holder[0].on_revert(handoff, notice)

        async def on_notice(handoff: Handoff, notice: CustomerNotice) -> None:
            await holder[0].on_notice(handoff, notice)

        desk: Desk = make_desk(
            settings.redis_url or None,
            config,
            on_revert=on_revert,
            on_notice=on_notice,
            prefix=f"{settings.redis_prefix}desk:",
        )
        webhook_urls = [u.strip() for u in settings.webhook_urls.split(",") if u.strip()]
        webhooks = (
            WebhookSender(
                webhook_urls,
                settings.webhook_secret.get_secret_value() if settings.webhook_secret else "",
                max_attempts=settings.webhook_max_attempts,
                backoff_s=settings.webhook_backoff_s,
                dropped_counter=metrics.webhooks_dropped,
            )
            if webhook_urls
            else None
        )
        async with (
            BatonRuntime.open(settings) as runtime,
            open_db(settings.checkpoint_url, settings.data_dir) as db,
        ):
            store = ApiStore(db)
            redis_events = RedisEventLog(redis, settings.redis_prefix) if redis is not None else None
            events: EventLog = redis_events or LocalEventLog(store)
            engine = ConversationEngine(
                runtime=runtime,
                desk=desk,
                store=store,
                events=events,
                webhooks=webhooks,
                redis=redis,
                prefix=settings.redis_prefix,
                metrics=metrics,
            )
            handoffs = HandoffLifecycle(engine)
            holder.append(handoffs)
            callbacks = CallbackStore(db)
            await callbacks.setup()
            supervisors = SupervisorStore(db)
            await supervisors.setup()
            app.state.waiting = WaitingService(engine=engine, handoffs=handoffs, callbacks=callbacks)
            handoffs.on_callback = app.state.waiting.on_no_agent
            limiter = RateLimiter(
                settings.rate_limit_per_minute, redis, settings.redis_prefix, refused=metrics.rate_limited
            )
            gate = TurnGate(settings.max_concurrent_turns, shed=metrics.turns_shed)
            clients = ClientLimits.from_settings(settings, redis, metrics.rate_limited)
            app.state.client_limits = clients
            app.state.settings = settings
            app.state.runtime = runtime
            app.state.desk = desk
            app.state.store = store
            # Briefs list the customer's earlier conversations: the graph asks the console's store.
            app.state.console_store = ConsoleStore(db)
            app.state.baton_compat = await open_compat_store(db)  # the LangGraph API's thread records
            runtime.context.history = StoredCustomerHistory(app.state.console_store, runtime)
            app.state.engine = engine
            app.state.turns = TurnService(
                engine=engine,
                handoffs=handoffs,
                settings=settings,
                limiter=limiter,
                gate=gate,
                clients=clients,
            )
            app.state.admin_token = admin_token
            app.state.supervisors = supervisors
            app.state.limiter = limiter
            app.state.webhooks = webhooks
            if webhooks is not None:
                webhooks.start()
            await recover(engine)
            if settings.blas_one_thread:
                blas.hold_to_one_thread()  # before the pipeline loads: it picks its backend by it
            # The language layer's models (spaCy, embeddings, cue prototypes) and the live policy's
            # intent classifier load now, not on a customer's turn.
            await asyncio.to_thread(_warm_language, runtime)
            if settings.gc_freeze:
                # Models, policies and libraries loaded at start-up live as long as the process; a
                # full collection used to walk all ~200k of them again (~160 ms per pass, a latency
                # spike for every request in flight). Frozen, they are skipped.
                gc.collect()
                gc.freeze()
            # After the start-up collection: the models' loading temporaries are free by now.
            release_free_heap()
            metrics.watch_gc()  # after the start-up collection: it runs before any request is served
            consumer = asyncio.create_task(consume_desk_events(engine))
            # Only a desk in Redis can lose its data while this process lives; the in-process desk
            # is rebuilt once, above, and re-checking 10,000 held handoffs every pass stalls the loop.
            tasks = [consumer]
            if redis is not None:
                tasks.append(asyncio.create_task(keep_recovering(engine, settings.desk_recover_s)))
            ticker = asyncio.create_task(desk.run(settings.desk_tick_s))
            thresholds = gc.get_threshold()
            if settings.gc_young_threshold:
                # Under concurrency an in-flight turn's objects outlive 700 allocations, are promoted
                # and make full collections frequent: each one a pause of every request in flight
                # (1,000 live sockets: 20 full collections in 3 minutes at 700, 1 at 10,000).
                gc.set_threshold(settings.gc_young_threshold, *thresholds[1:])
            try:
                yield
            finally:
                gc.set_threshold(*thresholds)
                metrics.unwatch_gc()
                for task in tasks:
                    task.cancel()
                await desk.close()
                for task in (*tasks, ticker):
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await asyncio.wait_for(task, timeout=5)
                if webhooks is not None:
                    await webhooks.close()
                if redis_events is not None:
                    await redis_events.aclose()
                if redis is not None:
                    await redis.aclose()

    app = BatonApp(
        title="Baton",
        version="0.1.0",
        description="Conversation handoffs between AI bots, specialist bots and human agents.",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.socket_limits = SocketLimits(settings.ws_max_sockets, settings.ws_max_sockets_per_client)
    install_error_handlers(app)
    for module in (conversations, agents, handoffs, policies, experiments, ops, ws, policy_admin, pages):
        app.include_router(module.router)
    app.include_router(analytics_router)  # per agent and per policy version
    app.include_router(voice_router)  # the voice channel: one more door to the turn service
    for module in (notes, customers, replies, supervisor, accounts, desk_ws, policy_disk):  # console, editor
        app.include_router(module.router)
    app.include_router(compat_router)
    app.include_router(callbacks_router)
    app.serve_sockets_directly(ws.router, voice_router, desk_ws.router)  # api/ws_fastpath.py

    _document_message_limit(app, settings.max_message_chars)
    app.add_middleware(MessageFastPath, baton=app)  # innermost: the metrics and body limit wrap it
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


# Request bodies whose text is a message: the configured limit, not the models' ceiling, is what the
# service accepts, so that is what the OpenAPI document says.
_MESSAGE_FIELDS = {"MessageIn": "text", "ReplyIn": "text", "CompleteIn": "text"}


def _document_message_limit(app: FastAPI, limit: int) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            for model, field in _MESSAGE_FIELDS.items():
                props = schema.get("components", {}).get("schemas", {}).get(model, {}).get("properties", {})
                if field in props:
                    props[field]["maxLength"] = limit
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _redis_client(url: str) -> aioredis.Redis:
    """The worker's Redis pool (the scaled profile; an embedded worker never imports redis)."""
    import redis.asyncio as aioredis

    from desk.redis_desk import reconnecting

    # Sockets hold no connection (one subscriber per worker fans events out, api/eventlog_redis.py), so
    # the pool only serves short commands; 200 leaves headroom over redis-py's default 100 for
    # bursts of concurrent requests.
    return aioredis.from_url(url, max_connections=200, **reconnecting())


def _warm_language(runtime: BatonRuntime) -> None:
    shared_pipeline().warm()
    cues.warm()
    objections.warm()
    runtime.context.signals.analyzer_for(runtime.context.policies.current())
