"""Per-turn latency of the offline reading production does on every customer turn.

Each customer turn costs the router the offline signals (:class:`graph.analyzer.OfflineAnalyzer`) and,
when it hands off, the offline brief of the conversation so far. :class:`TurnTimer` replays a
conversation turn by turn and times both for every customer turn, with the per-turn caches as warm as
production keeps them (earlier turns were read when they arrived).

Wall-clock time on a shared 2-core machine moves with whatever else runs; the CPU time of the thread
that did the work does not (much), so both are kept: wall for what a customer waits on an idle machine,
CPU for comparing runs. :func:`load_average` is recorded beside them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from graph.analyzer import OfflineAnalyzer
from graph.context import HUMAN_SECTIONS, build_brief_offline
from graph.language.pipeline import shared_pipeline
from graph.transcript import Turn


def load_average() -> float:
    """The machine's 1-minute load average (0.0 where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


@dataclass
class TurnTimes:
    """Milliseconds of signals + brief per customer turn: wall clock and the thread's CPU time."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


class TurnTimer:
    """Times signals + offline brief for each customer turn of a conversation, in milliseconds."""

    def __init__(
        self,
        analyzer: OfflineAnalyzer,
        *,
        target: str = "human_agent",
        sections: Sequence[str] = HUMAN_SECTIONS,
        budget_tokens: int = 400,
    ) -> None:
        self.analyzer, self.target, self.sections, self.budget_tokens = (
            analyzer,
            target,
            sections,
            budget_tokens,
        )
        self._warm = False

    @classmethod
    def for_policy(cls, policy: Path) -> TurnTimer:
        """A timer whose analyzer classifies intents as the router does under ``policy``."""
        from graph.signal_service import SignalService
        from policies.loader import load_policy

        return cls(SignalService().analyzer_for(load_policy(policy)))

    def warm(self) -> None:
        """Load the models once (start-up cost, not a turn's)."""
        if not self._warm:
            shared_pipeline().warm()
            self.analyzer.analyze(["Hello, I need some help with my order please."])
            build_brief_offline([Turn(index=0, role="customer", text="Hi there.")], target=self.target)
            self._warm = True

    def __call__(self, turns: Sequence[Turn]) -> TurnTimes:
        """Milliseconds of signals + brief for each customer turn of ``turns``, in order."""
        self.warm()
        said: list[str] = []
        times = TurnTimes()
        for i, turn in enumerate(turns):
            if turn.role != "customer":
                continue
            said.append(turn.text)
            start, cpu = time.perf_counter(), time.thread_time()
            self.analyzer.analyze(said)
            build_brief_offline(
                turns[: i + 1], target=self.target, sections=self.sections, budget_tokens=self.budget_tokens
            )
            times.cpu.append(round((time.thread_time() - cpu) * 1000, 2))
            times.wall.append(round((time.perf_counter() - start) * 1000, 2))
        return times
