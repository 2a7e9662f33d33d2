"""Answers read against the question asked just before: which span of the turn answers it.

The expected kind decides first ("Which city?" is answered by the place in "Search for the weather in
San Lorenzo"); a choice is answered by the option the customer repeats; a name by what follows "called"
or "named"; anything else by the turn's core phrase, without filler ("I'd like", "please", "make it").
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from graph.language.prototypes import SEEDS
from graph.language.scope import negated
from graph.language.spans import Question, Span, SpanKind

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.tokens import Span as SpacySpan

# The span kinds that can answer a question of each kind (the entity model confuses places,
# organisations and people, so each accepts the others it is mistaken for).
ACCEPTS: dict[str, tuple[SpanKind, ...]] = {
    "place": ("place", "address", "organisation"),
    "person": ("person", "organisation", "place"),
    "time": ("time",),
    "date": ("date",),
    "when": ("date", "time"),
    "money": ("money", "number"),
    "number": ("number", "money"),
    "email": ("email",),
    "phone": ("phone",),
    "id": ("id", "number"),
    "zip": ("zip", "number"),
    "name": ("person", "organisation", "product", "place"),
    "category": ("product",),
}
# Kinds answered by a phrase when no span of the expected kind is there.
_OPEN = {"place", "person", "name", "category", "other", "choice"}
_NAMING = {"call", "name", "title", "label"}
_VAGUE = {"something", "anything", "one", "thing", "stuff", "kind", "type", "sort"}
_LIGHT_EDGE = {"DET", "PUNCT", "INTJ", "SPACE", "CCONJ"}
_EDGE_POS = {"DET", "PRON", "AUX", "PART", "ADP", "CCONJ", "SCONJ", "PUNCT", "INTJ", "SPACE", "VERB", "ADV"}


def _option_span(doc: Doc, question: Question) -> tuple[int, int] | None:
    """Where the turn names an option it takes: not one it turns down ("No, I don't want Green Book")."""
    lower = doc.text.lower()
    for option in question.options:
        at = lower.find(option.lower())
        while at >= 0:
            end = at + len(option)
            whole = (at == 0 or not lower[at - 1].isalnum()) and (
                end == len(lower) or not lower[end].isalnum()
            )
            named = doc.char_span(at, end, alignment_mode="expand") if whole else None
            if whole and not (named is not None and negated(named[-1])):
                return at, end
            at = lower.find(option.lower(), at + 1)
    return None


def _named(doc: Doc) -> SpacySpan | None:
    """A name as the customer gives it: after "called"/"named", an object predicate, or "make it ..."."""
    first = next((t for t in doc if not (t.is_punct or t.pos_ == "INTJ")), None)
    if (
        first is not None
        and first.pos_ == "VERB"
        and first.i + 1 < len(doc)
        and doc[first.i + 1].lower_ in ("it", "this", "that")
    ):
        return _trim(doc[first.i + 2 :], light=True)  # "Make it Leave for home", "call it Cleaning"
    for token in doc:
        if token.dep_ == "oprd":
            return _trim(doc[token.left_edge.i : token.i + 1], light=True)
        if token.lemma_.lower() in _NAMING and token.tag_ == "VBN" and token.i + 1 < len(doc):
            end = token.i + 1
            while (
                end < len(doc)
                and end - token.i <= 5
                and not (
                    doc[end].is_punct
                    or doc[end].pos_ in ("CCONJ", "ADP", "AUX")
                    or doc[end].lower_ == "please"
                )
            ):
                end += 1
            return _trim(doc[token.i + 1 : end], light=True)
    return None


def _trim(span: SpacySpan, *, light: bool = False) -> SpacySpan | None:
    """``span`` without function words and filler at its edges ("the", "please", "I'd like").

    ``light`` keeps verbs and adverbs (a name may be "Leave for home") and trims only determiners,
    punctuation, interjections and "please".
    """
    edge = _LIGHT_EDGE if light else _EDGE_POS
    start, end = span.start, span.end
    doc = span.doc
    while start < end and (doc[start].pos_ in edge or doc[start].lower_ in ("please", "my")):
        start += 1
    while end > start and (doc[end - 1].pos_ in edge or doc[end - 1].lower_ == "please"):
        end -= 1
    return doc[start:end] if end > start else None


def _core_phrase(doc: Doc, question_words: set[str]) -> SpacySpan | None:
    """The phrase that carries the answer: the first noun phrase with a word the question lacks."""
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.pos_ == "PRON" or root.tag_ in ("WP", "WDT"):
            continue
        if root.lower_ in _VAGUE:
            modifiers = [t for t in root.children if t.dep_ == "amod"]
            if modifiers:
                return doc[modifiers[0].i : modifiers[-1].i + 1]  # "something funny" -> "funny"
            continue
        trimmed = _trim(chunk)
        if trimmed is not None and any(t.lemma_.lower() not in question_words for t in trimmed if t.is_alpha):
            return trimmed
    content = [t for t in doc if not t.is_punct]
    if len(content) <= 4:
        return _trim(doc[:])  # a bare answer: "funny", "go to savings"
    return None


def _has_verb(doc: Doc) -> bool:
    return any(t.pos_ in ("VERB", "AUX") for t in doc)


def _one_of_ours(phrase: SpacySpan) -> bool:
    """A word for one of our people ("a human", "an agent"): a request, not what the customer answers."""
    return phrase.root.lemma_.lower() in SEEDS["human_request"]


def answer_spans(
    doc: Doc, spans: list[Span], questions: tuple[Question, ...], question_words: set[str]
) -> list[Span]:
    """``spans`` with the answers to ``questions`` keyed (and added when no span held them)."""
    result = list(spans)
    is_question = doc.text.rstrip().endswith("?")
    for question in questions:
        if not question.asks:
            continue
        target = _answer(doc, result, question, question_words, is_question)
        if target is None:
            continue
        index, span = target
        if index is None:
            result.append(span)
        else:
            result[index] = span
    return sorted(result, key=lambda s: s.start)


def _answer(
    doc: Doc, spans: list[Span], question: Question, question_words: set[str], is_question: bool
) -> tuple[int | None, Span] | None:
    text = doc.text
    where = _option_span(doc, question) if question.options else None
    if where is not None:
        start, end = where
        key = question.key or "choice"
        hit = next((i for i, s in enumerate(spans) if s.overlaps(start, end)), None)
        if hit is None:
            return None, Span("answer", start, end, text[start:end], "answer", key)
        return None if spans[hit].key else (hit, replace(spans[hit], key=key))  # the span keeps its kind
    accepted = ACCEPTS.get(question.kind, ())
    for i, span in enumerate(spans):
        if span.kind in accepted and not span.key:
            return i, replace(span, key=question.key or question.kind)
    if is_question or question.kind not in _OPEN:
        return None
    phrase = _named(doc) if question.kind in ("name", "other") else None
    if question.key == "customer_name" and _has_verb(doc):
        return None  # "May I have your name?" "I want to sell first": a name said in a sentence is read elsewhere
    if question.kind != "other":  # an untyped question ("What would you like to do?") takes names only
        phrase = phrase or _core_phrase(doc, question_words)
    if phrase is None or _one_of_ours(phrase) or any(negated(t) for t in phrase):
        return None  # "I want to talk to a human", "not sure yet": a request or a denial, no answer
    start, end = phrase.start_char, phrase.end_char
    if any(s.overlaps(start, end) for s in spans):
        return None
    return None, Span("answer", start, end, text[start:end], "answer", question.key or question.kind)
