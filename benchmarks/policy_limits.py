"""How fast hostile policies are refused, and how big the refusal is (security review of the policy routes).

Each attack is (1) loaded with ``check_policy_text`` in this process, (2) sent as
``PUT /v1/policies/real_estate`` to a real ``baton serve`` subprocess (offline, embedded profile) while
a second client polls ``/healthz`` every 20 ms, and (3) written to the file a ``PolicyStore`` serves
(hot reload). A valid policy is the reference row. Figures: median and max time to answer over
``--runs``, the HTTP status, the response size, the slowest ``/healthz`` during the attack, and
which policy serves after the hot reload (``old``: the attack was refused).

    .venv/bin/python benchmarks/policy_limits.py --runs 20 --json benchmarks/results/policy_limits.json
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
import httpx
from bench_server import BatonServer, admin
from test_policy_limits import alias_bomb, deep_list, value_bomb, with_condition

from graph.policy_store import PolicyStore, check_policy_text
from policies.loader import PolicyError

SERVED = common.ROOT / "policies" / "real_estate.yaml"


def attacks() -> dict[str, str]:
    """The review's attacks, each named ``real_estate`` so only its payload differs from a valid PUT."""
    named = {
        "alias_bomb_1e6": alias_bomb(6),
        "value_bomb_1e6": value_bomb(6),
        "deep_flow_1000": "a: " + deep_list(1000),
        "deep_block_900": "- " * 900 + "x\n",
        "deep_intent_in_1000": with_condition(f"{{field: intent, op: in, value: {deep_list(1000)}}}"),
        "name_5000": "",
    }
    valid = SERVED.read_text(encoding="utf-8")
    named = {k: v.replace("name: mini", "name: real_estate") for k, v in named.items()}
    named["name_5000"] = valid.replace("name: real_estate", "name: " + "a" * 5000, 1)
    return {"valid_policy": valid, **named}


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Milliseconds of each of ``runs`` calls, and the last call's result (or exception)."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        try:
            result = fn()
        except Exception as exc:  # the figures record what a caller would get, crash or not
            result = exc
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def loader_row(text: str, runs: int) -> dict[str, Any]:
    """In-process ``check_policy_text``: time and the size of the error it raises."""
    times, result = timed(lambda: check_policy_text(text, "attack.yaml"), runs)
    outcome = "ok" if not isinstance(result, Exception) else type(result).__name__
    error = str(result) if isinstance(result, PolicyError) else ""
    return {
        "loader_ms_median": common.r(statistics.median(times)),
        "loader_ms_max": common.r(max(times)),
        "loader_outcome": outcome,
        "error_chars": len(error),
        "first_issue": error.splitlines()[0][:120] if error else "",
    }


def reload_row(text: str, runs: int, tmp: Path) -> dict[str, Any]:
    """Write ``text`` over a served file; time ``current()`` and see what serves: old, new or a crash."""
    path = tmp / "served.yaml"
    shutil.copy(SERVED, path)
    store = PolicyStore(path)
    before = store.current().version
    times: list[float] = []
    served: set[str] = set()
    for i in range(runs):
        path.write_text(text + f"\n# {i}\n", encoding="utf-8")  # a new mtime and content every run
        started = time.perf_counter()
        try:
            served.add("old" if store.current().version == before else "new")
        except Exception:  # a crash here reached every turn of the service
            served.add("crashed")
        times.append((time.perf_counter() - started) * 1000)
        shutil.copy(SERVED, path)
        store.current()
    return {
        "reload_ms_median": common.r(statistics.median(times)),
        "reload_ms_max": common.r(max(times)),
        "reload_serves": "/".join(sorted(served)),
    }


async def restore(http: httpx.AsyncClient, valid: str, headers: dict[str, str]) -> int:
    """Publish the valid policy again; its status (404 once an attack has renamed the policy)."""
    r = await http.put("/v1/policies/real_estate", content=valid.encode(), headers=headers)
    return r.status_code


