"""Every route's dependencies and handler run on the event loop, none in FastAPI's thread pool.

FastAPI runs a plain ``def`` dependency or handler through ``run_in_threadpool``: a thread hop per
request for what, in Baton, reads ``app.state``. A new one would quietly bring the hop back.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant

from api.app import create_app
from tests.test_api_support import api_settings


def _is_async(call: Any) -> bool:
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004 (a callable instance)
    )


def _dependants(routes: Any, seen: set[int]) -> list[tuple[str, Dependant]]:
    found: list[tuple[str, Dependant]] = []
    for route in routes or ():
        if id(route) in seen:
            continue
        seen.add(id(route))
        dependant = getattr(route, "dependant", None)
        if dependant is not None:
            found.append((getattr(route, "path", "?"), dependant))
        for attr in ("original_router", "router", "app"):  # included and mounted routers
            inner = getattr(route, attr, None)
            if inner is not None and inner is not route:
                found += _dependants(getattr(inner, "routes", None), seen)
    return found


def _sync_calls(dependant: Dependant) -> list[str]:
    """The handler (the route's own dependant) and every dependency under it that is not async."""
    calls = []
    if dependant.call is not None and not _is_async(dependant.call):
        calls.append(getattr(dependant.call, "__qualname__", repr(dependant.call)))
    for sub in dependant.dependencies:
        calls += _sync_calls(sub)
    return calls


def test_no_route_sends_a_dependency_or_its_handler_to_the_thread_pool(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path, checkpoint_url=""))
    routes = _dependants(app.routes, set())
    paths = {path for path, _ in routes}
    # the walk reaches the routers the app includes, not only its own few routes
    assert {"/v1/conversations/{conversation_id}/messages", "/v1/handoffs/{handoff_id}/accept"} <= paths
    offenders = {f"{path}: {name}" for path, dependant in routes for name in _sync_calls(dependant)}
    assert not offenders, sorted(offenders)
