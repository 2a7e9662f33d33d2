"""LangGraph Platform API compatibility: the endpoints ``langgraph_sdk`` uses, over Baton's graph.

Include ``router`` in the app; assistant ``baton`` is the graph, threads are conversations. Every
route needs a token; runs go through the one door (``api/turns.py``) like REST and WebSocket turns.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.compat import assistants, runs, threads
from api.deps import get_principal
from api.errors import error_responses

# Every route, present and future, needs a token (``x-api-key`` as the SDK sends it, or Bearer).
router = APIRouter(dependencies=[Depends(get_principal)], responses=error_responses(401, 422))
router.include_router(assistants.router)
router.include_router(threads.router)
router.include_router(runs.router)

__all__ = ["router"]
