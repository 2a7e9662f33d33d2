"""Request limits: body size (413) and per-conversation message rate (429 with Retry-After)."""

from __future__ import annotations

import math
import time
from collections import deque

import redis.asyncio as aioredis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_response


class BodySizeLimit:
    """Refuse bodies over ``max_bytes``: by Content-Length up front, or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_big = error_response(413, "payload_too_large", f"request body exceeds {self.max_bytes} bytes")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await too_big(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await too_big(scope, receive, send)


class _TooLarge(Exception):
    pass


class RateLimiter:
    """At most ``limit`` events per key per minute (sliding window; fixed window in Redis)."""

    def __init__(self, limit: int, redis: aioredis.Redis | None = None, prefix: str = "baton:") -> None:
        self.limit = limit
        self._redis = redis
        self._prefix = prefix
        self._hits: dict[str, deque[float]] = {}

    async def check(self, key: str) -> None:
        """Count one hit for ``key``.

        Raises:
            ApiError: 429 with ``Retry-After`` when over the limit.
        """
        now = time.monotonic()
        if self._redis is not None:
            window = int(time.time() // 60)
            rkey = f"{self._prefix}rate:{key}:{window}"
            count = int(await self._redis.incr(rkey))
            if count == 1:
                await self._redis.expire(rkey, 61)
            if count > self.limit:
                retry = max(1, math.ceil(60 - time.time() % 60))
                raise _too_many(retry)
            return
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= self.limit:
            raise _too_many(max(1, math.ceil(60 - (now - hits[0]))))
        hits.append(now)


def _too_many(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"too many messages in this conversation; retry in {retry_after}s",
        headers={"Retry-After": str(retry_after)},
    )
