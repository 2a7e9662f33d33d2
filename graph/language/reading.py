"""``read_turn``: one customer turn read once, against the question asked just before it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from graph.language.answers import answer_spans
from graph.language.entities import find_spans
from graph.language.pipeline import shared_pipeline
from graph.language.questions import read_sentence
from graph.language.spans import Question, TurnReading
from graph.textutil import DigestCache

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.tokens import Span as SpacySpan

# Readings per distinct text and question (a brief at the 25th turn reads only the new turns).
_READINGS: DigestCache[TurnReading] = DigestCache(8192)
_QUESTIONS: DigestCache[tuple[tuple[Question, ...], frozenset[str]]] = DigestCache(8192)
_SENTENCES: DigestCache[tuple[tuple[Question, ...], frozenset[str]]] = DigestCache(8192)


def _clauses(doc: Doc) -> list[SpacySpan]:
    """Sentences, also cut after every "?" ("Departing from? Destination?" asks two things)."""
    parts: list[SpacySpan] = []
    for sent in doc.sents:
        start = sent.start
        for token in sent:
            if token.text == "?" and token.i + 1 < sent.end:
                parts.append(doc[start : token.i + 1])
                start = token.i + 1
        parts.append(doc[start : sent.end])
    return parts


# A message can ask something only with a question mark, a wh-word, a choice ("or") or a request verb:
# a statement ("I found 10 hotels.") is not parsed at all (a parse costs more than the rest of a turn).
_ASKING = re.compile(
    r"\?|\b(?:wh(?:at|ich|ere|en|o|om|ose)|how|or|tell|let|give|share|provide|specify|enter|send|confirm|verify)\b",
    re.IGNORECASE,
)


def _sentence_questions(sentence: str) -> tuple[tuple[Question, ...], frozenset[str]]:
    doc = shared_pipeline().parse(sentence, entities=False)
    asked = tuple(q for q in (read_sentence(s) for s in _clauses(doc)) if q.kind)
    return asked, frozenset(t.lemma_.lower() for t in doc if t.is_alpha)


def _questions(message: str) -> tuple[tuple[Question, ...], frozenset[str]]:
    """The questions of ``message`` and the words they use, read one asking sentence at a time.

    A bot's message is mostly a template question beside words that change ("Thanks, noted (request:
    ...). Which charge or invoice is this about?"): cut on punctuation, only the sentences that can ask
    are parsed, each once per process, so the question the bot asks every time is not parsed again.
    """
    if not _ASKING.search(message):
        return (), frozenset()
    asked: list[Question] = []
    words: set[str] = set()
    for sentence in shared_pipeline().sentences(message):
        if _ASKING.search(sentence):
            questions, used = _SENTENCES.get_or_compute(sentence, _sentence_questions)
            asked.extend(questions)
            words |= used
    return tuple(asked), frozenset(words)


def read_question(message: str) -> tuple[Question, ...]:
    """What a bot or agent message asks for, one :class:`Question` per question it asks (cached)."""
    return _QUESTIONS.get_or_compute(message, _questions)[0]


def read_turn(text: str, asked: str | None = None) -> TurnReading:
    """Typed spans of a customer turn, with the answer to ``asked`` (the message just before) keyed.

    Args:
        text: The customer's turn as written.
        asked: The bot's or agent's message the turn replies to (all of a block of consecutive messages),
            or ``None`` when nothing was asked.

    Returns:
        The turn's reading; every span's ``text`` is ``text[span.start:span.end]``.
    """
    questions, words = _QUESTIONS.get_or_compute(asked, _questions) if asked else ((), frozenset())

    def read(turn: str) -> TurnReading:
        doc = shared_pipeline().parse(turn)
        spans = answer_spans(doc, find_spans(doc), questions, set(words))
        return TurnReading(text=turn, spans=tuple(spans), questions=questions)

    return _READINGS.get_or_compute(text, read, salt=asked or "")
