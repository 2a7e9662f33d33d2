"""Objections in a customer turn: pushback on price, fees, timing, trust, the offer itself, or a rival.

Read the way :mod:`graph.language.cues` reads its cues: the turn is parsed once by the shared pipeline
and split into clauses (:mod:`graph.language.scope`); each clause, names masked, is embedded by the
offline MiniLM model (a one-clause turn reuses the vector the cue reader left in the embedder's cache)
and compared with plain-word prototypes of each kind of objection. An objection is read where its
nearest prototype is close enough and nearer than ordinary talk and than agreement on the same topic
("The price is fine"); the parse decides the polarity, so "the commission is not a problem" denies
what "your commission is too high" says, and "I'm not interested" matches its own negated prototype
while "I'm interested" does not. A short "No thanks" to an offer of further help declines nothing.

:func:`answer_to` finds the sentence of a bot's or agent's reply that speaks to an objection, so a
brief can pair each objection with the reply that answered it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import numpy.typing as npt

from graph.embeddings import get_embedder
from graph.language.pipeline import shared_pipeline
from graph.language.prototypes import NEUTRAL
from graph.language.scope import Clause, clauses, names, negated
from graph.textutil import DigestCache

if TYPE_CHECKING:
    from spacy.tokens import Token

FloatArray = npt.NDArray[np.float32]
ObjectionKind = Literal["price", "fees", "timing", "trust", "not_interested", "competitor"]

# kind -> prototypes: generic statements of each kind of pushback, none taken from an eval row.
PROTOTYPES: Final[dict[ObjectionKind, tuple[str, ...]]] = {
    "price": (
        "That price is too high",
        "It's too expensive for us",
        "I can't afford that",
        "That's more than we want to pay",
        "Your valuation is too low, my house is worth more",
        "The asking price is way over our budget",
    ),
    "fees": (
        "Your commission is too high",
        "The fees are too steep",
        "I don't want to pay a listing fee",
        "Why do you charge so much",
        "I won't pay extra charges for that",
    ),
    "timing": (
        "Now is not a good time for us",
        "I'm not ready to commit yet",
        "Maybe later, not right now",
        "We're not ready to sell yet",
        "Let me think about it first",
        "We'd rather wait until next year",
        "It's too soon to decide",
        "I need more time to think about it",
    ),
    "trust": (
        "I don't trust online valuations",
        "How do I know this isn't a scam",
        "I've had bad experiences with agents before",
        "I'm skeptical about this",
        "That sounds too good to be true",
    ),
    "not_interested": (
        "I'm not interested",
        "No thanks, we'll pass",
        "Please stop sending me offers",
        "We've decided not to go ahead",
        "I don't need this service",
    ),
    "competitor": (
        "Another agency offered a lower commission",
        "I'm already working with another realtor",
        "A different company quoted me less",
        "Your competitor has a better deal",
        "Online estimates say my home is worth more",
        "I'm talking to other agents too",
    ),
}
# Ordinary talk beside the router's (``NEUTRAL``): support requests and complaints, which state a
# problem rather than push back on an offer.
_ORDINARY: Final[tuple[str, ...]] = (
    *NEUTRAL,
    "I was charged twice for my order",
    "Our budget is up to 800,000",
    "We're looking in the 700k price range",
    "I want a refund for this item",
    "The item arrived damaged",
    "I need to change my shipping address",
    "Can you check my account",
    "Yes, that works for me",
    "How much does it cost",
    "The price is $50",
    "I'd like to pay now",
    "My phone number is 555 123 4567",
    "Let me check that",
    "Is anyone there",
    "Can I talk to an agent",
    "What is their phone number",
    "You made a mistake on my order",
)
# What a customer says on the same topics without pushing back: an objection must be nearer its own
# prototypes than these ("The price is fine" sits next to "That price is too high" otherwise).
_AGREEING: Final[tuple[str, ...]] = (
    "The price is fine",
    "That price works for us",
    "Is the price negotiable",
    "The commission sounds reasonable",
    "I'm happy with the fees",
    "Now is a good time",
    "We're ready to go ahead",
    "I trust your advice",
    "I'm interested",
    "Yes, let's do it",
    "That sounds good",
    "Give me a second",
)
# A bot's or agent's offer of further help: a short "no thanks" after one declines nothing.
_CLOSING: Final[tuple[str, ...]] = (
    "Is there anything else I can help you with?",
    "Can I help you with anything else today?",
    "Do you need anything else?",
    "Anything else?",
)
# How close (cosine) a clause must be to its nearest objection prototype (and nearer than to ordinary
# or agreeing talk). Chosen on examples written for it, then checked on the customer turns of the ABCD
# and SGD dev sets: 30 objections in 4,236 turns before the handoff, most of them real pushback.
THRESHOLD: Final[float] = 0.5
CLOSING_THRESHOLD: Final[float] = 0.6
# A decline this short ("No thanks", "Not interested") needs the message before it to say what it declines.
SHORT_DECLINE_WORDS: Final[int] = 2
_END_PUNCT = ".!?…;:, "
# A reply addresses an objection when one of its sentences is this close to the objection or to the
# prototypes of its kind.
ADDRESS_THRESHOLD: Final[float] = 0.35
MAX_CLAUSES: Final[int] = 12


@dataclass(frozen=True)
class Objection:
    """One objection in a turn.

    Attributes:
        kind: What the customer pushes back on.
        text: The clause, exactly as written: ``turn[start:end]``.
        start: Character offset of the clause in the turn.
        end: Offset one past its last character.
        score: Cosine similarity to the nearest prototype.
    """

    kind: ObjectionKind
    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class _Bank:
    vectors: FloatArray
    kinds: tuple[ObjectionKind, ...]
    denied: tuple[bool, ...]
    ordinary: FloatArray
    agreeing: FloatArray
    agreeing_denied: npt.NDArray[np.bool_]  # which agreeing prototypes are themselves negated
    closing: FloatArray  # offers of further help


_bank: _Bank | None = None
_bank_lock = threading.Lock()
_cache: DigestCache[tuple[Objection, ...]] = DigestCache(8192)


def _anchor(clause: Clause) -> Token:
    return clause.head


def _denied(text: str) -> bool:
    return negated(_anchor(clauses(shared_pipeline().parse(text))[0]))


def _build() -> _Bank:
    pairs = [(kind, text) for kind, prototypes in PROTOTYPES.items() for text in prototypes]
    embedder = get_embedder()
    return _Bank(
        vectors=embedder.embed([text for _, text in pairs]),
        kinds=tuple(kind for kind, _ in pairs),
        denied=tuple(_denied(text) for _, text in pairs),
        ordinary=embedder.embed(list(_ORDINARY)),
        agreeing=embedder.embed(list(_AGREEING)),
        agreeing_denied=np.array([_denied(text) for text in _AGREEING], dtype=np.bool_),
        closing=embedder.embed(list(_CLOSING)),
    )


def _prototype_bank() -> _Bank:
    global _bank
    if _bank is None:
        with _bank_lock:
            if _bank is None:
                _bank = _build()
    return _bank


def _content_words(clause: Clause) -> int:
    return sum(1 for t in clause.tokens if t.is_alpha and not t.is_stop)


def _vectors(parts: list[Clause], found: dict[int, str], whole: str) -> FloatArray:
    texts = [c.masked_text(found) for c in parts]
    embedder = get_embedder()
    if len(texts) == 1 and texts[0].rstrip(_END_PUNCT) == whole.rstrip(_END_PUNCT):
        # The cue reader embedded this one-clause turn whole: the embedder's cache has that vector.
        return embedder.embed_one(whole)[None, :]
    return embedder.embed(texts)


def _closing(asked: str) -> bool:
    """Whether the message before the turn offers further help ("Anything else I can help with?")."""
    sentences = [s.text for s in shared_pipeline().parse(asked, entities=False).sents if s.text.strip()]
    if not sentences:
        return False
    row = get_embedder().embed_one(sentences[-1]) @ _prototype_bank().closing.T
    return float(row.max()) >= CLOSING_THRESHOLD


def _read(text: str, asked: str) -> tuple[Objection, ...]:
    doc = shared_pipeline().parse(text)
    found = names(doc)
    parts = [c for c in clauses(doc) if _content_words(c) >= 1][:MAX_CLAUSES]
    if not parts:
        return ()
    bank = _prototype_bank()
    vectors = _vectors(parts, found, text.strip())
    sims = vectors @ bank.vectors.T
    plain = (vectors @ bank.ordinary.T).max(axis=1)
    agreeing = vectors @ bank.agreeing.T
    out: list[Objection] = []
    for clause, row, ordinary, agrees in zip(parts, sims, plain, agreeing, strict=True):
        polarity = negated(_anchor(clause))
        same = [i for i in range(len(bank.kinds)) if bank.denied[i] == polarity]
        best = max(same, key=lambda i: row[i], default=-1)
        # Agreement counts in its own polarity: "I don't trust them" is no nearer "I trust your advice".
        agreed = agrees[bank.agreeing_denied == polarity]
        nearest = max(float(ordinary), float(agreed.max()) if agreed.size else 0.0)
        if best < 0 or row[best] < THRESHOLD or row[best] <= nearest:
            continue  # not near enough, or nearer ordinary or agreeing talk; the other polarity denies it
        kind = bank.kinds[best]
        if (
            kind == "not_interested"
            and _content_words(clause) <= SHORT_DECLINE_WORDS
            and asked
            and _closing(asked)
        ):
            continue  # "No thanks" to "Anything else?" ends the chat; it turns nothing down
        out.append(Objection(kind, clause.text, clause.start, clause.end, round(float(row[best]), 3)))
    return tuple(out)


def warm() -> None:
    """Embed the prototypes now (start-up), not at the first handoff."""
    _prototype_bank()


def read_objections(text: str, asked: str = "") -> tuple[Objection, ...]:
    """The objections of one customer turn, in order (read on first sight, cached by digest).

    Args:
        text: The customer's turn.
        asked: The bot's or agent's message the turn replies to, if any: a short "no thanks" after an
            offer of further help declines nothing.
    """
    return _cache.get_or_compute(text, lambda t: _read(t, asked), salt=asked)


def best_answer(reply: str, objection: Objection) -> tuple[float, str]:
    """How closely a bot's or agent's ``reply`` speaks to ``objection``, and the sentence that does.

    A sentence counts when it is near the objection itself or near the prototypes of its kind ("Our
    commission covers staging and photos" answers "your fee is too high"); a sentence that quotes the
    objection only repeats it ("Noted: your commission seems steep"). Returns (cosine, sentence).
    """
    echo = " ".join(objection.text.lower().split())
    sentences = [
        text
        for s in shared_pipeline().parse(reply, entities=False).sents
        if (text := s.text.strip()) and echo not in " ".join(text.lower().split())
    ]
    if not sentences:
        return 0.0, ""
    bank = _prototype_bank()
    embedder = get_embedder()
    vectors = embedder.embed(sentences)
    kind = np.array([i for i, k in enumerate(bank.kinds) if k == objection.kind], dtype=np.int64)
    near = np.maximum(
        (vectors @ bank.vectors[kind].T).max(axis=1), vectors @ embedder.embed_one(objection.text)
    )
    best = int(np.argmax(near))
    return float(near[best]), sentences[best]


def answer_to(reply: str, objection: Objection) -> str | None:
    """The sentence of ``reply`` that addresses ``objection``, or ``None`` when none does."""
    score, sentence = best_answer(reply, objection)
    return sentence if score >= ADDRESS_THRESHOLD else None
