"""Build the handoff brief: an extractive offline builder, and a model path that is checked against it.

Both paths share one contract (:class:`~graph.context.models.Brief`) for bot->bot and bot->human
handoffs. The model path never crashes a conversation: any failure logs a warning and returns the
offline brief. :func:`build_brief` does its reading, retrieval and token counting in the analysis threads
(:func:`graph.textutil.off_loop`), so a long conversation never holds the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

from graph.context.analysis import (
    GOAL_WORDS,
    clip_words,
    goal_of,
    next_step_of,
    open_questions_of,
    sentiment_of,
    summarize,
    tried_and_resolved,
    urgency_of,
)
from graph.context.budget import fit_budget
from graph.context.business import business_of, earlier_of, intent_history
from graph.context.changes import as_changed, mark_changes
from graph.context.extract import extract_entities, extract_facts
from graph.context.llm_brief import brief_from_model
from graph.context.models import Brief, EarlierConversation, IntentShift, SimilarCase
from graph.context.openers import make_openers
from graph.context.relationship import objections_of, rapport_of
from graph.context.sections import SectionInput, build_sections, check_sections
from graph.textutil import off_loop
from graph.transcript import Turn

logger = logging.getLogger(__name__)

Retriever = Callable[[str], Sequence[SimilarCase]]
MAX_SIMILAR = 3


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
    intents: Sequence[IntentShift] = (),
    earlier: Sequence[EarlierConversation] = (),
) -> Brief:
    check_sections(sections)
    facts = mark_changes(extract_facts(turns), turns)
    holding = [f for f in facts if f.changed_to is None]  # what the customer did not take back
    goal = goal_of(turns, facts)  # the request as first made: the summary tells what changed in it
    sentiment = sentiment_of(turns, signals)
    urgency = urgency_of(turns, sentiment, signals)
    tried, resolved = tried_and_resolved(turns, holding)
    questions = open_questions_of(turns)
    objections = objections_of(turns)
    rapport = rapport_of(turns, sentiment, objections)
    inp = SectionInput(turns, holding, goal, sentiment, urgency, tried, questions, rapport)
    return Brief(
        summary=summarize(turns, facts),
        goal=clip_words(as_changed(goal, facts), GOAL_WORDS),
        facts=facts,
        entities=extract_entities(turns, facts),
        sentiment=sentiment,
        resolved=resolved,
        tried=tried,
        open_questions=questions,
        urgency=urgency,
        next_step=next_step_of(goal, holding),
        openers=make_openers(facts, goal, questions, turns),
        sections=build_sections(sections, inp),
        similar_cases=_similar(retriever, goal),
        intent_history=intent_history(intents, turns),
        objections=objections,
        rapport=rapport,
        business=business_of(holding, signals, objections),
        earlier=earlier_of(earlier),
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
    intents: Sequence[IntentShift] = (),
    earlier: Sequence[EarlierConversation] = (),
) -> Brief:
    """Build a brief with no model: pattern extractors, sentence ranking and templates.

    Args:
        turns: The conversation so far (the transcript stays attached to the brief).
        target: The receiving node, e.g. ``"human_agent"`` or ``"seller_bot"``.
        sections: Per-target section names (see ``KNOWN_SECTIONS``).
        budget_tokens: Token budget for the brief without its transcript.
        signals: Optional analyzer signals (``sentiment`` float, ``urgency`` label) that take precedence.
        retriever: Optional callback returning similar past cases for the goal.
        intents: The router's intent reading of each customer turn (collapsed to changes in the brief).
        earlier: The customer's earlier conversations, newest first (the brief keeps three).

    Raises:
        UnknownSectionError: If a section name is unknown.
    """
    brief = _offline_unbudgeted(
        turns,
        target=target,
        sections=sections,
        signals=signals,
        retriever=retriever,
        intents=intents,
        earlier=earlier,
    )
    return fit_budget(brief, budget_tokens)


async def build_brief(
    turns: Sequence[Turn],
    *,
    target: str,
    sections: Sequence[str] = (),
    model: BaseChatModel | None = None,
    budget_tokens: int = 400,
    signals: Mapping[str, Any] | None = None,
    retriever: Retriever | None = None,
    intents: Sequence[IntentShift] = (),
    earlier: Sequence[EarlierConversation] = (),
) -> Brief:
    """Build the handoff brief, with the model when one is given, offline otherwise.

    The model fills a :class:`BriefDraft` in two small structured calls
    (:func:`graph.context.llm_brief.brief_from_model`); its facts are grounded against the transcript
    (ungrounded ones are dropped), the offline extractor's facts are merged in, and the result is
    fitted to the budget. A part that fails or does not validate keeps the offline reading. The intent
    history, objections, rapport, business context and earlier conversations are computed in code on
    both paths (the model is not asked for them).

    Raises:
        UnknownSectionError: If a section name is unknown (a configuration error, not a model failure).
    """
    # The worker threads get their own copies: they never read state the event loop may change.
    turns, sections, intents, earlier = list(turns), list(sections), list(intents), list(earlier)
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
            intents=intents,
            earlier=earlier,
        )
    offline = await off_loop(
        _offline_unbudgeted,
        turns,
        target=target,
        sections=sections,
        signals=signals,
        retriever=retriever,
        intents=intents,
        earlier=earlier,
    )
    brief = await brief_from_model(model, turns, offline, target=target, sections=sections)
    return await off_loop(fit_budget, brief, budget_tokens)
