"""A minimal app serving only the LangGraph-compatibility router (tests and a uvicorn subprocess).

``uvicorn --factory compat_app:create_app --app-dir tests`` serves it; the data dir comes from
``BATON_COMPAT_DIR``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from conftest import make_settings
from fastapi import FastAPI

from api.compat import router
from api.errors import install_error_handlers
from graph.runtime import BatonRuntime


def build_app(tmp_path: Path) -> FastAPI:
    """The compat router over a runtime on the in-memory checkpointer and offline settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(router)
    return app


def create_app() -> FastAPI:
    """Factory for uvicorn."""
    return build_app(Path(os.environ.get("BATON_COMPAT_DIR") or tempfile.mkdtemp(prefix="baton-compat-")))