async def serving_state(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """The name the server now routes with, and how its version history answers."""
    name = (await http.get("/policies/serving")).json()["name"]
    versions = await http.get(f"/v1/policies/{name}/versions", headers=headers)
    return {"serving_name_chars": len(name), "versions_status": versions.status_code}


async def http_row(server: BatonServer, text: str, runs: int) -> dict[str, Any]:
    """``PUT`` the text ``runs`` times while ``/healthz`` is polled; restore the valid policy after each."""
    valid = SERVED.read_text(encoding="utf-8")
    headers = {"content-type": "text/yaml", **admin(server)}
    worst_health, health_errors = 0.0, 0
    stop = asyncio.Event()

    async def poll(http: httpx.AsyncClient) -> None:
        nonlocal worst_health, health_errors
        while not stop.is_set():
            started = time.perf_counter()
            try:
                await http.get("/healthz")
            except httpx.HTTPError:
                health_errors += 1
            worst_health = max(worst_health, (time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)

    times: list[float] = []
    status: int | str = 0
    size, restored = 0, 200
    state: dict[str, Any] = {}
    # No keep-alive: a server that failed with a 500 here dropped the connection it answered on.
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=600, limits=fresh) as http,
        httpx.AsyncClient(base_url=server.url, timeout=600) as health,
    ):
        poller = asyncio.create_task(poll(health))
        for _ in range(runs):
            started = time.perf_counter()
            try:
                r = await http.put("/v1/policies/real_estate", content=text.encode(), headers=headers)
                status, size = r.status_code, len(r.content)
            except httpx.HTTPError as exc:  # the connection dropped: what a client saw
                status, size = type(exc).__name__, 0
            times.append((time.perf_counter() - started) * 1000)
            state = await serving_state(http, admin(server))
            restored = await restore(http, valid, headers)
        stop.set()
        await poller
    return {
        "put_status": status,
        "put_ms_median": common.r(statistics.median(times)),
        "put_ms_max": common.r(max(times)),
        "response_bytes": size,
        "healthz_worst_ms": common.r(worst_health),
        "healthz_errors": health_errors,
        **state,
        "valid_put_after": restored,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Every attack through the loader, the hot reload and the HTTP route."""
    logging.getLogger("graph.policy_store").setLevel(logging.CRITICAL)  # each refusal logs the issues
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        served = tmp / "policy.yaml"
        shutil.copy(SERVED, served)
        env = {"BATON_POLICY": str(served)}
        with BatonServer(tmp / "data", env=env, log_path=tmp / "server.log") as server:
            for name, text in attacks().items():
                print(f"{name} ({len(text.encode()):,} bytes)")
                row = {"bytes": len(text.encode()), **loader_row(text, args.runs)}
                row.update(reload_row(text, args.runs, tmp))
                row.update(await http_row(server, text, args.http_runs))
                rows[name] = row
                print(common.table(row.items(), f"  {name}"))
    print(summary(rows))
    return {"runs": args.runs, "http_runs": args.http_runs, "attacks": rows}


def summary(rows: dict[str, dict[str, Any]]) -> str:
    """One line per attack: the figures the README quotes."""
    head = (
        "attack               loader ms      error  reload ms  serves  PUT   PUT ms        bytes  /healthz ms"
        "  name  versions"
    )
    lines = [head, "-" * len(head)]
    for name, row in rows.items():
        lines.append(
            f"{name:20} {row['loader_ms_median']:>9} {row['error_chars']:>10} {row['reload_ms_median']:>10} "
            f"{row['reload_serves']:>7} {row['put_status']:>4} {row['put_ms_median']:>8} "
            f"{row['response_bytes']:>12,} {row['healthz_worst_ms']:>12} {row['serving_name_chars']:>5}"
            f" {row['versions_status']:>9}"
        )
    return "\n".join(lines)


def parse() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="loader and hot-reload runs per attack")
    parser.add_argument("--http-runs", type=int, default=10, help="PUT requests per attack")
    parser.add_argument("--json", help="write the figures here")
    return parser.parse_args()


if __name__ == "__main__":
    options = parse()
    common.write_json(options.json, asyncio.run(main(options)))
