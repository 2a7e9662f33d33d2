"""The cue prototypes as unit vectors, and how a clause or phrase matches them.

Each cue kind has a few prototype descriptions (:mod:`graph.language.prototypes`), embedded once by the
offline MiniLM model; a text's vector is compared with them by cosine. A prototype is itself affirmed or
denied ("Can I speak to a human" / "I do not want to speak to a human"), judged on the words that carry
its cue (:func:`cue_words`), so a text matches the prototypes of its own polarity first
(:func:`polar_match`). The reading of a turn that uses them is :mod:`graph.language.cues`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from graph.embeddings import get_embedder
from graph.language.pipeline import shared_pipeline
from graph.language.prototypes import (
    CALL_VERBS,
    ESCALATE_VERBS,
    IN_TOUCH_WORDS,
    NEUTRAL,
    PROTOTYPES,
    SEEDS,
    THROUGH_WORDS,
    TRANSFER_VERBS,
)
from graph.language.scope import Clause, clauses, negated

if TYPE_CHECKING:
    from spacy.tokens import Token

FloatArray = npt.NDArray[np.float32]

# How close (cosine) a clause must be to a cue's nearest prototype. Chosen on the dev half of
# evals/data/signals_dev.jsonl, as round numbers; a request for a person sits 0.02 lower since the
# encoder's int8 activations (graph/encoder_build.py) move a similarity by about 0.01 either way, and
# none of the dev or check messages lies between 0.36 and 0.40.
THRESHOLDS: Final[dict[str, float]] = {
    "human_request": 0.38,
    "distress": 0.5,
    "legal": 0.45,
    "failure": 0.55,
    "impatience": 0.55,
    "clarify": 0.6,
    "financing": 0.55,
    "timeline": 0.65,
    "vip_claim": 0.6,
    "budget": 0.3,
}

# VADER (Hutto & Gilbert, 2014): its lexicon says which words carry a feeling; the turn's sentiment is
# its score too (graph.language.cues).
VADER = SentimentIntensityAnalyzer()
VADER_WORDS: dict[str, float] = VADER.lexicon
# VADER's valence (-4 .. 4) at or below which a word names a bad feeling.
FEELING_VALENCE: Final[float] = -1.0


@dataclass(frozen=True)
class Bank:
    """The prototypes' unit vectors, with their kind, label and whether each is itself negated."""

    vectors: FloatArray
    kinds: tuple[str, ...]
    labels: tuple[str, ...]
    negated: tuple[bool, ...]
    neutral: FloatArray
    index: dict[str, npt.NDArray[np.int64]]


_bank: Bank | None = None
_bank_lock = threading.Lock()


def cue_words(kind: str, clause: Clause, found: dict[int, str]) -> list[Token]:
    """The words of ``clause`` that carry cue ``kind`` (outside names), else its head."""
    seeds = SEEDS.get(kind, frozenset())
    words = [t for t in clause.tokens if t.lemma_.lower() in seeds and t.i not in found]
    if kind == "distress":
        # The words that carry the feeling ("*No stress*", "I'm not *worried*"), by VADER's lexicon.
        words += [t for t in clause.tokens if VADER_WORDS.get(t.lower_, 0.0) < 0 and t.i not in found]
    if kind == "human_request":
        # "call me back", "ring us", "transfer me", "escalate this": a call asked for, or being passed
        # on to someone, is a person asked for.
        words += [t for t in clause.tokens if calls_or_passes_on(t)]
        return words
    return words or [clause.head]


def _on_the_customer(verb: Token) -> bool:
    """The verb's object is the customer ("call me", "transfer us") and nothing else: not "Call me
    Joe" (naming), "call me a cab" or "transfer me the money" (fetching), whose second object is a
    noun.
    """
    # not the subject: "Let *me* get in touch with my wife first" is the customer's own errand
    if not any(c.lower_ in ("me", "us") and c.dep_ not in ("nsubj", "nsubjpass") for c in verb.children):
        return False
    return not any(
        c.dep_ in ("oprd", "dobj")
        and c.pos_ in ("NOUN", "PROPN", "NUM", "SYM")
        and c.lower_ not in THROUGH_WORDS
        for c in verb.children  # "thru" is tagged a noun at times ("now put me thru")
    )


def _asks_a_call(verb: Token) -> bool:
    """ "call me back", "ring us tomorrow": a call verb on the customer."""
    return verb.lemma_.lower() in CALL_VERBS and _on_the_customer(verb)


