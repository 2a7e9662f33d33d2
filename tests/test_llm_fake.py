"""The model paths with the scripted fake: signals, bot replies and a whole runtime turn (no endpoint)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from graph.context.grounding import occurs_in
from graph.deps import BatonContext
from graph.policy_store import PolicyStore
from graph.runtime import BatonRuntime
from graph.settings import Settings
from graph.signal_service import SignalService, merge_signals
from graph.signals import Evidence, Signals
from nodes.base import model_reply
from nodes.concierge_bot import SPEC as CONCIERGE
from policies.loader import LoadedPolicy
from tests.fake_chat import ScriptedChatModel

POLICY = Path(__file__).resolve().parent.parent / "policies" / "real_estate.yaml"
SELL_TO_A_PERSON = "I want to sell my house, it's worth about $850,000. Can I talk to a real person?"
SELL = (
    "My name is Dana Whitfield. I'd like to sell my house at 12 Oak Street, we're relocating for a new job."
)


@pytest.fixture(scope="module")
def loaded() -> LoadedPolicy:
    return PolicyStore(POLICY).current()


@pytest.fixture(scope="module")
def service() -> SignalService:
    """One service (its intent classifier is trained once); tests swap ``.model``."""
    return SignalService()


def model_signals(**overrides: Any) -> dict[str, Any]:
    """A valid ``Signals`` payload as a model would fill the tool."""
    data: dict[str, Any] = {
        "intent": "immediate_seller",
        "intent_confidence": 0.95,
        "sentiment": 0.3,
        "complexity": 0.2,
        "explicit_human_request": False,
        "property_value": None,
        "lead_score": 0.7,
        "timeline": "moderate",
    }
    data.update(overrides)
    return data


async def _extract(
    service: SignalService, model: ScriptedChatModel, text: str, loaded: LoadedPolicy
) -> Signals:
    service.model = model
    try:
        return await service.extract([text], None, loaded)
    finally:
        service.model = None


def _offline(service: SignalService, text: str, loaded: LoadedPolicy) -> Signals:
    return service.analyzer_for(loaded).analyze([text], None)


# --- signals --------------------------------------------------------------------------------------


async def test_model_signals_keep_judgement_and_offline_facts(
    service: SignalService, loaded: LoadedPolicy
) -> None:
    model = ScriptedChatModel(responses=[model_signals()])
    signals = await _extract(service, model, SELL_TO_A_PERSON, loaded)
    assert signals.intent == "immediate_seller"
    assert signals.lead_score == 0.7  # the model's judgement
    assert signals.timeline == "moderate"
    assert signals.explicit_human_request is True  # the model missed it, the patterns did not
    assert signals.property_value == 850_000
    assert str(signals.evidence[0]) == "model signals"
    assert model.tools[0]["function"]["name"] == "Signals"
    asked = model.structured[0].schema["properties"]
    assert asked["intent"]["enum"] == [*loaded.policy.intents, "unknown"]  # a grammar keeps it in policy
    assert "vip" not in asked  # only the trusted profile decides that
    assert "evidence" not in asked
    system, human = model.calls[0]
    assert isinstance(system, SystemMessage)
    assert "- immediate_seller:" in system.text
    assert isinstance(human, HumanMessage)
    assert human.text == f"customer: {SELL_TO_A_PERSON}"
    assert model.remaining == 0


async def test_scores_are_a_grid_and_amounts_are_the_patterns(
    service: SignalService, loaded: LoadedPolicy
) -> None:
    # An endpoint without a grammar may still answer an amount: only the patterns' reading is used.
    model = ScriptedChatModel(responses=[model_signals(property_value=9_999_999.0)])
    signals = await _extract(service, model, SELL_TO_A_PERSON, loaded)
    assert signals.property_value == 850_000
    asked = model.structured[0].schema["properties"]
    assert "property_value" not in asked
    assert "budget" not in asked
    # llama.cpp's grammars ignore minimum/maximum: a bounded score is offered as the values it may take.
    assert asked["sentiment"]["enum"][0] == -1.0
    assert asked["sentiment"]["enum"][-1] == 1.0
    assert asked["lead_score"]["enum"][-1] == 10.0  # the 0-10 score product owners write rules on
    assert 8.0 in asked["lead_score"]["enum"]
    assert asked["failed_attempts"]["enum"][0] == 0


async def test_intent_outside_the_policy_is_replaced_by_the_offline_one(
    service: SignalService, loaded: LoadedPolicy
) -> None:
    model = ScriptedChatModel(responses=[model_signals(intent="order_pizza", intent_confidence=0.99)])
    signals = await _extract(service, model, SELL, loaded)
    offline = _offline(service, SELL, loaded)
    assert signals.intent == offline.intent != "order_pizza"
    assert signals.intent_confidence == offline.intent_confidence
    assert str(signals.evidence[0]) == "model signals"  # the rest of the model's answer is still used


@pytest.mark.parametrize(
    "bad",
    [
        {"sentiment": 5.0},  # out of range
        {"intent": "immediate_seller", "mood": "great"},  # a field Signals forbids
        {"timeline": "yesterday"},  # not a Timeline
    ],
)
async def test_invalid_model_signals_fall_back_with_a_warning(
    service: SignalService, loaded: LoadedPolicy, bad: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    model = ScriptedChatModel(responses=[bad])
    with caplog.at_level(logging.WARNING, logger="graph.signal_service"):
        signals = await _extract(service, model, SELL_TO_A_PERSON, loaded)
    assert signals == _offline(service, SELL_TO_A_PERSON, loaded)
    assert "model signals" not in [str(e) for e in signals.evidence]
    assert any("did not validate" in r.getMessage() for r in caplog.records)


async def test_failing_model_falls_back_with_a_warning(
    service: SignalService, loaded: LoadedPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    model = ScriptedChatModel(responses=[ConnectionError("server said 500")])
    with caplog.at_level(logging.WARNING, logger="graph.signal_service"):
        signals = await _extract(service, model, SELL_TO_A_PERSON, loaded)
    assert signals == _offline(service, SELL_TO_A_PERSON, loaded)
    assert any("extraction failed" in r.getMessage() and "500" in r.getMessage() for r in caplog.records)


def test_merge_never_drops_what_the_patterns_found() -> None:
    model = Signals(intent="immediate_buyer", intent_confidence=0.8, failed_attempts=0, vip=False)
    offline = Signals(
        intent="immediate_seller", intent_confidence=0.6, failed_attempts=2, vip=True, budget=500_000.0
    )
    merged = merge_signals(model, offline, {"immediate_buyer", "immediate_seller"})
    assert (merged.intent, merged.intent_confidence) == ("immediate_buyer", 0.8)
    assert (merged.failed_attempts, merged.vip, merged.budget) == (2, True, 500_000.0)


# --- bot replies ----------------------------------------------------------------------------------


def _context(tmp_path: Path, model: ScriptedChatModel | None) -> BatonContext:
    settings = Settings(data_dir=tmp_path / "baton", policy=POLICY, offline=True)
    return BatonContext(settings=settings, policies=PolicyStore(POLICY), signals=SignalService(), model=model)


async def test_model_reply_is_the_scripted_text(tmp_path: Path) -> None:
    model = ScriptedChatModel(responses=["  Welcome, Dana! Are you buying or selling?  "])
    collected = {"customer_name": {"value": "Dana", "turn": 0, "by": "concierge_bot"}}
    reply = await model_reply(
        _context(tmp_path, model),
        CONCIERGE,
        messages=[HumanMessage("Hi, I'm Dana")],
        collected=collected,
        instruction="Then ask: Are you looking to buy, sell, or something else?",
    )
    assert reply == "Welcome, Dana! Are you buying or selling?"
    system, history = model.calls[0]
    assert isinstance(system, SystemMessage)
    assert "concierge" in system.text
    assert "- customer_name: Dana" in system.text
    assert "Then ask: Are you looking to buy" in system.text
    assert history.text == "Hi, I'm Dana"


@pytest.mark.parametrize("script", [["   "], [TimeoutError("slow endpoint")]])
async def test_empty_or_failed_model_reply_gives_none_with_a_warning(
    tmp_path: Path, script: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    ctx = _context(tmp_path, ScriptedChatModel(responses=script))
    with caplog.at_level(logging.WARNING, logger="nodes.base"):
        reply = await model_reply(
            ctx, CONCIERGE, messages=[HumanMessage("Hi")], collected={}, instruction="x"
        )
    assert reply is None
    assert any("using offline reply" in r.getMessage() for r in caplog.records)


async def test_no_model_means_no_model_reply(tmp_path: Path) -> None:
    reply = await model_reply(
        _context(tmp_path, None), CONCIERGE, messages=[HumanMessage("Hi")], collected={}, instruction="x"
    )
    assert reply is None


# --- a whole runtime with the scripted model ------------------------------------------------------


def _inject(runtime: BatonRuntime, model: ScriptedChatModel) -> None:
    runtime.context.model = model
    runtime.context.signals = SignalService(model)


async def test_runtime_turns_use_the_model_for_signals_briefs_and_replies(
    memory_runtime: BatonRuntime, conversation_id: str
) -> None:
    hello = "Hello! I'm Baton's concierge. Are you buying or selling?"
    seller = "Thanks Dana, I have 12 Oak Street. When would you ideally like to sell?"
    model = ScriptedChatModel(
        responses=[
            model_signals(intent="general_question", intent_confidence=0.9),  # turn 1 router
            hello,  # turn 1 concierge
            model_signals(),  # turn 2 router: a seller -> seller_bot
            {  # turn 2 brief for seller_bot: the facts...
                "facts": [
                    {"key": "address", "value": "12 Oak Street", "turn": 2},
                    {"key": "customer_name", "value": "Dana Whitfield", "turn": 0},  # wrong turn
                    {"key": "price", "value": "$1,000,000", "turn": 2},  # invented
                ]
            },
            {  # ... then the prose
                "summary": "Dana Whitfield is relocating and wants to sell 12 Oak Street.",
                "goal": "Sell the house at 12 Oak Street.",
                "urgency": "medium",
                "next_step": "Ask when Dana wants to sell.",
                "openers": ["a", "b", "c"],
            },
            seller,  # turn 2 seller_bot
        ]
    )
    _inject(memory_runtime, model)

    first = await memory_runtime.post_message(conversation_id, "Hi")
    assert [(r.speaker, r.text) for r in first.replies] == [("concierge_bot", hello)]
    assert first.routing is not None
    assert first.routing["rule_id"] == "default"

    second = await memory_runtime.post_message(conversation_id, SELL)
    assert second.active_agent == "seller_bot"
    assert second.replies[-1].speaker == "seller_bot"
    assert second.replies[-1].text == seller  # what the customer gets is the model's reply
    assert second.handoff is not None
    brief = second.handoff.brief
    assert brief["source"] == "llm"
    assert brief["summary"].startswith("Dana Whitfield is relocating")
    view = await memory_runtime.get(conversation_id)
    assert str(Signals.model_validate(view.signals).evidence[0]) == "model signals"
    text_of = {t.index: t.text for t in view.transcript}
    values = {f["value"]: f["turn"] for f in brief["facts"]}
    assert values["Dana Whitfield"] == 2  # re-cited to the turn that says it
    assert "$1,000,000" not in values  # ungrounded: dropped
    assert all(occurs_in(text_of[f["turn"]], f["value"]) for f in brief["facts"])
    assert model.remaining == 0  # exactly the calls scripted: two on turn 1, four on turn 2


async def test_runtime_falls_back_to_offline_when_the_model_misbehaves(
    memory_runtime: BatonRuntime, conversation_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = ScriptedChatModel(responses=[{"sentiment": "furious"}, ""])  # invalid signals, empty reply
    _inject(memory_runtime, model)
    with caplog.at_level(logging.WARNING):
        result = await memory_runtime.post_message(conversation_id, "Hi")
    assert [r.speaker for r in result.replies] == ["concierge_bot"]
    assert result.replies[0].text.startswith(CONCIERGE.greeting)  # the offline reply
    messages = [r.getMessage() for r in caplog.records]
    assert any("did not validate" in m for m in messages)
    assert any("empty reply" in m for m in messages)
    assert model.remaining == 0


def test_a_models_request_for_a_person_needs_a_person_named_and_not_declined() -> None:
    """SmolLM2 read a request for a person into "Hi"; the layer found no person there."""
    asks = Signals(intent="immediate_seller", intent_confidence=0.8, explicit_human_request=True)
    offline = Signals(intent="immediate_seller", intent_confidence=0.8)
    intents = {"immediate_seller"}
    assert not merge_signals(asks, offline, intents, names_a_person=False).explicit_human_request
    assert merge_signals(asks, offline, intents, names_a_person=True).explicit_human_request
    declined = offline.model_copy(
        update={"evidence": [Evidence(note="declined", signal="explicit_human_request", negated=True)]}
    )
    assert not merge_signals(asks, declined, intents, names_a_person=True).explicit_human_request


def test_mentions_a_person_is_read_from_the_turn() -> None:
    from graph.language.cues import mentions_a_person

    assert not mentions_a_person("Hi")
    assert mentions_a_person("could someone from your team ring me")
    assert not mentions_a_person("We live on Agent Street")  # a name hides its words
