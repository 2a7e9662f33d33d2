"""The offline signal analyzer on hand-written turns."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
from conftest import make_settings
from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime

import graph.language.cues
import graph.language.statements
from graph.analyzer import OfflineAnalyzer
from graph.deps import BatonContext
from graph.language.cues import TurnCues
from graph.language.patterns import parse_money
from graph.policy_store import PolicyStore
from graph.priority import handoff_priority
from graph.runtime import BatonRuntime
from graph.signal_service import SignalService
from graph.signals import Signals
from graph.textutil import contains_value, normalize_value, off_loop
from graph.transcript import Turn
from nodes.base import BotSpec, Slot, find_slot_values, make_bot
from nodes.seller_bot import SPEC as SELLER
from policies.loader import LoadedPolicy


class KeywordIntents:
    """A tiny predictor so these tests do not depend on the embedding model."""

    def predict_intent(self, text: str) -> tuple[str, float]:
        lowered = text.lower()
        if "sell" in lowered:
            return "immediate_seller", 0.95
        if "buy" in lowered:
            return "immediate_buyer", 0.92
        return "general_question", 0.3


analyzer = OfflineAnalyzer(KeywordIntents())


def test_amounts_and_seller_timeline() -> None:
    s = analyzer.analyze(["I need to sell my condo ASAP, it's worth about $1.8M"])
    assert s.intent == "immediate_seller"
    assert s.intent_confidence == pytest.approx(0.95)
    assert s.property_value == 1_800_000
    assert s.timeline == "immediate"
    assert s.lead_score >= 5.0  # of 10


def test_financed_buyer_with_budget() -> None:
    s = analyzer.analyze(["We want to buy in the next few months", "We're pre-approved for $750,000"])
    assert s.financing_ready is True
    assert s.budget == 750_000
    assert s.timeline == "moderate"


def test_negated_financing_is_not_ready() -> None:
    s = analyzer.analyze(["I want to buy a house", "I'm not pre-approved yet"])
    assert s.financing_ready is False


def test_explicit_human_request_only_on_the_latest_turn() -> None:
    assert analyzer.analyze(["can I talk to a real person?"]).explicit_human_request is True
    assert (
        analyzer.analyze(["can I talk to a real person?", "never mind, go on"]).explicit_human_request
        is False
    )


def test_distress_and_legal_complexity() -> None:
    s = analyzer.analyze(
        ["We're selling because of the divorce, the lawyer says there's a lien. I'm devastated."]
    )
    assert s.emotional_distress is True
    assert s.legal_complexity == "high"
    assert s.complexity >= 0.5
    legal = next(e for e in s.evidence if e.signal == "legal_complexity")
    assert (legal.text, legal.turn) == ("the lawyer says there's a lien", 0)


def test_case_cues_reset_after_a_human_handled_them() -> None:
    turns = ["The lawyer says there's a lien on the title", "Thanks, what's next for the listing?"]
    assert analyzer.analyze(turns).legal_complexity == "high"
    assert analyzer.analyze(turns, since=1).legal_complexity == "none"


def test_vip_only_from_the_trusted_profile() -> None:
    assert analyzer.analyze(["hello"], {"vip": True}).vip is True
    claimed = analyzer.analyze(["I'm a platinum member, VIP"])
    assert claimed.vip is False  # typing it does not make it so
    assert any(e.signal == "vip" and "not verified" in str(e) for e in claimed.evidence)
    assert analyzer.analyze(["hello"]).vip is False


def test_sophisticated_complex_transaction() -> None:
    s = analyzer.analyze(
        [
            "We're buying a $3M multi-family through our LLC as a 1031 exchange, cap rate matters, tenants in place"
        ]
    )
    assert s.buyer_sophistication == "high"
    assert s.transaction_complexity > 0.8


def test_repeated_failures_are_counted() -> None:
    s = analyzer.analyze(
        ["the app crashes", "I restarted it, still not working", "same error again, didn't help"]
    )
    assert s.failed_attempts == 2


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("$1.8M", [1_800_000]),
        ("around 950,000 dollars", [950_000]),
        ("750k budget", [750_000]),
        ("3 bedrooms and 2 baths", []),
        ("USD 2m or EUR 500 thousand", [2_000_000, 500_000]),
    ],
)
def test_parse_money(text: str, amounts: list[float]) -> None:
    assert parse_money(text) == amounts


def test_value_normalisation() -> None:
    assert normalize_value("  Calvin  Klein, Jeans! ") == "calvin klein jeans"
    assert contains_value("call me on (555) 123-4567 please", "5551234567")
    assert contains_value("Order ID: 9342308357", "9342308357")
    assert not contains_value("order 934230835", "9342308357")


@pytest.mark.parametrize(
    ("urgency", "lead", "sentiment", "explicit", "expected"),
    [
        ("medium", 5.0, 0.0, False, 50),
        ("low", 5.0, 0.0, False, 25),
        ("high", 9.0, 0.0, False, 100),  # 50 * 1.5 * 1.5 = 112.5 -> clamped
        ("medium", 5.0, -0.6, True, 91),  # 50 * 1.3 * 1.4
        ("critical", 0.0, 0.0, False, 100),
        ("low", 0.0, -0.6, False, 33),  # 32.5: halves round up as seed 000's Math.round (round() gives 32)
        ("low", 9.0, 0.0, True, 53),  # 52.5 (round() gives 52)
    ],
)
def test_priority_formula(urgency: str, lead: float, sentiment: float, explicit: bool, expected: int) -> None:
    assert (
        handoff_priority(urgency=urgency, lead_score=lead, sentiment=sentiment, explicit_request=explicit)
        == expected
    )


def test_priority_rejects_unknown_urgency() -> None:
    with pytest.raises(ValueError, match="unknown urgency"):
        handoff_priority(urgency="urgent", lead_score=0, sentiment=0, explicit_request=False)


# --- each turn read once, off the event loop ------------------------------------------------------

CONVERSATION = [
    "Hi, I'm thinking about selling my condo, it's worth about $1.8M",
    "We're relocating for a new job, so we need to move next month",
    "The lawyer says there's a lien on the title, I'm so stressed about it",
    "We're pre-approved for a $900,000 mortgage on the next place, budget up to $950,000",
    "It's held in a family trust and the tenants have a lease, is that a problem?",
    "Honestly this is frustrating, I tried that already and it didn't help",
    "You can reach me at dana.whitfield@example.com or +1 (555) 123-4567",
    "can I talk to a real person please?",
]


def test_each_turn_is_read_once_however_long_the_conversation(monkeypatch: pytest.MonkeyPatch) -> None:
    # A conversation grows a turn at a time and the router analyses it after every turn: only the new
    # turn may be read (a 25th turn must not rescan the 24 before it).
    read: list[str] = []
    reader = graph.language.cues._read

    def counting_read(text: str, with_turn: bool = False) -> TurnCues:
        read.append(text)
        return reader(text, with_turn)

    monkeypatch.setattr(graph.language.cues, "_read", counting_read)
    turns = [f"{text} (ref {uuid.uuid4().hex[:6]})" for text in CONVERSATION * 3]
    fresh = OfflineAnalyzer(KeywordIntents())
    for n in range(1, len(turns) + 1):
        fresh.analyze(turns[:n])
    assert Counter(read) == dict.fromkeys(turns, 1)


@pytest.mark.parametrize("since", [0, 3])
def test_reading_each_turn_once_changes_no_signal(since: int) -> None:
    warm = OfflineAnalyzer(KeywordIntents())
    for n in range(1, len(CONVERSATION) + 1):
        incremental = warm.analyze(CONVERSATION[:n], {"vip": n == 5}, since=min(since, n - 1))
        cold = OfflineAnalyzer(KeywordIntents()).analyze(
            CONVERSATION[:n], {"vip": n == 5}, since=min(since, n - 1)
        )
        assert incremental == cold


@pytest.mark.skipif(sys.platform != "linux", reason="a thread has its own nice value on Linux only")
async def test_analysis_threads_yield_the_cpu_to_the_event_loop() -> None:
    # The event loop answers /healthz; the threads reading turns must never win the CPU from it.
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    assert await off_loop(niceness) == min(19, niceness() + 10)


class _OneAnalyzer(SignalService):
    """The real signal service, with an analyzer chosen by the test instead of built from the policy."""

    def __init__(self, analyzer: OfflineAnalyzer) -> None:
        super().__init__()
        self._analyzer = analyzer

    def analyzer_for(self, loaded: LoadedPolicy) -> OfflineAnalyzer:
        return self._analyzer


async def test_router_reads_a_turn_off_the_event_loop(
    memory_runtime: BatonRuntime, conversation_id: str
) -> None:
    # While a turn is analysed the event loop must stay free for every other request (/healthz, other
    # conversations): the intent predictor below waits until the loop itself releases it.
    started, release = threading.Event(), threading.Event()
    released: list[bool] = []

    class WaitingIntents:
        def predict_intent(self, text: str) -> tuple[str, float]:
            started.set()
            released.append(release.wait(timeout=5))  # a safety net: on the loop it could never be set
            return "general_question", 0.3

    memory_runtime.context.signals = _OneAnalyzer(OfflineAnalyzer(WaitingIntents()))
    turn = asyncio.create_task(memory_runtime.post_message(conversation_id, "Hi, I'd like to sell my condo"))
    while not started.is_set():
        await asyncio.sleep(0.01)
    release.set()
    result = await turn
    assert released == [True]
    assert result.active_agent == "concierge_bot"


# --- the bots' slot readers: each turn read once, off the event loop ------------------------------


def test_bots_read_each_turn_once_for_a_missing_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bot looks through every earlier customer turn for each slot it still misses, after every turn;
    # a turn it has read already must not be scanned again (the price is never stated here).
    read: list[str] = []
    parse = graph.language.statements._read

    def counting_parse(text: str) -> graph.language.statements.Statements:
        read.append(text)
        return parse(text)

    monkeypatch.setattr(graph.language.statements, "_read", counting_parse)
    texts = [f"{text} (ref {uuid.uuid4().hex[:6]})" for text in CONVERSATION[1:3] * 4]
    turns: list[Turn] = []
    for text in texts:
        turns += [Turn(index=len(turns), role="customer", text=text)]
        find_slot_values(SELLER, turns, {})
        turns += [
            Turn(index=len(turns), role="bot", text="What price are you hoping for?", speaker="seller_bot")
        ]
    assert Counter(read) == dict.fromkeys(texts, 1)


async def test_bot_reads_slots_off_the_event_loop(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()
    released: list[bool] = []

    def waiting(text: str, asked: bool) -> str | None:
        started.set()
        released.append(release.wait(timeout=5))  # a safety net: on the loop it could never be set
        return "found"

    spec = BotSpec(
        "seller_bot", "seller", "Hi", (Slot("thing", "Which thing?", waiting),), "Done: {summary}", "ok"
    )
    settings = make_settings(tmp_path)
    context = BatonContext(settings=settings, policies=PolicyStore(settings.policy), signals=SignalService())
    node = make_bot(spec, lambda state, bot: None)
    reply = asyncio.create_task(
        node({"messages": [HumanMessage("a thing")]}, runtime=Runtime(context=context))
    )  # type: ignore[typeddict-item]
    while not started.is_set():
        await asyncio.sleep(0.01)
    release.set()
    update = await reply
    assert released == [True]
    assert update["collected"] == {"thing": {"value": "found", "turn": 0, "by": "seller_bot"}}


# --- what the customer said, not the words it contains (the router on a real graph, offline) ------


async def _routed(runtime: BatonRuntime, conversation_id: str, text: str) -> tuple[str, str | None]:
    """Status after ``text`` and the trigger of the handoff it started, if any."""
    await runtime.post_message(conversation_id, "Hi")
    result = await runtime.post_message(conversation_id, text)
    return result.status, result.handoff.trigger if result.handoff else None


@pytest.mark.parametrize(
    "text",
    [
        "Put me through to one of your staff",
        "Could a human being call me back about this listing?",
        "is there a real person I can talk to",
        "get me your manager",
        "I don't want to wait any more, let me talk to a human",
    ],
)
async def test_asking_for_a_person_in_other_words_reaches_a_person(
    memory_runtime: BatonRuntime, conversation_id: str, text: str
) -> None:
    assert await _routed(memory_runtime, conversation_id, text) == ("awaiting_human", "explicit_request")
    reason = (await memory_runtime.get(conversation_id)).handoffs[-1].reason
    assert "asked for a person" in reason  # the evidence span is quoted in the handoff reason


@pytest.mark.parametrize(
    "text",
    [
        "I do not want to speak to a human, just the price please",
        "I'd rather not talk to an agent yet, just send me the listings",
    ],
)
async def test_declining_a_person_stays_with_the_bots(
    memory_runtime: BatonRuntime, conversation_id: str, text: str
) -> None:
    status, trigger = await _routed(memory_runtime, conversation_id, text)
    assert status == "bot"
    assert trigger != "explicit_request"
    signals = Signals.model_validate((await memory_runtime.get(conversation_id)).signals)
    assert not signals.explicit_human_request
    denied = [e for e in signals.evidence if e.signal == "explicit_human_request"]
    assert denied
    assert all(e.negated for e in denied)


@pytest.mark.parametrize(
    "text",
    [
        "We're selling the condo on Courtland Court",
        "We'd like to sell the house on Probate Lane",
        "We live at 12 Lien Street and want to sell",
        "We want to sell our place on Grief Lane, never had a lawsuit or a lien",
        "Our house at 44 Justice Avenue is going on the market, no rush",
    ],
)
async def test_street_names_and_denied_cues_route_no_legal_or_distress_case(
    memory_runtime: BatonRuntime, conversation_id: str, text: str
) -> None:
    status, trigger = await _routed(memory_runtime, conversation_id, text)
    assert status == "bot", trigger
    signals = Signals.model_validate((await memory_runtime.get(conversation_id)).signals)
    assert signals.legal_complexity == "none"
    assert not signals.emotional_distress
    assert signals.timeline != "immediate"


async def test_a_real_legal_matter_on_a_court_street_still_reaches_a_person(
    memory_runtime: BatonRuntime, conversation_id: str
) -> None:
    text = "We're selling our place on Court Street but my brother's lawyer says there's a lien on it"
    assert await _routed(memory_runtime, conversation_id, text) == ("awaiting_human", "complexity_based")


# --- old data keeps loading ---------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parent / "fixtures"


async def test_a_checkpoint_from_before_typed_evidence_still_loads(tmp_path: Path) -> None:
    # Written by the analyzer of commit 48252b6: signals stored as a dict, evidence as plain strings.
    path = tmp_path / "checkpoints.sqlite"
    shutil.copy(FIXTURES / "checkpoint_signals_v1.sqlite", path)
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url=f"sqlite:///{path}") as rt:
        view = await rt.get("old-1")
        old = Signals.model_validate(view.signals)
        assert old.legal_complexity == "high"
        assert [str(e) for e in old.evidence][:2] == [
            "intent immediate_seller (0.91)",
            "negative sentiment -0.50",
        ]
        assert all(e.text == "" and e.turn is None for e in old.evidence)
        await rt.post_message("old-1", "Hello? Is anyone there?")  # the conversation goes on
        assert [t.text for t in (await rt.get("old-1")).transcript][-1] == "Hello? Is anyone there?"
