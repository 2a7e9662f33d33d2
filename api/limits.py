"""Request limits: body size (413), per-conversation message rate (429) and load shedding (503)."""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_response

if TYPE_CHECKING:
    import redis.asyncio as aioredis  # only the scaled profile loads redis


class BodySizeLimit:
    """Refuse bodies over ``max_bytes``: by Content-Length up front, or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a WebSocket's whole life is awaited through every middleware's
        # frame, so a pass-through returns the inner app's awaitable and adds none.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    def _too_big(self) -> ASGIApp:
        # Built only for a refusal: the envelope and its JSON cost ~8 µs, which every request paid.
        return error_response(413, "payload_too_large", f"request body exceeds {self.max_bytes} bytes")

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_big()(scope, receive, send)
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
                await self._too_big()(scope, receive, send)


class _TooLarge(Exception):
    pass


_COUNT_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RateLimiter:
    """At most ``limit`` events per key per minute (sliding window; fixed window in Redis).

    In process, a key is forgotten once its last hit is a minute old (nothing of it counts any
    more), and at most ``max_keys`` are tracked: past that the least recently hit is dropped.
    """

    def __init__(
        self,
        limit: int,
        redis: aioredis.Redis | None = None,
        prefix: str = "baton:",
        refused: Counter | None = None,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._prefix = prefix
        self._refused = refused
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()  # least recently hit first
        # The hit and the window's expiry in one call: one round trip, and no window left without one.
        self._count = redis.register_script(_COUNT_HIT) if redis is not None else None

    @property
    def tracked(self) -> int:
        """How many keys the in-process window holds."""
        return len(self._hits)

    async def check(self, key: str) -> None:
        """Count one hit for ``key``.

        Raises:
            ApiError: 429 with ``Retry-After`` when over the limit.
        """
        now = self._clock()
        if self._count is not None:
            window = int(time.time() // 60)
            rkey = f"{self._prefix}rate:{key}:{window}"
            count = int(await self._count(keys=[rkey], args=[61]))
            if count > self.limit:
                raise self._too_many(max(1, math.ceil(60 - time.time() % 60)))
            return
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= self.limit:
            raise self._too_many(max(1, math.ceil(60 - (now - hits[0]))))
        hits.append(now)
        self._hits.move_to_end(key)
        self._forget(now)

    def _forget(self, now: float) -> None:
        """Drop the keys whose last hit is a minute old, then the least recent past ``max_keys``.

        Keys are in order of their last hit, so the quiet ones are at the front.
        """
        while self._hits:
            oldest = next(iter(self._hits.values()))
            if len(self._hits) <= self.max_keys and oldest and now - oldest[-1] < 60:
                return
            self._hits.popitem(last=False)

    def _too_many(self, retry_after: int) -> ApiError:
        message = f"too many messages in this conversation; retry in {retry_after}s"
        return _refusal(self._refused, 429, "rate_limited", message, retry_after)


def _refusal(counter: Counter | None, status: int, code: str, message: str, retry_after: int) -> ApiError:
    """Count a refused request and build its error; the client may retry after ``retry_after`` s."""
    if counter is not None:
        counter.inc()
    return ApiError(status, code, message, headers={"Retry-After": str(retry_after)})


class TurnGate:
    """At most ``limit`` customer turns run at once in this worker; past that a new turn gets 503.

    Past capacity every queued turn delays the agent actions behind it until offers lapse; refusing
    new turns early (clients retry after ``Retry-After``) keeps accepts and live chats fast.
    ``limit`` 0 admits everything.
    """

    def __init__(self, limit: int, retry_after_s: int = 1, shed: Counter | None = None) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.running = 0
        self._shed = shed

    def acquire(self, *, exempt: bool = False) -> None:
        """Take a slot for a turn; ``exempt`` turns (a live chat with a person) always get one.

        Pair every successful call with one ``release()``.

        Raises:
            ApiError: 503 ``overloaded`` with ``Retry-After`` when every slot is taken.
        """
        if not exempt and self.limit and self.running >= self.limit:
            message = f"the service is busy; send the message again in {self.retry_after_s}s"
            raise _refusal(self._shed, 503, "overloaded", message, self.retry_after_s)
        self.running += 1

    def release(self) -> None:
        """Give back a slot taken by ``acquire``."""
        self.running -= 1

    @contextlib.contextmanager
    def admit(self, *, exempt: bool = False) -> Iterator[None]:
        """Hold a slot while the block runs (see ``acquire``)."""
        self.acquire(exempt=exempt)
        try:
            yield
        finally:
            self.release()
