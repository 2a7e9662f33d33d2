"""Baton against LangGraph's own server on the same human-in-the-loop cycle, through the official SDK.

Starts ``baton serve`` (one worker, SQLite by default, ``--baton-checkpointer memory`` for the
in-memory saver) and ``langgraph dev`` (langgraph-api, in-memory runtime) serving
``benchmarks/peer_graph.py`` (router -> bot | human interrupt, Baton's shape), then drives both with
``langgraph_sdk`` at each ``--concurrency``. One cycle is:

1. ``threads.create``  2. ``runs.wait`` "Hi" (bot turn)  3. ``runs.wait`` asking for a person (the run
ends at the human interrupt)  4. Baton only: the desk's offer is read (``GET /v1/handoffs/{id}``) and
accepted by the offered agent (the peer has no desk)  5. ``runs.wait(command={"resume": reply})`` as
the agent  6. ``threads.get_state``.

Runs are interleaved (round r: for each concurrency, Baton then the peer, the order flipped every
round) so drift in the machine's load hits both. CPU per cycle is ``utime + stime`` of each server's
process tree (``/proc``) over its runs, divided by the cycles: it does not depend on the load.

Nothing is installed at run time: the peer needs ``langgraph-cli[inmem]`` (the ``peer`` extra of
pyproject.toml), which pins other versions of protobuf and grpcio than Baton's venv, so it lives in a
venv of its own:

    python3 -m venv .venv-peer && .venv-peer/bin/pip install 'langgraph-cli[inmem]==0.4.40' 'langgraph-api==0.16.7'
    .venv/bin/python benchmarks/peer_langgraph_api.py --cycles 200 --rounds 2 --json benchmarks/results/peer_langgraph_api.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import httpx
from bench_server import BatonServer, free_port, rss_kb, tree_pids
from cpu_account import cpu_ms
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

ADMIN = "adm_peer_bench"
TRIGGER = "Can I talk to a real person please?"
REPLY = {"type": "reply", "text": "Hi, I'm Maria. I'll take it from here."}
HERE = Path(__file__).resolve().parent


@dataclass
class Side:
    """One server under test and what was measured on it."""

    name: str
    url: str
    root_pid: int
    assistant: str
    ops: dict[str, list[float]] = field(default_factory=dict)
    cpu_ms: dict[int, float] = field(default_factory=dict)  # concurrency -> CPU ms over its runs
    cycles: dict[int, int] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def cpu(self) -> float:
        return sum(cpu_ms(p) for p in tree_pids(self.root_pid))

    def rss_mb(self) -> float:
        return sum(rss_kb(p) for p in tree_pids(self.root_pid)) / 1024


async def timed(side: Side, op: str, call: Awaitable[Any]) -> Any:
    """Await ``call`` and record its latency under ``op``."""
    t0 = time.perf_counter()
    out = await call
    side.ops.setdefault(op, []).append((time.perf_counter() - t0) * 1000)
    return out


def message(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


class Baton:
    """Baton's cycle: the SDK against its LangGraph-compatible API, plus the desk's accept."""

    def __init__(self, side: Side, agents: dict[str, str]) -> None:
        self.side = side
        self.admin = get_client(url=side.url, api_key=ADMIN)
        self.agents = {aid: get_client(url=side.url, api_key=tok) for aid, tok in agents.items()}
        self.tokens = agents
        self.http = httpx.AsyncClient(base_url=side.url, timeout=60)

    async def offered_to(self, handoff_id: str) -> str:
        """The agent the desk offered ``handoff_id`` to (the offer follows the interrupt)."""
        for _ in range(500):
            r = await self.http.get(
                f"/v1/handoffs/{handoff_id}", headers={"Authorization": f"Bearer {ADMIN}"}
            )
            body = r.json()
            agent = (body.get("handoff") or body).get("offered_agent_id")
            if agent:
                return str(agent)
            await asyncio.sleep(0.01)
        msg = f"handoff {handoff_id} was never offered"
        raise RuntimeError(msg)

    async def accept(self, handoff_id: str) -> str:
        agent = await self.offered_to(handoff_id)
        auth = {"Authorization": f"Bearer {self.tokens[agent]}"}
        r = await self.http.post(f"/v1/handoffs/{handoff_id}/accept", headers=auth)
        if r.status_code != 200:
            msg = f"accept {r.status_code}: {r.text[:200]}"
            raise RuntimeError(msg)
        return agent

    async def cycle(self) -> None:
        s, a = self.side, self.admin
        thread = await timed(s, "create_thread", a.threads.create())
        tid = thread["thread_id"]
        await timed(s, "bot_turn", a.runs.wait(tid, s.assistant, input=message("Hi")))
        out = await timed(s, "human_request", a.runs.wait(tid, s.assistant, input=message(TRIGGER)))
        handoff_id = out["__interrupt__"][0]["value"]["handoff_id"]
        agent = await timed(s, "desk_accept", self.accept(handoff_id))
        await timed(s, "resume", self.agents[agent].runs.wait(tid, s.assistant, command={"resume": REPLY}))
        state = await timed(s, "get_state", a.threads.get_state(tid))
        if state["next"] != ["human_agent"]:
            msg = f"baton thread {tid} not waiting for the human after the reply: {state['next']}"
            raise RuntimeError(msg)


class Peer:
    """The same cycle against ``langgraph dev``."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self.client: LangGraphClient = get_client(url=side.url, api_key=None)

    async def cycle(self) -> None:
        s, c = self.side, self.client
        thread = await timed(s, "create_thread", c.threads.create())
        tid = thread["thread_id"]
        await timed(s, "bot_turn", c.runs.wait(tid, s.assistant, input=message("Hi")))
        out = await timed(s, "human_request", c.runs.wait(tid, s.assistant, input=message(TRIGGER)))
        if "__interrupt__" not in out:
            msg = f"peer thread {tid} did not pause for the human"
            raise RuntimeError(msg)
        await timed(s, "resume", c.runs.wait(tid, s.assistant, command={"resume": REPLY}))
        state = await timed(s, "get_state", c.threads.get_state(tid))
        if state["next"] != ["human"]:
            msg = f"peer thread {tid} not waiting for the human after the reply: {state['next']}"
            raise RuntimeError(msg)


