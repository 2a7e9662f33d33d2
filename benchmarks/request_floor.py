"""What one request costs the server at the floor, and how much of a customer turn is the HTTP layer.

* **served**: a ``baton serve`` subprocess (embedded, offline); ``--requests`` sequential
  ``GET /healthz`` and ``POST /v1/conversations`` per round, one request in flight, then a "Hi" turn
  on each of a quarter as many fresh conversations. Server CPU per request from ``/proc`` (uvicorn,
  its protocol, the app and the kernel's work for the process).
* **in process**: the same app built by ``create_app`` and called as ASGI with no server and no
  socket (a hand-made scope): ``/healthz``, a path no route has (every route is tried), a new
  conversation, and the customer's "Hi" turn through the app against the token check plus
  ``TurnService.turn`` called directly, on the same number of fresh conversations. Process CPU per
  call; the turn's difference is what the HTTP layer (middleware, routing, dependencies, response)
  adds to that route. Within the turn service's turns, the CPU of the graph run (LangGraph's loop,
  its checkpoints and Baton's nodes) and of Baton's nodes alone (the node functions are wrapped with
  a timer before the app builds its graph) and of the checkpointer's calls (SQLite in place); the
  rest of the graph run is LangGraph's own loop.

Rounds alternate the kinds, so the machine's drift touches all alike.

    .venv/bin/python benchmarks/request_floor.py --json benchmarks/results/request_floor.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
import httpx
from bench_server import BatonServer, new_customer, say
from cpu_account import cpu_ms

from api.app import create_app
from api.auth import resolve
from api.turns import CustomerTurn
from graph import builder
from graph.inline_sqlite import InlineSqliteSaver
from graph.runner import GraphRunner
from graph.settings import Settings

POLICY = common.ROOT / "policies" / "real_estate.yaml"


async def asgi(
    app: Any, method: str, path: str, body: bytes = b"", token: str | None = None
) -> tuple[int, bytes]:
    """One request straight into the ASGI app; its status and body."""
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
    ]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the app never reads past the body: a disconnect would never come
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def per_call_us(n: int, call: Callable[[int], Awaitable[None]]) -> float:
    """This process's CPU per call of ``call(i)`` for ``i`` in ``range(n)``, in microseconds."""
    start = time.process_time()
    for i in range(n):
        await call(i)
    return (time.process_time() - start) / n * 1e6


