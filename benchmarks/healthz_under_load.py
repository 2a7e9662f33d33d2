"""/healthz while the server reads long messages: 50 conversations of 4,000-character turns at once.

Starts its own ``baton serve`` (embedded profile, temp data dir, free port) with the per-conversation
rate limit and the concurrency gate raised past the load (``BATON_RATE_LIMIT_PER_MINUTE``,
``BATON_MAX_CONCURRENT_TURNS``) and the message limits raised past the long-message phase
(``BATON_MAX_MESSAGE_CHARS``, ``BATON_MAX_BODY_BYTES``). Then:

1. ``--conversations`` customers each create a conversation and post ``--turns`` turns of
   ``--chars`` characters of realistic real-estate text, one after the other, all customers at once;
2. one conversation each posts a single ``--long`` message (40,000 and 200,000 characters by default)
   over REST and over the LangGraph-compatible API (``runs/wait``), once as prose and once as one
   unbroken run of letters and digits (the red team's message: what made the old contact pattern
   backtrack);
3. the same long texts are read by the offline analyzer in this process, to time the analysis alone.

All along, a probe in its own process (its own connection) calls ``/healthz`` every
``--probe-ms`` milliseconds. Reported: ``/healthz`` p50/p95/p99/max per phase, turn latency
percentiles, and how many turns were not answered 2xx. Target: ``/healthz`` p99 <= 50 ms, every turn
answered. The client shares the 2 cores with the server.

    .venv/bin/python benchmarks/healthz_under_load.py --json benchmarks/results/healthz_under_load.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import httpx
from bench_server import BatonServer

ADMIN = "adm_bench_token"
SENTENCES = (
    "We are thinking about selling our family home in {month} because the kids have moved out.",
    "The house has {n} bedrooms, a large garden and a two car garage, and we redid the kitchen in {year}.",
    "Our neighbours sold a similar place for around ${k},000 last year, so we hope for something close.",
    "I am a bit unsure about the timing because we also need to find a smaller place nearby.",
    "Could you tell me how the process works and what the fees usually are for a sale like this?",
    "My wife prefers to stay in the same school district, and we would like to move within {n} months.",
    "We looked at a townhouse on Maple Avenue last weekend and liked the light in the living room.",
    "Our budget for the next place is up to ${k},000, and the bank said pre-approval takes two weeks.",
    "The roof was replaced in {year} and the furnace is about ten years old, if that matters.",
    "We would rather not have open houses every weekend; private showings in the evening suit us.",
    "Is it better to list before the holidays or wait until the market picks up again in spring?",
    "My name is {name} and the best way to reach me is {email} during the day.",
    "There is a small apartment over the garage that we rented out for a while, fully permitted.",
    "The property tax went up again this year, which is one reason we want something smaller.",
    "We have a dog, so a fenced yard would be nice in the next place, but it is not a must.",
    "How long do homes in our area usually stay on the market at the moment, roughly?",
    "Would you recommend any repairs before listing, like painting or fixing the back deck?",
    "We can be flexible on the closing date if the buyer needs a few extra weeks.",
)
NAMES = ("Dana Whitfield", "Joyce Wu", "Marco Rossi", "Priya Natarajan", "Tom Becker", "Ana Lima")
MONTHS = ("March", "April", "May", "June", "September", "October")


def long_text(kind: str, chars: int, rng: random.Random) -> str:
    """``prose`` (:func:`realistic_text`) or ``run``: one unbroken run of letters and digits."""
    if kind == "run":
        return ("a1b2c3d4e5" * (chars // 10 + 1))[:chars]
    return realistic_text(chars, rng)


def realistic_text(chars: int, rng: random.Random) -> str:
    """Customer prose of exactly ``chars`` characters, sentences drawn from a small bank."""
    parts: list[str] = []
    size = 0
    while size < chars:
        name = rng.choice(NAMES)
        sentence = rng.choice(SENTENCES).format(
            month=rng.choice(MONTHS),
            n=rng.randint(2, 6),
            year=rng.randint(2008, 2023),
            k=rng.randint(350, 990),
            name=name,
            email=name.lower().replace(" ", ".") + "@example.com",
        )
        parts.append(sentence)
        size += len(sentence) + 1
    return " ".join(parts)[:chars]


# The probe is its own process, so the load generator's event loop (50 clients parsing replies) never
# delays a probe: what it measures is the server. Both processes read the same monotonic clock.
_PROBE = r"""
import sys, time, httpx
base, interval = sys.argv[1], float(sys.argv[2])
with httpx.Client(base_url=base, timeout=30) as http:
    next_at = time.monotonic()
    while True:
        started = time.monotonic()
        try:
            ok = http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            ok = False
        print(f"{started:.6f} {(time.monotonic() - started) * 1000:.3f} {int(ok)}", flush=True)
        next_at = max(next_at + interval, time.monotonic())
        time.sleep(max(0.0, next_at - time.monotonic()))
