"""Shared helpers of the benchmark scripts: percentiles, a plain-text table, JSON output, imports."""

from __future__ import annotations

import contextlib
import json
import math
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# A load generator plays thousands of customers from one address, which the per-client limits
# (api/client_limits.py) would take for one client: its servers run with them off.
NO_CLIENT_LIMITS: dict[str, Any] = {
    "client_conversations_per_minute": 0,
    "client_messages_per_minute": 0,
    "client_chars_per_minute": 0,
    "ws_max_sockets_per_client": 0,
}
NO_CLIENT_LIMITS_ENV = {f"BATON_{name.upper()}": "0" for name in NO_CLIENT_LIMITS}


@contextlib.contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A URL for ``url``'s database whose connections work in a schema of their own, dropped after."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def pct(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100, nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def r(value: float | None, digits: int = 2) -> float | None:
    """Round for reports, keeping None."""
    return None if value is None else round(value, digits)


def table(rows: Iterable[tuple[str, Any]], title: str) -> str:
    """A two-column plain-text table."""
    items = [(k, "-" if v is None else str(v)) for k, v in rows]
    width = max((len(k) for k, _ in items), default=10)
    lines = [title, "-" * (width + 20)]
    lines += [f"{k.ljust(width)}  {v}" for k, v in items]
    return "\n".join(lines)


def write_json(path: str | None, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON when ``path`` is given."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


async def drop_redis_keys(redis: Any, prefix: str) -> None:
    """Delete every key under ``prefix`` (a benchmark's own namespace), a slice per command."""
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
    for at in range(0, len(keys), 500):
        await redis.delete(*keys[at : at + 500])
