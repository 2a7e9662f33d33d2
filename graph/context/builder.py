"""Build the handoff brief: an extractive offline builder, and a model path that is checked against it.

Both paths share one contract (:class:`~graph.context.models.Brief`) for bot->bot and bot->human
handoffs. The model path never crashes a conversation: any failure logs a warning and returns the
offline brief. :func:`build_brief` does its reading, retrieval and token counting in the analysis threads
(:func:`graph.textutil.off_loop`), so a long conversation never holds the event loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import ValidationError

from graph.context.analysis import (
    goal_of,
    next_step_of,
    open_questions_of,
    sentences,
    sentiment_of,
    summarize,
    tried_and_resolved,
    urgency_of,
)
from graph.context.budget import fit_budget
from graph.context.extract import extract_entities, extract_facts
from graph.context.grounding import find_turn, occurs_in
from graph.context.models import Brief, BriefDraft, Fact, SimilarCase
from graph.context.openers import make_openers
from graph.context.sections import SectionInput, build_sections, check_sections
from graph.textutil import normalize_value, off_loop
from graph.transcript import Turn
from prompts import load_prompt

logger = logging.getLogger(__name__)

Retriever = Callable[[str], Sequence[SimilarCase]]
MAX_SIMILAR = 3
_GENERIC_OPENER = re.compile(r"how (?:can|may) i (?:help|assist)", re.IGNORECASE)


def _similar(retriever: Retriever | None, query: str) -> list[SimilarCase]:
    if retriever is None:
        return []
    try:
        return list(retriever(query))[:MAX_SIMILAR]
    except Exception:  # a broken retriever must not block a handoff
        logger.warning("similar-case retriever failed; brief built without similar cases", exc_info=True)
        return []


def _offline_unbudgeted(
    turns: Sequence[Turn],
    *,
    target: str,
    sections: Sequence[str],
    signals: Mapping[str, Any] | None,
    retriever: Retriever | None,
) -> Brief:
    check_sections(sections)
    facts = extract_facts(turns)
    goal = goal_of(turns, facts)
    sentiment = sentiment_of(turns, signals)
    urgency = urgency_of(turns, sentiment, signals)
    tried, resolved = tried_and_resolved(turns, facts)
    questions = open_questions_of(turns)
    inp = SectionInput(turns, facts, goal, sentiment, urgency, tried, questions)
    return Brief(
        summary=summarize(turns, facts),
        goal=goal,
        facts=facts,
        entities=extract_entities(turns, facts),
        sentiment=sentiment,
        resolved=resolved,
        tried=tried,
        open_questions=questions,
        urgency=urgency,
        next_step=next_step_of(goal, facts),
        openers=make_openers(facts, goal, questions),
        sections=build_sections(sections, inp),
        similar_cases=_similar(retriever, goal),
        target=target,
        source="offline",
        transcript=list(turns),
    )


def build_brief_offline(
    turns: Sequence[Turn],
    *,
    target: str,
    sections: Sequence[str] = (),
    budget_tokens: int = 400,
    signals: Mapping[str, Any] | None = None,
    retriever: Retriever | None = None,
) -> Brief:
    """Build a brief with no model: pattern extractors, sentence ranking and templates.

    Args:
        turns: The conversation so far (the transcript stays attached to the brief).
        target: The receiving node, e.g. ``"human_agent"`` or ``"seller_bot"``.
        sections: Per-target section names (see ``KNOWN_SECTIONS``).
        budget_tokens: Token budget for the brief without its transcript.
        signals: Optional analyzer signals (``sentiment`` float, ``urgency`` label) that take precedence.
        retriever: Optional callback returning similar past cases for the goal.

    Raises:
        UnknownSectionError: If a section name is unknown.
    """
    brief = _offline_unbudgeted(turns, target=target, sections=sections, signals=signals, retriever=retriever)
    return fit_budget(brief, budget_tokens)


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


def _from_draft(draft: BriefDraft, offline: Brief, turns: Sequence[Turn]) -> Brief:
    llm_facts = [
        Fact(key=f.key.strip().lower().replace(" ", "_"), value=f.value, turn=f.turn) for f in draft.facts
    ]
    facts = merge_facts(ground_facts(llm_facts, turns), offline.facts)
    openers = [o for o in draft.openers if o.strip() and not _GENERIC_OPENER.search(o)]
    if len(openers) < 3:
        openers = (openers + offline.openers)[:3]
    summary = " ".join(sentences(draft.summary)[:3]) or offline.summary
    return offline.model_copy(
        update={
            "summary": summary,
            "goal": draft.goal.strip() or offline.goal,
            "facts": facts,
            "resolved": draft.resolved or offline.resolved,
            "tried": list(dict.fromkeys([*offline.tried, *draft.tried])),
            "open_questions": draft.open_questions or offline.open_questions,
            "urgency": draft.urgency,
            "next_step": draft.next_step.strip() or offline.next_step,
            "openers": openers[:3],
            "source": "llm",
        }
    )


async def build_brief(
    turns: Sequence[Turn],
    *,
    target: str,
    sections: Sequence[str] = (),
    model: BaseChatModel | None = None,
    budget_tokens: int = 400,
    signals: Mapping[str, Any] | None = None,
    retriever: Retriever | None = None,
) -> Brief:
    """Build the handoff brief, with the model when one is given, offline otherwise.

    The model fills a :class:`BriefDraft` through function calling; its facts are then grounded
    against the transcript (ungrounded ones are dropped), the offline extractor's facts are merged in,
    and the result is fitted to the budget. Any model failure falls back to the offline brief.

    Raises:
        UnknownSectionError: If a section name is unknown (a configuration error, not a model failure).
    """
    # The worker threads get their own copies: they never read state the event loop may change.
    turns, sections = list(turns), list(sections)
    signals = dict(signals) if signals is not None else None
    if model is None:
        return await off_loop(
            build_brief_offline,
            turns,
            target=target,
            sections=sections,
            budget_tokens=budget_tokens,
            signals=signals,
            retriever=retriever,
        )
    offline = await off_loop(
        _offline_unbudgeted, turns, target=target, sections=sections, signals=signals, retriever=retriever
    )
    user = load_prompt("brief_user").format(
        target=target,
        sections=", ".join(sections) or "none",
        transcript=render_transcript(turns),
    )
    messages = [SystemMessage(content=load_prompt("brief_system")), HumanMessage(content=user)]
    try:
        structured = model.with_structured_output(BriefDraft, method="function_calling")
        raw = await structured.ainvoke(messages)
        draft = raw if isinstance(raw, BriefDraft) else BriefDraft.model_validate(raw)
        brief = await off_loop(_from_draft, draft, offline, turns)
    except (ValidationError, ValueError, TypeError) as exc:
        logger.warning("brief model output did not validate (%s); using the offline brief", exc)
        brief = offline
    except Exception as exc:  # network, timeout, server 500: never crash a conversation
        logger.warning("brief model call failed (%s: %s); using the offline brief", type(exc).__name__, exc)
        brief = offline
    return await off_loop(fit_budget, brief, budget_tokens)
