"""How a bot hears a customer turn: read once by the language layer, against the message it answers.

A customer turn is read (:func:`hear`) for its typed spans against the bot or agent messages just
before it (:func:`graph.language.reading.read_turn`), its cues (:func:`graph.language.cues.read_cues`)
and what its clauses state (:func:`graph.language.statements.read_statements`); each part is cached by a
digest of the text. The slot a message asks for is known from the bots' own questions, whichever bot
asked: the bots share what they collect.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from graph.language.cues import TurnCues, asks_to_repeat, only, read_cues
from graph.language.declines import declines
from graph.language.reading import read_turn
from graph.language.spans import Span, SpanKind, TurnReading
from graph.language.statements import Statements, read_statements
from graph.transcript import Turn

_OPEN_ANSWER_WORDS = 24
# Every slot question any bot asks -> the slot it asks for.
_ASKED_BY: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class Found:
    """A slot value as the customer gave it, with its reading where a slot has several (financing)."""

    value: str
    label: str = ""
    open: bool = False  # the turn's own words as the answer (``Heard.open_answer``), not a typed value


@dataclass(frozen=True)
class Heard:
    """One customer turn as the bots hear it.

    Attributes:
        index: The turn's index in the conversation.
        text: The turn as written.
        reading: The layer's typed spans, read against the messages the turn answers.
        cues: The layer's cues (a request for a person, financing, a timeline ...).
        said: What the turn's clauses state (reasons, requests, questions ...).
        asked: The slot the message before the turn asked for, or "".
    """

    index: int
    text: str
    reading: TurnReading
    cues: TurnCues
    said: Statements
    asked: str = ""

    @property
    def asks(self) -> bool:
        """True when the customer asks something in this turn (an off-script question)."""
        return self.said.asks

    @property
    def wants_person(self) -> bool:
        """True when the customer asks for a person (the router hands off; a bot only acknowledges)."""
        return bool(self.cues.find("human_request"))

    @property
    def declines(self) -> bool:
        """True when the turn declines to answer ("skip", "I'd rather not say"); "pass me on" asks for
        a person instead."""
        return not self.wants_person and declines(self.text)

    @property
    def impatient(self) -> bool:
        """True when the customer complains of the conversation itself ("this is taking too long",
        "you asked me that already"): a complaint, not an answer."""
        return bool(self.cues.find("impatience"))

    @functools.cached_property  # asked by the slot readers, the reply and the model's instruction
    def clarifies(self) -> bool:
        """True when the customer only asks what was just said to them means ("what do you mean?") or
        to hear it again ("huh?")."""
        return only("clarify", self.text) or asks_to_repeat(self.text)

    def spans(self, *kinds: SpanKind) -> list[Span]:
        """The turn's spans of ``kinds``, in text order."""
        return self.reading.of_kind(*kinds)

    def open_answer(self, *, questions: bool = False) -> str | None:
        """The turn's own words as the answer to a slot's question (without fillers and questions)."""
        if self.wants_person or self.declines or self.impatient or self.clarifies:
            return None
        skipped = ("filler",) if questions else ("filler", "question")
        parts = [s.text for s in self.said.said if s.kind not in skipped]
        return clip("; ".join(parts)) or None


def hear(index: int, text: str, asked_message: str | None = None, asked_slot: str = "") -> Heard:
    """Read one customer turn against the message it answers (each part is cached by the layer)."""
    return Heard(
        index=index,
        text=text,
        reading=read_turn(text, asked_message),
        cues=read_cues(text),
        said=read_statements(text),
        asked=asked_slot,
    )


Reader = Callable[[Heard, bool], "Found | str | None"]  # a plain string is a value without a label


def clip(text: str, limit: int = _OPEN_ANSWER_WORDS) -> str:
    """At most ``limit`` words of ``text``, trailing punctuation removed."""
    words = text.split()
    return " ".join(words[:limit]).strip(" ,;:.!?")


def ask_for(question: str, slot: str) -> None:
    """Record that ``question`` asks for ``slot`` (each bot registers its slot questions)."""
    _ASKED_BY.setdefault(question, slot)


def asked_slot(message: str) -> str:
    """The slot a bot or agent message asks for (the last slot question it contains), or ""."""
    found = [(message.rfind(q), name) for q, name in _ASKED_BY.items() if q in message]
    return max(found)[1] if found else ""


def hear_conversation(turns: Sequence[Turn]) -> list[Heard]:
    """Every customer turn, heard against the bot or agent messages just before it."""
    heard: list[Heard] = []
    block: list[str] = []
    for turn in turns:
        if turn.role in ("bot", "agent"):
            block.append(turn.text)
        elif turn.role == "customer":
            message = " ".join(block) or None
            heard.append(hear(turn.index, turn.text, message, asked_slot(message or "")))
            block = []
    return heard
