"""The shared engine behind every bot node: a qualification dialogue offline, a prompt with a model.

A bot never asks for what the customer already said: before asking, it hears every customer turn
(including those said to another bot or a human) through the language layer, each turn against the
message it answers (:mod:`nodes.hearing`), and its slot readers (:mod:`nodes.slots`) take their values
from that. A question the customer asks is answered from what the bot knows, or acknowledged
(:mod:`nodes.replies`), and never taken as a slot value; a request for a person is never a value either.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from graph.deps import BatonContext
from graph.language.revisions import revises
from graph.open_items import hidden_from, open_items, pending_items
from graph.state import BatonState, current_handoff
from graph.textutil import off_loop_unless_cached
from graph.transcript import Turn, to_turns
from graph.turn_times import stamp
from nodes.hearing import Found, Heard, Reader, ask_for, hear_conversation
from nodes.replies import (
    MAX_ASKS,
    Answer,
    later_line,
    next_missing,
    offer_line,
    offline_reply,
    times_asked,
    value_of,
)
from prompts import load_prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    """One thing a bot needs to know, how to ask for it, and how to read it from a heard turn."""

    name: str
    question: str
    read: Reader
    label: str = ""
    ask: bool = True  # False: noted when the customer says it, never asked for

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
    knowledge: tuple[Answer, ...] = ()

    def __post_init__(self) -> None:
        for slot in self.slots:
            ask_for(slot.question, slot.name)

    def slot(self, name: str) -> Slot | None:
        """The slot called ``name``, if this bot has one."""
        return next((s for s in self.slots if s.name == name), None)


def find_slot_values(
    spec: BotSpec,
    turns: Sequence[Turn] | Sequence[Heard],
    collected: Mapping[str, Any],
    current: Heard | None = None,
) -> dict[str, Any]:
    """Fill every missing slot from anything the customer has said so far (latest statement wins),
    and take a filled slot's new value from ``current`` (the turn being answered) when it revises
    ("Sorry, I meant 14 Elm Street")."""
    heard = [t for t in turns if isinstance(t, Heard)] or hear_conversation(
        [t for t in turns if isinstance(t, Turn)]
    )
    found: dict[str, Any] = {}
    if current is not None:
        revising = revises(current.text)
        for slot in spec.slots:
            held = value_of(collected, slot.name)
            if held is None or not (revising or _aside(collected[slot.name])):
                continue
            if (changed := _changed(slot, current, held)) is not None:
                item = _item(changed, current, spec)
                if revising or not item.get("aside"):
                    found[slot.name] = item
    revised = bool(found)
    for slot in spec.slots:
        if value_of(collected, slot.name) is not None:
            continue
        for turn in reversed(heard):
            value = _reading(slot, turn)
            if value is None or not value.value:
                continue
            # a turn that corrects one slot is not the whole answer to the question asked
            if value.open and (_named_for_another(spec, slot, turn) or (revised and turn is current)):
                continue
            found[slot.name] = _item(value, turn, spec)
            break
    return found


def _reading(slot: Slot, heard: Heard) -> Found | None:
    value = slot.read(heard, heard.asked == slot.name)
    return Found(value) if isinstance(value, str) else value


def _item(value: Found, heard: Heard, spec: BotSpec) -> dict[str, Any]:
    item: dict[str, Any] = {"value": value.value, "turn": heard.index, "by": spec.name}
    if value.label:
        item["label"] = value.label
    if _said_aside(str(value.value), heard):
        item["aside"] = True
    return item


def _said_aside(value: str, heard: Heard) -> bool:
    """Whether ``value`` stands in a clause about the customer's situation or reasons, not in what they
    ask for: "next year" of "We're retiring next year and want to sell" is when they retire; a value
    the customer later says of the request itself ("we need to sell by March") takes its place."""
    at = heard.text.lower().find(value.lower()) if value else -1
    if at < 0:
        return False
    return any(s.kind in ("situation", "reason") and s.start <= at < s.end for s in heard.said.said)


def _aside(item: object) -> bool:
    return isinstance(item, Mapping) and bool(item.get("aside"))


def _changed(slot: Slot, current: Heard, held: object) -> Found | None:
    """The value ``current`` (a turn that revises) gives a filled slot in place of ``held``."""
    value = _reading(slot, current)
    if value is None or value.open or not value.value or str(value.value) == str(held):
        return None  # an open answer is the whole turn: no new value of this slot
    return value


def _named_for_another(spec: BotSpec, slot: Slot, heard: Heard) -> bool:
    """The turn only names values and another slot reads one of them, asked or not, known or not:
    "around 500k" to "Which area?" is the budget, "12 Oak Street" to "What's prompting the move?" the
    address again."""
    if not _only_values(heard):
        return False
    for other in spec.slots:
        if other is not slot:
            value = other.read(heard, False)
            if (isinstance(value, str) and value) or (
                isinstance(value, Found) and value.value and not value.open
            ):
                return True
    return False


def _only_values(heard: Heard) -> bool:
    """Whether every part of the turn that says something names a value ("around 500k", "Austin")."""
    parts = [s for s in heard.said.said if s.kind != "filler"]
    return bool(parts) and all(s.kind == "value" for s in parts)


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
        "\n".join(f"- {k}: {value_of(collected, k)}" for k in collected if value_of(collected, k))
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


def _current(turns: Sequence[Turn], heard: Sequence[Heard]) -> Heard | None:
    """The customer turn this run answers: the latest, unless a person or the system spoke since.

    A handoff's narration by the previous bot may follow it; a human's messages and the note of a
    return to the AI mean the bot speaks without a new customer turn.
    """
    if not heard:
        return None
    latest = heard[-1]
    after = [t for t in turns if t.index > latest.index]
    return latest if all(t.role == "bot" for t in after) else None


def _settled(state: BatonState) -> bool:
    """A person already dealt with the case: they closed it or returned it to the AI."""
    record = current_handoff(state)
    return record is not None and record.kind == "human" and record.status in ("closed", "returned")


def _read(
    spec: BotSpec,
    turns: Sequence[Turn],
    collected: Mapping[str, Any],
    hidden: Mapping[int, list[tuple[int, int]]],
) -> tuple[Heard | None, dict[str, Any], frozenset[str]]:
    """What the bot hears, without the clauses that state another target's open item (blanked, so
    every offset stays that of the turn as written), and the slots the customer declined to give."""
    heard = hear_conversation([_blanked(t, hidden.get(t.index, ())) for t in turns])
    declined = frozenset(h.asked for h in heard if h.asked and h.declines)
    current = _current(turns, heard)
    return current, find_slot_values(spec, heard, collected, current), declined


def _blanked(turn: Turn, spans: Sequence[tuple[int, int]]) -> Turn:
    if not spans:
        return turn
    text = turn.text
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return turn.model_copy(update={"text": text})


def _instruction(opening: str | None, latest: Heard | None, missing: Slot | None, settled: bool) -> str:
    parts = [f"Open by showing you already know: {opening}."] if opening else []
    if latest is not None and latest.wants_person:
        parts.append("The customer asked for a person: say you have passed it on; it is not an answer.")
    elif latest is not None and latest.impatient:
        parts.append(
            "The customer is impatient with this conversation: apologise in a few words and keep it "
            "short; it is not an answer to your question."
        )
    elif latest is not None and latest.clarifies:
        parts.append(
            "The customer did not understand your last message: say plainly what you need and why, in "
            "one sentence; it is not an answer to your question."
        )
    elif latest is not None and latest.asks:
        parts.append(
            "The customer asked a question: answer it from what you know, or say our agent will cover "
            "it; it is not an answer to your question."
        )
    asks_more = missing is not None and not (settled and latest is not None and latest.asks)
    parts.append(f"Then ask: {missing.question}" if asks_more and missing else "Then propose the next step.")
    return " ".join(parts)


@dataclass(frozen=True)
class _ItemLines:
    """What a bot says about the open items another target takes up, and what that changes."""

    later: str = ""  # each new item noted, once
    offer: str = ""  # the first open item offered, once the bot's own part is done
    items: dict[str, Any] = field(default_factory=dict)  # open_items update
    delivered: tuple[str, ...] = ()


def _item_lines(state: BatonState, spec: BotSpec, *, done: bool) -> _ItemLines:
    """A new open item is noted once; when the bot's own part is ``done``, the first one is offered."""
    said = state.get("delivered", [])
    others = [i for i in pending_items(state) if i.target != spec.name]
    offered = next((i for i in others if i.status == "open"), None) if done else None
    new = [i for i in others if f"open:{i.id}" not in said]
    return _ItemLines(
        later=" ".join(later_line(i) for i in new if i is not offered),
        offer=offer_line(offered) if offered else "",
        items={offered.id: offered.changed(status="offered").to_state()} if offered else {},
        delivered=tuple(f"open:{i.id}" for i in new),
    )


