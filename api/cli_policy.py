"""``baton policy explain``: signals for a message and the trace of every rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graph.signal_service import SignalService
from graph.signals import Signals
from graph.turn_times import TIME_FIELDS
from policies.evaluator import RuleTrace, explain
from policies.loader import LoadedPolicy


class Explanation(BaseModel):
    """Which rule fires for a conversation, and the evidence."""

    policy: str
    version: str
    message: str
    signals: Signals
    times: dict[str, float | None] = Field(
        default_factory=dict, description="Conversation times in minutes the time-based fields compare."
    )
    fired: str | None
    target: str | None
    rules: list[RuleTrace]

    def render(self, console: Console) -> None:
        """Print a readable explanation; text from the message and the policy is escaped, not markup."""
        console.print(
            f"[bold]policy[/] {self.policy} ({self.version})  [bold]message[/] {escape(repr(self.message))}"
        )
        shown = self.signals.model_dump(exclude={"evidence"}, exclude_defaults=True)
        console.print("[bold]signals[/] " + escape(", ".join(f"{k}={v}" for k, v in shown.items())))
        known = {k: v for k, v in self.times.items() if v is not None}
        if known:
            console.print("[bold]times[/] " + ", ".join(f"{k}={v:g}" for k, v in known.items()))
        for cue in self.signals.evidence:
            console.print(f"  - {escape(str(cue))}")
        table = Table("rule", "result", "comparisons")
        for rule in self.rules:
            comparisons = "; ".join(
                f"{c.field} {c.op} {c.expected!r} (is {c.actual!r}) {'ok' if c.result else 'no'}"
                for c in rule.conditions
            )
            mark = "[green]FIRES[/]" if rule.rule_id == self.fired else ("match" if rule.matched else "-")
            table.add_row(rule.rule_id, mark, escape(comparisons))
        console.print(table)
        target = escape(str(self.target))
        if self.fired:
            console.print(f"=> rule [bold]{self.fired}[/] routes to [bold]{target}[/]")
        else:
            console.print(
                f"=> no rule fires: an ongoing conversation stays with its agent, a new one goes to {target}"
            )


async def explain_policy(
    loaded: LoadedPolicy, customer_turns: Sequence[str], times: Mapping[str, float | None] | None = None
) -> Explanation:
    """Analyse ``customer_turns`` offline and trace every rule of the policy.

    ``times`` are the conversation's ``TIME_FIELDS`` (from its turn stamps, or given); without them a
    time comparison shows ``None`` and does not hold.
    """
    signals = await SignalService().extract(customer_turns, None, loaded)
    context = {
        **dict.fromkeys(TIME_FIELDS),
        **(times or {}),
        **signals.model_dump(exclude={"evidence"}),
        "active_agent": "",
        "turn_count": len(customer_turns),
        "status": "bot",
        "text": customer_turns[-1],
        "customer": {},
    }
    traces = explain(loaded.policy, context)
    fired = next((t for t in traces if t.matched), None)
    target = None
    if fired is not None:
        target = fired.target or ("consult " + ", ".join(fired.consult))
    else:
        target = loaded.policy.default.target
    return Explanation(
        policy=loaded.policy.name,
        version=loaded.version,
        message=customer_turns[-1],
        signals=signals,
        times={k: context[k] for k in TIME_FIELDS},
        fired=fired.rule_id if fired else None,
        target=target,
        rules=traces,
    )
