"""Baton against a real OpenAI-compatible endpoint (``make test-llm``: llama.cpp + SmolLM2-135M).

Every test here goes through ``make_chat_model`` and langchain-openai to a live server. The model
``make test-llm`` serves is tiny, so these tests assert shapes and Baton's guarantees (valid signals,
grounded facts, a conversation that never breaks, a logged fallback when the model's structured output
does not validate), never the model's judgement. Which path each call took (``llm`` = the model's
output was used, ``fallback`` = the offline path) is written to ``$BATON_LLM_REPORT`` when set.

Without ``OPENAI_BASE_URL`` the tests skip, unless ``BATON_REQUIRE_LLM=1`` (set by ``make test-llm``),
where a missing endpoint is a failure.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage

from graph.actions import Reply, ReturnToAI
from graph.chat_model import make_chat_model
from graph.context import Brief, build_brief, opening_message
from graph.context.grounding import occurs_in
from graph.deps import BatonContext
from graph.policy_store import PolicyStore
from graph.runtime import BatonRuntime
from graph.settings import Settings
from graph.signal_service import SignalService
from graph.signals import Signals
from graph.transcript import Turn
from nodes.base import model_reply
from nodes.concierge_bot import SPEC as CONCIERGE
from policies.loader import LoadedPolicy

# One event loop for every test here: langchain-openai caches its httpx.AsyncClient per base URL for
# the process, and that client's pooled connections die with the loop that opened them.
pytestmark = [pytest.mark.llm, pytest.mark.asyncio(loop_scope="session")]

POLICY = Path(__file__).resolve().parent.parent / "policies" / "real_estate.yaml"
SELL = (
    "My name is Dana Whitfield. I'd like to sell my house at 12 Oak Street, we're relocating for a new job."
)
PRICE = "We'd like to sell within two months, hoping for around $850,000."
PERSON = "Can I talk to a real person please? My number is 617-555-0142."
TURNS = [
    Turn(index=0, role="customer", text="Hi"),
    Turn(index=1, role="bot", text="Hi, welcome! Are you looking to buy, sell, or something else?"),
    Turn(index=2, role="customer", text=SELL),
    Turn(index=3, role="bot", text="Thanks, Dana. When would you ideally like to sell?"),
    Turn(index=4, role="customer", text=PRICE),
    Turn(index=5, role="customer", text=PERSON),
]
# The slowest machine we run on is 2 CPU cores; a grammar-constrained answer can take a while there.
TIMEOUT_S = float(os.environ.get("BATON_LLM_TIMEOUT_S", "120"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Online settings for the endpoint in ``OPENAI_BASE_URL``; skip or fail when there is none."""
    found = Settings(
        data_dir=tmp_path / "baton",
        policy=POLICY,
        offline=False,
        model_timeout_s=TIMEOUT_S,
    )
    if not found.openai_base_url:
        if os.environ.get("BATON_REQUIRE_LLM") == "1":
            pytest.fail("BATON_REQUIRE_LLM=1 but OPENAI_BASE_URL is unset (make test-llm starts an endpoint)")
        pytest.skip("no OpenAI-compatible endpoint: set OPENAI_BASE_URL (make test-llm does)")
    assert found.model_configured
    return found


@pytest.fixture
def model(settings: Settings) -> BaseChatModel:
    built = make_chat_model(settings)
    assert built is not None
    return built


@pytest.fixture
def loaded(settings: Settings) -> LoadedPolicy:
    return PolicyStore(settings.policy).current()


def record(name: str, path: str, detail: str = "") -> None:
    """Note which path a call took (``make test-llm`` prints the list at the end)."""
    target = os.environ.get("BATON_LLM_REPORT")
    if target:
        with Path(target).open("a", encoding="utf-8") as report:
            report.write(f"{name}: {path}{f' ({detail})' if detail else ''}\n")


def warnings_from(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno >= logging.WARNING]


def assert_logged_fallback(messages: list[str], what: str) -> str:
    """A fallback must be logged, and be about the model's output, not a broken endpoint."""
    assert messages, f"{what} fell back to the offline path without a warning"
    broken = [m for m in messages if "did not validate" not in m]
    assert not broken, f"{what}: the endpoint call itself failed (not a model-quality fallback): {broken}"
    return messages[0][:160]