"""


@dataclass
class Probe:
    """Calls ``/healthz`` every ``interval_s`` from a child process; samples tagged with the phase."""

    base: str
    interval_s: float
    log: Path
    samples: dict[str, list[float]] = field(default_factory=dict)
    failures: int = 0
    _phases: list[tuple[float, str]] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            cmd = [sys.executable, "-c", _PROBE, self.base, str(self.interval_s)]
            self._proc = subprocess.Popen(cmd, stdout=out)
        self.phase("idle")

    def phase(self, name: str) -> None:
        """Samples started from now on belong to ``name``."""
        self._phases.append((time.monotonic(), name))

    def stop(self) -> None:
        """Stop the probe and sort its samples into phases."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait()
        for line in self.log.read_text().splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue  # the line being written when it stopped
            started, ms, ok = float(parts[0]), float(parts[1]), parts[2] == "1"
            name = next((n for at, n in reversed(self._phases) if at <= started), "idle")
            self.samples.setdefault(name, []).append(ms)
            self.failures += not ok


def healthz_summary(samples: list[float]) -> dict[str, Any]:
    """Percentiles of one phase's probe latencies (ms)."""
    return {
        "probes": len(samples),
        "p50_ms": common.r(common.pct(samples, 50)),
        "p95_ms": common.r(common.pct(samples, 95)),
        "p99_ms": common.r(common.pct(samples, 99)),
        "max_ms": common.r(max(samples) if samples else None),
    }


@dataclass
class Turns:
    """Latency and status of every customer turn."""

    ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def not_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300) + len(self.errors)


async def conversation(http: httpx.AsyncClient, texts: list[str], turns: Turns) -> None:
    """Create a conversation and post ``texts`` one after the other, waiting for each reply."""
    created = await http.post("/v1/conversations", json={})
    if created.status_code != 201:
        turns.errors.append(f"create {created.status_code}")
        return
    body = created.json()
    auth = {"Authorization": f"Bearer {body['customer_token']}"}
    for text in texts:
        started = time.perf_counter()
        try:
            reply = await http.post(
                f"/v1/conversations/{body['conversation_id']}/messages", json={"text": text}, headers=auth
            )
        except httpx.HTTPError as exc:
            turns.errors.append(type(exc).__name__)
            continue
        turns.ms.append((time.perf_counter() - started) * 1000)
        turns.statuses[reply.status_code] = turns.statuses.get(reply.status_code, 0) + 1


