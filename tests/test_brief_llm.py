"""The scripted fake chat model, and the model path of the brief (grounding, fallback, warnings)."""

from __future__ import annotations

import logging

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from graph.chat_model import QUOTE_KEY
from graph.context import BriefDraft, build_brief
from graph.context.grounding import occurs_in
from graph.context.llm_brief import facts_schema
from graph.transcript import Turn
from tests.fake_chat import ScriptedChatModel, ScriptExhausted, tool_call

TURNS = [
    Turn(index=0, role="bot", text="Hi! How can I help?"),
    Turn(index=1, role="customer", text="I want to cancel my order, it's 9342308357."),
    Turn(index=2, role="bot", text="Can I have your full name?"),
    Turn(index=3, role="customer", text="Rodriguez Domingo"),
    Turn(index=4, role="customer", text="Account ID: OVXGGYVD6I"),
]
OPENERS = [
    "Hi Rodriguez, I can see order 9342308357 and that you'd like to cancel it.",
    "I have your account OVXGGYVD6I on screen, so no need to repeat anything.",
    "Let's get order 9342308357 cancelled for you, Rodriguez.",
]


def facts_answer(*facts: dict[str, object]) -> dict[str, object]:
    return {
        "facts": list(facts)
        or [
            {"key": "order_id", "value": "9342308357", "turn": 1},
            {"key": "customer_name", "value": "Rodriguez Domingo", "turn": 1},  # wrong turn: re-cited
            {"key": "email", "value": "rod@example.com", "turn": 3},  # invented: dropped
        ]
    }


def summary_answer(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "summary": "Rodriguez wants to cancel order 9342308357. Identity given.",
        "goal": "Cancel order 9342308357.",
        "urgency": "medium",
        "next_step": "Cancel the order and confirm.",
        "openers": OPENERS,
    }
    data.update(overrides)
    return data


