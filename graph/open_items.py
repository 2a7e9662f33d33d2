"""Open items: a need the customer stated that another target takes up later (seed 003, "both needs").

"I was double charged last month, and also I'd like to upgrade to the Enterprise plan" states a billing
problem and a sales question. A policy rule that reads the turn's needs (``intents``) sends the problem
first; every other need whose own target differs is kept here, with the customer's words and their
turn, until the conversation reaches that target. The bot that holds the conversation says it will be
taken up, offers it once its own work is done, and the router hands over when the customer accepts or
turns to it; every brief built meanwhile lists it, so a person who takes over sees it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from graph.context import Brief, count_tokens
from graph.context.budget import fit_budget, measure
from graph.signals import Evidence, Signals
from policies.evaluator import first_match
from policies.field_ranges import conditions
from policies.models import Policy, Rule

OpenItemStatus = Literal["open", "offered", "taken", "declined"]
PENDING: tuple[OpenItemStatus, ...] = ("open", "offered")
NEEDS_FIELD = "intents"


class OpenItem(BaseModel):
    """One need the conversation has not taken up yet; graph state keeps it as JSON by ``id``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(description="Stable id: the turn and the intent.")
    intent: str = Field(description="The policy intent the need was classified as.")
    text: str = Field(description="The customer's words that state it (one clause of the turn).")
    turn: int = Field(description="Index of the message that states it.")
    start: int = Field(ge=0, description="Character offset of ``text`` in that message.")
    end: int = Field(ge=0, description="Offset one past its last character.")
    target: str = Field(description="Who takes it up: the target this need alone routes to.")
    target_title: str = Field(default="", description="How that target is named to the customer.")
    status: OpenItemStatus = "open"
    rule_id: str = Field(default="", description="The rule that sent the turn elsewhere first.")

    @property
    def pending(self) -> bool:
        """Not taken up or declined yet."""
        return self.status in PENDING

    def changed(self, **changes: Any) -> OpenItem:
        """A copy with ``changes`` applied and validated."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def to_state(self) -> dict[str, Any]:
        """The JSON form graph state stores."""
        return self.model_dump(mode="json")

    def line(self) -> str:
        """How a brief lists it: what the customer asked, for whom, from which turn."""
        return f"Open item for {self.target_title or self.target} (turn {self.turn}): {self.text}"


def open_items(state: Mapping[str, Any]) -> list[OpenItem]:
    """Every open item of a conversation, oldest first (state written before them has none)."""
    items = [OpenItem.model_validate(v) for v in (state.get("open_items") or {}).values()]
    return sorted(items, key=lambda i: (i.turn, i.id))


def pending_items(state: Mapping[str, Any]) -> list[OpenItem]:
    """The open items not taken up or declined yet, oldest first."""
    return [i for i in open_items(state) if i.pending]


def reads_needs(rule: Rule) -> bool:
    """Whether a rule decides on the turn's needs (a condition on ``intents``)."""
    return any(cond.field == NEEDS_FIELD for cond, _ in conditions(rule.when, ()))


def _alone(policy: Policy, intent: str, text: str, customer: Mapping[str, Any]) -> str | None:
    """The target a new conversation stating only this need, plainly, would be routed to."""
    signals = Signals(intent=intent, intent_confidence=1.0, intents=[intent])
    context = {
        **signals.model_dump(exclude={"evidence"}),
        "active_agent": "",
        "turn_count": 1,
        "status": "bot",
        "text": text,
        "customer": dict(customer),
    }
    rule = first_match(policy, context)
    return rule.target if rule is not None and not rule.consult else None


