"""``conversation_facts``: what the customer stated over a conversation, as grounded, keyed mentions.

Each customer turn is read once (:func:`graph.language.reading.read_turn`) against the block of bot or
agent messages just before it. A span that answers a question takes the question's key; a span found
on its own takes its kind's key. Numbers count only as answers ("How many tickets?" "4") and as new
values of a count already answered ("make that 3 tickets"): a bare number in passing ("3 rooms in a 1
star hotel") is not a fact a receiver would ask for again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph.language.nouns import intro_name
from graph.language.pipeline import shared_pipeline
from graph.language.questions import COUNT_PREFIX
from graph.language.reading import read_turn
from graph.language.spans import Span, SpanKind, SpanSource
from graph.textutil import normalize_value
from graph.transcript import Turn

# The key of a span nobody asked for, by kind (ABCD's keys where ABCD has one).
KIND_KEYS: dict[SpanKind, str] = {
    "person": "person",
    "place": "place",
    "organisation": "organisation",
    "address": "street_address",
    "date": "date",
    "time": "time",
    "money": "amount",
    "email": "email",
    "phone": "phone",
    "url": "url",
    "zip": "zip_code",
    "id": "id",
    "product": "product",
}


@dataclass(frozen=True, slots=True)
class Mention:
    """A value the customer stated, as written, citing the turn whose text contains it.

    Attributes:
        key: The slot it fills: the question's key when it answered one, else its kind's key.
        value: The value exactly as written in the turn.
        turn: Index of the turn that states it.
        kind: What the value is (see :data:`graph.language.spans.SpanKind`).
        answered: True when it answers the question asked just before, or carries an explicit cue.
        source: How its span was found (a typed noun phrase is the weakest evidence).
    """

    key: str
    value: str
    turn: int
    kind: SpanKind
    answered: bool
    source: SpanSource

    @property
    def rank(self) -> tuple[int, int]:
        """Sort key for a receiver: answers and cued values, then entities, then noun phrases."""
        tier = 0 if self.answered else 2 if self.source == "phrase" else 1
        return tier, self.turn


def _mention(span: Span, turn: Turn, counts: set[str]) -> Mention | None:
    if span.key:
        return Mention(span.key, span.text, turn.index, span.kind, True, span.source)
    if span.kind == "number":  # "3 tickets" once "How many tickets?" was answered: the count again
        after = turn.text[span.end : span.end + 40].split(None, 1)  # the noun a number counts
        noun = (
            after[0].strip(".,;:!?").lower() if after and turn.text[span.end : span.end + 1].isspace() else ""
        )
        count = f"{COUNT_PREFIX}{noun}" if noun.isalpha() else ""
        return (
            Mention(count, span.text, turn.index, span.kind, True, span.source) if count in counts else None
        )
    key = span.text.split()[-1].lower() if span.source == "phrase" else KIND_KEYS.get(span.kind)
    return None if key is None else Mention(key, span.text, turn.index, span.kind, False, span.source)


def _introduced(text: str) -> str:
    """The name the customer introduces themselves with, or "" (only turns that could say one)."""
    lower = text.lower()
    if not any(cue in lower for cue in ("i'm", "i am", "name", "this is", "call me", "here")):
        return ""  # most turns introduce nobody: spare them a parse
    return intro_name(shared_pipeline().parse(text))


def _contained(value: str, kept: Sequence[Mention]) -> bool:
    needle = f" {normalize_value(value)} "
    return any(needle in f" {normalize_value(m.value)} " for m in kept)


def conversation_facts(turns: Sequence[Turn]) -> list[Mention]:
    """Every value the customer stated, answers first, each once (a value inside a longer one drops).

    Args:
        turns: The conversation; only customer turns state facts, bot and agent turns are the questions.

    Returns:
        Mentions ranked for a receiver: answers and cued values first, then values found on their own,
        each group in conversation order.
    """
    found: list[Mention] = []
    block: list[str] = []
    open_question = False
    counts: set[str] = set()
    for turn in turns:
        if turn.role in ("bot", "agent"):
            block = [*block, turn.text] if open_question else [turn.text]
            open_question = True
            continue
        if turn.role != "customer":
            continue
        reading = read_turn(turn.text, " ".join(block) if block else None)
        mentions = [m for m in (_mention(s, turn, counts) for s in reading.spans) if m is not None]
        found.extend(mentions)
        counts.update(m.key for m in mentions if m.key.startswith(COUNT_PREFIX))
        name = _introduced(turn.text)
        if name:  # "I'm Dana", "Dana here", "my name is Dana Whitfield": the customer's own name
            found.append(Mention("customer_name", name, turn.index, "person", True, "entity"))
        if reading.answers:
            block = []  # a question answered is closed; one left open carries to the next customer turn
        open_question = False
    kept: list[Mention] = []
    for mention in sorted(sorted(found, key=lambda m: m.rank), key=lambda m: -len(m.value)):
        if not _contained(mention.value, kept):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.rank)