async def compat_message(http: httpx.AsyncClient, texts: list[str], turns: Turns) -> None:
    """Post one message through the LangGraph-compatible API (``runs/wait``), as the red team did."""
    created = await http.post("/v1/conversations", json={})
    if created.status_code != 201:
        turns.errors.append(f"create {created.status_code}")
        return
    body = created.json()
    key = {"x-api-key": body["customer_token"]}
    for text in texts:
        run = {"assistant_id": "baton", "input": {"messages": [{"role": "user", "content": text}]}}
        started = time.perf_counter()
        try:
            reply = await http.post(f"/threads/{body['conversation_id']}/runs/wait", json=run, headers=key)
        except httpx.HTTPError as exc:
            turns.errors.append(type(exc).__name__)
            continue
        turns.ms.append((time.perf_counter() - started) * 1000)
        turns.statuses[reply.status_code] = turns.statuses.get(reply.status_code, 0) + 1


def turn_summary(turns: Turns) -> dict[str, Any]:
    """Percentiles of turn latency (ms) and the answer counts."""
    return {
        "turns": len(turns.ms) + len(turns.errors),
        "not_2xx": turns.not_2xx,
        "statuses": {str(k): v for k, v in sorted(turns.statuses.items())},
        "errors": turns.errors[:20],
        "turn_ms_p50": common.r(common.pct(turns.ms, 50)),
        "turn_ms_p95": common.r(common.pct(turns.ms, 95)),
        "turn_ms_p99": common.r(common.pct(turns.ms, 99)),
        "turn_ms_max": common.r(max(turns.ms) if turns.ms else None),
    }


