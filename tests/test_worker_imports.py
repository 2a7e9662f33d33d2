"""What a serving worker imports: libraries only evals, voice, experiments or the scaled profile use stay out.

``baton serve`` runs in the process that imported the whole CLI, so an eval's plotting import there is
resident memory in every worker (matplotlib, sklearn's metrics, scipy.stats: ~90 MB together). sklearn
fits the policy's intent classifier in a child process; the worker keeps only the weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Loaded on first use: plots and reports (evals), resampling (voice), t quantiles (experiment figures),
# psycopg and redis (the scaled profile).
LAZY = ("matplotlib", "PIL", "scipy", "sklearn", "psycopg", "psycopg_pool", "redis")
# What the service's start-up warms (api/app.py ``_warm_language``), in a fresh interpreter.
WARM = """
import json, sys
import api.cli
from graph.language import cues, objections, shared_pipeline
from graph.policy_store import PolicyStore
from graph.settings import get_settings
from graph.signal_service import SignalService
shared_pipeline().warm()
cues.warm()
objections.warm()
signals = SignalService().analyzer_for(PolicyStore(get_settings().policy).current()).analyze(["I want to sell my house"])
assert signals.intent_confidence > 0, signals  # the policy's classifier read the turn
print(json.dumps([m for m in LAZY if m in sys.modules]))
"""


def test_importing_the_cli_loads_no_lazy_library() -> None:
    code = f"import json, sys, api.cli; print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))"
    env = {**os.environ, "BATON_OFFLINE": "true"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_warmed_worker_loads_no_lazy_library() -> None:
    env = {**os.environ, "BATON_OFFLINE": "true"}
    out = subprocess.run(
        [sys.executable, "-c", f"LAZY = {LAZY!r}\n{WARM}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
