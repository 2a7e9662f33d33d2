"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

import time

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
            "baton_rate_limited", "Requests refused with 429.", registry=self.registry
        )

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
