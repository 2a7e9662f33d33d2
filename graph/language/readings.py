"""What reading a customer turn yields: its cues with their evidence spans, sentiment and amounts.

Read by :func:`graph.language.cues.read_cues`; the signals are made of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.language.prototypes import CueKind


@dataclass(frozen=True)
class Cue:
    """One cue in a turn.

    Attributes:
        kind: Which cue (a request for a person, distress, a legal matter ...).
        label: Its value where a cue has several: legal ``high``/``low``, a timeline, financing
            ``ready``/``not_ready``, the term found; else the kind's single label.
        text: The evidence, exactly as written: ``turn[start:end]``.
        start: Character offset of the evidence in the turn.
        end: Offset one past its last character.
        negated: The cue is named but denied ("I do not want to speak to a human").
        score: Cosine similarity to the nearest prototype (the compound score for sentiment).
    """

    kind: CueKind
    label: str
    text: str
    start: int
    end: int
    negated: bool = False
    score: float = 0.0


@dataclass(frozen=True)
class TurnCues:
    """Everything one turn says that the signals are made of."""

    cues: tuple[Cue, ...] = ()
    sentiment: float = 0.0
    amounts: tuple[float, ...] = ()  # money amounts of 10,000 and more
    budget_amounts: tuple[float, ...] = ()  # those stated as a budget
    questions: int = 0
    words: int = 0
    terms: dict[str, frozenset[str]] = field(default_factory=dict)

    def find(self, kind: CueKind, label: str | None = None, *, negated: bool = False) -> list[Cue]:
        """The cues of ``kind`` (and ``label``) that are affirmed, or denied with ``negated=True``."""
        return [
            c
            for c in self.cues
            if c.kind == kind and (label is None or c.label == label) and c.negated == negated
        ]
