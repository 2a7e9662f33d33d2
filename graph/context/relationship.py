"""The brief's relationship view (seed 001's objection history and rapport level), grounded in turns.

Both read the language layer only: objections from :func:`graph.language.objections.read_objections`
(prototypes, negation scope), paired with the reply that answered them
(:func:`graph.language.objections.answer_to`); warmth and frustration from the cues the router reads
(:func:`graph.language.cues.read_cues`: VADER sentiment on name-masked text, distress and failure).
Each item cites the turn it comes from, like :class:`~graph.context.models.Fact`.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph.context.analysis import clip_words
from graph.context.models import RaisedObjection, Rapport, RapportNote, SentimentView
from graph.language.cues import TurnCues, read_cues
from graph.language.objections import Objection, answer_to, read_objections
from graph.transcript import Turn

MAX_OBJECTIONS = 4
# Replies after an objection that may answer it: an answer comes soon or not at all.
ANSWER_WINDOW = 3
_QUOTE_WORDS = 16
_ANSWER_WORDS = 14

# Rapport: a customer turn this positive is warm ("Thanks, that's helpful"), this negative strained.
WARM = 0.5
STRAINED = -0.3
VERY_STRAINED = -0.6
NEUTRAL_SCORE = 5
MAX_WARMTH = 3  # points warmth can add
MAX_STRAIN = 5  # points strain can take
MAX_EVIDENCE = 4
_EVIDENCE_WORDS = 8


def _answer(after: Sequence[Turn], objection: Objection) -> tuple[Turn, str] | None:
    """The first of the next :data:`ANSWER_WINDOW` bot or agent replies that addresses ``objection``."""
    replies = [t for t in after if t.role in ("bot", "agent")][:ANSWER_WINDOW]
    for reply in replies:
        sentence = answer_to(reply.text, objection)
        if sentence is not None:
            return reply, sentence
    return None


def objections_of(turns: Sequence[Turn]) -> list[RaisedObjection]:
    """The customer's objections (the latest :data:`MAX_OBJECTIONS`), each with the reply that answered it.

    An objection is a clause of a customer turn (see :mod:`graph.language.objections`), read against the
    bot's or agent's message before it; its answer is the sentence of a following reply that speaks to
    it, else it is marked unanswered.
    """
    found: list[RaisedObjection] = []
    asked = ""
    for i, turn in enumerate(turns):
        if turn.role in ("bot", "agent"):
            asked = turn.text
            continue
        if turn.role != "customer":
            continue
        for objection in read_objections(turn.text, asked):
            answer = _answer(turns[i + 1 :], objection)
            found.append(
                RaisedObjection(
                    kind=objection.kind,
                    text=clip_words(objection.text, _QUOTE_WORDS),
                    turn=turn.index,
                    answered=answer is not None,
                    answer=clip_words(answer[1], _ANSWER_WORDS) if answer else "",
                    answer_turn=answer[0].index if answer else None,
                )
            )
    return found[-MAX_OBJECTIONS:]


def _strain(cues: TurnCues) -> tuple[int, str] | None:
    """Points of strain in a turn and the words that show it, or ``None``."""
    distress = cues.find("distress")
    if distress:
        return 2, f"distress: {clip_words(distress[0].text, _EVIDENCE_WORDS)!r}"
    negative = cues.find("sentiment")
    failure = cues.find("failure")
    if cues.sentiment <= STRAINED or failure:
        words = (negative or failure)[0].text
        return (
            2 if cues.sentiment <= VERY_STRAINED else 1
        ), f"frustrated: {clip_words(words, _EVIDENCE_WORDS)!r}"
    return None


def rapport_of(
    turns: Sequence[Turn], sentiment: SentimentView, objections: Sequence[RaisedObjection] = ()
) -> Rapport | None:
    """A 0-10 rapport score with the turns behind it; ``None`` when no turn shows warmth or strain.

    From :data:`NEUTRAL_SCORE`: +1 per warm customer turn (up to :data:`MAX_WARMTH`); -1 per frustrated
    turn, -2 for a very negative one or distress (down to :data:`MAX_STRAIN`); -1 per distrust objection
    left unanswered; then +-1 when the sentiment trend is improving or worsening. The evidence keeps the
    strongest notes (strain first), in turn order.
    """
    warm: list[RapportNote] = []
    strained: list[tuple[int, RapportNote]] = []
    for turn in turns:
        if turn.role != "customer":
            continue
        cues = read_cues(turn.text)
        strain = _strain(cues)
        if strain is not None:
            strained.append((strain[0], RapportNote(turn=turn.index, note=strain[1])))
        elif cues.sentiment >= WARM:
            warm.append(
                RapportNote(turn=turn.index, note=f"warm: {clip_words(turn.text, _EVIDENCE_WORDS)!r}")
            )
    distrust = [
        RapportNote(turn=o.turn, note=f"distrust, unanswered: {o.text!r}")
        for o in objections
        if o.kind == "trust" and not o.answered
    ]
    if not (warm or strained or distrust):
        return None
    trend = {"improving": 1, "worsening": -1}.get(sentiment.trend, 0)
    score = (
        NEUTRAL_SCORE
        + min(MAX_WARMTH, len(warm))
        - min(MAX_STRAIN, sum(points for points, _ in strained) + len(distrust))
        + trend
    )
    ranked = [note for _, note in sorted(strained, key=lambda s: -s[0])] + distrust + warm[::-1]
    evidence = sorted(ranked[:MAX_EVIDENCE], key=lambda n: n.turn)
    return Rapport(score=max(0, min(10, score)), evidence=evidence)
