"""The case memory per call: storing a resolved case and finding similar ones, as the store grows.

Cases are Banking77 messages (``../shared/datasets/routing_dev.jsonl``), each made distinct by a
number, so every store embeds a text the embedder has not cached (as a real resolved case is). At each
level: process CPU per ``add_case`` (its embedding, the row's write and the in-memory index), per
embedding of such a text alone, and per ``similar_cases`` for 200 messages of the set (their vectors
are cached after the first level, as a brief's goal is after the router read it), on SQLite or on the
real Postgres (``--postgres-url``; a schema of its own, dropped after).

    .venv/bin/python benchmarks/case_memory.py --levels 1000,5000,20000 --json benchmarks/results/case_memory.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import common

from graph.case_rows import CaseRows, PostgresCaseRows, SqliteCaseRows
from graph.embeddings import get_embedder
from graph.retrieval import CaseStore

DATASET = common.ROOT.parent / "shared" / "datasets" / "routing_dev.jsonl"
QUERIES = 200


def _rows(args: argparse.Namespace, tmp: Path, schemas: contextlib.ExitStack) -> CaseRows:
    """The table (on Postgres in a schema of its own, dropped when ``schemas`` closes)."""
    if not args.postgres_url:
        return SqliteCaseRows(tmp / "cases.sqlite")
    return PostgresCaseRows(schemas.enter_context(common.postgres_schema(args.postgres_url)))


def main(args: argparse.Namespace) -> dict[str, Any]:
    """Fill the store level by level; measure each call kind at each level."""
    texts = [json.loads(line)["text"] for line in DATASET.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(7)
    queries = rng.sample(texts, QUERIES)
    embedder = get_embedder()
    embedder.embed(["warm the model up"])
    schemas = contextlib.ExitStack()
    store = CaseStore(_rows(args, Path(tempfile.mkdtemp(prefix="baton-cases-")), schemas))
    levels = []
    added = 0
    try:
        for level in args.levels:
            started, took = time.process_time(), 0
            while added < level:
                text = f"{texts[added % len(texts)]} (case {added})"
                store.add_case(f"c{added}", text, "Resolved: explained the next steps", {"outcome": "closed"})
                added += 1
                took += 1
            add_ms = (time.process_time() - started) / max(1, took) * 1000
            fresh = [f"{q} (probe {level})" for q in queries[:50]]
            started = time.process_time()
            for text in fresh:
                embedder.embed([text])
            embed_ms = (time.process_time() - started) / len(fresh) * 1000
            for q in queries:  # their vectors cached, as the router's reading leaves a brief's goal
                embedder.embed([q])
            started = time.process_time()
            found = sum(len(store.similar_cases(q, k=3, min_score=0.45)) for q in queries)
            search_ms = (time.process_time() - started) / len(queries) * 1000
            row = {
                "cases": level,
                "add_ms": round(add_ms, 3),
                "embed_new_text_ms": round(embed_ms, 3),
                "search_ms": round(search_ms, 3),
                "hits_per_search": round(found / len(queries), 2),
            }
            print(row)
            levels.append(row)
    finally:
        store.close()
        schemas.close()
    return {"backend": "postgres" if args.postgres_url else "sqlite", "levels": levels}


def parse() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--levels", default="1000,5000,20000", help="store sizes to measure at")
    p.add_argument("--postgres-url", default=None, help="the real Postgres (default: SQLite in a temp dir)")
    p.add_argument("--json", default=None, help="write the report here")
    args = p.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    return args


if __name__ == "__main__":
    options = parse()
    report = main(options)
    if options.json:
        Path(options.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
