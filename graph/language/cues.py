"""The cues in one customer turn that the router's signals are made of, each with its evidence span.

A turn is parsed once by the shared spaCy pipeline and split into clauses (:mod:`graph.language.scope`).
Each clause, with every place and other name replaced by a neutral stand-in, is embedded by the
offline MiniLM model and compared with the prototype descriptions of every cue
(:mod:`graph.language.prototypes`, held as vectors by :mod:`graph.language.cue_bank`). A cue is read where its prototypes are close enough and closer than
ordinary talk; the parse then says whether it is affirmed or denied (the clause and its nearest
prototype agree or disagree on negation, judged on the word that carries the cue) and, for a request
for a person, whether the clause asks at all and names a person to ask for. The turn's sentiment is
:mod:`graph.language.turn_sentiment`'s, on the same name-masked text.

Slips of the keyboard are read as the words meant (:mod:`graph.language.spelling`); the evidence quotes
the turn as typed.

Every turn is read once: :func:`read_cues` keeps its result in a digest-keyed cache. What a reading holds
(``Cue``, ``TurnCues``, imported from here too) is in :mod:`graph.language.readings`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Final

import numpy as np

from graph.embeddings import get_embedder
from graph.language.cue_bank import (
    FEELING_VALENCE,
    THRESHOLDS,
    VADER_WORDS,
    FloatArray,
    calls_or_passes_on,
    cue_words,
    denies,
    feelings,
    polar_match,
    prototype_bank,
)
from graph.language.patterns import parse_money
from graph.language.person_requests import a_person_alone, about_a_person, asks_for_a_person, called_out
from graph.language.pipeline import shared_pipeline
from graph.language.prototypes import PROTOTYPES, REQUEST_VERB_WORDS, SEEDS, CueKind
from graph.language.readings import Cue as Cue
from graph.language.readings import TurnCues as TurnCues
from graph.language.scope import (
    Clause,
    clauses,
    in_question,
    irrealis,
    iterative,
    names,
    negated,
)
from graph.language.spelling import Respelled, respell, zipf
from graph.language.terms import find_terms, load_terms
from graph.language.timeframe import TimePhrase, time_phrases
from graph.language.turn_sentiment import END_PUNCT, sentiment_of
from graph.textutil import DigestCache

if TYPE_CHECKING:
    from spacy.tokens import Doc

# A failure said with its aspect ("still", "keeps", "tried"), or a legal matter that names its legal
# word ("in court"), needs less of the prototypes' wording.
ITERATIVE_FAILURE_THRESHOLD: Final[float] = 0.4
SEEDED_LEGAL_THRESHOLD: Final[float] = 0.35
# A feeling the customer ascribes to themselves ("I'm desperate", a word at or below VADER's
# ``FEELING_VALENCE``) needs less, too.
FELT_DISTRESS_THRESHOLD: Final[float] = 0.35
# A legal matter named in no legal word ("the bank is foreclosing") must resemble one closely: talk about
# selling sits near the prototypes' "sale" ("How long does it take to sell?" scored 0.47).
UNSEEDED_LEGAL_THRESHOLD: Final[float] = 0.6
# A request whose grammar passes the customer on ("put me in touch with a broker", "transfer me") needs
# less: the int8 encoder put that one at 0.3797 against the plain bar of 0.38.
PASSED_ON_THRESHOLD: Final[float] = 0.3
# A resemblance counts only for a clause that says something: a one-word turn ("Selling.") is near
# everything a little.
MIN_CONTENT_WORDS: Final[int] = 2
_HEDGES = frozenset({"little", "bit", "slightly", "somewhat", "kinda"})
# A long turn is read in at most this many clauses (those with a seed word or an amount first).
MAX_CLAUSES: Final[int] = 12
_CLAUSE_KINDS = (
    "human_request",
    "distress",
    "legal",
    "failure",
    "impatience",
    "clarify",
    "financing",
    "vip_claim",
)
# Kinds a clause must also carry more strongly than ordinary talk (``NEUTRAL``): all but a request for a
# person, which has its own gates (a request, a person, not talk about one).
_NEUTRAL_CHECKED = frozenset(_CLAUSE_KINDS) - {"human_request"}
_cache: DigestCache[TurnCues] = DigestCache(8192)
# Lemmas that make a clause of a long turn worth reading first.
_SALIENT: Final[frozenset[str]] = frozenset().union(*SEEDS.values(), REQUEST_VERB_WORDS)


def warm() -> None:
    """Load the pipeline, the embedding model and the prototypes now (start-up), not on a turn."""
    prototype_bank()
    load_terms()
    zipf("the")  # the word list the reading corrects slips against


def _embed(texts: list[str], whole: str, *, with_turn: bool) -> FloatArray:
    embedder = get_embedder()
    if len(texts) == 1 and texts[0].rstrip(END_PUNCT) == whole.rstrip(END_PUNCT):
        # The usual one-clause turn with no name masked: the clause is the turn (it only loses its final
        # punctuation), so the turn's vector serves both the cues and the intent classifier.
        return embedder.embed_one(whole)[None, :]
    if with_turn:
        # The intent classifier embeds the whole turn next: embedding it with the clauses costs one
        # model run instead of two, and the embedder's cache hands it the vector.
        return embedder.embed([*texts, whole])[: len(texts)]
    return embedder.embed(texts)


def _chosen(found: list[Clause]) -> list[Clause]:
    if len(found) <= MAX_CLAUSES:
        return found

    def salient(c: Clause) -> bool:
        return any(t.lemma_.lower() in _SALIENT or t.like_num for t in c.tokens)

    keep = sorted(found, key=lambda c: not salient(c))[:MAX_CLAUSES]
    return sorted(keep, key=lambda c: c.start)


def _felt(clause: Clause, found: dict[int, str]) -> bool:
    """The customer says they feel something bad: "I'm desperate", "we are so scared", "I feel sick".

    A first-person subject, a predicate VADER rates clearly negative, not denied, not hedged ("a little
    nervous").
    """
    for tok in clause.tokens:
        feeling = tok.dep_ in ("acomp", "attr", "oprd")  # "I'm desperate", not "I lost my phone"
        if tok.i in found or not feeling or VADER_WORDS.get(tok.lower_, 0.0) > FEELING_VALENCE:
            continue
        predicate = tok.head
        subject = next((c for c in predicate.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        hedged = any(c.lower_ in _HEDGES for c in tok.subtree)
        if subject is not None and subject.lower_ in ("i", "we") and not hedged and not negated(tok):
            return True
    return False


def _content_words(clause: Clause) -> int:
    return sum(1 for t in clause.tokens if t.is_alpha and not t.is_stop)


def _clause_cue(
    kind: str,
    clause: Clause,
    row: FloatArray,
    neutral: float,
    found: dict[int, str],
    asks: bool,
    core: FloatArray | None,
    alone: bool = False,
) -> Cue | None:
    """``clause``'s cue of ``kind``, or None; ``asks``: :func:`asks_for_a_person` of the clause,
    ``alone``: the clause is the whole turn and :func:`a_person_alone`, or ends with a person word
    called out (:func:`called_out`)."""
    bank = prototype_bank()
    anchors = cue_words(kind, clause, found)
    if kind == "human_request":
        if not asks:
            return None
        idx = bank.index["human_request"]
        if alone:
            best = int(idx[int(np.argmax(row[idx]))])
            score = round(float(row[best]), 3)
            return Cue("human_request", bank.labels[best], clause.text, clause.start, clause.end, score=score)
        if core is not None and core[idx].max() > row[idx].max():
            row = core  # "call me back about this listing": the request is the rest
    aspect = kind == "failure" and iterative(clause.tokens)
    # A failure is reported: something tried that went wrong ("it didn't work") or that persists
    # ("still", "keeps"); "the app crashes" states the problem, "I can check again" plans.
    past = any(t.tag_ in ("VBD", "VBN") for t in clause.tokens)
    if kind == "failure" and (irrealis(clause) or not (past or iterative(clause.head.sent))):
        return None
    seeded = kind == "legal" and anchors != [clause.head]
    felt = kind == "distress" and _felt(clause, found)
    passed_on = kind == "human_request" and any(calls_or_passes_on(a) for a in anchors)
    threshold = (
        ITERATIVE_FAILURE_THRESHOLD
        if aspect
        else SEEDED_LEGAL_THRESHOLD
        if seeded
        else FELT_DISTRESS_THRESHOLD
        if felt
        else PASSED_ON_THRESHOLD
        if passed_on
        else None
    )
    if kind in ("legal", "financing") and not seeded and _content_words(clause) < MIN_CONTENT_WORDS:
        return None  # "Selling.": too little said for a resemblance to mean a legal matter or a mortgage
    if kind == "legal" and not seeded:
        threshold = UNSEEDED_LEGAL_THRESHOLD
    if kind == "distress" and not feelings(anchors) and in_question(clause.head):
        return None  # "Can I get a mortgage?" asks; it says nothing of how the customer is
    match = polar_match(kind, row, denies(kind, anchors), threshold)
    if match is None:
        return None
    best, denied = match
    score = float(row[best])
    if kind in _NEUTRAL_CHECKED and not (aspect or felt) and score <= neutral:
        return None
    if kind == "human_request" and about_a_person(clause, row, score):
        return None
    label = bank.labels[best]
    return Cue(kind, label, clause.text, clause.start, clause.end, denied, round(score, 3))  # type: ignore[arg-type]


def _timeline_cue(phrase: TimePhrase, row: FloatArray | None) -> Cue | None:
    if phrase.label is not None:  # a duration decides
        return Cue("timeline", phrase.label, phrase.text, phrase.start, phrase.end, phrase.negated, 1.0)
    if row is None:
        return None
    match = polar_match("timeline", row, phrase.negated)
    if match is None:
        return None
    best, denied = match
    label = prototype_bank().labels[best]
    return Cue("timeline", label, phrase.text, phrase.start, phrase.end, denied, round(float(row[best]), 3))


def _patient(cue: Cue, timeline: list[Cue]) -> bool:
    """The clause of ``cue`` says the customer is in no hurry ("we're in no hurry", "not in a rush"):
    the words of impatience are there, said of a plan that can wait."""
    return any(
        cue.start <= t.start < cue.end
        and (t.label == "long") != t.negated
        and t.label in ("long", "immediate")
        for t in timeline
    )


def _parse_as_meant(text: str) -> tuple[Doc, Respelled | None]:
    """The parse of ``text`` with its slips read as the words meant, and the correction (if any)."""
    respelled = respell(text)
    return shared_pipeline().parse(respelled.text if respelled else text), respelled


def _read(text: str, with_turn: bool = False) -> TurnCues:
    doc, respelled = _parse_as_meant(text)
    found = names(doc)
    parts = _chosen(clauses(doc))
    phrases = time_phrases(doc, parts, found)
    open_phrases = [p for p in phrases if p.label is None]
    bank = prototype_bank()
    asking = {i for i, c in enumerate(parts) if asks_for_a_person(c, found)}
    alone = len(parts) == 1 and a_person_alone(doc, found)
    called = 0 if alone else called_out(doc, parts, found)
    if called is not None:
        asking.add(called)
    cores = {i: parts[i].core_text(found) for i in sorted(asking)}
    core_texts = {i: t for i, t in cores.items() if t}
    texts = [c.masked_text(found) for c in parts] + [p.text for p in open_phrases] + list(core_texts.values())
    empty = np.zeros((0, bank.vectors.shape[1]), np.float32)
    vectors = _embed(texts, text.strip(), with_turn=with_turn) if texts else empty
    sims = vectors @ bank.vectors.T
    first_core = len(parts) + len(open_phrases)
    core_rows = {i: sims[first_core + n] for n, i in enumerate(core_texts)}
    neutral = (vectors[: len(parts)] @ bank.neutral.T).max(axis=1) if parts else np.zeros(0)
    cues: list[Cue] = []
    budget: list[float] = []
    amounts: list[float] = []
    for i, (clause, row, neutral_sim) in enumerate(zip(parts, sims[: len(parts)], neutral, strict=True)):
        for kind in _CLAUSE_KINDS:
            cue = _clause_cue(
                kind, clause, row, float(neutral_sim), found, i in asking, core_rows.get(i), alone=i == called
            )
            if cue is not None:
                cues.append(cue)
        large = [a for a in parse_money(clause.text) if a >= 10_000]
        amounts += large
        idx = bank.index["budget"]
        nearest = int(idx[int(np.argmax(row[idx]))])
        if large and bank.labels[nearest] == "budget" and row[nearest] >= THRESHOLDS["budget"]:
            budget += large
    rows = dict(zip((id(p) for p in open_phrases), sims[len(parts) : first_core], strict=True))
    timeline = [c for c in (_timeline_cue(p, rows.get(id(p))) for p in phrases) if c is not None]
    cues = [c for c in cues if not (c.kind == "impatience" and _patient(c, timeline))] + timeline
    found_terms = find_terms(doc, found)
    term_cues = [Cue(t.kind, t.term, t.text, t.start, t.end) for t in found_terms]  # type: ignore[arg-type]
    terms = {
        kind: frozenset(t.term for t in found_terms if t.kind == kind)
        for kind in ("sophistication", "transaction")
    }
    impatient = [c for c in cues if c.kind == "impatience" and not c.negated]
    sentiment, negative = sentiment_of(doc, parts, found, impatient)
    found_cues = [*cues, *term_cues, *([negative] if negative else [])]
    return TurnCues(
        cues=tuple(_as_written(c, respelled) for c in found_cues) if respelled else tuple(found_cues),
        sentiment=sentiment,
        amounts=tuple(amounts),
        budget_amounts=tuple(budget),
        questions=text.count("?"),
        words=len(text.split()),
        terms=terms,
    )


def _as_written(cue: Cue, respelled: Respelled) -> Cue:
    """``cue`` with its evidence in the customer's own words (the reading corrected their slips)."""
    start, end = respelled.original_span(cue.start, cue.end)
    return replace(cue, text=respelled.original[start:end], start=start, end=end)


@functools.cache
def _own_nouns(kind: CueKind) -> frozenset[str]:
    """The nouns a cue is said with ("time", "bot", "question"), from its own prototypes."""
    pipeline = shared_pipeline()
    docs = (pipeline.parse(t) for texts in PROTOTYPES[kind].values() for t in texts)
    return frozenset(t.lemma_.lower() for doc in docs for t in doc if t.pos_ in ("NOUN", "PROPN"))


def only(kind: CueKind, text: str) -> bool:
    """The turn carries cue ``kind`` and names nothing else: "this is the third time I'm asking" only
    complains of the conversation, "why is my refund taking so long?" names a need of its own; "what
    do you mean?" asks about what was just said, "what does 'pending' mean on my payment?" about the
    payment."""
    if not read_cues(text).find(kind):
        return False
    doc, _ = _parse_as_meant(text)
    ignored = _own_nouns(kind)
    return not any(t.pos_ in ("NOUN", "PROPN") and t.lemma_.lower() not in ignored for t in doc)


# Open repair initiators: the closed class of words a listener asks "say that again" with.
_REPAIR_ASKED = frozenset({"what", "sorry", "pardon", "excuse me", "come again", "say again"})
_REPAIR = _REPAIR_ASKED | {"huh", "pardon me"}


def asks_to_repeat(text: str) -> bool:
    """The turn is only "huh?", "what?", "sorry?", "come again?": what was said did not get through.
    The words that also start other turns ("what", "sorry") count only when asked ("Sorry?")."""
    words = " ".join(text.lower().replace("?", " ").replace("!", " ").replace(",", " ").split())
    return words in _REPAIR and ("?" in text or words not in _REPAIR_ASKED)


def mentions_a_person(text: str) -> bool:
    """Whether the turn names a person or a call at all (outside names): "agent", "someone", "call me".

    Not a request by itself; a model's reading that the customer asked for a person needs this much.
    """
    doc, _ = _parse_as_meant(text)
    found = names(doc)
    return any(cue_words("human_request", c, found) for c in clauses(doc))


def read_cues(text: str, *, with_turn: bool = False) -> TurnCues:
    """The cues of one customer turn, read on first sight and cached by a digest of the text.

    ``with_turn``: the whole turn's embedding is wanted next (the router's intent classifier), so it is
    computed in the same model run as the clauses' and left in the embedder's cache.
    """
    return _cache.get_or_compute(text, lambda t: _read(t, with_turn))


def sentiment_score(text: str) -> float:
    """How the customer sounds in one turn, -1 (very negative) to 1 (very positive); names masked."""
    return read_cues(text).sentiment


def cue_texts(texts: Sequence[str], kind: CueKind) -> list[str]:
    """The words of every affirmed cue of ``kind`` in ``texts`` (one customer turn each), in order."""
    return [cue.text for text in texts for cue in read_cues(text).find(kind)]
