"""FastAPI dependencies as ``Annotated`` aliases; routers declare what they need, nothing global."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from graph.runtime import BatonRuntime


def get_runtime(request: Request) -> BatonRuntime:
    """The process's graph runtime, opened by the app's lifespan."""
    runtime: BatonRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[BatonRuntime, Depends(get_runtime)]