# --- one call at a time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [f"{SELL} {PERSON}", "I'm pre-approved and want to buy a 3 bedroom house under $600,000 this spring."],
    ids=["seller-asks-for-person", "buyer"],
)
async def test_signals_are_valid_whichever_path(
    model: BaseChatModel, loaded: LoadedPolicy, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    service = SignalService(model)
    with caplog.at_level(logging.WARNING, logger="graph.signal_service"):
        signals = await service.extract([text], None, loaded)
    assert isinstance(signals, Signals)
    Signals.model_validate(signals.model_dump())
    assert signals.intent in loaded.policy.intents  # an out-of-policy intent is replaced
    offline = service.analyzer_for(loaded).analyze([text], None)
    if offline.explicit_human_request:
        assert signals.explicit_human_request  # the patterns' finding is never dropped
    name = f"signals[{text[:24]}...]"
    if [str(e) for e in signals.evidence[:1]] == ["model signals"]:
        record(name, "llm", f"intent={signals.intent} sentiment={signals.sentiment}")
    else:
        assert signals == offline
        record(name, "fallback", assert_logged_fallback(warnings_from(caplog, "graph.signal_service"), name))


async def test_bot_reply_is_a_non_empty_string(
    settings: Settings, model: BaseChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = BatonContext(
        settings=settings, policies=PolicyStore(settings.policy), signals=SignalService(model), model=model
    )
    collected = {
        "goal": {"value": "sell", "turn": 0, "by": "concierge_bot"},
        "customer_name": {"value": "Dana", "turn": 0, "by": "concierge_bot"},
    }
    with caplog.at_level(logging.WARNING, logger="nodes.base"):
        reply = await model_reply(
            ctx,
            CONCIERGE,
            messages=[HumanMessage("Hi, I'm Dana and I'd like to sell my house.")],
            collected=collected,
            instruction="Then ask: What's the best email or phone number to reach you?",
        )
    assert warnings_from(caplog, "nodes.base") == []
    assert isinstance(reply, str)
    assert reply.strip()
    record("bot reply", "llm", f"{len(reply)} chars: {reply[:60]!r}")


@pytest.mark.parametrize("method", ["function_calling", "json_object"])
async def test_brief_is_grounded_whichever_path(
    settings: Settings, loaded: LoadedPolicy, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Both ways llama-cpp-python turns a schema into a grammar: a forced tool call, response_format.
    model = make_chat_model(settings.model_copy(update={"model_structured_output": method}))
    assert model is not None
    target = loaded.policy.targets["human_agent"]
    with caplog.at_level(logging.WARNING, logger="graph.context.llm_brief"):
        brief = await build_brief(TURNS, target="human_agent", sections=target.sections, model=model)
    assert isinstance(brief, Brief)
    assert brief.source in {"llm", "offline"}
    by_index = {t.index: t for t in TURNS}
    assert brief.facts
    for fact in brief.facts:
        assert fact.turn in by_index, fact
        assert occurs_in(by_index[fact.turn].text, fact.value), fact
    assert len(brief.openers) == 3
    assert all(isinstance(o, str) and o.strip() for o in brief.openers)
    assert set(brief.sections) <= set(target.sections)
    opening = opening_message(brief, "Maria from our agents team")
    assert isinstance(opening, str)
    assert opening.startswith("Hi")
    name = f"brief[{method}]"
    if brief.source == "llm":
        record(name, "llm", f"{len(brief.facts)} grounded facts, summary {brief.summary[:60]!r}")
    else:
        record(
            name, "fallback", assert_logged_fallback(warnings_from(caplog, "graph.context.llm_brief"), name)
        )


async def test_an_unsupported_method_degrades_to_the_offline_brief(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # llama-cpp-python's server refuses response_format type json_schema (an error 500): never a failed turn.
    model = make_chat_model(settings.model_copy(update={"model_structured_output": "json_schema"}))
    assert model is not None
    with caplog.at_level(logging.WARNING, logger="graph.context.llm_brief"):
        brief = await build_brief(TURNS, target="human_agent", model=model)
    if brief.source == "llm":  # a server that learned json_schema: the path works, nothing to degrade
        record("brief[json_schema]", "llm")
        return
    assert brief == await build_brief(TURNS, target="human_agent")
    failures = warnings_from(caplog, "graph.context.llm_brief")
    assert len(failures) == 1  # the first call failed: no second call was made
    assert "failed" in failures[0]
    record("brief[json_schema]", "fallback", failures[0][:160])


# --- a whole conversation -------------------------------------------------------------------------


async def test_conversation_reaches_a_human_and_resumes(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    cid = f"llm-{uuid.uuid4().hex}"
    paths: list[str] = []
    async with BatonRuntime.open(settings, checkpoint_url="memory") as runtime:
        assert runtime.context.model is not None
        with caplog.at_level(logging.WARNING):
            result = None
            for text in ["Hi", SELL, PRICE, PERSON]:
                result = await runtime.post_message(cid, text)
                view = await runtime.get(cid)
                evidence = [e["note"] for e in view.signals["evidence"][:1]]
                paths.append("llm" if evidence == ["model signals"] else "fallback")
                if result.pending_interrupt is not None:
                    break  # the tiny model may judge an earlier turn worth a human: fine
                assert result.status == "bot"
                assert result.replies, f"no reply to {text!r}"
                assert all(r.text.strip() for r in result.replies)
            assert result is not None
            # The last turn asks for a person: the patterns guarantee a human handoff by then.
            payload = result.pending_interrupt
            assert payload is not None
            assert result.routing is not None
            rule = result.routing["rule_id"]
            assert result.status == "awaiting_human"
            assert result.active_agent == "human_agent"
            brief = payload.brief
            assert brief["source"] in {"llm", "offline"}
            transcript = {t.index: t.text for t in (await runtime.get(cid)).transcript}
            assert all(occurs_in(transcript[f["turn"]], f["value"]) for f in brief["facts"])

            replied = await runtime.resume(cid, Reply(text="Hi Dana, I'm Maria.", agent_id="maria"))
            assert replied.status == "human"
            assert [r.text for r in replied.replies] == ["Hi Dana, I'm Maria."]
            assert replied.pending_interrupt is not None

            back = await runtime.resume(cid, ReturnToAI(note="Called Dana, valuation booked"))
            assert back.status == "bot"
            assert back.pending_interrupt is None
            assert back.active_agent != "human_agent"
            assert back.replies
            assert back.replies[-1].text.strip()
        view = await runtime.get(cid)
        assert view.handoffs[-1].status == "returned"
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    broken = [m for m in messages if "failed" in m]
    assert not broken, f"endpoint calls failed during the conversation: {broken}"
    reply_fallbacks = sum("using offline reply" in m for m in messages)
    record(
        "conversation",
        f"signals per turn {paths}",
        f"human via rule {rule}, handoff brief {brief['source']}, {reply_fallbacks} bot replies fell back, "
        f"{len(view.transcript)} turns",
    )
