"""Outgoing webhooks: every handoff event POSTed as signed JSON, retried, never blocking a turn."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging

import httpx

log = logging.getLogger("baton.webhooks")
_QUEUE_MAX = 10_000


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex hmac>`` of ``body`` under ``secret`` (the ``X-Baton-Signature`` header)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """A background queue; ``send`` only enqueues."""

    def __init__(
        self,
        urls: list[str],
        secret: str,
        *,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
    ) -> None:
        self.urls = urls
        self._secret = secret
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=_QUEUE_MAX)
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._tasks: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        """Start the delivery loop (inside the running event loop)."""
        if self.urls and self._worker is None:
            self._worker = asyncio.create_task(self._loop())

    def send(self, body: bytes) -> None:
        """Queue ``body`` for every URL; drops (and logs) when the queue is full."""
        for url in self.urls:
            try:
                self._queue.put_nowait((url, body))
            except asyncio.QueueFull:
                self.failed += 1
                log.error("webhook queue full; dropped an event for %s", url)

    async def _loop(self) -> None:
        while True:
            url, body = await self._queue.get()
            task = asyncio.create_task(self._deliver(url, body))  # deliveries retry independently
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

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
        """Stop delivering (pending retries are abandoned) and close the client."""
        tasks = [t for t in (self._worker, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()
