"""``checkpoint_durability``: per-step checkpoints ("sync") or one per run ("exit").

"exit" must keep the promise that an answered turn survives ``kill -9``: the child process below
answers three turns (the last one hands off and pauses), a customer turn while the person holds the
conversation and the person's reply, and SIGKILLs itself the moment the last call returns; a new
runtime on the same SQLite file finds every turn, the handoff, the reply and the pause.

Runs on a thread a person holds write one checkpoint in both modes (``GraphRunner._held``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings

from graph.actions import Close, Reply
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


async def _added(rt: BatonRuntime, cid: str, seen: list[int]) -> int:
    now = len(await rt.checkpoints(cid))
    added, seen[0] = now - seen[0], now
    return added


def _count_writes(rt: BatonRuntime) -> list[int]:
    """Counts the saver's ``aput_writes`` calls (a step's pending writes) from now on."""
    saver: Any = rt.graph.checkpointer
    original, calls = saver.aput_writes, [0]

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await original(*args, **kwargs)

    saver.aput_writes = counted
    return calls


async def test_runs_while_a_person_holds_the_thread_write_one_checkpoint(tmp_path: Path) -> None:
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as rt:
        assert rt.context.settings.checkpoint_durability == "sync"
        writes, seen = _count_writes(rt), [0]
        for text in TURNS:
            await rt.post_message("c1", text)
            assert await _added(rt, "c1", seen) >= 3  # per step: time travel can start anywhere here
        writes[0] = 0
        await rt.post_message("c1", "Are you still there?")
        await rt.resume("c1", Reply(text="Hi, this is Maria."))
        await rt.resume("c1", Close())
        assert await _added(rt, "c1", seen) == 3  # one per run
        assert writes[0] <= 2  # per step, these three runs wrote pending writes 8 times
        await rt.post_message("c1", "One more thing")  # closed: routed again, per step
        assert await _added(rt, "c1", seen) >= 3

        view = await rt.get("c1")
        said = [t.text for t in view.transcript if t.role == "customer"]
        assert said == [*TURNS, "Are you still there?", "One more thing"]
        assert "Hi, this is Maria." in [t.text for t in view.transcript if t.role == "agent"]


async def test_a_resume_after_a_restart_writes_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    async with BatonRuntime.open(make_settings(tmp_path / "a"), checkpoint_url=url) as rt:
        for text in TURNS:
            await rt.post_message("c1", text)
    async with BatonRuntime.open(make_settings(tmp_path / "b"), checkpoint_url=url) as rt:
        writes, seen = _count_writes(rt), [len(await rt.checkpoints("c1"))]
        await rt.resume("c1", Reply(text="Hi, this is Maria."))  # this process never saw the pause
        assert await _added(rt, "c1", seen) == 1
        assert writes[0] == 1  # the pause's writes, stored with the run's one checkpoint (per step: 3)
        assert (await rt.snapshot("c1")).interrupts  # and it pauses for the person's next move


async def test_a_handoff_turn_run_as_held_still_rolls_back(tmp_path: Path) -> None:
    """A worker that still thinks a person holds the thread (another worker returned it to the AI)
    runs the next turn with one checkpoint; a handoff that turn starts must still roll back."""
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as rt:
        for text in TURNS[:2]:
            await rt.post_message("c1", text)
        seen = [len(await rt.checkpoints("c1"))]
        rt._runner.held("c1", True)  # the stale hint
        result = await rt.post_message("c1", TURNS[2])
        assert result.pending_interrupt is not None
        assert await _added(rt, "c1", seen) == 1  # no checkpoint before the router for this turn
        back = await rt.rollback("c1", reason="nobody answered")
        assert back.status == "bot"
        assert back.replies  # the bot that handed off speaks again
        view = await rt.get("c1")
        said = [t.text for t in view.transcript if t.role == "customer"]
        assert said == TURNS  # the trigger turn is carried over, not lost
        assert view.handoffs[-1].status == "rolled_back"


@pytest.mark.parametrize("turns", [TURNS, TURNS[2:]], ids=["later-turn", "first-turn"])
async def test_exit_rolls_back_a_handoff_without_per_step_checkpoints(
    tmp_path: Path, turns: list[str]
) -> None:
    settings = make_settings(tmp_path, checkpoint_durability="exit")
    async with BatonRuntime.open(settings, checkpoint_url="memory") as rt:
        for text in turns:
            result = await rt.post_message("c1", text)
        assert result.pending_interrupt is not None
        back = await rt.rollback("c1", reason="nobody answered")
        assert back.status == "bot"
        assert back.replies
        view = await rt.get("c1")
        assert [t.text for t in view.transcript if t.role == "customer"] == turns
        assert view.handoffs[-1].status == "rolled_back"
        assert view.pending_interrupt is None


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
        from graph.actions import Reply
        from graph.runtime import BatonRuntime

        async def main():
            settings = make_settings(Path({str(tmp_path)!r}), checkpoint_durability={durability!r})
            async with BatonRuntime.open(settings, checkpoint_url={"sqlite:///" + str(db)!r}) as rt:
                for text in {TURNS!r}:
                    await rt.post_message("c1", text)
                await rt.post_message("c1", "Are you still there?")
                result = await rt.resume("c1", Reply(text="Hi, this is Maria."))
                print(result.pending_interrupt is not None, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)  # right after the last turn is answered

        asyncio.run(main())
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert proc.stdout.strip() == "True"  # the reply was answered with a pause for the person's next move

    async def reopen() -> None:
        settings = make_settings(tmp_path / "after", checkpoint_durability=durability)
        async with BatonRuntime.open(settings, checkpoint_url=f"sqlite:///{db}") as rt:
            view = await rt.get("c1")
            said = [t.text for t in view.transcript if t.role == "customer"]
            assert said == [*TURNS, "Are you still there?"]
            assert [t.text for t in view.transcript if t.role == "agent"] == ["Hi, this is Maria."]
            assert view.status == "human"
            assert view.handoff is not None
            snap = await rt.snapshot("c1")
            assert snap.interrupts  # still paused for the human: resumable after the restart

    asyncio.run(reopen())


async def test_the_held_hint_forgets_the_oldest_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads another worker moved on are never run here again: the hint must not grow forever."""
    import graph.runner

    monkeypatch.setattr(graph.runner, "_HELD_MAX", 2)
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as rt:
        runner = rt._runner
        for cid in ("a", "b", "c"):
            runner.held(cid, True)
        assert [runner.durability(cid) for cid in ("a", "b", "c")] == ["sync", "exit", "exit"]
        runner.held("b", True)  # seen again: now the newest, "c" goes next
        runner.held("d", True)
        assert [runner.durability(cid) for cid in ("b", "c", "d")] == ["exit", "sync", "exit"]
        runner.held("d", False)
        assert runner.durability("d") == "sync"
