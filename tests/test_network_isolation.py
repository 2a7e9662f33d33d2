"""``baton serve`` makes no network call of its own: no telemetry, no lookup, nothing off loopback.

The real service runs in a fresh network namespace (tests/netns_probe.py) where every packet it tries
to send off loopback is captured; onnxruntime's 1DS telemetry used to look up
mobile.events.data.microsoft.com a few seconds after start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import service_missing

PROBE = Path(__file__).resolve().parent / "netns_probe.py"
ROOT = PROBE.parent.parent


def _namespace_problem() -> str | None:
    """Why a network + mount namespace cannot be created here (None when it can)."""
    try:
        done = subprocess.run(
            ["unshare", "--net", "--mount", "--", "ip", "link", "set", "lo", "up"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError as exc:
        return str(exc)
    return None if done.returncode == 0 else done.stderr.strip() or f"exit {done.returncode}"


_WATCH = """
import importlib, importlib.abc, json, os, sys

seen = []

class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "onnxruntime":
            seen.append(os.environ.get("ORT_DISABLE_TELEMETRY"))

sys.meta_path.insert(0, Watch())
importlib.import_module(sys.argv[1])
print(json.dumps(seen[:1]))
"""


@pytest.mark.parametrize("entry", ["api.cli", "api.app", "graph.embeddings"])
def test_telemetry_is_off_before_onnxruntime_loads(entry: str) -> None:
    """Whichever entry point loads onnxruntime (the CLI, uvicorn's factory and its workers, a library
    user), the switch is in the environment by then."""
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    done = subprocess.run(
        [sys.executable, "-c", _WATCH, entry], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["1"]


@pytest.mark.slow
def test_serve_sends_nothing_off_loopback_after_start(tmp_path: Path) -> None:
    problem = _namespace_problem()
    if problem:
        service_missing("a network namespace (root, unshare, iproute2)", problem)
    done = subprocess.run(
        ["unshare", "--net", "--mount", "--", sys.executable, str(PROBE), "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["canary_seen"], "the capture missed the canary lookup: it would miss the server's too"
    assert report["attempts"] == [], f"outbound attempts: {report['attempts']}\n{report['log']}"
