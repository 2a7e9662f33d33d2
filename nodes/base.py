"""The shared engine behind every bot node: a qualification dialogue offline, a prompt with a model.

A bot never asks for what the customer already said: before asking, it reads every earlier customer
turn (including those said to another bot or a human) for each missing slot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from graph.deps import BatonContext
from graph.state import BatonState, current_handoff
from graph.textutil import off_loop
from graph.transcript import Turn, to_turns
from nodes.slots import Extractor
from prompts import load_prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    """One thing a bot needs to know, how to ask for it, and how to spot it in a turn."""

    name: str
    question: str
    extract: Extractor
    label: str = ""

    @property
    def title(self) -> str:
        """Human-readable name used in acknowledgements."""
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class BotSpec:
    """Everything that makes one bot different from another."""

    name: str
    title: str
    greeting: str
    slots: tuple[Slot, ...]
    done: str
    after_done: str
    advice: Callable[[Mapping[str, Any]], str] = field(default=lambda collected: "")

    def slot(self, name: str) -> Slot | None:
        """The slot called ``name``, if this bot has one."""
        return next((s for s in self.slots if s.name == name), None)


def _value(collected: Mapping[str, Any], name: str) -> str | None:
    item = collected.get(name)
    if isinstance(item, Mapping):
        value = item.get("value")
        return str(value) if value is not None else None
    return None


def find_slot_values(spec: BotSpec, turns: Sequence[Turn], collected: Mapping[str, Any]) -> dict[str, Any]:
    """Fill every missing slot from anything the customer has said so far (latest statement wins)."""
    found: dict[str, Any] = {}
    last_question = ""
    asked_before: dict[int, str] = {}
    for turn in turns:
        if turn.role == "customer":
            asked_before[turn.index] = last_question
        elif turn.role in ("bot", "agent"):
            last_question = turn.text
    for slot in spec.slots:
        if _value(collected, slot.name) is not None:
            continue
        for turn in reversed(turns):
            if turn.role != "customer":
                continue
            asked = slot.question.lower() in asked_before.get(turn.index, "").lower()
            value = slot.extract(turn.text, asked)
            if value:
                found[slot.name] = {"value": value, "turn": turn.index, "by": spec.name}
                break
    return found


def _title(spec: BotSpec, name: str) -> str:
    slot = spec.slot(name)
    return slot.title if slot else name.replace("_", " ")


def next_missing(spec: BotSpec, collected: Mapping[str, Any]) -> Slot | None:
    """The first slot still unknown."""
    return next((s for s in spec.slots if _value(collected, s.name) is None), None)


def offline_reply(
    spec: BotSpec,
    *,
    collected: Mapping[str, Any],
    new: Mapping[str, Any],
    opening: str | None,
    first_time: bool = False,
    summarized: bool = False,
) -> str:
    """Compose a rule-based reply: greeting or opening, acknowledgement, next question or summary."""
    parts: list[str] = []
    if opening:
        parts.append(opening)
    elif first_time:
        parts.append(spec.greeting)
    if new and not opening:
        noted = ", ".join(f"{_title(spec, k)}: {v['value']}" for k, v in new.items())
        parts.append(f"Thanks, noted ({noted}).")
    merged = {**collected, **new}
    missing = next_missing(spec, merged)
    if missing is not None:
        parts.append(missing.question)
    elif summarized and not new:
        parts.append(spec.after_done)
    else:
        summary = "; ".join(
            f"{s.title}: {_value(merged, s.name)}" for s in spec.slots if _value(merged, s.name)
        )
        parts.append(spec.done.format(summary=summary))
        advice = spec.advice(merged)
        if advice:
            parts.append(advice)
    return " ".join(parts)


def _history_for_model(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    history: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            history.append(HumanMessage(message.text))
        else:
            speaker = message.name or "assistant"
            history.append(AIMessage(f"[{speaker}] {message.text}"))
    return history


async def model_reply(
    ctx: BatonContext,
    spec: BotSpec,
    *,
    messages: Sequence[BaseMessage],
    collected: Mapping[str, Any],
    instruction: str,
) -> str | None:
    """Ask the configured model for the bot's reply; ``None`` (logged) when it fails or is empty."""
    if ctx.model is None:
        return None
    known = (
        "\n".join(f"- {k}: {_value(collected, k)}" for k in collected if _value(collected, k))
        or "- nothing yet"
    )
    system = load_prompt(spec.name).format(title=spec.title, known_facts=known, instruction=instruction)
    try:
        result = await ctx.model.ainvoke([SystemMessage(system), *_history_for_model(messages)])
    except Exception as exc:  # any endpoint failure must degrade, never end the conversation
        log.warning("model reply for %s failed, using offline reply: %s", spec.name, exc)
        return None
    text = result.text.strip() if isinstance(result, BaseMessage) else ""
    if not text:
        log.warning("model returned an empty reply for %s, using offline reply", spec.name)
        return None
    return text


OpeningFn = Callable[[BatonState, BotSpec], "str | None"]


class BotNode(Protocol):
    """The call signature LangGraph expects of a node that takes the runtime."""

    __name__: str

    def __call__(self, state: BatonState, *, runtime: Runtime[BatonContext]) -> Awaitable[dict[str, Any]]: ...


def make_bot(spec: BotSpec, opening_for: OpeningFn) -> BotNode:
    """Build the LangGraph node function for ``spec``."""

    async def bot_node(state: BatonState, *, runtime: Runtime[BatonContext]) -> dict[str, Any]:
        messages = state["messages"]
        collected = state.get("collected", {})
        turns = to_turns(messages)
        new = await off_loop(find_slot_values, spec, turns, dict(collected))  # CPU: off the event loop
        opening = opening_for(state, spec)
        merged = {**collected, **new}
        missing = next_missing(spec, merged)
        instruction = (f"Open by showing you already know: {opening}. " if opening else "") + (
            f"Then ask: {missing.question}" if missing else "Summarise and propose the next step."
        )
        reply = await model_reply(
            runtime.context, spec, messages=messages, collected=merged, instruction=instruction
        )
        if reply is None:
            spoke = any(m.type == "ai" and m.name == spec.name for m in messages)
            summarized = f"done:{spec.name}" in state.get("delivered", [])
            reply = offline_reply(
                spec,
                collected=collected,
                new=new,
                opening=opening,
                first_time=not spoke,
                summarized=summarized,
            )
        update: dict[str, Any] = {
            "messages": [AIMessage(reply, name=spec.name)],
            "active_agent": spec.name,
            "status": "bot",
            "collected": new,
        }
        delivered: list[str] = []
        record = current_handoff(state)
        if opening and record is not None:
            delivered.append(f"{record.id}:{record.status}")
            if record.status == "active" and record.kind == "bot":
                done = record.changed(status="completed")
                update["handoff"] = done.to_state()
                update["handoffs"] = {done.id: done.to_state()}
        if missing is None:
            delivered.append(f"done:{spec.name}")
        if delivered:
            update["delivered"] = delivered
        return update

    bot_node.__name__ = spec.name
    return bot_node
