"""The brief's model path: two small structured calls, every answer checked before it is used.

A small model cannot fill the whole :class:`~graph.context.models.BriefDraft` in one go, so the model
is asked twice, each time for a flat, bounded schema (:func:`facts_schema`, then :data:`SUMMARY_SCHEMA`)
that a grammar-constrained endpoint can enforce: the facts first (each citing one of the customer's
turns), then the summary, goal, urgency, next step and openers, with the grounded facts in the
prompt. Both calls share the transcript prefix, so a local server evaluates it once. What was tried,
resolved or still asked stays the offline reading of the customer's own turns.

Nothing the model says is trusted as is: a fact whose value is not in the turn it cites is re-cited
to the customer turn that says it or dropped; a text that quotes a number the transcript does not
contain or repeats the instructions, or an opener that mentions no grounded fact, is replaced by the
offline one. A part that does
not validate keeps the offline reading with a logged warning; a failed call stops the model path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from graph.chat_model import quotes_values, structured
from graph.context.analysis import sentences
from graph.context.changes import mark_changes
from graph.context.grounding import find_turn, occurs_in
from graph.context.models import Brief, BriefDraft, DraftFact, Fact, Urgency
from graph.textutil import normalize_value, off_loop
from graph.transcript import Turn
from prompts import load_prompt

logger = logging.getLogger(__name__)
AnswerT = TypeVar("AnswerT", bound=BaseModel)

MAX_FACTS = 10
MAX_QUOTE_WORDS = 6
MAX_QUOTES = 1500
_WORD = re.compile(r"\S+")
_EDGE = "\"'.,;:!?()[]"
_GENERIC_OPENER = re.compile(r"how (?:can|may) i (?:help|assist)", re.IGNORECASE)
_NUMBER = re.compile(r"\d{3,}")
ECHO_WORDS = 5
_ECHO_WORD = re.compile(r"[a-z0-9']+")
# Bounds a receiver can read in seconds, and a small model on a CPU can write in seconds.
_TEXT = {"type": "string", "maxLength": 200}
_LINE = {"type": "string", "maxLength": 100}

SUMMARY_SCHEMA: dict[str, Any] = {
    "title": "BriefSummary",
    "description": "The handoff brief's prose: what a busy receiver reads first.",
    "type": "object",
    "properties": {
        "summary": _TEXT,
        "goal": _LINE,
        "urgency": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
        "next_step": _LINE,
        "openers": {"type": "array", "items": _LINE, "maxItems": 3},
    },
    "required": ["summary", "goal", "urgency", "next_step", "openers"],
    "additionalProperties": False,
}


class FactsAnswer(BaseModel):
    """The first call's answer: the customer's facts, each citing a turn."""

    facts: list[DraftFact] = Field(default_factory=list)


class SummaryAnswer(BaseModel):
    """The second call's answer (see :data:`SUMMARY_SCHEMA`)."""

    summary: str
    goal: str
    urgency: Urgency = "low"
    next_step: str = ""
    openers: list[str] = Field(default_factory=list)


class ModelCallFailed(Exception):
    """The endpoint itself failed (network, timeout, server error): no further call is worth making."""


def quotes(turns: Sequence[Turn]) -> list[str]:
    """Every phrase of up to :data:`MAX_QUOTE_WORDS` words of the customer's turns, latest turns first.

    Phrases are cut at whitespace and keep the turn's own characters (``"Long Beach, CA"``), so each
    one occurs in its turn; at most :data:`MAX_QUOTES` of them, so the grammar stays small.
    """
    found: dict[str, None] = {}
    for turn in reversed([t for t in turns if t.role == "customer"]):
        words = list(_WORD.finditer(turn.text))
        for i, first in enumerate(words):
            for last in words[i : i + MAX_QUOTE_WORDS]:
                phrase = turn.text[first.start() : last.end()].strip(_EDGE)
                if phrase and len(found) < MAX_QUOTES:
                    found.setdefault(phrase)
    return list(found)


