"""Request limits: body size (413), message and new-conversation rates (429) and load shedding (503)."""

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


# The hit and the window's expiry in one call: one round trip, and no window left without one. A refused
# hit is not counted (as in process): a client that keeps retrying is not locked out for longer.
_COUNT_HIT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local w = tonumber(ARGV[2])
if n + w > tonumber(ARGV[3]) then return 0 end
if redis.call('INCRBY', KEYS[1], w) == w then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
"""


class _Window:
    """One key's hits of the last minute (time, weight), oldest first, and their sum."""

    __slots__ = ("hits", "total")

    def __init__(self) -> None:
        self.hits: deque[tuple[float, int]] = deque()
        self.total = 0

    def expire(self, now: float) -> None:
        while self.hits and now - self.hits[0][0] >= 60:
            self.total -= self.hits.popleft()[1]

    def free_after(self, now: float, weight: int, limit: int) -> float:
        """Seconds until a hit of ``weight`` fits under ``limit``: when the hits that must go expire."""
        over = self.total + weight - limit
        for at, hit in self.hits:
            over -= hit
            if over <= 0:
                return 60 - (now - at)
        return 60.0


class RateLimiter:
    """At most ``limit`` per key per minute (sliding window; fixed window in Redis).

    A hit weighs 1 unless told otherwise (a message's characters); one heavier than the whole limit
    counts as the limit, so it passes when nothing else was sent. A refused hit is not counted. In
    process, a key is forgotten once its last hit is a minute old (nothing of it counts any more), and
    at most ``max_keys`` are tracked: past that the least recently hit is dropped.
    """

    def __init__(
        self,
        limit: int,
        redis: aioredis.Redis | None = None,
        prefix: str = "baton:",
        refused: Counter | None = None,
        *,
        what: str = "messages in this conversation",
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.what = what
        self.max_keys = max_keys
        self._prefix = prefix
        self._refused = refused
        self._clock = clock
        self._hits: OrderedDict[str, _Window] = OrderedDict()  # least recently hit first
        self._count = redis.register_script(_COUNT_HIT) if redis is not None else None

    @property
    def tracked(self) -> int:
        """How many keys the in-process window holds."""
        return len(self._hits)

    async def check(self, key: str, weight: int = 1) -> None:
        """Count one hit of ``weight`` for ``key``.

        Raises:
            ApiError: 429 with ``Retry-After`` when over the limit.
        """
        weight = max(1, min(weight, self.limit))
        now = self._clock()
        if self._count is not None:
            window = int(time.time() // 60)
            rkey = f"{self._prefix}rate:{key}:{window}"
            if not int(await self._count(keys=[rkey], args=[61, weight, self.limit])):
                raise self._too_many(max(1, math.ceil(60 - time.time() % 60)))
            return
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = _Window()
        hits.expire(now)
        if hits.total + weight > self.limit:
            raise self._too_many(max(1, math.ceil(hits.free_after(now, weight, self.limit))))
        hits.hits.append((now, weight))
        hits.total += weight
        self._hits.move_to_end(key)
        self._forget(now)

    def _forget(self, now: float) -> None:
        """Drop the keys whose last hit is a minute old, then the least recent past ``max_keys``.

        Keys are in order of their last hit, so the quiet ones are at the front.
        """
        while self._hits:
            oldest = next(iter(self._hits.values()))
            if len(self._hits) <= self.max_keys and oldest.hits and now - oldest.hits[-1][0] < 60:
                return
            self._hits.popitem(last=False)

    def _too_many(self, retry_after: int) -> ApiError:
        message = f"too many {self.what}; retry in {retry_after}s"
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
