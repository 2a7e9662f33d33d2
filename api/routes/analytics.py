"""Per-agent and per-policy-version analytics (admin); the window summary is ``/v1/analytics/handoffs``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import analytics, analytics_figures
from api.analytics_figures import AgentPerformance, PolicyVersionOutcomes
from api.auth import require_oversight
from api.deps import PrincipalDep, StoreDep
from api.errors import error_responses
from api.routes.ops import When, window

router = APIRouter(prefix="/v1/analytics", tags=["operations"], responses=error_responses(401, 403, 422))

Since = Annotated[When | None, Query(description="Start of the window (a date is its midnight).")]
Until = Annotated[When | None, Query(description="End of the window (default: now).")]


class AgentAnalytics(BaseModel):
    """Each agent's work over ``[since, until)``, busiest first."""

    since: datetime
    until: datetime
    agents: list[AgentPerformance]


class PolicyAnalytics(BaseModel):
    """How the handoffs of each policy version turned out over ``[since, until)``, newest first."""

    since: datetime
    until: datetime
    versions: list[PolicyVersionOutcomes] = Field(
        description="One entry per (policy, version); 'unknown' for handoffs recorded before versions were."
    )


def _when(lo: float, hi: float) -> tuple[datetime, datetime]:
    return datetime.fromtimestamp(lo).astimezone(), datetime.fromtimestamp(hi).astimezone()


@router.get("/agents")
async def agent_analytics(
    principal: PrincipalDep, store: StoreDep, since: Since = None, until: Until = None
) -> AgentAnalytics:
    """Offers, acceptances, misses, handle time, first reply and CSAT per agent (admin).

    Raises:
        ApiError: 422 for a window out of range or inverted.
    """
    require_oversight(principal, "read analytics")
    lo, hi = window(since, until)
    start, end = _when(lo, hi)
    return AgentAnalytics(
        since=start,
        until=end,
        agents=analytics_figures.agent_performance(await analytics.load(store, lo, hi)),
    )


@router.get("/policies")
async def policy_analytics(
    principal: PrincipalDep, store: StoreDep, since: Since = None, until: Until = None
) -> PolicyAnalytics:
    """Outcomes of the handoffs each policy version (content hash) started (admin).

    Raises:
        ApiError: 422 for a window out of range or inverted.
    """
    require_oversight(principal, "read analytics")
    lo, hi = window(since, until)
    start, end = _when(lo, hi)
    return PolicyAnalytics(
        since=start,
        until=end,
        versions=analytics_figures.policy_outcomes(await analytics.load(store, lo, hi)),
    )
