"""What one worker's resident memory is made of: the app's imports, then each model the start-up warms.

Runs in a fresh interpreter (``--child``) so nothing the parent imported is counted; reads ``VmRSS``
after Python starts, after ``import api.app``, after the language layer's spaCy pipeline warms and
after the cue prototypes (the embedding model) warm, i.e. what ``api/app.py``'s lifespan loads before
the first request.

    .venv/bin/python benchmarks/worker_rss.py --json benchmarks/results/worker_rss.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import common

HEAVY = ("spacy", "thinc", "onnxruntime", "chromadb", "sklearn", "scipy", "tiktoken", "numpy", "torch")


def rss_mb() -> float:
    """This process's resident set in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child() -> dict[str, Any]:
    """The steps, measured in this (fresh) process."""
    steps: list[dict[str, Any]] = [{"step": "python", "rss_mb": round(rss_mb(), 1), "s": 0.0}]

    def step(name: str, fn: Any) -> None:
        t0 = time.perf_counter()
        fn()
        steps.append({"step": name, "rss_mb": round(rss_mb(), 1), "s": round(time.perf_counter() - t0, 2)})

    step("import api.app", lambda: __import__("api.app"))
    from graph.language import cues, shared_pipeline

    step("+ spaCy pipeline (warm)", lambda: shared_pipeline().warm())
    step("+ cue prototypes / embedding model (warm)", cues.warm)
    return {"steps": steps, "heavy_modules_loaded": [m for m in HEAVY if m in sys.modules]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", default=None)
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
    print(common.table(rows, "worker RSS by start-up step"))
    print("heavy modules loaded:", ", ".join(result["heavy_modules_loaded"]))
    common.write_json(args.json, result)


if __name__ == "__main__":
    main()
