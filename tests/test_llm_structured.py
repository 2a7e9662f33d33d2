"""How structured output is asked for, per endpoint (no endpoint is reached: payloads are built only)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from graph.chat_model import METHOD_KEY, make_chat_model, method_of, structured, structured_method
from graph.context import build_brief
from graph.settings import Settings
from graph.signal_service import signals_schema
from graph.transcript import Turn
from tests.fake_chat import ScriptedChatModel

SCHEMA = signals_schema(["buy", "sell"])


@pytest.mark.parametrize(
    ("base_url", "configured", "expected"),
    [
        (None, "auto", "json_schema"),  # OpenAI itself: Structured Outputs
        ("https://api.openai.com/v1", "auto", "json_schema"),
        ("http://127.0.0.1:8000/v1", "auto", "function_calling"),  # vLLM, llama.cpp, ...
        ("https://llm.internal.example/v1", "auto", "function_calling"),
        ("http://127.0.0.1:8000/v1", "json_object", "json_object"),  # an explicit choice wins
        (None, "function_calling", "function_calling"),
    ],
)
def test_method_per_endpoint(base_url: str | None, configured: Any, expected: str) -> None:
    settings = Settings(
        openai_base_url=base_url, openai_api_key="sk-test", model_structured_output=configured
    )
    assert structured_method(settings) == expected
    model = make_chat_model(settings)
    assert model is not None
    assert method_of(model) == expected


def _payload(configured: str) -> dict[str, Any]:
    """The request body ChatOpenAI would send for a structured call (built, never sent)."""
    settings = Settings(
        openai_base_url="http://127.0.0.1:8000/v1", model="local", model_structured_output=configured
    )
    model = make_chat_model(settings)
    assert model is not None
    binding: Any = structured(model, SCHEMA).first  # type: ignore[attr-defined]
    payload: dict[str, Any] = model._get_request_payload([HumanMessage("hi")], **binding.kwargs)
    return payload


def test_forced_tool_call_carries_the_schema_as_the_tools_parameters() -> None:
    payload = _payload("function_calling")
    assert payload["tool_choice"] == {"type": "function", "function": {"name": "Signals"}}
    assert payload["tools"][0]["function"]["parameters"]["properties"]["intent"]["enum"] == [
        "buy",
        "sell",
        "unknown",
    ]
    assert "response_format" not in payload


def test_json_object_carries_the_schema_for_a_llama_cpp_grammar() -> None:
    payload = _payload("json_object")
    assert payload["response_format"]["type"] == "json_object"
    assert payload["response_format"]["schema"]["properties"]["intent"]["enum"] == ["buy", "sell", "unknown"]
    assert "tools" not in payload


def test_json_schema_is_openai_structured_outputs() -> None:
    payload = _payload("json_schema")
    assert payload["response_format"]["type"] == "json_schema"
    assert payload["response_format"]["json_schema"]["name"] == "Signals"
    assert payload["response_format"]["json_schema"]["schema"]["required"] == SCHEMA["required"]


async def test_the_brief_asks_with_the_models_method() -> None:
    turns = [Turn(index=0, role="customer", text="Order 9342308357 never came, I'm Ana Ruiz.")]
    answers = [
        {"facts": [{"key": "order_id", "value": "9342308357", "turn": 0}]},
        {
            "summary": "Ana Ruiz's order 9342308357 never arrived.",
            "goal": "Get order 9342308357 delivered.",
            "urgency": "medium",
            "next_step": "Trace the parcel.",
            "openers": [],
        },
    ]
    model = ScriptedChatModel(responses=answers, metadata={METHOD_KEY: "json_object"})
    brief = await build_brief(turns, target="human_agent", model=model)
    assert brief.source == "llm"
    assert [r.method for r in model.structured] == ["json_mode", "json_mode"]
    formats = [r.kwargs["response_format"] for r in model.structured]
    assert [f["schema"]["title"] for f in formats] == ["BriefFacts", "BriefSummary"]
    assert all(f["type"] == "json_object" for f in formats)
