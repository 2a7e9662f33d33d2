"""One JSON error envelope for every failure: ``{"error": {"code": ..., "message": ..., ...}}``.

Domain exceptions from the graph, the desk and the policy loader map to 4xx codes here, so no
input can surface as a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from desk.errors import Busy, Conflict, DeskError, IllegalTransition, InvalidRequest, NotFound
from graph.runtime import (
    AwaitingHuman,
    CheckpointNotFound,
    ConversationNotFound,
    InvalidStateUpdate,
    NothingToRollBack,
    NotInterrupted,
)
from policies.loader import PolicyError

log = logging.getLogger("baton.api")


class ErrorBody(BaseModel):
    """A machine-readable code and a human sentence."""

    code: str = Field(description="Stable slug.", examples=["not_found"])
    message: str = Field(
        description="What is wrong, in one sentence.", examples=["conversation c1 not found"]
    )
    details: list[dict[str, Any]] | None = Field(default=None, description="Field errors or policy issues.")


class ErrorEnvelope(BaseModel):
    """Every non-2xx response body."""

    error: ErrorBody


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
_ERROR_DOCS: dict[int, dict[str, Any]] = {
    401: {
        "description": "No token, or a token that is not valid.",
        "headers": {"WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}},
    },
    403: {"description": "The token is valid but may not do this."},
    404: {"description": "No such resource (or not one this service serves)."},
    409: {"description": "The resource's current state does not allow this."},
    413: {"description": "The request body is larger than `BATON_MAX_BODY_BYTES`."},
    422: {"description": "The request is invalid; `details` says where."},
    429: {"description": "Too many messages in this conversation.", "headers": _RETRY_AFTER},
    503: {"description": "The service is busy; send again later.", "headers": _RETRY_AFTER},
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses=`` entries for the error statuses a route (or router) can answer.

    Each is documented with the envelope, so the schema lists every status a client can get back.

    Args:
        *statuses: Any of 401, 403, 404, 409, 413, 422, 429 and 503.
    """
    return {status: {"model": ErrorEnvelope, **_ERROR_DOCS[status]} for status in statuses}


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _allowed_methods(request: Request) -> str | None:
    """The methods the OpenAPI document lists for this URL's path, for the ``Allow`` header of a 405.

    The router names only the first route that matched, while a path is served by one route per
    method. Where a literal segment and a parameter both match, the literal path is the resource
    (OpenAPI's path matching). None for paths the document leaves out (the pages).
    """
    url = request.scope["path"].removeprefix(request.scope.get("root_path", ""))
    found: dict[tuple[bool, ...], list[str]] = {}
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(url):
            found[tuple(not part.startswith("{") for part in template.split("/"))] = [
                method.upper() for method in operations if method in _HTTP_METHODS
            ]
    return ", ".join(sorted(found[max(found)])) if found else None


class ApiError(Exception):
    """An HTTP error with a code; raise it from routes and dependencies."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The envelope as a response."""
    body = ErrorEnvelope(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            {
                "field": ".".join(loc[1:] if loc[:1] in (["body"], ["query"], ["path"]) else loc),
                "location": loc[0] if loc else "",
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return out


def policy_issues(exc: PolicyError) -> list[dict[str, Any]]:
    """Issues of a rejected policy, each with line, column and message."""
    return [{"line": i.line, "column": i.column, "path": i.path, "message": i.message} for i in exc.issues]


_DESK_STATUS: dict[type[DeskError], int] = {
    NotFound: 404,
    Conflict: 409,
    IllegalTransition: 409,
    InvalidRequest: 422,
}


def domain_error(exc: BaseException) -> ApiError | None:
    """The API error a domain exception of the graph, the desk or the policy loader stands for.

    One mapping for every door: HTTP handlers, WebSocket messages and the platform API's runs.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Busy):  # transient: nothing was done
        return ApiError(503, exc.code, str(exc), headers={"Retry-After": "1"})
    if isinstance(exc, DeskError):
        return ApiError(_DESK_STATUS.get(type(exc), 409), exc.code, str(exc))
    if isinstance(exc, CheckpointNotFound):
        return ApiError(404, "checkpoint_not_found", str(exc))
    if isinstance(exc, ConversationNotFound):
        return ApiError(404, "not_found", f"conversation {exc} not found")
    if isinstance(exc, NotInterrupted):
        return ApiError(409, "not_interrupted", str(exc))
    if isinstance(exc, NothingToRollBack):
        return ApiError(409, "nothing_to_roll_back", str(exc))
    if isinstance(exc, AwaitingHuman):
        return ApiError(409, "awaiting_human", str(exc))
    if isinstance(exc, InvalidStateUpdate):
        return ApiError(422, "invalid_update", str(exc))
    if isinstance(exc, PolicyError):
        issues = policy_issues(exc)
        return ApiError(422, "invalid_policy", f"{len(issues)} problem(s) in the policy", details=issues)
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Map every known exception to the envelope; unknown ones become a logged 500 without a trace."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = _field_errors(exc)
        names = ", ".join(sorted({d["field"] or d["location"] for d in details}))
        return error_response(422, "validation_error", f"invalid request: {names}", details)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # FastAPI's only 400 is a body it could not parse (not UTF-8): invalid JSON is a 422 here.
            detail = {"field": "", "location": "body", "message": str(exc.detail), "type": "json_invalid"}
            return error_response(422, "validation_error", "invalid request: body", [detail])
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405 and (allow := _allowed_methods(request)):
            headers["Allow"] = allow
        return error_response(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=headers or None,
        )

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        error = domain_error(exc)
        assert error is not None
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "the server failed to handle this request")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for kind in (
        DeskError,
        ConversationNotFound,
        CheckpointNotFound,
        NotInterrupted,
        NothingToRollBack,
        AwaitingHuman,
        InvalidStateUpdate,
        PolicyError,
    ):
        app.add_exception_handler(kind, domain)
    app.add_exception_handler(Exception, unexpected)
