"""What one worker's resident memory is made of, and what a real `baton serve` holds as it works.

Two parts:

* **start-up steps**, in a fresh interpreter (``--child``) so nothing the parent imported counts:
  ``VmRSS`` after ``import api.cli`` (what ``baton serve`` imports before uvicorn starts), then after
  each model the lifespan warms (spaCy pipeline, cue prototypes / embedding model, objection
  prototypes, the live policy's intent classifier);
* **a served worker**: a ``baton serve`` subprocess (embedded profile, offline): ``VmRSS`` and
  ``RssAnon`` (private memory; the rest is shared library pages) at ``/readyz``, after the first
  customer turn, after the first handoff to a person (briefs, the case memory's search) and after
  ``--handoffs`` more, with each first request's latency (what loading on first use costs a customer).

    .venv/bin/python benchmarks/worker_rss.py --json benchmarks/results/worker_rss.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import common

if TYPE_CHECKING:
    from bench_server import BatonServer

HEAVY = (
    "spacy", "thinc", "onnxruntime", "sklearn", "scipy", "scipy.stats", "scipy.signal",
    "matplotlib", "tiktoken", "numpy", "redis", "psycopg", "torch",
)  # fmt: skip
FIRST = "Hi, I want to sell my house at 12 Elm Street in Brookline"
PERSON = "Can I talk to a real person please?"


def status_mb(pid: int | str = "self") -> dict[str, float]:
    """``VmRSS`` and ``RssAnon`` of a process, in MiB."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon"):
                out[key] = round(int(line.split()[1]) / 1024, 1)
    return out


def child() -> dict[str, Any]:
    """The start-up steps, measured in this (fresh) process."""
    steps: list[dict[str, Any]] = [{"step": "python", "rss_mb": status_mb()["VmRSS"], "s": 0.0}]

    def step(name: str, fn: Any) -> None:
        t0 = time.perf_counter()
        fn()
        steps.append({"step": name, "rss_mb": status_mb()["VmRSS"], "s": round(time.perf_counter() - t0, 2)})

    step("import api.cli (what `baton serve` imports)", lambda: __import__("api.cli"))
    from graph.language import cues, objections, shared_pipeline
    from graph.policy_store import PolicyStore
    from graph.settings import get_settings
    from graph.signal_service import SignalService

    step("+ spaCy pipeline", lambda: shared_pipeline().warm())
    step("+ cue prototypes / embedding model", cues.warm)
    step("+ objection prototypes", objections.warm)
    policy = PolicyStore(get_settings().policy).current()
    step("+ the policy's intent classifier", lambda: SignalService().analyzer_for(policy))
    return {"steps": steps, "heavy_modules_loaded": [m for m in HEAVY if m in sys.modules]}


async def served(handoffs: int) -> dict[str, Any]:
    """RSS of a real worker at ready, after its first turn, first handoff and ``handoffs`` more."""
    from bench_server import BatonServer  # not in the child: its imports would count as Python's

    with tempfile.TemporaryDirectory() as tmp:
        server = BatonServer(Path(tmp) / "data", env=common.NO_CLIENT_LIMITS_ENV).start(timeout=180)
        try:
            return {"served": await _walk(server, handoffs)}
        finally:
            server.stop()


async def _walk(server: BatonServer, handoffs: int) -> list[dict[str, Any]]:
    """One customer's first turn and handoff, then ``handoffs`` more customers to a person."""
    import httpx
    from bench_server import new_customer, say

    pid = server.pids()[0]
    rows: list[dict[str, Any]] = [{"point": "ready", **status_mb(pid)}]
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        customer = await new_customer(http)
        t0 = time.perf_counter()
        await say(http, customer, FIRST)
        rows.append({"point": "after the first turn", "ms": _ms(t0), **status_mb(pid)})
        t0 = time.perf_counter()
        await say(http, customer, PERSON)
        rows.append({"point": "after the first handoff", "ms": _ms(t0), **status_mb(pid)})
        for _ in range(handoffs):
            more = await new_customer(http)
            await say(http, more, FIRST)
            await say(http, more, PERSON)
        rows.append({"point": f"after {handoffs} more handoffs", **status_mb(pid)})
    return rows


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--handoffs", type=int, default=20, help="Handoffs after the first one.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child()))
        return
    env = {**os.environ, "BATON_OFFLINE": "true"}
    out = subprocess.run(
        [sys.executable, __file__, "--child"],
        capture_output=True,
        text=True,
        check=True,
        cwd=common.ROOT,
        env=env,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    rows = [(f"{s['step']} ({s['s']} s)", f"{s['rss_mb']} MB") for s in result["steps"]]
    print(common.table(rows, "start-up steps (fresh interpreter)"))
    print("heavy modules loaded:", ", ".join(result["heavy_modules_loaded"]))
    result.update(asyncio.run(served(args.handoffs)))
    rows = [
        (p["point"] + (f" ({p['ms']} ms)" if "ms" in p else ""), f"{p['VmRSS']} MB ({p['RssAnon']} private)")
        for p in result["served"]
    ]
    print(common.table(rows, "a served worker (baton serve, embedded, offline)"))
    common.write_json(args.json, result)


if __name__ == "__main__":
    main()
