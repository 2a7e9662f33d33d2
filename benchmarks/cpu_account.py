"""CPU time of every process that serves a run, from ``/proc``, and the scale-out inputs it needs.

A handoff's cost is the CPU its worker(s) spend plus what the Postgres backends and the Redis server
spend for it. ``CpuAccount`` reads ``utime + stime`` (``/proc/<pid>/stat`` fields 14-15, plus 16-17:
children already reaped, which is where a uvicorn master counts a worker that exited) of:

* ``server``: the ``baton serve`` process tree (master and workers);
* ``postgres``: the backends connected to the run's own database (``pg_stat_activity``); a backend
  that exits mid-phase takes its CPU with it, so the count of those is reported too;
* ``redis``: a ``redis-server`` this benchmark started for the run (the shared one on 6379 also
  serves other people's tests, so its CPU would not be ours).

The same snapshots give the scale-out model's inputs: Redis ``INFO commandstats`` (calls and
server-side microseconds per command), the database's transactions (``pg_stat_database``) and the
SQL statements the workers sent and their Redis round trips and commands (counted in the client by
``sqlcount/sitecustomize.py``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_server import tree_pids

_TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")
SQLCOUNT_DIR = Path(__file__).resolve().parent / "sqlcount"


def cpu_ms(pid: int) -> float:
    """CPU (user + system, reaped children included) of one process in ms; 0 when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw.rsplit(")", 1)[1].split()  # the command name may contain spaces
    # after ")" field 3 (state) is index 0, so utime (14) is index 11
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) * _TICK_MS


def postgres_backends(url: str) -> list[int]:
    """Pids of the backends connected to ``url``'s database (this query's own excluded)."""
    import psycopg

    root, _, name = url.rpartition("/")
    with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def postgres_xacts(url: str) -> dict[str, int]:
    """Committed/rolled-back transactions and rows touched in ``url``'s database so far."""
    import psycopg

    root, _, name = url.rpartition("/")
    with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched "
            "FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    keys = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched")
    return dict(zip(keys, (int(v) for v in row), strict=True)) if row else {}


def redis_commandstats(url: str) -> dict[str, tuple[int, int]]:
    """``{command: (calls, usec)}`` from ``INFO commandstats``."""
    import redis

    info = redis.Redis.from_url(url).info("commandstats")
    return {k.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"])) for k, v in info.items()}


def sql_statements(directory: Path) -> dict[str, int]:
    """Statements the server's workers sent so far, summed over their per-pid counter files."""
    total: dict[str, int] = {}
    for path in directory.glob("*.json"):
        try:
            counts = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for key, value in counts.items():
            total[key] = total.get(key, 0) + int(value)
    return total


@dataclass
class Snapshot:
    """CPU per pid per group, and the service counters, at one moment."""

    cpu: dict[str, dict[int, float]]
    redis_cmds: dict[str, tuple[int, int]] = field(default_factory=dict)
    pg_xacts: dict[str, int] = field(default_factory=dict)
    sql: dict[str, int] = field(default_factory=dict)


@dataclass
class CpuAccount:
    """Which processes serve a run; ``snapshot`` before and after a phase, then ``report``."""

    server_pids: list[int]
    postgres_url: str | None = None
    redis_pid: int | None = None
    redis_url: str | None = None
    sql_dir: Path | None = None

    def snapshot(self) -> Snapshot:
        """Read every process's CPU and the service counters now."""
        cpu = {"server": {p: cpu_ms(p) for root in self.server_pids for p in tree_pids(root)}}
        snap = Snapshot(cpu)
        if self.postgres_url:
            cpu["postgres"] = {p: cpu_ms(p) for p in postgres_backends(self.postgres_url)}
            snap.pg_xacts = postgres_xacts(self.postgres_url)
        if self.redis_pid:
            cpu["redis"] = {self.redis_pid: cpu_ms(self.redis_pid)}
        if self.redis_url:
            snap.redis_cmds = redis_commandstats(self.redis_url)
        if self.sql_dir:
            snap.sql = sql_statements(self.sql_dir)
        return snap

    @staticmethod
    def spent(before: Snapshot, after: Snapshot) -> tuple[dict[str, float], int]:
        """CPU-ms spent by each group between two snapshots, and how many processes went meanwhile."""
        by_group: dict[str, float] = {}
        lost = 0
        for group, now in after.cpu.items():
            then = before.cpu.get(group, {})
            # a pid that appeared mid-phase counts from 0 (its whole life is inside the phase)
            by_group[group] = sum(ms - then.get(pid, 0.0) for pid, ms in now.items())
            lost += sum(1 for pid in then if pid not in now)
        return by_group, lost

    def report(self, before: Snapshot, after: Snapshot, handoffs: int) -> dict[str, Any]:
        """CPU-ms per handoff by group and in all, plus Redis commands / SQL statements per handoff."""
        n = max(handoffs, 1)
        by_group, lost = self.spent(before, after)
        out: dict[str, Any] = {
            "cpu_ms_per_handoff": round(sum(by_group.values()) / n, 2),
            "cpu_ms_per_handoff_by_process": {g: round(v / n, 2) for g, v in by_group.items()},
            "cpu_processes_gone_mid_phase": lost,
            # how the serving processes (supervisor and workers) shared the work, busiest first
            "server_cpu_ms_by_process": sorted(
                (round(ms - before.cpu["server"].get(pid, 0.0)) for pid, ms in after.cpu["server"].items()),
                reverse=True,
            ),
        }
        if after.redis_cmds:
            calls = {
                cmd: (c - before.redis_cmds.get(cmd, (0, 0))[0], u - before.redis_cmds.get(cmd, (0, 0))[1])
                for cmd, (c, u) in after.redis_cmds.items()
            }
            calls = {k: v for k, v in calls.items() if v[0] > 0 and k not in ("info", "ping")}
            out["redis_commands_per_handoff"] = round(sum(c for c, _ in calls.values()) / n, 1)
            out["redis_usec_per_handoff"] = round(sum(u for _, u in calls.values()) / n, 1)
            top = sorted(calls.items(), key=lambda kv: -kv[1][0])[:12]
            out["redis_commands_by_name_per_handoff"] = {k: round(c / n, 2) for k, (c, _) in top}
        if after.pg_xacts:
            out["postgres_per_handoff"] = {
                k: round((v - before.pg_xacts.get(k, 0)) / n, 1) for k, v in after.pg_xacts.items()
            }
        if after.sql or before.sql:
            sent = {k: (v - before.sql.get(k, 0)) / n for k, v in after.sql.items()}
            out["sql_statements_per_handoff"] = {
                k: round(v, 1) for k, v in sent.items() if not k.startswith("redis_")
            }
            # What the workers' Redis clients sent: commandstats above also counts the commands a Lua
            # script runs inside Redis, which cost no round trip.
            client = {
                k.removeprefix("redis_"): v for k, v in sent.items() if k.startswith("redis_") and v > 0
            }
            if client:
                out["redis_client_per_handoff"] = {
                    k: round(v, 2) for k, v in sorted(client.items(), key=lambda kv: -kv[1])
                }
        return out
