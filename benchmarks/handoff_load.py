"""Handoff load: N simulated customers reach a human agent over real HTTP and WebSockets.

Starts its own ``baton serve`` (temp data dir, free port) unless ``--url`` is given. M agents are
registered through the admin API, follow their WebSocket, fetch each offered handoff's brief
(``GET /v1/handoffs/{id}``) and accept it. Customers arrive at ``--rate`` new handoffs per second;
each says "Hi" (``--first-turns banking77``: a real customer message each, from
``../shared/datasets/routing_dev.jsonl``, so the language layer reads text it has not cached), then
asks for a person (the real_estate policy's explicit-request rule) and stays open (the agent writes
``--agent-replies`` messages once accepted and, with ``--complete``, closes it with a note, as a
resolved case). Then
``--live-pairs`` customers open their WebSocket and send messages that the holding agent
must receive (relay latency). Optionally (``--search``) batches at increasing rates find the highest
rate whose trigger -> offered p99 stays <= 100 ms.

Measured (client clock, one process, so every latency is one ``perf_counter`` difference):

* ``offered``: customer's trigger POST sent -> the agent's socket delivers the ``offer`` event.
* ``brief``: trigger POST sent -> the agent's ``GET /v1/handoffs/{id}`` returned the brief.
* ``turn``: trigger POST sent -> its response (the turn is checkpointed before it returns).
* ``shed``: turns refused with 503 (the server at ``BATON_MAX_CONCURRENT_TURNS``) and sent again
  after ``Retry-After``; the latencies above start at the first attempt, so retries count.
* ``relay``: customer sends ``customer_message`` on its socket -> the agent's socket delivers it;
  split at the event's server timestamp (``ts``, stamped when the turn that recorded the message is
  done) into ``relay_recorded`` (send -> recorded) and ``relay_delivered`` (recorded -> the agent's
  socket). ``client_loop_lag``: how late the client's own loop wakes a 5 ms sleep during the relay
  phase, a delay inside every relay figure.

The client shares the 2 cores with the server: its own event-loop delay is inside every figure.

    .venv/bin/python benchmarks/handoff_load.py --conversations 1000 --agents 40 --rate 100 \\
        --json benchmarks/results/load_1000.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
import httpx
from bench_server import BatonServer, RedisProcess, drop_postgres
from cpu_account import SQLCOUNT_DIR, CpuAccount
from load_actors import ADMIN, MAX_CONCURRENT, Agent, FirstTurns, Stats, arrivals, register_agents, relay
from load_server import latency_delta, sample_rss, server_env, server_gc, server_latency, tree_rss_mb


def summary(stats: Stats, n: int) -> dict[str, Any]:
    """Latency percentiles of one phase."""
    offered = list(stats.offered_ms.values())
    return {
        "handoffs_offered": len(offered),
        "offered_ms_p50": common.r(common.pct(offered, 50)),
        "offered_ms_p95": common.r(common.pct(offered, 95)),
        "offered_ms_p99": common.r(common.pct(offered, 99)),
        "brief_ms_p50": common.r(common.pct(stats.brief_ms, 50)),
        "brief_ms_p99": common.r(common.pct(stats.brief_ms, 99)),
        "turn_ms_p50": common.r(common.pct(stats.turn_ms, 50)),
        "turn_ms_p99": common.r(common.pct(stats.turn_ms, 99)),
        "shed": stats.shed,
    }


# What customers say first: "Hi" (the language layer reads it once, then serves it from its caches),
# or Banking77's customer messages (routing_dev.jsonl), which it reads afresh for each customer.
FIRST_TURNS: dict[str, Callable[[], FirstTurns]] = {
    "hi": FirstTurns,
    "banking77": lambda: FirstTurns.from_dataset(
        common.ROOT.parent / "shared" / "datasets" / "routing_dev.jsonl"
    ),
}


async def search(
    http: httpx.AsyncClient | list[httpx.AsyncClient],
    agents: list[Agent],
    rates: list[float],
    batch: int,
    timeout: float,
    account: CpuAccount | None,
    first: FirstTurns,
) -> tuple[float | None, list[dict[str, Any]]]:
    """Batches at increasing rates; the highest whose offered p99 <= 100 ms (stops at the first miss)."""
    best, rows = None, []
    for rate in rates:
        stats = Stats()
        for agent in agents:
            agent.stats = stats
        before = account.snapshot() if account else None
        await arrivals(http, stats, batch, rate, timeout, first)
        await asyncio.sleep(1.0)  # the last accepts
        cpu = account.report(before, account.snapshot(), len(stats.offered_ms)) if account and before else {}
        row = {"rate": rate, "errors": stats.error_count, **summary(stats, batch), **cpu}
        rows.append(row)
        print(
            f"  search rate {rate:>6.1f}/s: offered p99 {row['offered_ms_p99']} ms, "
            f"errors {row['errors']}, shed {row['shed']}, cpu/handoff {row.get('cpu_ms_per_handoff')} ms"
        )
        p99 = row["offered_ms_p99"]
        if p99 is None or p99 > 100 or stats.errors:  # shed turns count: latency includes the retry
            break
        best = rate
    return best, rows


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark; returns the JSON report."""
    first = FIRST_TURNS[args.first_turns]()  # before any server starts: a missing dataset leaks nothing
    server: BatonServer | None = None
    redis_proc: RedisProcess | None = None
    account: CpuAccount | None = None
    base = args.url
    pids: list[int] = []
    if base is None:
        tmp = Path(tempfile.mkdtemp(prefix="baton-load-"))
        redis_url = args.redis_url
        if args.profile == "scaled" and not redis_url:  # our own, so its CPU and commands are ours alone
            redis_proc = RedisProcess(tmp / "redis", appendonly=False).start()
            redis_url = redis_proc.url
        env, workers = server_env(args.profile, redis_url or "", args.workers)
        sql_dir = tmp / "sqlcount"
        sql_dir.mkdir()
        path = os.environ.get("PYTHONPATH", "")
        env.update({"BATON_BENCH_SQL_DIR": str(sql_dir), "PYTHONPATH": f"{SQLCOUNT_DIR}:{path}".rstrip(":")})
        serve_args = ("--shared-socket",) * args.shared_socket + ("--no-access-log",) * args.no_access_log
        server = BatonServer(tmp / "data", admin_token=ADMIN, workers=workers, env=env, serve_args=serve_args)
        print(f"starting baton serve ({args.profile}, {workers} worker(s)) in {tmp}")
        try:
            await asyncio.to_thread(server.start, 300)
        except BaseException:  # nothing of ours outlives a failed start
            await asyncio.to_thread(server.stop)
            if redis_proc is not None:
                redis_proc.kill()
            if "BATON_CHECKPOINT_URL" in env:
                drop_postgres(env["BATON_CHECKPOINT_URL"])
            raise
        base, pids = server.url, [server.proc.pid] if server.proc else []
        account = CpuAccount(
            pids,
            postgres_url=env.get("BATON_CHECKPOINT_URL"),
            redis_pid=redis_proc.proc.pid if redis_proc and redis_proc.proc else None,
            redis_url=redis_url or None,
            sql_dir=sql_dir,
        )
    ws_base = base.replace("http", "ws", 1)
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    stats = Stats()
    cpu: dict[str, Any] = {}
    gc_stats: dict[str, float] = {}
    peak, stop = [0.0], asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pids, peak, stop))
    agent_tasks: list[asyncio.Task[None]] = []
    extra: list[httpx.AsyncClient] = []  # more customer pools (--customer-pools)
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=args.timeout) as http:
            needed = args.conversations + args.warmup + (len(args.rates) * args.batch if args.search else 0)
            n_agents = max(args.agents, math.ceil(needed / MAX_CONCURRENT))
            if n_agents != args.agents:
                print(f"raising agents to {n_agents} so {needed} handoffs fit ({MAX_CONCURRENT} each)")
            extra = [
                httpx.AsyncClient(base_url=base, limits=limits, timeout=args.timeout)
                for _ in range(args.customer_pools - 1)
            ]
            customers = [http, *extra]
            agents, agent_tasks = await register_agents(
                customers, stats, n_agents, ws_base, args.complete, args.agent_replies
            )
            print(f"{n_agents} agents online; warming up with {args.warmup} handoffs")
            warm = Stats()
            for agent in agents:  # agents report into the running phase's stats
                agent.stats = warm
            await arrivals(http, warm, args.warmup, 5, args.timeout)
            for agent in agents:
                agent.stats = stats
            rss_before = tree_rss_mb(pids)
            print(f"measuring: {args.conversations} handoffs at {args.rate}/s")
            scrape = await server_latency(http)
            cpu_before = account.snapshot() if account else None
            t0 = time.perf_counter()
            open_pairs = await arrivals(customers, stats, args.conversations, args.rate, args.timeout, first)
            elapsed = time.perf_counter() - t0
            await asyncio.sleep(2.0)  # let the last accepts land
            if account and cpu_before:
                cpu = account.report(cpu_before, account.snapshot(), len(stats.offered_ms))
            server_ms = latency_delta(scrape, await server_latency(http))
            if account and args.idle_s > 0:
                # what serving costs with nothing happening: held handoffs, agents' sockets, timers
                idle_before = account.snapshot()
                await asyncio.sleep(args.idle_s)
                spent, _ = account.spent(idle_before, account.snapshot())
                cpu["idle_cpu_ms_per_s"] = {g: round(v / args.idle_s, 2) for g, v in spent.items()}
            rss_hold = tree_rss_mb(pids)
            held = len(stats.accepted)
            phase = summary(stats, args.conversations)
            pairs = [p for p in open_pairs if p.split()[0] in stats.accepted][: args.live_pairs]
            print(f"relay: {len(pairs)} live pairs x {args.relay_messages} messages at {args.relay_rate}/s")
            await relay(ws_base, stats, pairs, args.relay_messages, args.relay_rate)
            gc_stats = await server_gc(http)
            best: float | None = None
            rows: list[dict[str, Any]] = []
            if args.search:
                print(f"search: batches of {args.batch} at {args.rates}")
                best, rows = await search(
                    customers, agents, args.rates, args.batch, args.timeout, account, first
                )
    finally:
        for client in extra:
            await client.aclose()
        stop.set()
        await sampler
        for task in agent_tasks:
            task.cancel()
        if server is not None:
            await asyncio.to_thread(server.stop)
            if "BATON_CHECKPOINT_URL" in server.extra_env:
                drop_postgres(server.extra_env["BATON_CHECKPOINT_URL"])
        if redis_proc is not None:
            redis_proc.kill()
    report: dict[str, Any] = {
        "profile": args.profile if args.url is None else "external",
        "workers": server.workers if server is not None else None,
        "conversations": args.conversations,
        "agents": n_agents,
        "rate": args.rate,
        "held_open": held,
        "first_turns": args.first_turns,
        "customer_pools": args.customer_pools,
        "first_turns_distinct": first.distinct,
        "first_turn_handoffs": stats.first_turn_handoffs,
        "completed": stats.completed,
        "agent_replies": stats.replies,
        "errors": stats.error_count,
        "error_kinds": sorted({e.split(" on handoff")[0][:80] for e in stats.errors})[:20],
        **phase,
        **cpu,
        "turns_per_s": common.r(stats.turns / elapsed if elapsed else None),
        "handoffs_per_s": common.r(len(stats.offered_ms) / elapsed if elapsed else None),
        "relay_pairs": len(pairs),
        "relay_messages": len(stats.relay_ms),
        "relay_ms_p50": common.r(common.pct(stats.relay_ms, 50)),
        "relay_ms_p99": common.r(common.pct(stats.relay_ms, 99)),
        "relay_recorded_ms_p50": common.r(common.pct(stats.relay_recorded_ms, 50)),
        "relay_recorded_ms_p99": common.r(common.pct(stats.relay_recorded_ms, 99)),
        "relay_delivered_ms_p50": common.r(common.pct(stats.relay_delivered_ms, 50)),
        "relay_delivered_ms_p99": common.r(common.pct(stats.relay_delivered_ms, 99)),
        "client_loop_lag_ms_p50": common.r(common.pct(stats.client_lag_ms, 50)),
        "client_loop_lag_ms_p99": common.r(common.pct(stats.client_lag_ms, 99)),
        "client_loop_lag_ms_max": common.r(max(stats.client_lag_ms, default=0.0)),
        "rss_mb_before": common.r(rss_before, 1) if pids else None,
        "rss_mb_held": common.r(rss_hold, 1) if pids else None,
        "rss_mb_peak": common.r(peak[0], 1) if pids else None,
        "kb_per_conversation": common.r((rss_hold - rss_before) * 1024 / max(held, 1), 1) if pids else None,
        "max_rate_p99_100ms": best,
        **gc_stats,
        "server_mean_ms_by_route": server_ms,
        "search": rows,
    }
    return report


