"""The typed reading of one customer turn: spans with their kind, offsets, text and normalised value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SpanKind = Literal[
    "person",
    "place",
    "organisation",
    "address",
    "date",
    "time",
    "money",
    "number",
    "email",
    "phone",
    "id",
    "url",
    "zip",
    "product",
    "answer",
]
# Where a span came from: the model's entities, the token grammar, a hand pattern, a typed noun phrase
# ("checking account": weaker evidence, ranked last), or the turn read as the answer to the question.
SpanSource = Literal["entity", "grammar", "pattern", "phrase", "answer"]


@dataclass(frozen=True, slots=True)
class Span:
    """One value in a turn: ``text == turn[start:end]``, exactly as the customer wrote it.

    Attributes:
        kind: What the value is (a place, a time, an e-mail ...).
        start: Character offset of the first character in the turn.
        end: Character offset one past the last character.
        text: The value as written.
        source: How it was found (see :data:`SpanSource`).
        key: The slot it fills when the question it answers names one ("city", "pickup_time"), else "".
    """

    kind: SpanKind
    start: int
    end: int
    text: str
    source: SpanSource = "entity"
    key: str = ""

    @property
    def value(self) -> str | None:
        """The normalised value where one exists: digits for amounts and phones, ISO for dates ..."""
        from graph.language.normalize import normalized

        return normalized(self.kind, self.text)

    def overlaps(self, start: int, end: int) -> bool:
        """True when this span shares a character with ``[start, end)``."""
        return self.start < end and start < self.end


@dataclass(frozen=True, slots=True)
class Question:
    """What a bot or agent message asks for, read from its parse.

    Attributes:
        kind: The kind of value asked for ("place", "time", "date", "person", "number", "money",
            "choice", "offer", "name", "yes_no", "other"), or "" when the message asks nothing; an
            offer ("How about Green Book?") is answered only by naming one of its options.
        key: The slot the question names ("city", "car_type", "number_of_people"), else "".
        options: The choices offered ("checking or savings" -> ("checking", "savings")).
    """

    kind: str = ""
    key: str = ""
    options: tuple[str, ...] = ()

    @property
    def asks(self) -> bool:
        """True when the message asks for a value (a yes/no question asks for none)."""
        return self.kind not in ("", "yes_no")


@dataclass(frozen=True, slots=True)
class TurnReading:
    """Every span found in one turn, in text order, read once per text and question.

    Attributes:
        text: The turn as written.
        spans: Non-overlapping spans, in text order.
        questions: The questions the turn was read against (none when nothing was asked).
    """

    text: str
    spans: tuple[Span, ...] = field(default_factory=tuple)
    questions: tuple[Question, ...] = ()

    def of_kind(self, *kinds: SpanKind) -> list[Span]:
        """Spans of the given kinds, in text order."""
        return [s for s in self.spans if s.kind in kinds]

    @property
    def answers(self) -> list[Span]:
        """The spans that answer the questions asked (each carries the question's key)."""
        return [s for s in self.spans if s.key and s.source != "pattern"]