def left_open(
    policy: Policy,
    rule: Rule | None,
    signals: Signals,
    *,
    served: str,
    turn: int,
    customer: Mapping[str, Any],
    known: Iterable[OpenItem] = (),
) -> list[OpenItem]:
    """The needs of this turn that a needs rule sent elsewhere first, as new open items.

    Args:
        policy: The policy the turn was routed with.
        rule: The rule that decided the turn; only a rule that reads ``intents`` leaves needs open.
        signals: The turn's signals; ``intents`` and the evidence of each need's clause.
        served: The target the turn went to.
        turn: Index of the turn's message.
        customer: The customer profile (a rule may test it).
        known: Items the conversation already has (a need already open is not opened twice).
    """
    if rule is None or not reads_needs(rule):
        return []
    pending = {(i.intent, i.target) for i in known if i.pending}
    clauses = _clauses(signals.evidence)
    found: list[OpenItem] = []
    for intent in signals.intents:
        clause = clauses.get(intent)
        if clause is None:
            continue
        target = _alone(policy, intent, clause.text, customer)
        if target is None or target == served or (intent, target) in pending:
            continue
        spec = policy.targets[target]
        found.append(
            OpenItem(
                id=f"{turn}:{intent}",
                intent=intent,
                text=clause.text,
                turn=turn,
                start=clause.start or 0,
                end=clause.end or 0,
                target=target,
                target_title=spec.description or target.replace("_", " "),
                rule_id=rule.id,
            )
        )
    return found


def _clauses(evidence: Sequence[Evidence]) -> dict[str, Evidence]:
    """The first clause stating each need, from the analyzer's evidence."""
    found: dict[str, Evidence] = {}
    for item in evidence:
        if item.signal == NEEDS_FIELD and not item.negated and item.start is not None and item.end:
            found.setdefault(item.value, item)
    return found


def taken_up(items: Sequence[OpenItem], intents: Sequence[str], answer: str, active: str) -> OpenItem | None:
    """The open item this turn takes up: one whose need the customer turns to, or one offered and accepted.

    Args:
        items: The pending items.
        intents: The turn's needs.
        answer: How the turn answers an offer ("yes", "no" or "").
        active: The agent holding the conversation (an item it would take up itself is not handed over).
    """
    for item in items:
        accepted = item.status == "offered" and answer == "yes"
        if item.target != active and (item.intent in intents or accepted):
            return item
    return None


def settle(
    items: Sequence[OpenItem],
    policy: Policy,
    rule: Rule | None,
    signals: Signals,
    served: str,
    turn: int,
    customer: Mapping[str, Any],
    answer: str = "",
) -> dict[str, dict[str, Any]]:
    """What a routing decision changes in the open items, as the JSON graph state merges by id.

    A pending item whose target the turn went to is taken up; an offered one the customer refused is
    declined; the needs the deciding rule sent elsewhere first are opened (see :func:`left_open`).
    """
    changes: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.target == served:
            changes[item.id] = item.changed(status="taken").to_state()
        elif item.status == "offered" and answer == "no":
            changes[item.id] = item.changed(status="declined").to_state()
    for item in left_open(policy, rule, signals, served=served, turn=turn, customer=customer, known=items):
        changes[item.id] = item.to_state()
    return changes


def with_open_items(brief: Brief, items: Sequence[OpenItem], budget_tokens: int) -> Brief:
    """``brief`` listing the pending items after its open questions, within its budget.

    The rest of the brief is fitted to what the items leave of the budget: an open item is what the
    receiver must not miss, so it is never what the budget sheds.
    """
    lines = [i.line() for i in items if i.pending]
    if not lines:
        return brief
    fitted = fit_budget(brief, budget_tokens - count_tokens(json.dumps(lines)))
    listed = fitted.model_copy(update={"open_questions": [*fitted.open_questions, *lines]})
    return listed.model_copy(update={"token_count": measure(listed)})


def hidden_from(items: Iterable[OpenItem], target: str) -> dict[int, list[tuple[int, int]]]:
    """Spans of the customer's turns that state another target's open item (message index -> spans).

    A bot does not take them as values of its own: "also I'd like to upgrade" is no billing request.
    """
    spans: dict[int, list[tuple[int, int]]] = {}
    for item in items:
        if item.target != target:
            spans.setdefault(item.turn, []).append((item.start, item.end))
    return spans
