"""A graph run's cyclic garbage is collected when the run ends, not ~25 runs later in one long pause."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from conftest import make_settings

from graph.runtime import BatonRuntime


async def _left_in_cycles(tmp_path: Path, *, after_run: bool) -> tuple[int, tuple[int, int, int]]:
    """Unreachable objects a bot turn, a handoff and a relay turn leave in the young generation."""
    settings = make_settings(tmp_path, gc_after_run=after_run)
    thresholds = gc.get_threshold()
    async with BatonRuntime.open(settings, checkpoint_url="memory") as runtime:
        await runtime.post_message("c1", "Hi")  # models and caches warm
        gc.collect()
        gc.set_threshold(1_000_000, *thresholds[1:])  # no automatic collection in between
        try:
            await runtime.post_message("c1", "Hi, I want to sell my house")
            await runtime.post_message("c1", "Can I talk to a real person please?")
            relayed = await runtime.post_message("c1", "are you there?")
            found = gc.collect(0)
        finally:
            gc.set_threshold(*thresholds)
    assert relayed.status == "awaiting_human"  # the last turn was recorded while a person holds it
    return found, thresholds


@pytest.mark.asyncio
async def test_each_run_frees_its_reference_cycles(tmp_path: Path) -> None:
    found, thresholds = await _left_in_cycles(tmp_path, after_run=True)
    assert found < 50
    assert gc.get_threshold() == thresholds


@pytest.mark.asyncio
async def test_without_it_the_runs_cycles_wait_for_the_young_threshold(tmp_path: Path) -> None:
    # LangGraph's loop, runner and channels of every run (~360 objects) stay until a collection.
    found, _ = await _left_in_cycles(tmp_path, after_run=False)
    assert found > 300