def facts_schema(turns: Sequence[Turn], *, quote: bool = False) -> dict[str, Any]:
    """The facts call's schema: ``turn`` may only name one of the customer's turns.

    Strings and the list are bounded so a grammar-constrained small model finishes within its token
    cap instead of repeating itself until it is cut off mid-JSON. With ``quote`` the value is one of
    :func:`quotes`, so such a model can only copy what the customer wrote.
    """
    customer = [t.index for t in turns if t.role == "customer"]
    value = {"type": "string", "enum": quotes(turns)} if quote else {"type": "string", "maxLength": 60}
    fact = {
        "type": "object",
        "properties": {
            "key": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"},
            "value": value,
            "turn": {"type": "integer", "enum": customer},
        },
        "required": ["key", "value", "turn"],
        "additionalProperties": False,
    }
    return {
        "title": "BriefFacts",
        "description": "Facts the customer stated, each copied from the turn it cites.",
        "type": "object",
        "properties": {"facts": {"type": "array", "items": fact, "maxItems": MAX_FACTS}},
        "required": ["facts"],
        "additionalProperties": False,
    }


def render_transcript(turns: Sequence[Turn]) -> str:
    """One line per turn, prefixed with the index the model must cite."""
    return "\n".join(f"[{t.index}] {t.role}: {t.text}" for t in turns)


def ground_facts(draft_facts: Sequence[Fact], turns: Sequence[Turn]) -> list[Fact]:
    """Keep facts whose value occurs in the cited turn; re-cite from customer turns, else drop."""
    by_index = {t.index: t for t in turns}
    kept: list[Fact] = []
    for fact in draft_facts:
        cited = by_index.get(fact.turn)
        if cited is not None and occurs_in(cited.text, fact.value):
            kept.append(fact)
            continue
        index = find_turn(turns, fact.value)
        if index is None:
            logger.info("dropping ungrounded fact %s=%r (cited turn %s)", fact.key, fact.value, fact.turn)
            continue
        kept.append(fact.model_copy(update={"turn": index}))
    return kept


def merge_facts(primary: Sequence[Fact], extra: Sequence[Fact]) -> list[Fact]:
    """``primary`` plus every fact of ``extra`` whose value is not already present."""
    seen = {normalize_value(f.value) for f in primary}
    merged = list(primary)
    for fact in extra:
        if normalize_value(fact.value) not in seen:
            seen.add(normalize_value(fact.value))
            merged.append(fact)
    return merged


def _invents_numbers(text: str, transcript: str) -> bool:
    """True when ``text`` quotes a number of 3+ digits that no turn contains (an invented id)."""
    return any(number not in transcript for number in _NUMBER.findall(text))


def _ngrams(text: str) -> set[tuple[str, ...]]:
    words = _ECHO_WORD.findall(text.lower())
    return {tuple(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1)}


@lru_cache(maxsize=1)
def _instruction_ngrams() -> frozenset[tuple[str, ...]]:
    return frozenset(
        _ngrams(" ".join(load_prompt(n) for n in ("brief_system", "brief_facts", "brief_summary")))
    )


def _echoes_instructions(text: str) -> bool:
    """True when ``text`` repeats :data:`ECHO_WORDS` words of the prompt (a small model's non-answer)."""
    return not _ngrams(text).isdisjoint(_instruction_ngrams())


def draft_to_brief(draft: BriefDraft, offline: Brief, turns: Sequence[Turn]) -> Brief:
    """The offline brief updated with what survives the checks of the model's ``draft``."""
    transcript = "\n".join(t.text for t in turns)

    def checked(text: str, fallback: str) -> str:
        text = text.strip()
        trusted = text and not _invents_numbers(text, transcript) and not _echoes_instructions(text)
        return text if trusted else fallback

    llm_facts = [
        Fact(key=f.key.strip().lower().replace(" ", "_"), value=f.value.strip(), turn=f.turn)
        for f in draft.facts
        if f.key.strip() and f.value.strip()
    ]
    # the model's facts carry no changes: read them again over the merged list
    merged = merge_facts(
        ground_facts(llm_facts, turns), [f.model_copy(update={"changed_to": None}) for f in offline.facts]
    )
    facts = mark_changes(merged, turns)
    openers = [
        o.strip()
        for o in draft.openers
        if checked(o, "")
        and not _GENERIC_OPENER.search(o)
        and any(occurs_in(o, f.value) for f in facts)  # an opener must show the customer was heard
    ]
    openers = list(dict.fromkeys([*openers, *offline.openers]))[:3]
    summary = checked(" ".join(sentences(draft.summary)[:3]), offline.summary)
    return offline.model_copy(
        update={
            "summary": summary,
            "goal": checked(draft.goal, offline.goal),
            "facts": facts,
            "urgency": draft.urgency,
            "next_step": checked(draft.next_step, offline.next_step),
            "openers": openers,
            "source": "llm",
        }
    )


