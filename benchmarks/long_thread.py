"""What a turn costs as a conversation grows, with the saver's decoded messages kept or not, or with
each message encoded once or in every checkpoint.

In process, offline, SQLite (Postgres for ``--compare blob-memo``): each round starts ``--conversations`` conversations that hand off to a
person, then sends ``--relays`` customer messages round them while the person holds them (each a
relay turn: read the latest checkpoint, record, write one checkpoint). Reports the process's CPU ms
per relay turn by how many messages the thread held, for rounds with and without (alternated):

* ``--compare memo`` (default): the saver keeping each recent thread's latest messages decoded
  (``graph.checkpoint_memo``; "kept") or decoding them from bytes ("decoded");
* ``--compare encoding``: each message's encoding kept (``graph.message_encoding``; "encoded once")
  or every message encoded in every checkpoint, as LangGraph does ("re-encoded");
* ``--compare blob-memo``: on Postgres (``--postgres-url``), the message lists the worker wrote kept
  decoded (``graph.blob_memo``; "kept") or decoded from the blob every read ("decoded"). The worker's
  CPU only: the server's is the same both ways.

    .venv/bin/python benchmarks/long_thread.py --json benchmarks/results/long_thread.json
    .venv/bin/python benchmarks/long_thread.py --compare encoding --json benchmarks/results/long_thread_encoding.json
    .venv/bin/python benchmarks/long_thread.py --compare blob-memo --json benchmarks/results/long_thread_blob_memo.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import common

from graph.blob_memo import BlobMemoSerializer
from graph.checkpoint_memo import MemoSerializer
from graph.runtime import BatonRuntime
from graph.settings import Settings

POSTGRES_URL = os.environ.get("BATON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BUCKETS = (0, 50, 100, 200, 400)
# What each comparison toggles: (the default, without it).
VARIANTS = {
    "memo": ("kept", "decoded"),
    "encoding": ("encoded once", "re-encoded"),
    "blob-memo": ("kept", "decoded"),
}


async def one_round(
    runtime: BatonRuntime, tag: str, conversations: int, relays: int
) -> dict[int, list[float]]:
    """CPU ms of each relay turn, by the bucket of the thread's message count before it."""
    cids = [f"{tag}-{i}" for i in range(conversations)]
    for cid in cids:
        await runtime.post_message(cid, "Hi, I want to sell my house")
        await runtime.post_message(cid, "Can I talk to a real person please?")
    by_bucket: dict[int, list[float]] = {b: [] for b in BUCKETS}
    for k in range(relays):
        held = 5 + k  # messages before this relay: the two turns, their replies and the narration
        t0 = time.process_time()
        for cid in cids:
            await runtime.post_message(cid, f"are you there? I still need help with the sale ({k})")
        per_turn = (time.process_time() - t0) * 1000 / len(cids)
        by_bucket[max(b for b in BUCKETS if b <= held)].append(per_turn)
    return by_bucket


def _toggle(compare: str, serde: Any) -> Any:
    """A function that turns what ``compare`` measures on or off in the saver's serializer."""
    if compare == "blob-memo":
        assert isinstance(serde, BlobMemoSerializer)
        size = serde.kept_references

        def kept(on: bool) -> None:
            serde.kept_references = size if on else 0

        return kept
    assert isinstance(serde, MemoSerializer)
    threads, messages = serde.threads, serde.kept_limit

    def toggled(on: bool) -> None:
        if compare == "memo":
            serde.threads = threads if on else 0
        else:
            serde.kept_limit = messages if on else 0

    return toggled


async def _delete_threads(runtime: BatonRuntime, run_id: str, args: argparse.Namespace) -> None:
    saver = runtime.graph.checkpointer
    for name in VARIANTS[args.compare]:
        for i in range(args.rounds):
            for c in range(args.conversations):
                await saver.adelete_thread(f"{run_id}-{name.replace(' ', '-')}{i}-{c}")  # type: ignore[union-attr]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="baton-long-")),
        policy=common.ROOT / "policies" / "real_estate.yaml",
        offline=True,
        case_memory=False,
    )
    on, off = VARIANTS[args.compare]
    runs: dict[str, dict[int, list[float]]] = {on: {}, off: {}}
    url = args.postgres_url if args.compare == "blob-memo" else ""
    run_id = uuid.uuid4().hex[:8]  # Postgres threads outlive the run's data dir
    async with BatonRuntime.open(settings, checkpoint_url=url) as runtime:
        serde = runtime.graph.checkpointer.serde  # type: ignore[union-attr]
        toggle = _toggle(args.compare, serde)
        try:
            for i in range(args.rounds):
                for name in (on, off) if i % 2 == 0 else (off, on):
                    toggle(name == on)
                    tag = f"{run_id}-{name.replace(' ', '-')}{i}"
                    found = await one_round(runtime, tag, args.conversations, args.relays)
                    for bucket, values in found.items():
                        runs[name].setdefault(bucket, []).extend(values)
        finally:
            if url:
                await _delete_threads(runtime, run_id, args)
    return {
        "compare": args.compare,
        "conversations": args.conversations,
        "relays": args.relays,
        "rounds": args.rounds,
        **{
            name: {f"{b}+ messages": common.r(statistics.median(v)) for b, v in found.items() if v}
            for name, found in runs.items()
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--relays", type=int, default=300, help="customer messages per conversation")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--compare", choices=sorted(VARIANTS), default="memo", help="what to toggle")
    parser.add_argument(
        "--postgres-url", default=POSTGRES_URL, help="--compare blob-memo: the checkpoint database"
    )
    parser.add_argument("--json", default=None)
    options = parser.parse_args()
    result = asyncio.run(main(options))
    for name in VARIANTS[options.compare]:
        print(common.table(result[name].items(), f"CPU ms per relay turn, messages {name}"))
    common.write_json(options.json, result)
