"""``checkpoint_durability``: per-step checkpoints ("sync") or one per run ("exit").

"exit" must keep the promise that an answered turn survives ``kill -9``: the child process below
answers three turns (the last one hands off and pauses) and SIGKILLs itself the moment the call
returns; a new runtime on the same SQLite file finds every turn, the handoff and the pause.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import make_settings

from graph.runtime import BatonRuntime

ROOT = Path(__file__).resolve().parent.parent
TURNS = ["Hi", "I'd like to sell my house at 12 Oak Street.", "Can I talk to a real person please?"]


async def _checkpoints_per_turn(tmp_path: Path, durability: str) -> list[int]:
    """How many checkpoints each customer turn adds."""
    settings = make_settings(tmp_path / durability, checkpoint_durability=durability)
    added = []
    async with BatonRuntime.open(settings, checkpoint_url="memory") as rt:
        seen = 0
        for text in TURNS:
            await rt.post_message("c1", text)
            now = len(await rt.checkpoints("c1"))
            added.append(now - seen)
            seen = now
    return added


async def test_exit_writes_one_checkpoint_per_turn_and_sync_one_per_step(tmp_path: Path) -> None:
    assert await _checkpoints_per_turn(tmp_path, "exit") == [1, 1, 1]
    per_step = await _checkpoints_per_turn(tmp_path, "sync")
    assert all(n >= 3 for n in per_step)  # input, router, then the bot or the human node


@pytest.mark.slow
@pytest.mark.parametrize("durability", ["exit", "sync"])
def test_answered_turns_survive_kill_9(tmp_path: Path, durability: str) -> None:
    db = tmp_path / "checkpoints.sqlite"
    child = textwrap.dedent(
        f"""
        import asyncio, os, signal, sys
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        from pathlib import Path
        from conftest import make_settings
        from graph.runtime import BatonRuntime

        async def main():
            settings = make_settings(Path({str(tmp_path)!r}), checkpoint_durability={durability!r})
            async with BatonRuntime.open(settings, checkpoint_url={"sqlite:///" + str(db)!r}) as rt:
                for text in {TURNS!r}:
                    result = await rt.post_message("c1", text)
                print(result.pending_interrupt is not None, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)  # right after the last turn is answered

        asyncio.run(main())
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert proc.stdout.strip() == "True"  # the last turn was answered with a pause for a person

    async def reopen() -> None:
        settings = make_settings(tmp_path / "after", checkpoint_durability=durability)
        async with BatonRuntime.open(settings, checkpoint_url=f"sqlite:///{db}") as rt:
            view = await rt.get("c1")
            said = [t.text for t in view.transcript if t.role == "customer"]
            assert said == TURNS
            assert view.status == "awaiting_human"
            assert view.handoff is not None
            snap = await rt.snapshot("c1")
            assert snap.interrupts  # still paused for the human: resumable after the restart

    asyncio.run(reopen())
