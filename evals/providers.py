"""A brief provider that goes through the real graph: replay the turns, force a handoff, read the brief."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from graph.context import Brief
from graph.runtime import BatonRuntime
from graph.transcript import SYSTEM_NAME, Turn


class GraphProvider:
    """Replays a conversation into a new thread and escalates it to the policy's human target.

    The brief is the one the router attached to the handoff record, built exactly as in production
    (same sections from the policy, same token budget, same model or offline path).
    """

    def __init__(self, runtime: BatonRuntime, *, prefix: str = "eval") -> None:
        self.runtime = runtime
        self.prefix = prefix

    def _messages(self, turns: Sequence[Turn]) -> list[BaseMessage]:
        entry = self.runtime.context.policies.current().policy.entry
        messages: list[BaseMessage] = []
        for turn in turns:
            if turn.role == "customer":
                messages.append(HumanMessage(turn.text))
            elif turn.role == "system":
                messages.append(AIMessage(turn.text, name=SYSTEM_NAME))
            else:
                messages.append(AIMessage(turn.text, name=entry))
        return messages

    async def __call__(self, turns: Sequence[Turn], case_id: str) -> Brief:
        """Brief for ``turns`` as the graph's human handoff produced it."""
        thread = f"{self.prefix}-{case_id}"
        await self.runtime.seed_history(thread, self._messages(turns))
        result = await self.runtime.escalate(thread, reason="eval: handoff at the dataset's handoff point")
        if result.handoff is None:
            msg = f"{case_id}: the forced handoff did not start"
            raise RuntimeError(msg)
        return Brief.model_validate({**result.handoff.brief, "transcript": list(turns)})
