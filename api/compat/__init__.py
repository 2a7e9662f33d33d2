"""LangGraph Platform API compatibility: the endpoints ``langgraph_sdk`` uses, over Baton's graph.

Include ``router`` in the app; assistant ``baton`` is the graph, threads are conversations.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.compat import assistants, runs, threads

router = APIRouter()
router.include_router(assistants.router)
router.include_router(threads.router)
router.include_router(runs.router)

__all__ = ["router"]
