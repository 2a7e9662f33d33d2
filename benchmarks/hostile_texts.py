"""CPU of one customer turn of 4,000 characters shaped to be costly, against 4,000 characters of prose.

Each text (after the round's number) is posted as the first turn of a fresh conversation to the app
called in process (embedded, offline, SQLite), one at a time; process CPU per turn (the analysis
threads included), best of ``--rounds``. A run of emoji once took 38 s here, apostrophes 8.5 s.

    .venv/bin/python benchmarks/hostile_texts.py --json benchmarks/results/hostile_texts.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import common
from request_floor import asgi

from api.app import create_app
from graph.settings import Settings

POLICY = common.ROOT / "policies" / "real_estate.yaml"
LIMIT = 4000
TEXTS = {
    "prose (baseline)": "I can't pay the mortgage, call me back at 555-123-4567 on 12 Lien Street tomorrow! ",
    "unpunctuated prose": "i want to sell my house and we need to move soon because my job moved ",
    "emoji": "😀",
    "emoji with spaces": "😀 ",
    "apostrophes": "'",
    "asterisks": "*",
    "hashes": "#",
    "question marks": "?",
    "parentheses": "((",
    "one word": "a",
    "amounts": "$1 ",
    "digits with spaces": "1 ",
    "commas": "a, ",
    "right-to-left": "مرحبا ",
    "combining marks": "a\u0301",
    "zero-width spaces": "\u200b",
}


def fill(unit: str, round_no: int) -> str:
    """``unit`` repeated up to the message limit, after the round's number: readings are cached by
    text, and a round must not be served the last one's."""
    head = f"{round_no} "
    return head + (unit * (LIMIT // len(unit) + 1))[: LIMIT - len(head)]


async def measure(rounds: int) -> dict[str, float]:
    """Best CPU seconds per turn of each text."""
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            policy=POLICY,
            offline=True,
            admin_token="adm_bench",
            **common.NO_CLIENT_LIMITS,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            for round_no in range(rounds):
                for name, unit in TEXTS.items():
                    status, body = await asgi(app, "POST", "/v1/conversations", b"{}")
                    made = json.loads(body)
                    message = json.dumps({"text": fill(unit, round_no)}).encode()
                    path = f"/v1/conversations/{made['conversation_id']}/messages"
                    start = time.process_time()
                    status, body = await asgi(app, "POST", path, message, made["customer_token"])
                    spent = time.process_time() - start
                    assert status == 200, body
                    best[name] = min(spent, best.get(name, spent))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    best = asyncio.run(measure(args.rounds))
    print(f"{'text (4,000 characters)':28} CPU s per turn")
    for name, seconds in best.items():
        print(f"{name:28} {seconds:6.2f}")
    common.write_json(args.json, {"limit_chars": LIMIT, "rounds": args.rounds, "cpu_s_per_turn": best})


if __name__ == "__main__":
    main()
