"""What holds memory per held conversation, and what a full garbage collection has to walk.

In process, no sockets: the real app (offline, SQLite, case memory on, start-up objects frozen as
``baton serve`` does) behind ``httpx.ASGITransport``. Agents register; each customer says "Hi", asks
for a person, and the offered agent reads the handoff and accepts it, so it stays held. After
``--conversations`` more held ones it reports the garbage collector's tracked objects per held
conversation (by type), the deep size of every container reachable from the app's services that
grew to about one entry per conversation, and the time of a full collection.

    .venv/bin/python benchmarks/held_memory.py --conversations 1500 --json benchmarks/results/held_memory.json
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import common
import httpx

from api.app import create_app
from desk.config import load_config
from graph.settings import Settings

ADMIN = "adm_held_memory"
TRIGGER = "Can I talk to a real person please?"
_SKIP = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
)
_SERVICES = ("desk", "store", "engine", "runtime", "limiter", "turns", "waiting")


async def hold_one(http: httpx.AsyncClient, agents: dict[str, str]) -> None:
    """One customer reaches a human who accepts; the handoff stays held."""
    body = (await http.post("/v1/conversations", json={})).json()
    cid, auth = body["conversation_id"], {"Authorization": f"Bearer {body['customer_token']}"}
    (
        await http.post(f"/v1/conversations/{cid}/messages", json={"text": "Hi"}, headers=auth)
    ).raise_for_status()
    turn = await http.post(f"/v1/conversations/{cid}/messages", json={"text": TRIGGER}, headers=auth)
    hid = turn.json()["handoff"]["handoff_id"]
    admin = {"Authorization": f"Bearer {ADMIN}"}
    agent = (await http.get(f"/v1/handoffs/{hid}", headers=admin)).json()["handoff"]["offered_agent_id"]
    token = {"Authorization": f"Bearer {agents[agent]}"}
    (await http.get(f"/v1/handoffs/{hid}", headers=token)).raise_for_status()
    (await http.post(f"/v1/handoffs/{hid}/accept", headers=token)).raise_for_status()


def deep_size(root: object) -> int:
    """Bytes of ``root`` and everything it reaches (classes, modules and functions excluded)."""
    seen: set[int] = set()
    size, stack = 0, [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIP):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return size


def containers(root: object, path: str, out: dict[str, Any], visited: set[int], depth: int = 0) -> None:
    """Every container reachable through attributes from ``root`` (depth <= 5), by attribute path."""
    if id(root) in visited or depth > 5 or isinstance(root, _SKIP):
        return
    visited.add(id(root))
    if isinstance(root, (dict, list, set, collections.deque, tuple)):
        out[path] = root
        return
    attrs = dict(vars(root)) if isinstance(getattr(root, "__dict__", None), dict) else {}
    attrs.update({s: getattr(root, s) for s in getattr(type(root), "__slots__", ()) if hasattr(root, s)})
    for name, value in attrs.items():
        if value is not None and not isinstance(value, (str, int, float, bytes, bool)):
            containers(value, f"{path}.{name}", out, visited, depth + 1)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Fill the app with held conversations and account for what they cost."""
    data = Path(tempfile.mkdtemp(prefix="baton-held-"))
    settings = Settings(
        data_dir=data,
        admin_token=ADMIN,
        offline=True,
        rate_limit_per_minute=100_000,
        **common.NO_CLIENT_LIMITS,
    )  # type: ignore[call-arg]
    app = create_app(
        settings, desk_config=load_config(settings.desk_config).model_copy(update={"heartbeat_ttl_s": 1e9})
    )
    n = args.conversations
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://baton", timeout=120) as http:
            agents: dict[str, str] = {}
            admin = {"Authorization": f"Bearer {ADMIN}"}
            for i in range((n + args.warmup) // 50 + 1):
                spec = {
                    "id": f"agent-{i}",
                    "name": f"Agent {i}",
                    "skills": ["real_estate", "empathy", "legal", "luxury"],
                }
                reply = await http.post(
                    "/v1/agents", headers=admin, json={**spec, "max_concurrent": 50, "status": "online"}
                )
                agents[reply.json()["agent_id"]] = reply.json()["agent_token"]
            for _ in range(args.warmup):  # every code path once, then freeze what the warm-up loaded
                await hold_one(http, agents)
            gc.collect()
            gc.freeze()
            before = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
            started = time.perf_counter()
            for _ in range(n):
                await hold_one(http, agents)
            took = time.perf_counter() - started
            gc.collect()
            after = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
            found: dict[str, Any] = {}
            visited: set[int] = set()
            for name in _SERVICES:
                service = getattr(app.state, name, None)
                if service is not None:
                    containers(service, name, found, visited)
            grown = {p: c for p, c in found.items() if len(c) >= n // 3}
            sizes = sorted(((deep_size(c) / n / 1024, p, len(c)) for p, c in grown.items()), reverse=True)
            t0 = time.perf_counter()
            gc.collect()
            full_ms = (time.perf_counter() - t0) * 1000
    growth = after - before
    return {
        "conversations": n,
        "seconds": round(took, 1),
        "gc_tracked_per_held": round(sum(growth.values()) / n, 2),
        "gc_tracked_per_held_by_type": {k: round(v / n, 2) for k, v in growth.most_common(15)},
        "kb_per_held_by_container": [
            {"path": p, "entries": ln, "kb_per_held": round(kb, 2)} for kb, p, ln in sizes
        ],
        "full_collection_ms": round(full_ms, 1),
    }


def parse() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conversations", type=int, default=1500)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--json", default=None)
    return p.parse_args()


if __name__ == "__main__":
    options = parse()
    report = asyncio.run(main(options))
    print(f"{report['conversations']} held in {report['seconds']} s")
    print(f"GC-tracked objects per held conversation: {report['gc_tracked_per_held']}")
    for kind, count in report["gc_tracked_per_held_by_type"].items():
        print(f"  {count:7.2f}  {kind}")
    print("KB per held conversation, by container (deep size; shared objects count in each):")
    for row in report["kb_per_held_by_container"]:
        print(f"  {row['kb_per_held']:7.2f}  {row['entries']:7d} entries  {row['path']}")
    print(f"full collection: {report['full_collection_ms']} ms")
    common.write_json(options.json, report)
