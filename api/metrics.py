"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    """Counters and gauges the service updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "baton_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "baton_http_request_seconds", "HTTP request latency.", ["route"], registry=self.registry
        )
        self.turns = Counter(
            "baton_customer_turns", "Customer turns run through the graph.", registry=self.registry
        )
        self.handoffs = Counter(
            "baton_handoffs", "Handoffs started by the graph.", ["kind", "trigger"], registry=self.registry
        )
        self.rollbacks = Counter(
            "baton_rollbacks", "Human handoffs rolled back to the AI.", registry=self.registry
        )
        self.desk_events = Counter(
            "baton_desk_events", "Desk events handled.", ["type"], registry=self.registry
        )
        self.sockets = Gauge("baton_websockets", "Open WebSockets.", ["role"], registry=self.registry)
        self.idle_closed = Counter(
            "baton_websockets_idle_closed", "WebSockets closed for silence.", ["role"], registry=self.registry
        )
        self.rate_limited = Counter(
            "baton_rate_limited",
            "Customer messages refused with 429 (per-conversation rate).",
            registry=self.registry,
        )
        self.turns_shed = Counter(
            "baton_turns_shed",
            "Customer turns refused with 503 because the worker was at capacity.",
            registry=self.registry,
        )
        self.webhooks_dropped = Counter(
            "baton_webhooks_dropped",
            "Webhook deliveries dropped because the delivery queue was full (receivers too slow or down).",
            registry=self.registry,
        )

        self.gc_pauses = Histogram(
            "baton_gc_pause_seconds",
            "Garbage-collector pauses (the whole process stops) by generation.",
            ["generation"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.gc_longest = Gauge(
            "baton_gc_pause_longest_seconds",
            "Longest garbage-collector pause so far.",
            registry=self.registry,
        )
        self._gc_started = 0.0
        self._gc_longest_s = 0.0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        pause = time.perf_counter() - self._gc_started
        self.gc_pauses.labels(str(info["generation"])).observe(pause)
        if pause > self._gc_longest_s:
            self._gc_longest_s = pause
            self.gc_longest.set(pause)

    def watch_gc(self) -> None:
        """Time every collection (a full one walks every live object; at scale that is the tail latency)."""
        gc.callbacks.append(self._on_gc)

    def unwatch_gc(self) -> None:
        """Stop timing collections."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class RequestMetrics:
    """Count and time HTTP requests by matched route (a plain ASGI middleware).

    Starlette's ``@app.middleware("http")`` re-wraps every request and response body in streams;
    under load that wrapper alone showed up in the server's profile (benchmarks/README.md).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a WebSocket's whole life is awaited through every middleware's
        # frame, so a pass-through returns the inner app's awaitable and adds none.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")  # the router fills in the shared scope
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
