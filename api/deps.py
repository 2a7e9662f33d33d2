"""FastAPI dependencies as ``Annotated`` aliases; routers declare what they need, nothing global.

Every dependency is ``async def``: FastAPI runs a plain ``def`` one in its thread pool, a thread hop per
dependency per request for what is an attribute read (``tests/test_async_dependencies.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from api.auth import Principal, resolve
from api.engine import ConversationEngine
from api.limits import RateLimiter
from api.metrics import Metrics
from api.store import ApiStore
from api.turns import TurnService
from desk.base import Desk
from graph.runtime import BatonRuntime
from graph.settings import Settings


async def get_runtime(request: Request) -> BatonRuntime:
    """The process's graph runtime, opened by the app's lifespan."""
    runtime: BatonRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[BatonRuntime, Depends(get_runtime)]


async def get_turns(request: Request) -> TurnService:
    """The one door for turns and agent actions (auth, limits, then the engine)."""
    turns: TurnService = request.app.state.turns
    return turns


async def get_engine(request: Request) -> ConversationEngine:
    """The conversation engine (graph, desk and events; no auth of its own)."""
    engine: ConversationEngine = request.app.state.engine
    return engine


async def get_desk(request: Request) -> Desk:
    """The human-agent desk."""
    desk: Desk = request.app.state.desk
    return desk


async def get_store(request: Request) -> ApiStore:
    """The API's durable store."""
    store: ApiStore = request.app.state.store
    return store


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_limiter(request: Request) -> RateLimiter:
    """Per-conversation message rate limiter."""
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_metrics(request: Request) -> Metrics:
    """Prometheus metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_principal(
    request: Request,
    authorization: Annotated[
        str | None, Header(description="Bearer token (admin, supervisor, customer or agent).")
    ] = None,
    x_api_key: Annotated[
        str | None,
        Header(description="The same token, as the LangGraph SDK sends it (`api_key=`)."),
    ] = None,
) -> Principal:
    """Resolve the token from ``Authorization: Bearer`` or ``x-api-key``; 401 when missing or unknown."""
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    token = token or (x_api_key.strip() if x_api_key else None)
    state = request.app.state
    client = request.client.host if request.client else None
    return await resolve(token, state.admin_token, state.store, state.supervisors, client)


TurnsDep = Annotated[TurnService, Depends(get_turns)]
EngineDep = Annotated[ConversationEngine, Depends(get_engine)]
DeskDep = Annotated[Desk, Depends(get_desk)]
StoreDep = Annotated[ApiStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