def analysis_seconds(texts: dict[str, str]) -> dict[str, float]:
    """Offline analysis of each text alone, in this process, with the shipped policy's intents."""
    from graph.signal_service import SignalService
    from policies.loader import load_policy

    analyzer = SignalService().analyzer_for(load_policy(common.ROOT / "policies" / "real_estate.yaml"))
    analyzer.analyze(["warm up the intent classifier"])
    out = {}
    for key, text in texts.items():
        started = time.perf_counter()
        analyzer.analyze([text])
        out[key] = round(time.perf_counter() - started, 3)
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark; returns the JSON report."""
    rng = random.Random(args.seed)
    loadavg = os.getloadavg()
    long_max = max(args.long, default=0)
    env = {
        "BATON_RATE_LIMIT_PER_MINUTE": "100000",
        **common.NO_CLIENT_LIMITS_ENV,
        "BATON_MAX_CONCURRENT_TURNS": str(2 * args.conversations),
        "BATON_MAX_MESSAGE_CHARS": str(max(args.chars, long_max)),
        "BATON_MAX_BODY_BYTES": str(max(256_000, 2 * long_max)),
    }
    tmp = Path(tempfile.mkdtemp(prefix="baton-healthz-"))
    server = BatonServer(tmp / "data", admin_token=ADMIN, env=env)
    print(f"starting baton serve (embedded, 1 worker) in {tmp} with {env}")
    await asyncio.to_thread(server.start, 180)
    print(f"server pid {server.pids()[0]} at {server.url}", flush=True)
    probe = Probe(server.url, args.probe_ms / 1000, tmp / "probe.log")
    probe.start()
    load, longs = Turns(), dict[str, dict[str, Any]]()
    limits = httpx.Limits(
        max_connections=2 * args.conversations, max_keepalive_connections=2 * args.conversations
    )
    try:
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=args.timeout) as http:
            # Warm up both doors: the intent classifier is fitted on the first turn.
            await conversation(http, ["Hi"], Turns())
            await compat_message(http, ["Hi"], Turns())
            await asyncio.sleep(1.0)
            probe.phase("load")
            scripts = [
                [realistic_text(args.chars, rng) for _ in range(args.turns)]
                for _ in range(args.conversations)
            ]
            t0 = time.perf_counter()
            await asyncio.gather(*(conversation(http, texts, load) for texts in scripts))
            elapsed = time.perf_counter() - t0
            probe.phase("idle")
            await asyncio.sleep(1.0)
            for chars in args.long:
                for kind in args.long_kinds:
                    for door, post in (("rest", conversation), ("compat", compat_message)):
                        key = f"{chars}_{kind}_{door}"
                        probe.phase(f"long_{key}")
                        one = Turns()
                        await post(http, [long_text(kind, chars, rng)], one)
                        longs[key] = turn_summary(one)
                        probe.phase("idle")
                        await asyncio.sleep(1.0)
    finally:
        probe.stop()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(tmp, ignore_errors=True)
    texts = {
        f"{n}_{kind}": long_text(kind, n, random.Random(n)) for n in args.long for kind in args.long_kinds
    }
    direct = analysis_seconds(texts)
    load_phase = turn_summary(load)
    return {
        "conversations": args.conversations,
        "turns_per_conversation": args.turns,
        "chars_per_turn": args.chars,
        "probe_interval_ms": args.probe_ms,
        "server_env": env,
        "loadavg_before_after": [round(x, 2) for x in (*loadavg, *os.getloadavg())],
        "elapsed_s": common.r(elapsed),
        "turns_per_s": common.r(len(load.ms) / elapsed if elapsed else None),
        "healthz_load": healthz_summary(probe.samples.get("load", [])),
        "healthz_idle": healthz_summary(probe.samples.get("idle", [])),
        "healthz_failures": probe.failures,
        **load_phase,
        "long_messages": {
            key: {**row, "healthz": healthz_summary(probe.samples.get(f"long_{key}", []))}
            for key, row in longs.items()
        },
        "analysis_s_direct": direct,
    }


def parse() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conversations", type=int, default=50, help="customers posting at once")
    p.add_argument("--turns", type=int, default=6, help="turns per conversation")
    p.add_argument("--chars", type=int, default=4000, help="characters per turn")
    p.add_argument(
        "--long",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[40_000, 200_000],
        help="single long messages posted after the load phase (comma-separated sizes)",
    )
    p.add_argument(
        "--long-kinds",
        type=lambda s: [k for k in s.split(",") if k],
        default=["prose", "run"],
        help="prose and/or run (one unbroken run of letters and digits)",
    )
    p.add_argument("--probe-ms", type=float, default=100.0, help="/healthz probe interval")
    p.add_argument("--timeout", type=float, default=300.0, help="per request timeout (s)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", default=None, help="write the report here")
    return p.parse_args()


if __name__ == "__main__":
    options = parse()
    report = asyncio.run(main(options))
    rows = [
        ("conversations x turns x chars", f"{options.conversations} x {options.turns} x {options.chars}"),
        ("turns answered 2xx / sent", f"{report['turns'] - report['not_2xx']} / {report['turns']}"),
        (
            "turn ms p50 / p95 / p99 / max",
            "{turn_ms_p50} / {turn_ms_p95} / {turn_ms_p99} / {turn_ms_max}".format(**report),
        ),
        ("turns/s", report["turns_per_s"]),
        (
            "/healthz under load p50 / p95 / p99 / max ms",
            "{p50_ms} / {p95_ms} / {p99_ms} / {max_ms}".format(**report["healthz_load"]),
        ),
        (
            "/healthz probes under load (failures)",
            f"{report['healthz_load']['probes']} ({report['healthz_failures']})",
        ),
    ]
    for key, row in report["long_messages"].items():
        h = row["healthz"]
        chars, kind, door = key.split("_")
        rows.append(
            (
                f"{chars}-char {kind}, {door}: ms (status)",
                f"{row.get('turn_ms_max')} ({row.get('statuses')})",
            )
        )
        rows.append(
            ("  /healthz meanwhile p50 / p99 / max ms", f"{h['p50_ms']} / {h['p99_ms']} / {h['max_ms']}")
        )
    for key, seconds in report["analysis_s_direct"].items():
        chars, kind = key.split("_")
        rows.append((f"analysis alone, {chars}-char {kind} (s)", seconds))
    rows.append(("load average before / after", report["loadavg_before_after"]))
    print(common.table(rows, "healthz under load"))
    common.write_json(options.json, report)