async def _ask(
    model: BaseChatModel, schema: dict[str, Any], answer: type[AnswerT], messages: list[BaseMessage]
) -> AnswerT | None:
    """One structured call; ``None`` when the answer does not validate, :class:`ModelCallFailed` on error."""
    part = schema["title"]
    try:
        raw = await structured(model, schema).ainvoke(messages)
        if raw is None:
            msg = "no structured answer"
            raise ValueError(msg)
        return answer.model_validate(raw)
    except (ValidationError, ValueError, TypeError) as exc:
        logger.warning("brief %s from the model did not validate (%s); using the offline reading", part, exc)
        return None
    except Exception as exc:  # network, timeout, server 500: never crash a conversation
        logger.warning(
            "brief model call for %s failed (%s: %s); using the offline reading",
            part,
            type(exc).__name__,
            exc,
        )
        raise ModelCallFailed(part) from exc


def _messages(task: str, turns: Sequence[Turn], target: str, sections: Sequence[str]) -> list[BaseMessage]:
    # The same system prompt and transcript open both calls: a local server reuses their evaluation.
    user = load_prompt("brief_user").format(
        target=target, sections=", ".join(sections) or "none", transcript=render_transcript(turns), task=task
    )
    return [SystemMessage(content=load_prompt("brief_system")), HumanMessage(content=user)]


async def brief_from_model(
    model: BaseChatModel, turns: Sequence[Turn], offline: Brief, *, target: str, sections: Sequence[str]
) -> Brief:
    """``offline`` improved with the model's checked answers (see the module docstring); never raises.

    ``source`` is ``"llm"`` when any part of the model's answer validated, ``"offline"`` otherwise.
    """
    facts: FactsAnswer | None = None
    summary: SummaryAnswer | None = None
    try:
        if any(t.role == "customer" for t in turns):
            task = load_prompt("brief_facts")
            schema = facts_schema(turns, quote=quotes_values(model))
            facts = await _ask(model, schema, FactsAnswer, _messages(task, turns, target, sections))
    except ModelCallFailed:
        return offline
    known = [Fact(**f.model_dump()) for f in facts.facts] if facts is not None else []
    grounded = ground_facts(known, turns)
    # the summary is written from values that hold: a changed one is listed with what it became
    shown = await off_loop(mark_changes, grounded, turns) if grounded else offline.facts
    listed = "\n".join(
        f"- {f.key}: {f.value}" + (f" (changed to {f.changed_to})" if f.changed_to else "") for f in shown
    )
    task = load_prompt("brief_summary").format(facts=listed or "- none")
    try:
        summary = await _ask(model, SUMMARY_SCHEMA, SummaryAnswer, _messages(task, turns, target, sections))
    except ModelCallFailed:
        summary = None  # the facts that validated are still worth keeping
    logger.info(
        "brief model parts: facts=%s summary=%s",
        "valid" if facts is not None else "invalid",
        "valid" if summary is not None else "invalid",
    )
    if facts is None and summary is None:
        return offline
    prose = summary or SummaryAnswer(
        summary=offline.summary,
        goal=offline.goal,
        urgency=offline.urgency,
        next_step=offline.next_step,
        openers=offline.openers,
    )
    draft = BriefDraft(
        facts=facts.facts if facts is not None else [],
        **prose.model_dump(),
    )
    return await off_loop(draft_to_brief, draft, offline, turns)