def parse() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conversations", type=int, default=1000, help="handoffs to create and hold open")
    p.add_argument("--agents", type=int, default=20, help="agents (raised so every handoff fits)")
    p.add_argument("--rate", type=float, default=100.0, help="new handoffs per second")
    p.add_argument("--profile", choices=["embedded", "scaled"], default="embedded")
    p.add_argument("--url", default=None, help="target an already running server (127.0.0.1 only)")
    p.add_argument("--json", default=None, help="write the report here")
    p.add_argument("--live-pairs", type=int, default=1000, help="customer sockets in the relay phase")
    p.add_argument("--relay-messages", type=int, default=3, help="messages per live pair")
    p.add_argument("--relay-rate", type=float, default=50.0, help="relay messages per second overall")
    p.add_argument("--search", action="store_true", help="search max rate with offered p99 <= 100 ms")
    p.add_argument(
        "--rates", type=lambda s: [float(x) for x in s.split(",")], default=[10, 20, 40, 60, 80, 100]
    )
    p.add_argument("--batch", type=int, default=200, help="handoffs per search batch")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--idle-s", type=float, default=10.0, help="seconds of idle CPU measured after the phase")
    p.add_argument(
        "--first-turns",
        choices=sorted(FIRST_TURNS),
        default="hi",
        help="each customer's first message: 'Hi' (cached after the first), or Banking77's (1,001 distinct)",
    )
    p.add_argument(
        "--complete",
        action="store_true",
        help="agents close each handoff with a note once accepted: the service remembers it as a"
        " resolved case, and later briefs look for similar ones (nothing is held; no relay)",
    )
    p.add_argument(
        "--agent-replies", type=int, default=0, help="messages each agent writes to a customer once accepted"
    )
    p.add_argument("--connections", type=int, default=200, help="HTTP connection pool size")
    p.add_argument("--timeout", type=float, default=60.0, help="per request / per offer timeout (s)")
    p.add_argument(
        "--customer-pools",
        type=int,
        default=1,
        help="HTTP clients the customers (and the agents' brief reads and accepts) take turns on (1: one"
        " pool, whose first idle connection carries most turns; more: connections of their own, as"
        " browsers and consoles have)",
    )
    p.add_argument(
        "--shared-socket",
        action="store_true",
        help="scaled: the workers share uvicorn's one socket instead of a SO_REUSEPORT socket each",
    )
    p.add_argument("--no-access-log", action="store_true", help="serve with `baton serve --no-access-log`")
    p.add_argument(
        "--workers", type=int, default=2, help="scaled: worker processes (embedded always has one)"
    )
    p.add_argument(
        "--redis-url", default=None, help="scaled profile's Redis (default: a redis-server of its own)"
    )
    args = p.parse_args()
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        p.error("--url must point at this machine (127.0.0.1 / localhost)")
    return args


if __name__ == "__main__":
    options = parse()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    result = asyncio.run(main(options))
    skip = {"search", "error_kinds", "server_mean_ms_by_route"}
    print(common.table(((k, v) for k, v in result.items() if k not in skip), "handoff_load"))
    print("server-side mean ms by route (one worker):", result["server_mean_ms_by_route"])
    if result["error_kinds"]:
        print("errors:", result["error_kinds"])
    common.write_json(options.json, result)
