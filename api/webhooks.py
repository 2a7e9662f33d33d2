"""Outgoing webhooks: every handoff event POSTed as signed JSON, retried, never blocking a turn."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging

import httpx
from prometheus_client import Counter

log = logging.getLogger("baton.webhooks")
_QUEUE_MAX = 10_000
_WORKERS = 8  # deliveries in flight at once (and connections to the receivers)


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex hmac>`` of ``body`` under ``secret`` (the ``X-Baton-Signature`` header)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """A bounded queue drained by a fixed pool of delivery workers; ``send`` only enqueues.

    Memory and connections stay bounded however slow the receivers are: ``workers`` deliveries (each
    with its retries) run at once, ``queue_size`` more wait, and an event that finds the queue full is
    dropped, logged and counted in ``dropped``.
    """

    def __init__(
        self,
        urls: list[str],
        secret: str,
        *,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        workers: int = _WORKERS,
        queue_size: int = _QUEUE_MAX,
        dropped_counter: Counter | None = None,
    ) -> None:
        self.urls = urls
        self._secret = secret
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=queue_size)
        self._client = httpx.AsyncClient(
            timeout=timeout_s, limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        )
        self._size = workers
        self._workers: list[asyncio.Task[None]] = []
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self._dropped_counter = dropped_counter

    def start(self) -> None:
        """Start the delivery workers (inside the running event loop)."""
        if self.urls and not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"baton-webhook-{i}") for i in range(self._size)
            ]

    def send(self, body: bytes) -> None:
        """Queue ``body`` for every URL; drops (logs and counts) what finds the queue full."""
        for url in self.urls:
            try:
                self._queue.put_nowait((url, body))
            except asyncio.QueueFull:
                self.dropped += 1
                if self._dropped_counter is not None:
                    self._dropped_counter.inc()
                log.error("webhook queue full; dropped an event for %s", url)

    async def _work(self) -> None:
        while True:
            url, body = await self._queue.get()
            try:
                await self._deliver(url, body)
            except Exception:  # a worker outlives any one event (an invalid URL, say)
                self.failed += 1
                log.exception("webhook %s failed", url)

    async def _deliver(self, url: str, body: bytes) -> None:
        headers = {"content-type": "application/json", "x-baton-signature": sign(self._secret, body)}
        delay = self._backoff_s
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await self._client.post(url, content=body, headers=headers)
                if response.status_code < 300:
                    self.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt < self._max_attempts:
                log.warning(
                    "webhook %s attempt %d failed (%s); retrying in %.1fs", url, attempt, problem, delay
                )
                await asyncio.sleep(delay)
                delay *= 2
            else:
                self.failed += 1
                log.error("webhook %s gave up after %d attempts (%s)", url, attempt, problem)

    async def close(self) -> None:
        """Stop delivering (queued events and pending retries are abandoned) and close the client."""
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        await self._client.aclose()