class Weather(BaseModel):
    city: str
    degrees: int


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order."""
    return order_id


# --- the fake itself -------------------------------------------------------------------------------


def test_scripted_replies_in_order_and_records_calls() -> None:
    model = ScriptedChatModel(responses=["one", AIMessage(content="two")])
    assert model.invoke("hi").content == "one"
    assert model.invoke([HumanMessage(content="again")]).content == "two"
    assert [m[0].content for m in model.calls] == ["hi", "again"]
    with pytest.raises(ScriptExhausted):
        model.invoke("three")


def test_bind_tools_records_tools_and_returns_tool_calls() -> None:
    model = ScriptedChatModel(responses=[tool_call("lookup_order", {"order_id": "123"})])
    bound = model.bind_tools([lookup_order])
    assert model.tools[0]["function"]["name"] == "lookup_order"
    reply = bound.invoke("where is 123?")
    assert isinstance(reply, AIMessage)
    assert reply.tool_calls[0]["args"] == {"order_id": "123"}


def test_streaming_keeps_tool_calls() -> None:
    model = ScriptedChatModel(responses=[tool_call("lookup_order", {"order_id": "9"}, "call_1")])
    chunks = list(model.stream("go"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.tool_calls == [
        {"name": "lookup_order", "args": {"order_id": "9"}, "id": "call_1", "type": "tool_call"}
    ]


async def test_structured_output_parses_dict_json_and_tool_call() -> None:
    model = ScriptedChatModel(
        responses=[
            {"city": "Oslo", "degrees": 3},
            AIMessage(content='{"city": "Rome", "degrees": 21}'),
            tool_call("Weather", {"city": "Lima", "degrees": 18}),
        ]
    )
    structured = model.with_structured_output(Weather, method="function_calling")
    assert structured.invoke("a") == Weather(city="Oslo", degrees=3)
    assert await structured.ainvoke("b") == Weather(city="Rome", degrees=21)
    assert structured.invoke("c") == Weather(city="Lima", degrees=18)


def test_structured_output_include_raw() -> None:
    model = ScriptedChatModel(responses=[{"city": "Oslo", "degrees": 3}, "not json"])
    structured = model.with_structured_output(Weather, include_raw=True)
    ok = structured.invoke("a")
    assert ok["parsed"] == Weather(city="Oslo", degrees=3)
    assert ok["parsing_error"] is None
    assert isinstance(ok["raw"], AIMessage)
    bad = structured.invoke("b")
    assert bad["parsed"] is None
    assert bad["parsing_error"] is not None


def test_scripted_exception_is_raised() -> None:
    model = ScriptedChatModel(responses=[TimeoutError("slow")])
    with pytest.raises(TimeoutError):
        model.invoke("x")


# --- the brief's model path ------------------------------------------------------------------------


async def test_valid_answers_give_llm_brief_with_only_grounded_facts() -> None:
    model = ScriptedChatModel(responses=[facts_answer(), summary_answer()])
    brief = await build_brief(TURNS, target="human_agent", model=model)
    assert brief.source == "llm"
    assert brief.summary.startswith("Rodriguez wants")
    assert (brief.goal, brief.urgency) == ("Cancel order 9342308357.", "medium")
    values = {f.value: f.turn for f in brief.facts}
    assert "rod@example.com" not in values  # not in the cited turn nor any other: dropped
    assert values["Rodriguez Domingo"] == 3  # re-cited to the turn that says it
    assert values["OVXGGYVD6I"] == 4  # merged in from the offline extractor
    assert all(occurs_in(TURNS[f.turn].text, f.value) for f in brief.facts)
    assert brief.openers == OPENERS
    assert [r.schema["title"] for r in model.structured] == ["BriefFacts", "BriefSummary"]
    facts_call, summary_call = (str(call[1].content) for call in model.calls)
    assert "[4] customer: Account ID: OVXGGYVD6I" in facts_call
    assert "- order_id: 9342308357" in summary_call  # the second call sees the grounded facts
    assert "rod@example.com" not in summary_call
    assert model.remaining == 0


def test_facts_schema_only_lets_the_model_cite_customer_turns() -> None:
    item = facts_schema(TURNS)["properties"]["facts"]["items"]
    assert item["properties"]["turn"]["enum"] == [1, 3, 4]
    assert item["properties"]["value"]["maxLength"] <= 80  # bounded: a small model cannot ramble on


async def test_quoted_values_are_the_customers_own_phrases() -> None:
    model = ScriptedChatModel(responses=[facts_answer(), summary_answer()], metadata={QUOTE_KEY: True})
    await build_brief(TURNS, target="human_agent", model=model)
    offered = model.structured[0].schema["properties"]["facts"]["items"]["properties"]["value"]["enum"]
    assert {"9342308357", "Rodriguez Domingo", "OVXGGYVD6I", "Account ID: OVXGGYVD6I"} <= set(offered)
    customer = [t for t in TURNS if t.role == "customer"]
    assert all(any(occurs_in(t.text, v) for t in customer) for v in offered)
    assert not any("How can I help" in v for v in offered)  # the bot's words are never offered


async def test_invalid_answers_fall_back_with_warnings(caplog: pytest.LogCaptureFixture) -> None:
    model = ScriptedChatModel(responses=[{"facts": "nope"}, {"summary": 42}])
    with caplog.at_level(logging.WARNING, logger="graph.context.llm_brief"):
        brief = await build_brief(TURNS, target="human_agent", model=model)
    assert brief.source == "offline"
    assert brief == await build_brief(TURNS, target="human_agent")
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" from")[0] for m in messages] == ["brief BriefFacts", "brief BriefSummary"]
    assert all("did not validate" in m for m in messages)


async def test_one_valid_part_is_kept_when_the_other_does_not_validate() -> None:
    model = ScriptedChatModel(responses=[facts_answer(), {"summary": "x", "urgency": "whenever"}])
    brief = await build_brief(TURNS, target="human_agent", model=model)
    offline = await build_brief(TURNS, target="human_agent")
    assert brief.source == "llm"
    assert (brief.summary, brief.goal, brief.urgency) == (offline.summary, offline.goal, offline.urgency)
    assert {"9342308357", "Rodriguez Domingo"} <= {f.value for f in brief.facts}


async def test_invented_numbers_and_factless_openers_are_not_trusted() -> None:
    answer = summary_answer(
        summary="Rodriguez wants to cancel order 5550001234.",  # a number no turn contains
        openers=["Hi! Thanks for waiting.", *OPENERS[:1]],  # the first mentions no fact
    )
    model = ScriptedChatModel(responses=[facts_answer(), answer])
    brief = await build_brief(TURNS, target="human_agent", model=model)
    offline = await build_brief(TURNS, target="human_agent")
    assert brief.source == "llm"
    assert brief.summary == offline.summary
    assert brief.goal == "Cancel order 9342308357."
    assert brief.openers[0] == OPENERS[0]
    assert "Hi! Thanks for waiting." not in brief.openers
    assert len(brief.openers) == 3


async def test_prose_that_repeats_the_instructions_is_not_an_answer() -> None:
    echo = "At most 3 short sentences: who, what they want, where it stands."  # a 135M model did this
    model = ScriptedChatModel(responses=[facts_answer(), summary_answer(summary=echo, next_step=echo)])
    brief = await build_brief(TURNS, target="human_agent", model=model)
    offline = await build_brief(TURNS, target="human_agent")
    assert (brief.summary, brief.next_step) == (offline.summary, offline.next_step)
    assert brief.goal == "Cancel order 9342308357."  # the rest of the answer is still used


async def test_generic_openers_are_replaced() -> None:
    model = ScriptedChatModel(
        responses=[facts_answer(), summary_answer(openers=["Order 9342308357: how can I help you today?"])]
    )
    brief = await build_brief(TURNS, target="human_agent", model=model)
    assert len(brief.openers) == 3
    assert not any("how can i help" in o.lower() for o in brief.openers)


async def test_model_error_falls_back_without_a_second_call(caplog: pytest.LogCaptureFixture) -> None:
    model = ScriptedChatModel(responses=[ConnectionError("server 500")])
    with caplog.at_level(logging.WARNING, logger="graph.context.llm_brief"):
        brief = await build_brief(TURNS, target="human_agent", model=model)
    assert brief.source == "offline"
    assert len(model.calls) == 1
    assert any("ConnectionError" in r.getMessage() for r in caplog.records)


async def test_exhausted_script_also_falls_back() -> None:
    brief = await build_brief(TURNS, target="human_agent", model=ScriptedChatModel(responses=[]))
    assert brief.source == "offline"


def test_brief_draft_schema_is_function_callable() -> None:
    assert set(BriefDraft.model_json_schema()["properties"]) >= {"summary", "goal", "facts", "openers"}
