"""Server-side helpers for the load benchmark: profiles, memory sampling, the server's own latencies."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import common
import httpx
from bench_server import fresh_postgres, rss_kb, tree_pids


def tree_rss_mb(pids: list[int]) -> float:
    """Resident memory (MiB) of the server processes and their children."""
    return float(sum(rss_kb(p) for root in pids for p in tree_pids(root))) / 1024


async def sample_rss(pids: list[int], peak: list[float], stop: asyncio.Event) -> None:
    """Track the peak RSS (MiB) of the server process tree."""
    while not stop.is_set():
        peak[0] = max(peak[0], tree_rss_mb(pids))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


def server_env(profile: str, redis_url: str, workers: int = 2) -> tuple[dict[str, str], int]:
    """Environment and worker count of a profile (``workers``: the scaled profile's; embedded has one)."""
    env = {"BATON_RATE_LIMIT_PER_MINUTE": "1000", **common.NO_CLIENT_LIMITS_ENV}
    if profile == "embedded":
        return env, 1
    env.update(
        {
            "BATON_CHECKPOINT_URL": fresh_postgres("postgresql://postgres@127.0.0.1:5432/test"),
            "BATON_REDIS_URL": redis_url,
            "BATON_REDIS_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:",
        }
    )
    return env, workers


async def server_latency(http: httpx.AsyncClient) -> dict[str, tuple[float, float]]:
    """Per-route ``(sum_s, count)`` of the server's own request histogram (one worker's /metrics)."""
    text = (await http.get("/metrics")).text
    out: dict[str, list[float]] = {}
    for line in text.splitlines():
        for part, index in (("_sum{", 0), ("_count{", 1)):
            if line.startswith("baton_http_request_seconds" + part):
                route = line.split('route="', 1)[1].split('"', 1)[0]
                out.setdefault(route, [0.0, 0.0])[index] = float(line.rsplit(" ", 1)[1])
    return {k: (v[0], v[1]) for k, v in out.items()}


async def server_gc(http: httpx.AsyncClient) -> dict[str, float]:
    """One worker's garbage collections so far: full ones (count, seconds, longest pause ms) and, per
    younger generation, how many ran and how many paused the process over 5 ms."""
    text = (await http.get("/metrics")).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        for key, prefix in (
            ("gc_full_collections", 'baton_gc_pause_seconds_count{generation="2"}'),
            ("gc_full_seconds", 'baton_gc_pause_seconds_sum{generation="2"}'),
            ("gc_longest_ms", "baton_gc_pause_longest_seconds"),
        ):
            if line.startswith(prefix):
                value = float(line.rsplit(" ", 1)[1])
                found[key] = round(value * 1000, 1) if key == "gc_longest_ms" else round(value, 3)
        for gen in ("0", "1"):
            text = line.rsplit(" ", 1)[-1]
            if line.startswith(f'baton_gc_pause_seconds_count{{generation="{gen}"}}'):
                found[f"gc_gen{gen}_collections"] = float(text)
            elif line.startswith(f'baton_gc_pause_seconds_bucket{{generation="{gen}",le="0.005"}}'):
                found[f"gc_gen{gen}_within_5ms"] = float(text)
    for gen in ("0", "1"):
        total = found.get(f"gc_gen{gen}_collections")
        within = found.pop(f"gc_gen{gen}_within_5ms", None)
        if total is not None and within is not None:
            found[f"gc_gen{gen}_over_5ms"] = total - within
    return found


def latency_delta(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Mean server-side ms per route between two scrapes."""
    out = {}
    for route, (total, count) in after.items():
        t0, c0 = before.get(route, (0.0, 0.0))
        if count > c0:
            out[route] = round((total - t0) / (count - c0) * 1000, 2)
    return out
