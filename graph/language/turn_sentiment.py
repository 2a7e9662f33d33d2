"""How a customer turn sounds: VADER's score of the name-masked turn, and impatience where VADER has none.

VADER (Hutto & Gilbert, 2014) scores the turn with names masked, so "Grief Lane" is not sad. Its
lexicon has no word for impatience with the conversation ("this is taking too long" scores 0): the
clauses the cue reader finds impatient (:mod:`graph.language.cues`) count as ``IMPATIENT_SENTIMENT``
by their share of the turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from graph.language.cue_bank import VADER
from graph.language.readings import Cue
from graph.language.scope import Clause, masked

if TYPE_CHECKING:
    from spacy.tokens import Doc

# The sentiment of a clause that says the customer is impatient with the service (``sentiment_of``):
# two such turns in a row reach the policies' "very negative" (-0.6), one does not.
IMPATIENT_SENTIMENT: Final[float] = -0.5
# Past this many tokens a turn's sentiment is its sentences' (``_turn_sentiment``).
LONG_TURN_TOKENS: Final[int] = 300
END_PUNCT = ".!?…;:, "


def compound(text: str) -> float:
    """VADER's compound score of ``text``, -1 to 1."""
    return float(VADER.polarity_scores(text)["compound"])


def _turn_sentiment(doc: Doc, found: dict[int, str]) -> float:
    """VADER's compound score of the turn; of a long one, its sentences' scores weighted by length.

    VADER rereads every word of the text for each word it scores, so its time grows with the square
    of the length: 4,000 emoji took 20 s. Its authors score long texts sentence by sentence.
    """
    if len(doc) <= LONG_TURN_TOKENS:
        return compound(masked(doc, found))
    scored = [(compound(masked(s, found)), len(s)) for s in doc.sents]
    return sum(score * size for score, size in scored) / sum(size for _, size in scored)


def _impatient_share(doc: Doc, impatient: list[Cue]) -> float:
    """The share of the turn's characters in clauses that say the customer is impatient."""
    size = len(doc.text.strip().rstrip(END_PUNCT))  # "I told you that already!" is all impatience
    return min(1.0, sum(c.end - c.start for c in impatient) / size) if size else 0.0


def sentiment_of(
    doc: Doc, parts: list[Clause], found: dict[int, str], impatient: list[Cue]
) -> tuple[float, Cue | None]:
    """The turn's sentiment, -1 to 1, and the negative cue quoting its worst clause (at -0.3 or below).

    ``found``: the names masked; ``impatient``: the turn's affirmed impatience cues.
    """
    felt = _turn_sentiment(doc, found)
    share = _impatient_share(doc, impatient)
    # VADER's lexicon has no word for impatience ("this is taking too long" scores 0): its clauses
    # count as this negative, by their share of the turn; it never makes a turn sound better.
    score = min(felt, share * IMPATIENT_SENTIMENT + (1 - share) * felt)
    if score < felt and score <= -0.3:
        first = impatient[0]
        return score, Cue("sentiment", "negative", first.text, first.start, first.end, score=round(score, 3))
    if score > -0.3 or not parts:
        return score, None
    worst = min(parts, key=lambda c: compound(c.masked_text(found)))
    return score, Cue("sentiment", "negative", worst.text, worst.start, worst.end, score=round(score, 3))
