"""Analytics (admin), Prometheus metrics, liveness and readiness."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from api import analytics, analytics_figures
from api.analytics_figures import Summary
from api.auth import require_oversight
from api.deps import DeskDep, EngineDep, MetricsDep, PrincipalDep, RuntimeDep, StoreDep
from api.errors import ApiError, error_responses
from api.recovery import desk_intact
from api.routes.callbacks import WaitingDep
from graph.runtime import ConversationNotFound

router = APIRouter(tags=["operations"])


class Csat(BaseModel):
    """Customer satisfaction in the window."""

    average: float | None = Field(default=None, examples=[4.5])
    count: int = Field(default=0, examples=[10])
    distribution: dict[str, int] = Field(default_factory=dict, examples=[{"1": 0, "5": 7}])


class HandoffAnalytics(Summary):
    """Handoff statistics over ``[since, until)``: counts are of handoffs, never of events."""

    since: datetime
    until: datetime
    conversations: int = Field(description="Conversations started.")
    handoff_rate: float | None = Field(description="Human handoffs / conversations.")
    csat: Csat
    callbacks: dict[str, Any] = Field(
        default_factory=dict,
        description="Callbacks requested in the window: requested, by_status, by_reason, outcomes, "
        "without_contact, median_time_to_done_s.",
    )


def _unix_time(name: str, value: datetime) -> float:
    """``value`` as a Unix time that converts back to a date; else a 422 naming the parameter."""
    try:
        ts = value.timestamp()
        datetime.fromtimestamp(ts).astimezone()  # the response shows it back as a local date
    except (OverflowError, OSError, ValueError) as exc:  # year 1 or 9999 shifted past the calendar
        raise _bad_window(name, f"{value.isoformat()} is out of the supported date range ({exc})") from exc
    return ts


_WHEN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?"
)


def _date_or_time(value: Any) -> Any:
    """Only what the schema says (an RFC 3339 date-time or a date): no Unix times, no partial times."""
    if isinstance(value, str) and _WHEN.fullmatch(value):
        return value
    msg = "expected an RFC 3339 date-time (2026-03-12T14:30:00Z) or a date (2026-03-12)"
    raise ValueError(msg)


When = Annotated[
    datetime,
    BeforeValidator(_date_or_time),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]


def window(since: datetime | None, until: datetime | None) -> tuple[float, float]:
    """``[since, until)`` as Unix times: until defaults to now, since to 1970.

    Raises:
        ApiError: 422 when either is out of the supported date range, or since is after until.
    """
    hi = _unix_time("until", until) if until else time.time() + 1
    # No data is older than 1970; a window that ends earlier is empty, not inverted.
    lo = _unix_time("since", since) if since else min(0.0, hi)
    if lo > hi:
        raise _bad_window("until", "until is before since")
    return lo, hi


def _bad_window(name: str, message: str) -> ApiError:
    detail = {"field": name, "location": "query", "message": message, "type": "value_error"}
    return ApiError(422, "validation_error", f"invalid request: {name}", details=[detail])


@router.get("/v1/analytics/handoffs", responses=error_responses(401, 403, 422))
async def handoff_analytics(
    principal: PrincipalDep,
    store: StoreDep,
    waiting: WaitingDep,
    since: Annotated[When | None, Query(description="Start of the window (a date is its midnight).")] = None,
    until: Annotated[When | None, Query(description="End of the window (default: now).")] = None,
) -> HandoffAnalytics:
    """Counts, rates, timings and CSAT from desk events and conversation records (admin).

    Raises:
        ApiError: 422 when ``since`` or ``until`` is out of the supported date range, or ``since`` is
            after ``until``.
    """
    require_oversight(principal, "read analytics")
    lo, hi = window(since, until)
    inputs = await analytics.load(store, lo, hi)
    summary = analytics_figures.summarize(inputs)
    ratings = list(inputs.ratings.values())
    return HandoffAnalytics(
        **summary.model_dump(),
        since=datetime.fromtimestamp(lo).astimezone(),
        until=datetime.fromtimestamp(hi).astimezone(),
        conversations=inputs.conversations,
        handoff_rate=round(summary.human_handoffs / inputs.conversations, 4)
        if inputs.conversations
        else None,
        csat=Csat(
            average=round(sum(ratings) / len(ratings), 3) if ratings else None,
            count=len(ratings),
            distribution={str(r): ratings.count(r) for r in range(1, 6)},
        ),
        callbacks=await waiting.callbacks.summary(lo, hi),
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format."""
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


class Health(BaseModel):
    """Liveness/readiness."""

    status: str = Field(examples=["ok"])
    checks: dict[str, str] = Field(default_factory=dict, examples=[{"checkpointer": "ok", "desk": "ok"}])


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


class DeskRecovering(Exception):
    """Redis came back empty; the desk is being rebuilt from the checkpoints (within a second)."""


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(runtime: RuntimeDep, desk: DeskDep, store: StoreDep, service: EngineDep) -> Response:
    """Checkpointer, desk and store reachable, and the desk rebuilt if Redis lost its data."""

    async def checkpointer() -> None:
        with contextlib.suppress(ConversationNotFound):
            await runtime.get("__readyz__")

    async def desk_ready() -> None:
        await desk.cursor()
        if not await desk_intact(service):
            raise DeskRecovering

    checks: dict[str, str] = {}
    for name, probe in (("checkpointer", checkpointer), ("desk", desk_ready), ("store", store.db.ping)):
        try:
            await asyncio.wait_for(probe(), timeout=3)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
