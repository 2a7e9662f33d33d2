"""Per-turn latency of the offline reading production does on every customer turn.

Each customer turn costs the router the offline signals (:class:`graph.analyzer.OfflineAnalyzer`) and,
when it hands off, the offline brief of the conversation so far. :class:`TurnTimer` replays a
conversation turn by turn and times both for every customer turn, with the per-turn caches as warm as
production keeps them (earlier turns were read when they arrived).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from graph.analyzer import OfflineAnalyzer
from graph.context import HUMAN_SECTIONS, build_brief_offline
from graph.language.pipeline import shared_pipeline
from graph.transcript import Turn


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

    def __call__(self, turns: Sequence[Turn]) -> list[float]:
        """Milliseconds of signals + brief for each customer turn of ``turns``, in order."""
        self.warm()
        said: list[str] = []
        times: list[float] = []
        for i, turn in enumerate(turns):
            if turn.role != "customer":
                continue
            said.append(turn.text)
            start = time.perf_counter()
            self.analyzer.analyze(said)
            build_brief_offline(
                turns[: i + 1], target=self.target, sections=self.sections, budget_tokens=self.budget_tokens
            )
            times.append(round((time.perf_counter() - start) * 1000, 2))
        return times