async def run(side: Side, cycle: Callable[[], Awaitable[None]], n: int, concurrency: int) -> None:
    """``n`` cycles, ``concurrency`` at a time; CPU and wall time go to ``side`` under ``concurrency``."""
    todo = iter(range(n))
    done = [0]

    async def worker() -> None:
        for _ in todo:
            try:
                await cycle()
                done[0] += 1
            except Exception as exc:  # every failure is counted and reported
                side.errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")

    cpu0, t0 = side.cpu(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    side.seconds[concurrency] = side.seconds.get(concurrency, 0.0) + time.perf_counter() - t0
    side.cpu_ms[concurrency] = side.cpu_ms.get(concurrency, 0.0) + side.cpu() - cpu0
    side.cycles[concurrency] = side.cycles.get(concurrency, 0) + done[0]


def start_peer(tmp: Path, langgraph_bin: str, port: int) -> subprocess.Popen[bytes]:
    """``langgraph dev`` (in-memory runtime) on ``port`` serving ``peer_graph.py`` as ``peer``."""
    app = tmp / "peer"
    app.mkdir()
    shutil.copy(HERE / "peer_graph.py", app / "peer_graph.py")
    (app / "langgraph.json").write_text(
        '{"dependencies": ["."], "graphs": {"peer": "./peer_graph.py:graph"}}'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH", "LANGCHAIN", "OPENAI"))}
    env.update({"LANGSMITH_TRACING": "false", "LANGGRAPH_CLI_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"})
    cmd = [langgraph_bin, "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload"]
    log = (tmp / "peer.log").open("ab")
    proc = subprocess.Popen(
        cmd, cwd=app, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"langgraph dev exited {proc.returncode}: {(tmp / 'peer.log').read_text()[-2000:]}"
            raise RuntimeError(msg)
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ok", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    msg = f"langgraph dev not ready: {(tmp / 'peer.log').read_text()[-2000:]}"
    raise TimeoutError(msg)


def register_agents(url: str, n: int) -> dict[str, str]:
    """``n`` online agents with every skill the policy asks for; ``{agent_id: token}``."""
    out = {}
    for i in range(n):
        body = {
            "id": f"agent-{i}-{uuid.uuid4().hex[:4]}",
            "name": f"Agent {i}",
            "skills": ["real_estate", "empathy", "legal", "luxury"],
            "max_concurrent": 50,
            "status": "online",
        }
        r = httpx.post(
            f"{url}/v1/agents", json=body, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
        )
        r.raise_for_status()
        out[r.json()["agent_id"]] = r.json()["agent_token"]
    return out


def side_report(side: Side) -> dict[str, Any]:
    """Per-operation p50/p99, cycles/s and CPU per cycle by concurrency."""
    ops = {
        op: {"p50_ms": common.r(common.pct(v, 50)), "p99_ms": common.r(common.pct(v, 99)), "n": len(v)}
        for op, v in side.ops.items()
    }
    by_c = {
        f"c{c}": {
            "cycles": side.cycles[c],
            "cycles_per_s": common.r(side.cycles[c] / side.seconds[c]) if side.seconds[c] else None,
            "cpu_ms_per_cycle": common.r(side.cpu_ms[c] / max(side.cycles[c], 1)),
        }
        for c in side.cycles
    }
    return {
        "ops": ops,
        "by_concurrency": by_c,
        "errors": len(side.errors),
        "error_kinds": sorted(set(side.errors))[:5],
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Start both servers, run the interleaved rounds, report."""
    tmp = Path(tempfile.mkdtemp(prefix="baton-peer-"))
    # The agents send no heartbeats (the peer has no desk to keep alive), so they stay fresh for the run.
    desk_yaml = tmp / "desk.yaml"
    desk_yaml.write_text("heartbeat_ttl_s: 86400\n")
    env = {
        "BATON_RATE_LIMIT_PER_MINUTE": "1000000",
        **common.NO_CLIENT_LIMITS_ENV,
        "BATON_MAX_CONCURRENT_TURNS": "64",
        "BATON_DESK_CONFIG": str(desk_yaml),
    }
    if args.baton_checkpointer == "memory":
        env["BATON_CHECKPOINT_URL"] = "memory"
    server = BatonServer(tmp / "data", admin_token=ADMIN, env=env)
    peer_proc: subprocess.Popen[bytes] | None = None
    report: dict[str, Any] = {}
    # Both servers run in sessions of their own: stopped with this script (kill, hang-up), the run is
    # cancelled so the ``finally`` below stops them rather than leaving them serving.
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGHUP):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    try:
        await asyncio.to_thread(server.start, 180)
        peer_port = free_port()
        peer_proc = await asyncio.to_thread(start_peer, tmp, args.langgraph, peer_port)
        assert server.proc is not None
        baton_side = Side("baton", server.url, server.proc.pid, "baton")
        peer_side = Side("peer", f"http://127.0.0.1:{peer_port}", peer_proc.pid, "peer")
        rss_start = {"baton": baton_side.rss_mb(), "peer": peer_side.rss_mb()}
        total = (args.warmup + args.cycles * args.rounds * len(args.concurrency)) * 1.2
        agents = await asyncio.to_thread(register_agents, server.url, math.ceil(total / 50) + 1)
        baton, peer = Baton(baton_side, agents), Peer(peer_side)
        print(
            f"baton {server.url} (pid {server.proc.pid}), peer {peer_side.url} (pid {peer_proc.pid}), {len(agents)} agents"
        )
        for side, runner in ((baton_side, baton.cycle), (peer_side, peer.cycle)):  # warm-up, not counted
            await run(side, runner, args.warmup, 4)
            side.ops.clear()
            side.cpu_ms.clear()
            side.cycles.clear()
            side.seconds.clear()
        for rnd in range(args.rounds):
            for c in args.concurrency:
                order = [(baton_side, baton.cycle), (peer_side, peer.cycle)]
                for side, runner in order if rnd % 2 == 0 else order[::-1]:
                    await run(side, runner, args.cycles, c)
                    got = side.cycles[c]
                    print(
                        f"round {rnd + 1} C={c:>3} {side.name:>5}: {got / side.seconds[c]:.1f} cycles/s so far, "
                        f"{side.cpu_ms[c] / max(got, 1):.1f} CPU-ms/cycle, {len(side.errors)} errors"
                    )
        rss_end = {"baton": baton_side.rss_mb(), "peer": peer_side.rss_mb()}
        b_cpu, b_n = sum(baton_side.cpu_ms.values()), sum(baton_side.cycles.values())
        p_cpu, p_n = sum(peer_side.cpu_ms.values()), sum(peer_side.cycles.values())
        b, p = b_cpu / max(b_n, 1), p_cpu / max(p_n, 1)
        report = {
            "baton_checkpointer": args.baton_checkpointer,
            "cycles_per_run": args.cycles,
            "rounds": args.rounds,
            "concurrency": args.concurrency,
            "baton_cpu_ms_per_cycle": common.r(b),
            "peer_cpu_ms_per_cycle": common.r(p),
            "cpu_ratio": common.r(b / p if p else None),
            "cpu_ratio_by_concurrency": {
                f"c{c}": common.r(
                    (baton_side.cpu_ms[c] / max(baton_side.cycles[c], 1))
                    / max(peer_side.cpu_ms[c] / max(peer_side.cycles[c], 1), 1e-9)
                )
                for c in args.concurrency
            },
            "rss_mb_after_start": {k: common.r(v, 1) for k, v in rss_start.items()},
            "rss_mb_end": {k: common.r(v, 1) for k, v in rss_end.items()},
            "baton": side_report(baton_side),
            "peer": side_report(peer_side),
        }
        await baton.http.aclose()
    finally:
        await asyncio.to_thread(server.stop)
        if peer_proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(peer_proc.pid, 15)
            try:
                peer_proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(peer_proc.pid, 9)
    return report


def parse() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--cycles", type=int, default=200, help="cycles per run (one side, one concurrency, one round)"
    )
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16])
    p.add_argument("--warmup", type=int, default=8)
    p.add_argument("--baton-checkpointer", choices=["sqlite", "memory"], default="sqlite")
    p.add_argument(
        "--langgraph",
        default=str(common.ROOT / ".venv-peer" / "bin" / "langgraph"),
        help="the langgraph CLI of the venv with langgraph-cli[inmem] (see the module docstring)",
    )
    p.add_argument("--json", default=None)
    args = p.parse_args()
    if not Path(args.langgraph).exists():
        p.error(f"{args.langgraph} not found: install the peer venv first (see --help)")
    return args


if __name__ == "__main__":
    options = parse()
    result = asyncio.run(main(options))
    flat = {k: v for k, v in result.items() if k not in ("baton", "peer")}
    print(common.table(flat.items(), "peer_langgraph_api"))
    for name in ("baton", "peer"):
        print(
            name,
            result[name]["by_concurrency"],
            "errors",
            result[name]["errors"],
            result[name]["error_kinds"],
        )
        for op, v in result[name]["ops"].items():
            print(f"  {op:<14} p50 {v['p50_ms']} ms  p99 {v['p99_ms']} ms  (n={v['n']})")
    common.write_json(options.json, result)