def make_bot(spec: BotSpec, opening_for: OpeningFn) -> BotNode:
    """Build the LangGraph node function for ``spec``."""

    async def bot_node(state: BatonState, *, runtime: Runtime[BatonContext]) -> dict[str, Any]:
        messages = state["messages"]
        collected = state.get("collected", {})
        turns = to_turns(messages)
        hidden = hidden_from(open_items(state), spec.name)
        # CPU unless every turn was read before: then in place, else off the event loop
        latest, new, declined = await off_loop_unless_cached(_read, spec, turns, dict(collected), hidden)
        opening = opening_for(state, spec)
        merged = {**collected, **new}
        asked = times_asked(spec, turns)
        for slot in declined:  # "I'd rather not say": not asked again
            asked[slot] = MAX_ASKS
        missing = next_missing(spec, merged, asked)
        settled = _settled(state)
        lines = _item_lines(state, spec, done=missing is None)
        reply = await model_reply(
            runtime.context,
            spec,
            messages=messages,
            collected=merged,
            instruction=_instruction(opening, latest, missing, settled),
        )
        if reply is not None:
            reply = " ".join(filter(None, [reply, lines.later]))
        else:
            spoke = any(m.type == "ai" and m.name == spec.name for m in messages)
            summarized = f"done:{spec.name}" in state.get("delivered", [])
            reply = offline_reply(
                spec,
                collected=collected,
                new=new,
                opening=opening,
                first_time=not spoke,
                summarized=summarized,
                latest=latest,
                settled=settled,
                later=lines.later,
                asked=asked,
            )
        reply = " ".join(filter(None, [reply, lines.offer]))
        update: dict[str, Any] = {
            "messages": [stamp(AIMessage(reply, name=spec.name), runtime.context.clock())],
            "active_agent": spec.name,
            "status": "bot",
            "collected": new,
        }
        delivered: list[str] = list(lines.delivered)
        if lines.items:
            update["open_items"] = lines.items
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
