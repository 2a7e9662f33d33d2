"""Two served versions side by side under the same load at the same time: CPU per handoff.

This VM's speed drifts by a quarter within minutes (the same code gave 19.6 and 25.5 ms of CPU per
handoff in two runs of ``handoff_load.py`` four minutes apart), so runs of one server and then the
other cannot show a change of a few percent. Here both serve at once: a ``baton serve`` (embedded,
offline) from checkout A (e.g. ``git worktree add /tmp/wtA <commit>``) and one from B (this checkout
by default), each with its own agents, each sent the same batch at the same time, so a slow minute
slows both alike. A batch is ``--handoffs`` customers arriving at ``--rate`` per server: each creates
a conversation, says "Hi", asks for a person; an agent reads the brief and accepts. Then each
customer writes ``--held-messages`` more lines, paced at twice that rate, while the person holds the
conversation (the turn is recorded and the run pauses again). Server CPU (``/proc``, the process
tree, with its Postgres backends and Redis on the scaled profile) is read around each phase: ms per handoff and per held message, per round; the report gives
each side's median and B / A, and each side's turn latencies (first turn, the ask for a person, held
lines; p50 / p99). ``--a-env`` / ``--b-env KEY=VALUE`` give one side a setting of its own (one
checkout against itself with another ``BATON_*`` value); ``--first-turns banking77`` has customers
open with real messages instead of "Hi". ``--profile scaled``: each side runs two workers on a Redis
and a Postgres database of its own (the real Postgres of ``.ci/run``), and its CPU counts them too.

    git worktree add /tmp/wtA <commit> && ln -s "$PWD/.venv" /tmp/wtA/.venv
    .venv/bin/python benchmarks/served_ab.py --a /tmp/wtA --json benchmarks/results/served_ab.json
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import common
import httpx
from bench_server import BatonServer, RedisProcess, drop_postgres
from cpu_account import CpuAccount, Snapshot
from handoff_load import FIRST_TURNS
from load_actors import ADMIN, TRIGGER, FirstTurns, Stats, paced, post_turn, register_agents
from load_server import server_env

HELD_TEXT = "Thanks, I'll wait. Is there anything else you need from me?"


class Side:
    """One served checkout, its agents and what its batches cost."""

    def __init__(
        self, name: str, root: Path, tmp: Path, env: dict[str, str], first: FirstTurns, profile: str
    ) -> None:
        self.name = name
        self.root = root
        self.env = env
        self.first = first
        self.tmp = tmp / name
        self.profile = profile
        self.redis: RedisProcess | None = None
        self.server: BatonServer | None = None
        self.account: CpuAccount | None = None
        self.stats = Stats()
        self.turn_ms: dict[str, list[float]] = {"first": [], "trigger": [], "held": []}
        self.http: httpx.AsyncClient | None = None
        self.agent_tasks: list[asyncio.Task[None]] = []
        self.handoff_ms: list[float] = []
        self.held_ms: list[float] = []

    def snapshot(self) -> Snapshot:
        """CPU of every process serving this side (workers, and its Postgres backends and Redis)."""
        assert self.account is not None
        return self.account.snapshot()

    @staticmethod
    def spent(before: Snapshot, after: Snapshot) -> float:
        return sum(CpuAccount.spent(before, after)[0].values())

    async def open(self, agents: int) -> None:
        """Start the side's server (the scaled profile: its own Redis and Postgres database too)."""
        if self.profile == "scaled":  # its own Redis and database, so their CPU is this side's alone
            self.redis = RedisProcess(self.tmp / "redis", appendonly=False).start()
        profile_env, workers = server_env(self.profile, self.redis.url if self.redis else "")
        env = {**profile_env, **self.env}
        self.server = BatonServer(
            self.tmp / "data", admin_token=ADMIN, workers=workers, env=env, root=self.root
        )
        self.server.start(timeout=240)
        assert self.server.proc is not None
        redis_pid = self.redis.proc.pid if self.redis and self.redis.proc else None
        self.account = CpuAccount(
            [self.server.proc.pid], postgres_url=env.get("BATON_CHECKPOINT_URL"), redis_pid=redis_pid
        )
        self.http = httpx.AsyncClient(base_url=self.server.url, timeout=60)
        _, self.agent_tasks = await register_agents(self.http, self.stats, agents, self.server.ws_url)

    async def close(self) -> None:
        for task in self.agent_tasks:
            task.cancel()
        if self.http is not None:
            await self.http.aclose()
        if self.server is not None:
            self.server.stop()
            if "BATON_CHECKPOINT_URL" in self.server.extra_env:
                drop_postgres(self.server.extra_env["BATON_CHECKPOINT_URL"])
        if self.redis is not None:
            self.redis.kill()

    async def batch(self, handoffs: int, rate: float, held: int) -> None:
        """``handoffs`` customers to a person, then ``held`` lines each while the person holds them."""
        assert self.http is not None
        before = self.snapshot()
        customers = [c for c in await paced((self._customer for _ in range(handoffs)), rate) if c is not None]
        middle = self.snapshot()
        lines = (
            partial(self._say, cid, auth, HELD_TEXT, "held") for _ in range(held) for cid, auth in customers
        )
        await paced(lines, 2 * rate)
        after = self.snapshot()
        self.handoff_ms.append(self.spent(before, middle) / max(1, len(customers)))
        if held:
            self.held_ms.append(self.spent(middle, after) / max(1, len(customers) * held))

    async def _customer(self) -> tuple[str, dict[str, str]] | None:
        """Create, "Hi", ask for a person, wait until an agent accepted; the conversation and its auth."""
        assert self.http is not None
        created = await self.http.post("/v1/conversations", json={})
        if created.status_code != 201:
            self.stats.error(f"create {created.status_code}")
            return None
        body = created.json()
        cid, auth = body["conversation_id"], {"Authorization": f"Bearer {body['customer_token']}"}
        for text, kind in ((self.first.next(), "first"), (TRIGGER, "trigger")):
            if not await self._say(cid, auth, text, kind):
                return None
        deadline = time.perf_counter() + 30
        while cid not in self.stats.accepted:
            if time.perf_counter() > deadline:
                self.stats.error("not accepted within 30 s")
                return None
            await asyncio.sleep(0.02)
        return cid, auth

    async def _say(self, cid: str, auth: dict[str, str], text: str, kind: str) -> bool:
        assert self.http is not None
        started = time.perf_counter()
        reply = await post_turn(self.http, self.stats, cid, auth, text, timeout=30)  # a 503 is sent again
        self.turn_ms[kind].append((time.perf_counter() - started) * 1000)
        if reply.status_code != 200:
            self.stats.error(f"turn {reply.status_code}: {reply.text[:120]}")
        return reply.status_code == 200

    def report(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "cpu_ms_per_handoff": [round(v, 2) for v in self.handoff_ms],
            "cpu_ms_per_held_message": [round(v, 2) for v in self.held_ms],
            "median_cpu_ms_per_handoff": _median(self.handoff_ms),
            "median_cpu_ms_per_held_message": _median(self.held_ms),
            "env": self.env,
            "turn_ms": {
                kind: {"p50": common.r(common.pct(v, 50)), "p99": common.r(common.pct(v, 99)), "n": len(v)}
                for kind, v in self.turn_ms.items()
            },
            "errors": self.stats.error_count,
            "error_kinds": sorted(set(self.stats.errors))[:10],
        }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _env(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict."""
    return dict(pair.split("=", 1) for pair in pairs)


def _ratio(b: float | None, a: float | None) -> float | None:
    return round(b / a, 3) if a and b else None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="baton-served-ab-") as tmp:
        sides = [
            Side(name, root.resolve(), Path(tmp), _env(env), FIRST_TURNS[args.first_turns](), args.profile)
            for name, root, env in (("A", args.a, args.a_env), ("B", args.b, args.b_env))
        ]
        try:
            for side in sides:
                await side.open(args.agents)
            # warm-up: the first handoffs load the tokenizer and fill the caches
            await asyncio.gather(
                *(side.batch(min(10, args.handoffs), args.rate, args.held_messages) for side in sides)
            )
            for side in sides:
                side.handoff_ms.clear()
                side.held_ms.clear()
                for kept in side.turn_ms.values():
                    kept.clear()
            for n in range(args.rounds):
                await asyncio.gather(
                    *(side.batch(args.handoffs, args.rate, args.held_messages) for side in sides)
                )
                print(
                    f"round {n + 1}: "
                    + "; ".join(
                        f"{side.name} {side.handoff_ms[-1]:.2f} ms per handoff"
                        + (f", {side.held_ms[-1]:.2f} per held message" if side.held_ms else "")
                        for side in sides
                    ),
                    flush=True,
                )
        finally:
            for side in sides:
                await side.close()
    a, b = (side.report() for side in sides)
    return {
        "handoffs_per_batch": args.handoffs,
        "rate": args.rate,
        "held_messages": args.held_messages,
        "rounds": args.rounds,
        "profile": args.profile,
        "A": a,
        "B": b,
        "ratio_b_over_a_per_handoff": _ratio(b["median_cpu_ms_per_handoff"], a["median_cpu_ms_per_handoff"]),
        "ratio_b_over_a_per_held_message": _ratio(
            b["median_cpu_ms_per_held_message"], a["median_cpu_ms_per_held_message"]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--a", type=Path, default=common.ROOT, help="checkout A (e.g. a git worktree; default: this one)"
    )
    parser.add_argument("--b", type=Path, default=common.ROOT, help="checkout B (default: this one)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--handoffs", type=int, default=60, help="handoffs per batch")
    parser.add_argument("--rate", type=float, default=20.0, help="customers per second in a batch")
    parser.add_argument("--held-messages", type=int, default=2, help="lines per customer once held")
    parser.add_argument("--agents", type=int, default=40, help="agents per server")
    parser.add_argument(
        "--a-env", action="append", default=[], metavar="KEY=VALUE", help="server A's environment"
    )
    parser.add_argument(
        "--b-env", action="append", default=[], metavar="KEY=VALUE", help="server B's environment"
    )
    parser.add_argument(
        "--first-turns", choices=sorted(FIRST_TURNS), default="hi", help="what customers say first"
    )
    parser.add_argument(
        "--profile",
        choices=("embedded", "scaled"),
        default="embedded",
        help="scaled: each side 2 workers, its own Redis and Postgres database (the real Postgres of .ci/run)",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    rows = [
        ("A", args.a),
        ("B", args.b),
        ("A: median CPU ms per handoff", report["A"]["median_cpu_ms_per_handoff"]),
        ("B: median CPU ms per handoff", report["B"]["median_cpu_ms_per_handoff"]),
        ("B / A per handoff", report["ratio_b_over_a_per_handoff"]),
        ("A: median CPU ms per held message", report["A"]["median_cpu_ms_per_held_message"]),
        ("B: median CPU ms per held message", report["B"]["median_cpu_ms_per_held_message"]),
        ("B / A per held message", report["ratio_b_over_a_per_held_message"]),
        *(
            (f"{side}: {kind} turn p50 / p99 ms", (t["p50"], t["p99"]))
            for side in "AB"
            for kind, t in report[side]["turn_ms"].items()
        ),
        ("errors (A, B)", (report["A"]["errors"], report["B"]["errors"])),
    ]
    print(common.table(rows, "served_ab"))
    common.write_json(args.json, report)


if __name__ == "__main__":
    main()
