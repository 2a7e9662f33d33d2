"""20 SGD dev conversations replayed to their handoff through the graph, against the real endpoint.

``make test-llm`` measures the model path end to end: each conversation is seeded and escalated as
``baton eval context`` does (:class:`evals.providers.GraphProvider`), so the router asks the model for
the signals and the brief exactly as in production. LangChain's callbacks record every model answer;
the report counts the answers that validate against their schema (brief facts, brief prose, signals)
and the fact recall (:func:`evals.metrics.fact_recall`) of the briefs, of the model's own grounded
facts and of the offline briefs. It is written to ``$BATON_LLM_EVAL_REPORT`` (JSON) and summed up in
``$BATON_LLM_REPORT``. The model is tiny: the test asserts that the path works, not that it wins.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from pydantic import BaseModel, ValidationError

from evals import metrics
from evals.context import DirectProvider, load_rows, run_context_eval
from evals.providers import GraphProvider
from graph.chat_model import METHOD_KEY, QUOTE_KEY
from graph.context import Brief, Fact
from graph.context.llm_brief import FactsAnswer, SummaryAnswer, ground_facts
from graph.runtime import BatonRuntime
from graph.settings import Settings
from graph.signals import Signals
from graph.transcript import Turn
from tests.test_llm_endpoint import TIMEOUT_S, record

pytestmark = [pytest.mark.llm, pytest.mark.asyncio(loop_scope="session")]

ROWS = int(os.environ.get("BATON_LLM_EVAL_ROWS", "20"))
SUPPORT = Path(__file__).resolve().parent.parent / "policies" / "support.yaml"
DATASET = Path(
    os.environ.get("BATON_LLM_EVAL_DATASET")
    or Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sgd_dev.jsonl"
)
REPORT = Path(os.environ.get("BATON_LLM_EVAL_REPORT") or "test-artifacts/llm-eval.json")
ANSWERS: dict[str, type[BaseModel]] = {
    "BriefFacts": FactsAnswer,
    "BriefSummary": SummaryAnswer,
    "Signals": Signals,
}


@dataclass
class Call:
    """One model call: the schema it was asked to fill, the JSON it answered, how long it took."""

    part: str
    answer: Any
    seconds: float
    tokens: tuple[int, int] = (0, 0)  # prompt, completion
    error: str = ""

    @property
    def valid(self) -> bool:
        """Does the answer validate against the part's schema (what Baton checks before using it)?"""
        schema = ANSWERS.get(self.part)
        if schema is None or self.answer is None:
            return False
        try:
            schema.model_validate(self.answer)
        except ValidationError:
            return False
        return True


def _part(params: dict[str, Any]) -> str:
    choice = params.get("tool_choice")
    if isinstance(choice, dict):
        return str(choice["function"]["name"])
    fmt = params.get("response_format") or {}
    return str((fmt.get("schema") or {}).get("title") or (fmt.get("json_schema") or {}).get("name") or "?")


def _answer(result: LLMResult) -> Any:
    message = getattr(result.generations[0][0], "message", None)
    if message is None:
        return None
    if getattr(message, "tool_calls", None):
        return message.tool_calls[0]["args"]
    try:
        return json.loads(str(message.content))
    except ValueError:
        return None