def _in_touch(verb: Token) -> bool:
    """ "put me in touch with", "get us in contact with": "in" with "touch" or "contact" as its object."""
    return any(
        c.dep_ == "prep"
        and c.lower_ == "in"
        and any(o.dep_ == "pobj" and o.lemma_.lower() in IN_TOUCH_WORDS for o in c.children)
        for c in verb.children
    )


def _passes_on(verb: Token) -> bool:
    """ "transfer me", "connect us with ...", "put me through", "put me in touch with ...", "escalate
    this": the customer or their matter passed on to someone.
    """
    lemma = verb.lemma_.lower()
    if lemma in ESCALATE_VERBS:
        return verb.pos_ == "VERB"
    # "through" as a particle, or a preposition with no object ("Please put me through"), not "put me
    # through the steps"
    through = lemma == "put" and any(
        c.lower_ in THROUGH_WORDS and not list(c.children) for c in verb.children
    )
    in_touch = lemma in ("put", "get") and _in_touch(verb)
    return (lemma in TRANSFER_VERBS or through or in_touch) and _on_the_customer(verb)


def calls_or_passes_on(verb: Token) -> bool:
    """Whether ``verb`` asks for a call or to be passed on: a request for a person in its grammar."""
    return _asks_a_call(verb) or _passes_on(verb)


def feelings(words: list[Token]) -> list[Token]:
    """The words VADER rates clearly negative (a feeling, "worried", "lost"), not "pay" (-0.4)."""
    return [w for w in words if VADER_WORDS.get(w.lower_, 0.0) <= FEELING_VALENCE]


def denies(kind: str, anchors: list[Token]) -> bool:
    """Whether a clause denies its cue: every word that carries it is negated ("I don't want a human").

    Distress is denied only by denying a feeling ("I'm not worried", "no stress"): "I can't cope" and
    "I can't pay the mortgage" deny an ability, and that is the distress.
    """
    if kind == "distress":
        anchors = feelings(anchors)
        if not anchors:
            return False
    return all(negated(a) for a in anchors)


def _build_bank() -> Bank:
    pipeline = shared_pipeline()
    texts, kinds, labels, denied = [], [], [], []
    for kind, by_label in PROTOTYPES.items():
        for label, prototypes in by_label.items():
            for text in prototypes:
                doc = pipeline.parse(text)
                clause = clauses(doc)[0]
                anchors = cue_words(kind, clause, {}) or [clause.head]
                texts.append(text)
                kinds.append(kind)
                labels.append(label)
                denied.append(denies(kind, anchors))
    embedder = get_embedder()
    vectors = embedder.embed(texts)
    index = {k: np.array([i for i, x in enumerate(kinds) if x == k], dtype=np.int64) for k in PROTOTYPES}
    return Bank(vectors, tuple(kinds), tuple(labels), tuple(denied), embedder.embed(list(NEUTRAL)), index)


def prototype_bank() -> Bank:
    """The prototypes' vectors, built on first use (the pipeline and the embedder load with them)."""
    global _bank
    if _bank is None:
        with _bank_lock:
            if _bank is None:
                _bank = _build_bank()
    return _bank


def _nearest(kind: str, row: FloatArray, denied: bool) -> tuple[int, int]:
    """The nearest prototype of ``kind`` whose own negation is / is not ``denied`` (-1 when none)."""
    bank = prototype_bank()
    same = [i for i in bank.index[kind] if bank.negated[i] == denied]
    other = [i for i in bank.index[kind] if bank.negated[i] != denied]
    best_same = max(same, key=lambda i: row[i], default=-1)
    best_other = max(other, key=lambda i: row[i], default=-1)
    return int(best_same), int(best_other)


def polar_match(
    kind: str, row: FloatArray, denied: bool, threshold: float | None = None
) -> tuple[int, bool] | None:
    """The prototype a text matches and whether the cue is denied, or None below the threshold.

    A text matches a prototype of its own polarity first: "I can't cope" is the distress of "I can't
    cope anymore", "No rush" the long timeline of "no rush". Only when no such prototype is close
    does the nearest one of the opposite polarity say what the text denies: "I do not want to speak
    to a human" denies "Can I speak to a human", "It works now" denies "It still doesn't work".
    """
    same, other = _nearest(kind, row, denied)
    threshold = THRESHOLDS[kind] if threshold is None else threshold
    if same >= 0 and row[same] >= threshold:
        return same, False
    if other >= 0 and row[other] >= threshold:
        return other, True
    return None
