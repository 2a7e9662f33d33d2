"""Fit a brief into its token budget by shedding the least useful parts first, never a grounded fact.

Order of sacrifice (cheapest loss first): similar cases but the best one (clipped), the intent history
beyond its latest three changes (seed 001 asks for three), entities that repeat a fact, the remaining
entities, the relationship and history parts shortened (two rapport notes, objection answers and
earlier conversations clipped), open questions, resolved items, tried items that repeat a fact or go
beyond two, the business details (the facts carry the same values; the stage stays), the intent
history but its latest reading, sections trimmed, openers cut to their first (citing) sentence, the
last similar case (what resolved a case like this one outweighs the rest), then the new parts
shed item by item (objections to the latest, one earlier conversation, no rapport notes) while openers
and summary are shortened a little; then objections and rapport, then earlier conversations and the
business context go, before the summary, goal and openers are cut hard and sections dropped. Last of
all, facts beyond the first :data:`KEPT_FACTS` go from the end: the extractor ranks them (retail facts and answers to the questions
asked first, typed noun phrases last), so what sheds is what a receiver needs least. The transcript is
never counted and never cut: the brief is the fast path, the transcript the ground truth.
"""

from __future__ import annotations

from collections.abc import Callable

from graph.context.analysis import clip_words, sentences
from graph.context.models import Brief, Rapport, SectionValue, SimilarCase
from graph.context.openers import short_openers
from graph.context.tokens import count_tokens
from graph.textutil import normalize_value

# Facts the budget never drops: the highest-ranked ones (an ABCD conversation states 3.6 on average).
KEPT_FACTS = 12


def measure(brief: Brief) -> int:
    """Tokens of the brief without its transcript."""
    return count_tokens(brief.for_budget())


def _trim_section(value: SectionValue, words: int, items: int) -> SectionValue:
    if isinstance(value, str):
        return clip_words(value, words)
    if isinstance(value, list):
        return [clip_words(v, words) for v in value[:items]]
    return {k: _trim_section(v, words, items) for k, v in value.items()}  # type: ignore[misc]


def _rapport(rapport: Rapport | None, notes: int) -> Rapport | None:
    """The score with only its latest ``notes`` pieces of evidence."""
    if rapport is None:
        return None
    return rapport.model_copy(update={"evidence": rapport.evidence[-notes:] if notes else []})


def _short_case(case: SimilarCase) -> SimilarCase:
    """A similar case as one line each: what the customer needed and what resolved it."""
    return case.model_copy(
        update={"summary": clip_words(case.summary, 12), "resolution": clip_words(case.resolution, 12)}
    )


def _steps() -> list[Callable[[Brief], dict[str, object]]]:
    def fact_values(b: Brief) -> set[str]:
        return {normalize_value(f.value) for f in b.facts}

    return [
        lambda b: {"similar_cases": [_short_case(c) for c in b.similar_cases[:1]]},
        lambda b: {"intent_history": b.intent_history[-3:]},
        lambda b: {"entities": [e for e in b.entities if normalize_value(e.value) not in fact_values(b)]},
        lambda b: {"entities": []},
        lambda b: {
            "rapport": _rapport(b.rapport, 2),
            "objections": [o.model_copy(update={"answer": clip_words(o.answer, 8)}) for o in b.objections],
            "earlier": [c.model_copy(update={"summary": clip_words(c.summary, 10)}) for c in b.earlier],
        },
        lambda b: {"open_questions": b.open_questions[-1:]},
        lambda b: {"open_questions": []},
        lambda b: {"resolved": []},
        lambda b: {
            "tried": [
                t
                for t in b.tried
                if not any(normalize_value(v) in normalize_value(t) for v in fact_values(b))
            ]
        },
        lambda b: {"tried": b.tried[:2]},
        lambda b: {"business": b.business.model_copy(update={"details": {}}) if b.business else None},
        lambda b: {"intent_history": b.intent_history[-1:]},
        lambda b: {"sections": {k: _trim_section(v, 12, 2) for k, v in b.sections.items()}},
        lambda b: {"openers": [sentences(o)[0] if sentences(o) else o for o in b.openers]},
        lambda b: {"similar_cases": []},
        lambda b: {"rapport": _rapport(b.rapport, 1), "objections": b.objections[-2:]},
        lambda b: {"earlier": b.earlier[:1], "intent_history": []},
        lambda b: {"openers": [clip_words(o, 18) for o in b.openers]},
        lambda b: {
            "rapport": _rapport(b.rapport, 0),
            "objections": [o.model_copy(update={"answer": ""}) for o in b.objections[-1:]],
        },
        lambda b: {"sections": {k: _trim_section(v, 6, 1) for k, v in b.sections.items()}},
        lambda b: {"summary": clip_words(" ".join(sentences(b.summary)[:2]), 30)},
        lambda b: {"objections": [], "rapport": None},
        lambda b: {"earlier": [], "business": None},
        lambda b: {"openers": [clip_words(o, 12) for o in b.openers]},
        lambda b: {"goal": clip_words(b.goal, 12), "next_step": clip_words(b.next_step, 12)},
        lambda b: {"openers": short_openers(b.facts)},
        lambda b: {"summary": clip_words(b.summary, 15), "tried": b.tried[:1]},
        lambda b: {"sections": {k: v for k, v in list(b.sections.items())[:1]}},
        lambda b: {"sections": {}, "resolved": [], "tried": []},
        lambda b: {"summary": clip_words(b.summary, 8), "goal": clip_words(b.goal, 8), "next_step": ""},
    ]


def fit_budget(brief: Brief, budget_tokens: int) -> Brief:
    """Return a copy of ``brief`` within ``budget_tokens`` if possible, with ``token_count`` set.

    The first :data:`KEPT_FACTS` facts are never dropped, so a brief whose kept facts alone exceed the
    budget stays over it (the count says so honestly).
    """
    fitted = brief.model_copy(update={"token_count": measure(brief)})
    for step in _steps():
        if fitted.token_count <= budget_tokens:
            break
        fitted = fitted.model_copy(update=step(fitted))
        fitted = fitted.model_copy(update={"token_count": measure(fitted)})
    while fitted.token_count > budget_tokens and len(fitted.facts) > KEPT_FACTS:
        fitted = fitted.model_copy(update={"facts": fitted.facts[:-1]})
        fitted = fitted.model_copy(update={"token_count": measure(fitted)})
    return fitted
