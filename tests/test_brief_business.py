"""The brief's intent history, business context and earlier conversations, and how the new parts share
the token budget; the router records the intent readings and asks the service for the history."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from graph.context import HUMAN_SECTIONS, build_brief, build_brief_offline
from graph.context.budget import KEPT_FACTS
from graph.context.business import business_of, earlier_of, intent_history
from graph.context.history import earlier_conversations
from graph.context.models import Brief, EarlierConversation, IntentShift
from graph.runtime import BatonRuntime
from tests.conftest import make_settings
from tests.fake_chat import ScriptedChatModel
from tests.test_brief_relationship import BIG, BUYER, PLAIN, SELLER, SUPPORT


def shift(intent: str, turn: int, confidence: float) -> IntentShift:
    return IntentShift(intent=intent, turn=turn, confidence=confidence)


SELLER_READINGS = [
    shift("immediate_seller", 0, 0.91),
    shift("general_question", 2, 0.31),  # "We were hoping for around $720,000." states no new intent
    shift("fees_question", 4, 0.72),
    shift("fees_question", 6, 0.66),
    shift("unknown", 8, 0.0),
]
EARLIER = [
    EarlierConversation(
        conversation_id=f"c-{n}",
        date=f"2026-0{n}-10",
        outcome="closed by the agent",
        summary=f"Conversation {n}: the customer asked for a valuation of 48 Maple Avenue and a callback on "
        "Friday afternoon, after the open house, from the agent who handled the sale next door",
    )
    for n in (5, 4, 3, 2)
]


def _brief(turns: Sequence, budget: int = BIG, **extra: object) -> Brief:  # type: ignore[type-arg]
    return build_brief_offline(
        turns, target="human_agent", sections=HUMAN_SECTIONS, budget_tokens=budget, **extra
    )  # type: ignore[arg-type]


# -- intent history ------------------------------------------------------------------------------


def test_intent_history_keeps_the_changes_with_their_turns() -> None:
    history = intent_history(SELLER_READINGS, SELLER)
    assert [(s.intent, s.turn) for s in history] == [("immediate_seller", 0), ("fees_question", 4)]
    assert all(SELLER[s.turn].role == "customer" for s in history)


def test_intent_history_ignores_readings_of_turns_the_transcript_does_not_hold() -> None:
    stale = [
        shift("immediate_buyer", 1, 0.9),
        shift("immediate_buyer", 40, 0.9),
    ]  # a bot turn; a rolled-back one
    assert intent_history(stale, SELLER) == []
    assert _brief(PLAIN).intent_history == []  # no readings: nothing invented


# -- business context ----------------------------------------------------------------------------


def test_a_seller_pushing_back_on_the_commission_is_negotiating_about_a_grounded_property() -> None:
    business = _brief(SELLER).business
    assert business is not None
    assert (business.kind, business.stage) == ("lead", "negotiating")
    assert "turn 4" in business.basis
    assert {k: (d.value, d.turn) for k, d in business.details.items()} == {
        "address": ("48 Maple Avenue", 0),
        "type": ("house", 0),
        "value": ("$720,000", 2),
    }
    assert all(d.value in SELLER[d.turn].text for d in business.details.values())


def test_a_lead_stage_follows_what_is_known_and_the_lead_score() -> None:
    buyer = _brief(BUYER).business
    assert buyer is not None
    assert (buyer.kind, buyer.stage) == ("lead", "qualifying")  # a budget, no timeline or financing yet
    hot = _brief(BUYER, signals={"lead_score": 8.5}).business
    assert hot is not None
    assert (hot.stage, hot.basis) == ("qualified", "lead score 8.5/10")
    facts = _brief(BUYER).facts
    assert business_of(facts[:0], {}, []) is None


def test_a_support_customer_gets_account_and_order_not_a_lead_stage() -> None:
    business = _brief(SUPPORT).business
    assert business is not None
    assert (business.kind, business.stage) == ("account", None)
    assert {k: (d.value, d.turn) for k, d in business.details.items()} == {
        "account": ("QWE12RT78Y", 3),
        "order": ("5931576919", 4),
    }


def test_no_business_context_is_invented_for_a_plain_booking() -> None:
    assert _brief(PLAIN).business is None


# -- earlier conversations -----------------------------------------------------------------------


def test_earlier_conversations_are_at_most_three_short_lines() -> None:
    kept = earlier_of(EARLIER)
    assert [c.conversation_id for c in kept] == ["c-5", "c-4", "c-3"]
    assert all(len(c.summary.split()) <= 16 for c in kept)
    assert _brief(SELLER, earlier=EARLIER).earlier == kept
    assert _brief(SELLER).earlier == []


class _Broken:
    async def earlier(self, conversation_id: str) -> list[EarlierConversation]:
        raise OSError("store is down")


async def test_a_failing_history_costs_the_brief_its_earlier_conversations_only() -> None:
    assert await earlier_conversations(_Broken(), "c-1") == []
    assert await earlier_conversations(None, "c-1") == []


# -- the token budget ----------------------------------------------------------------------------


def test_the_new_parts_fit_the_budget_and_go_before_any_fact() -> None:
    full = _brief(SELLER, intents=SELLER_READINGS, earlier=EARLIER)
    assert full.intent_history
    assert full.objections
    assert full.rapport
    assert full.business
    assert full.earlier
    facts_only = full.model_copy(
        update={"intent_history": [], "objections": [], "rapport": None, "business": None, "earlier": []}
    )
    for budget in range(full.token_count, 150, -25):
        brief = _brief(SELLER, budget, intents=SELLER_READINGS, earlier=EARLIER)
        new_parts = [brief.intent_history, brief.objections, brief.rapport, brief.business, brief.earlier]
        if brief.token_count > budget:  # only the kept facts may hold a brief over its budget
            assert not any(new_parts), budget
            assert len(brief.facts) <= KEPT_FACTS
        if any(new_parts):
            assert brief.facts == full.facts, f"a fact went before the new parts at {budget}"
            assert brief.summary.split()[:6] == full.summary.split()[:6]
        if brief.intent_history:  # the intent history goes before the objections do
            assert brief.objections, budget
    small = _brief(SELLER, 400, intents=SELLER_READINGS, earlier=EARLIER)
    assert small.token_count <= 400
    assert small.facts == facts_only.facts


async def test_the_model_path_carries_the_parts_computed_in_code() -> None:
    answers = [
        {"facts": [{"key": "street_address", "value": "48 Maple Avenue", "turn": 0}]},
        {
            "summary": "Sells 48 Maple Avenue; finds the commission steep.",
            "goal": "Sell the house at 48 Maple Avenue.",
            "urgency": "medium",
            "next_step": "Explain what the commission covers.",
            "openers": ["Hi, about 48 Maple Avenue and our commission."],
        },
    ]
    model = ScriptedChatModel(responses=answers)
    llm = await build_brief(SELLER, target="human_agent", model=model, budget_tokens=BIG, earlier=EARLIER)
    offline = await build_brief(SELLER, target="human_agent", budget_tokens=BIG, earlier=EARLIER)
    assert llm.source == "llm"
    assert llm.summary.startswith("Sells 48 Maple Avenue")
    parts = ("objections", "rapport", "business", "earlier")
    assert llm.model_dump(include=set(parts)) == offline.model_dump(include=set(parts))


# -- through the graph ---------------------------------------------------------------------------


class _History:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def earlier(self, conversation_id: str) -> list[EarlierConversation]:
        self.asked.append(conversation_id)
        return EARLIER


async def test_the_router_records_each_turns_intent_and_briefs_with_history(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, brief_budget_tokens=4000)
    async with BatonRuntime.open(settings, checkpoint_url="memory") as runtime:
        history = _History()
        runtime.context.history = history
        customer = [t.text for t in SELLER if t.role == "customer"]
        for text in [*customer, "Can I talk to a real person please?"]:
            await runtime.post_message("dana", text)
        state = (await runtime.graph.aget_state({"configurable": {"thread_id": "dana"}})).values
        view = await runtime.get("dana")
    said = [t.index for t in view.transcript if t.role == "customer"]
    assert [r["turn"] for r in state["intent_log"]] == said  # one reading per customer turn
    assert history.asked == ["dana"] * len(view.handoffs)  # asked when a handoff is briefed
    assert view.handoff is not None
    assert view.handoff.kind == "human"
    brief = Brief.model_validate(view.handoff.brief)
    assert [c.conversation_id for c in brief.earlier] == ["c-5", "c-4", "c-3"]
    assert brief.intent_history
    assert brief.intent_history[0].turn == said[0]
    assert brief.intent_history == intent_history(
        [IntentShift.model_validate(r) for r in state["intent_log"]], view.transcript
    )
