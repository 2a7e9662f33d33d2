"""What a serving worker imports: libraries only evals, voice, experiments or the scaled profile use stay out.

``baton serve`` runs in the process that imported the whole CLI, so an eval's plotting import there is
resident memory in every worker (matplotlib, sklearn's metrics, scipy.stats: ~90 MB together).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Loaded on first use: plots and reports (evals), resampling (voice), t quantiles (experiment figures),
# chromadb (the first brief with case memory), psycopg and redis (the scaled profile).
LAZY = (
    "matplotlib", "PIL", "scipy.stats", "scipy.signal", "chromadb", "grpc", "psycopg", "psycopg_pool", "redis",
)  # fmt: skip


def test_importing_the_cli_loads_no_lazy_library() -> None:
    code = f"import json, sys, api.cli; print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))"
    env = {**os.environ, "BATON_OFFLINE": "true"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
