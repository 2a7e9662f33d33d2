"""The web pages: chat widget (and its one-tag embed loader), agent console, policy editor.

Plain HTML/CSS/JS from ``api/static/``: no build step, nothing loaded from a CDN. Assets are served
from a fixed list (the files of that folder), so no request path can reach anything else on disk.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from api.errors import ApiError
from graph.runtime import BatonRuntime

STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# Pages are re-read on each request (cheap, and an edit shows up without a restart) but the browser
# revalidates them; the CSP keeps everything same-origin. Only the customer widget is meant to live in
# other sites' iframes; the console and the policy editor act with staff tokens, so framing them
# elsewhere would invite clickjacking. The widget plays spoken replies from blob: URLs (media-src).
_CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; frame-ancestors "
)
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": _CSP + "'self'",
}
_EMBEDDABLE = {**_HEADERS, "Content-Security-Policy": _CSP + "*"}

router = APIRouter(tags=["pages"], include_in_schema=False)


def _file(name: str, *, embeddable: bool = False) -> FileResponse:
    path = STATIC / name
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise ApiError(404, "not_found", f"no page asset {name!r}")
    return FileResponse(
        path,
        media_type=_TYPES.get(path.suffix, "application/octet-stream"),
        headers=_EMBEDDABLE if embeddable else _HEADERS,
    )


@router.get("/widget")
async def widget() -> FileResponse:
    """The customer chat widget (standalone, or inside the embed's iframe on any site)."""
    return _file("widget.html", embeddable=True)


@router.get("/widget.js")
async def widget_embed() -> Response:
    """The embed loader: ``<script src="https://baton.example/widget.js"></script>`` on any page."""
    response = _file("embed.js")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@router.get("/console")
async def console() -> FileResponse:
    """The agent console (and the admin's analytics)."""
    return _file("console.html")


@router.get("/policies")
async def policies() -> FileResponse:
    """The routing policy editor (admin)."""
    return _file("policies.html")


@router.get("/policies/serving")
async def serving_policy(request: Request) -> JSONResponse:
    """Name and version of the policy this service routes with (not secret; the editor starts here)."""
    runtime: BatonRuntime = request.app.state.runtime
    current = runtime.context.policies.current()
    return JSONResponse({"name": current.policy.name, "version": current.version})


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The icon browsers ask every page's origin for (a 404 on each page load otherwise)."""
    response = _file("favicon.ico")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@router.get("/ui/{name}")
async def asset(name: str) -> FileResponse:
    """A page asset (CSS, JS, icons)."""
    return _file(name)