class CallRecorder(AsyncCallbackHandler):
    """Every chat-model call and its raw answer, as langchain's callbacks report them."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._started: dict[UUID, tuple[str, float]] = {}

    async def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._started[run_id] = (_part(kwargs.get("invocation_params") or {}), time.perf_counter())

    async def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        part, started = self._started.pop(run_id)
        usage = (response.llm_output or {}).get("token_usage") or {}
        tokens = (usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
        self.calls.append(Call(part, _answer(response), time.perf_counter() - started, tokens))

    async def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        part, started = self._started.pop(run_id)
        error_text = f"{type(error).__name__}: {error}"
        self.calls.append(Call(part, None, time.perf_counter() - started, error=error_text))


@dataclass
class Case:
    """What the model did for one conversation."""

    calls: list[Call]
    model_facts: list[Fact] = field(default_factory=list)
    proposed: int = 0
    signals_from_model: bool = False
    source: str = "offline"

    def valid(self, part: str) -> bool:
        return any(c.part == part and c.valid for c in self.calls)


class RecordingProvider:
    """:class:`GraphProvider` plus what the model answered for each conversation."""

    def __init__(self, runtime: BatonRuntime, recorder: CallRecorder) -> None:
        self.graph = GraphProvider(runtime, prefix="llm-eval")
        self.runtime, self.recorder = runtime, recorder
        self.cases: dict[str, Case] = {}

    async def __call__(self, turns: list[Turn], case_id: str) -> Brief:
        self.recorder.calls = []
        brief = await self.graph(turns, case_id)
        case = Case(calls=list(self.recorder.calls), source=brief.source)
        facts = next((c for c in case.calls if c.part == "BriefFacts" and c.valid), None)
        if facts is not None:
            proposed = FactsAnswer.model_validate(facts.answer).facts
            case.proposed = len(proposed)
            case.model_facts = ground_facts([Fact(**f.model_dump()) for f in proposed], turns)
        view = await self.runtime.get(f"llm-eval-{case_id}")
        evidence = Signals.model_validate(view.signals).evidence
        case.signals_from_model = bool(evidence) and str(evidence[0]) == "model signals"
        self.cases[case_id] = case
        return brief


def _p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


async def test_sgd_briefs_and_signals_from_the_model(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "baton",
        policy=SUPPORT,
        offline=False,
        model_timeout_s=TIMEOUT_S,
        case_memory=False,
    )
    if not settings.openai_base_url:
        if os.environ.get("BATON_REQUIRE_LLM") == "1":
            pytest.fail("BATON_REQUIRE_LLM=1 but OPENAI_BASE_URL is unset (make test-llm starts an endpoint)")
        pytest.skip("no OpenAI-compatible endpoint: set OPENAI_BASE_URL (make test-llm does)")
    if not DATASET.is_file():
        pytest.fail(f"{DATASET} is missing (set BATON_LLM_EVAL_DATASET)")
    started = time.perf_counter()
    recorder = CallRecorder()
    async with BatonRuntime.open(settings, checkpoint_url="memory") as runtime:
        assert runtime.context.model is not None
        runtime.context.model.callbacks = [recorder]
        provider = RecordingProvider(runtime, recorder)
        report = await run_context_eval(DATASET, provider=provider, limit=ROWS, progress=False)
        metadata = runtime.context.model.metadata or {}
    offline = await run_context_eval(DATASET, provider=DirectProvider(), limit=ROWS, progress=False)

    rows = load_rows(DATASET, ROWS)
    cases = [provider.cases[row.id] for row in rows if row.id in provider.cases]
    gold = [g for row in rows for g in row.gold()]
    model_carried = sum(
        metrics.carried(g, provider.cases[row.id].model_facts) for row in rows for g in row.gold()
    )
    calls = [c for case in cases for c in case.calls]
    seconds = {part: [c.seconds for c in calls if c.part == part] for part in ANSWERS}
    prompt = {part: [float(c.tokens[0]) for c in calls if c.part == part] for part in ANSWERS}
    completion = {part: [float(c.tokens[1]) for c in calls if c.part == part] for part in ANSWERS}
    result = {
        "model": settings.model,
        "structured_output": metadata.get(METHOD_KEY),
        "quote_values": metadata.get(QUOTE_KEY),
        "dataset": str(DATASET),
        "n": len(rows),
        "briefs": {
            "facts_valid": sum(c.valid("BriefFacts") for c in cases),
            "summary_valid": sum(c.valid("BriefSummary") for c in cases),
            "both_valid": sum(c.valid("BriefFacts") and c.valid("BriefSummary") for c in cases),
            "used_model": sum(c.source == "llm" for c in cases),
        },
        "fact_recall": {
            "briefs": report.fact_recall,
            "model_facts_only": round(model_carried / len(gold), 4) if gold else None,
            "offline_briefs": offline.fact_recall,
        },
        "grounding_precision": report.grounding_precision,
        "model_facts": {
            "proposed": sum(c.proposed for c in cases),
            "grounded": sum(len(c.model_facts) for c in cases),
        },
        "signals": {
            "valid": sum(c.valid("Signals") for c in cases),
            "used": sum(c.signals_from_model for c in cases),
        },
        "call_errors": [c.error for c in calls if c.error],
        "seconds_p50": {part: _p50(values) for part, values in seconds.items()},
        "prompt_tokens_p50": {part: _p50(values) for part, values in prompt.items()},
        "completion_tokens_p50": {part: _p50(values) for part, values in completion.items()},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    briefs, recall, signals = result["briefs"], result["fact_recall"], result["signals"]
    record(
        f"sgd briefs[{len(rows)}]",
        f"facts valid {briefs['facts_valid']}, prose valid {briefs['summary_valid']}, "
        f"signals valid {signals['valid']}",
        f"fact recall {recall['briefs']} (model facts alone {recall['model_facts_only']}, "
        f"offline {recall['offline_briefs']}); report {REPORT}",
    )

    assert report.meta["errors"] == 0, report.meta
    assert len(cases) == ROWS
    assert all(len(case.calls) == 3 for case in cases), [[c.part for c in case.calls] for case in cases]
    assert not result["call_errors"]
    # The path works end to end: the model's answers validate and are used, and what it says about
    # the customer is grounded (ground_facts keeps only values found in a customer turn).
    assert briefs["facts_valid"] > 0
    assert briefs["summary_valid"] > 0
    assert signals["valid"] > 0
    assert signals["used"] == signals["valid"]
    for row in rows:
        turns = {t.index: t for t in row.briefing_turns()}
        for fact in provider.cases[row.id].model_facts:
            assert metrics.is_grounded(fact, list(turns.values())), fact