async def in_process(requests: int, rounds: int) -> dict[str, list[float]]:
    """CPU per call of the app without a server, per kind and round."""
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            policy=POLICY,
            offline=True,
            admin_token="adm_bench",
            **common.NO_CLIENT_LIMITS,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            turns, state = app.state.turns, app.state

            async def conversations(n: int) -> list[tuple[str, str]]:
                made = []
                for _ in range(n):
                    status, body = await asgi(app, "POST", "/v1/conversations", b"{}")
                    assert status == 201, body
                    data = json.loads(body)
                    made.append((data["conversation_id"], data["customer_token"]))
                return made

            async def healthz(_: int) -> None:
                assert (await asgi(app, "GET", "/healthz"))[0] == 200

            async def unknown(_: int) -> None:
                assert (await asgi(app, "GET", "/v1/no-such-route"))[0] == 404

            async def create(_: int) -> None:
                assert (await asgi(app, "POST", "/v1/conversations", b"{}"))[0] == 201

            kinds = (("healthz", healthz), ("unknown_path_404", unknown), ("create", create))
            for _, call in kinds:
                await per_call_us(min(200, requests), call)  # warm
            await turn_pair(app, turns, state, await conversations(20), {})  # warm
            for _ in range(rounds):
                for kind, call in kinds:
                    out.setdefault(kind, []).append(await per_call_us(requests, call))
                await turn_pair(app, turns, state, await conversations(2 * (requests // 4)), out)
    return out


async def turn_pair(
    app: Any, turns: Any, state: Any, made: list[tuple[str, str]], out: dict[str, list[float]]
) -> None:
    """The "Hi" turn on each of ``made``, through the app and by the turn service in turn (alternating
    per turn: a process's turn grows dearer as it holds more conversations, and this cancels that)."""
    spent = {"app": 0.0, "service": 0.0}
    graph_before, nodes_before, saver_before = GRAPH_RUNS.spent, NODES.spent, SAVER.spent
    for i, (cid, token) in enumerate(made):
        start = time.process_time()
        if i % 2 == 0:
            status, body = await asgi(
                app, "POST", f"/v1/conversations/{cid}/messages", b'{"text":"Hi"}', token
            )
            assert status == 200, body
            spent["app"] += time.process_time() - start
        else:
            principal = await resolve(token, state.admin_token, state.store, state.supervisors)
            await turns.turn(principal, CustomerTurn(cid, ("Hi",)))
            spent["service"] += time.process_time() - start
    half = len(made) // 2
    app_us, service_us = spent["app"] / half * 1e6, spent["service"] / half * 1e6
    out.setdefault("hi_turn_through_app", []).append(app_us)
    out.setdefault("hi_turn_by_turn_service", []).append(service_us)
    out.setdefault("hi_turn_http_layer", []).append(app_us - service_us)
    # Both halves ran the graph: the timers' share per turn over all of them.
    graph_us = (GRAPH_RUNS.spent - graph_before) / len(made) * 1e6
    nodes_us = (NODES.spent - nodes_before) / len(made) * 1e6
    saver_us = (SAVER.spent - saver_before) / len(made) * 1e6
    out.setdefault("hi_turn_graph_run", []).append(graph_us)
    out.setdefault("hi_turn_baton_nodes", []).append(nodes_us)
    out.setdefault("hi_turn_checkpointer", []).append(saver_us)
    out.setdefault("hi_turn_langgraph_loop", []).append(graph_us - nodes_us - saver_us)


@dataclass
class Timer:
    """CPU of the event loop's thread spent inside the coroutines it wraps (``thread_time``: the
    analysis threads' work is not in it; a "Hi" turn hands them nothing)."""

    spent: float = 0.0

    def wrap(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(fn)  # LangGraph reads a node's signature (its ``runtime`` parameter)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.spent += time.thread_time() - start

        return timed

    def wrap_sync(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent += time.thread_time() - start

        return timed


GRAPH_RUNS, NODES, SAVER = Timer(), Timer(), Timer()
# The embedded checkpointer's calls (SQLite in place, on the loop's thread): read the head, write a
# checkpoint, write a step's writes, commit at the run's end.
SAVER_CALLS = ("get_tuple", "put", "put_writes", "run_ended")


@contextlib.contextmanager
def timed_graph() -> Iterator[None]:
    """Time every graph run and every node function of the graphs built meanwhile."""
    saved = (builder.router, builder.human_agent, dict(builder.BOTS), GraphRunner.stream)
    saver_calls = {name: getattr(InlineSqliteSaver, name) for name in SAVER_CALLS}
    builder.router = NODES.wrap(builder.router)  # type: ignore[assignment]
    builder.human_agent = NODES.wrap(builder.human_agent)  # type: ignore[assignment]
    builder.BOTS.update({name: NODES.wrap(node) for name, node in builder.BOTS.items()})
    GraphRunner.stream = GRAPH_RUNS.wrap(GraphRunner.stream)  # type: ignore[method-assign]
    for name, call in saver_calls.items():
        setattr(InlineSqliteSaver, name, SAVER.wrap_sync(call))
    try:
        yield
    finally:
        builder.router, builder.human_agent = saved[0], saved[1]
        builder.BOTS.clear()
        builder.BOTS.update(saved[2])
        GraphRunner.stream = saved[3]  # type: ignore[method-assign]
        for name, call in saver_calls.items():
            setattr(InlineSqliteSaver, name, call)


def in_process_timed(requests: int, rounds: int) -> dict[str, list[float]]:
    """:func:`in_process` with the graph's parts timed (its app builds its graph inside)."""
    with timed_graph():
        return asyncio.run(in_process(requests, rounds))


async def served(requests: int, rounds: int) -> dict[str, list[float]]:
    """Server CPU per sequential request through ``baton serve``, per kind and round."""
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = BatonServer(Path(tmp) / "data", env=common.NO_CLIENT_LIMITS_ENV).start(timeout=180)
        try:
            pids = server.pids()
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                kinds = {
                    "healthz": lambda: http.get("/healthz"),
                    "create": lambda: http.post("/v1/conversations", json={}),
                }
                for send in kinds.values():  # warm
                    for _ in range(100):
                        await send()
                for _ in range(rounds):
                    for kind, send in kinds.items():
                        before = server_cpu_ms(pids)
                        for _ in range(requests):
                            reply = await send()
                            assert reply.status_code < 300, reply.text
                        spent = server_cpu_ms(pids) - before
                        out.setdefault(kind, []).append(spent / requests * 1000)
                    out.setdefault("hi_turn", []).append(await served_turns(http, pids, requests // 4))
        finally:
            server.stop()
    return out


async def served_turns(http: httpx.AsyncClient, pids: list[int], n: int) -> float:
    """Server CPU per "Hi" turn, in microseconds, over ``n`` fresh conversations (made beforehand)."""
    made = [await new_customer(http) for _ in range(n)]
    before = server_cpu_ms(pids)
    for customer in made:
        await say(http, customer, "Hi")
    return (server_cpu_ms(pids) - before) / n * 1000


def server_cpu_ms(pids: list[int]) -> float:
    """CPU the server's processes have spent so far, in ms."""
    return sum(cpu_ms(p) for p in pids)


def spread(values: list[float]) -> str:
    """min-max of a kind's rounds, in whole microseconds."""
    return f"{min(values):.0f}-{max(values):.0f} us"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="requests per kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-process-only", action="store_true", help="skip the served part")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    report = {
        "requests": args.requests,
        "rounds": args.rounds,
        "served_us": {} if args.in_process_only else asyncio.run(served(args.requests, args.rounds)),
        "in_process_us": in_process_timed(args.requests, args.rounds),
    }
    rows = [(f"served: {k}", spread(v)) for k, v in report["served_us"].items()]
    rows += [(f"in process: {k}", spread(v)) for k, v in report["in_process_us"].items()]
    print(common.table(rows, "CPU per request (server's, or this process's in process)"))
    common.write_json(args.json, report)


if __name__ == "__main__":
    main()
