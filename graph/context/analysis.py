"""Offline reading of a conversation: goal, summary, sentiment, urgency, what was tried and resolved.

Everything here is extractive or templated, so it runs without a model and is explainable: every
sentence in the summary is the customer's own, picked by a score a reader can recompute. The text is
read by the language layer (:mod:`graph.language`) that the router's signals use: sentences from the
shared spaCy parse of the turn, what each clause does from :func:`read_statements`, urgency and what
failed from :func:`read_cues`; each turn is read once and cached there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, get_args

from graph.context.models import Fact, SentimentView, Trend, Urgency
from graph.context.summary import write_summary
from graph.language.cues import TurnCues, read_cues, sentiment_score
from graph.language.patterns import SYSTEM_DONE_RE
from graph.language.pipeline import shared_pipeline
from graph.language.scope import negated
from graph.language.statements import ClauseKind, read_statements
from graph.textutil import DigestCache, words
from graph.transcript import Turn

if TYPE_CHECKING:
    from spacy.tokens import Span

SUMMARY_MAX_TOKENS = 60
# How much a sentence's clauses say about the goal: asking for something or asking a question most,
# the customer's situation or a reason less; a value, filler or other talk not at all.
_GOAL_WEIGHTS: dict[ClauseKind, float] = {"request": 2.0, "question": 2.0, "situation": 1.0, "reason": 1.0}
_MAX_GOAL_SCORE = 4.0
# A reply that names a failure but sounds this positive (VADER compound) says the step worked:
# "That worked, thanks!" resembles the failure prototypes without denying them.
_PLEASED = 0.3
_MAX_INTRO_WORDS = 6


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as spaCy splits them (a recent parse's, else by punctuation)."""
    return shared_pipeline().sentences(text)


def clip_words(text: str, limit: int) -> str:
    """Keep at most ``limit`` words, marking a cut with an ellipsis."""
    parts = text.split()
    return text if len(parts) <= limit else " ".join(parts[:limit]).rstrip(",;:") + "…"


# What each distinct customer text yields, read once: a brief at the 25th turn reads only new turns.
_SENTIMENTS: DigestCache[float] = DigestCache(8192)
_SALIENT: DigestCache[tuple[tuple[str, float, bool], ...]] = DigestCache(8192)
_QUESTIONS: DigestCache[tuple[str, ...]] = DigestCache(8192)
_STEPS: DigestCache[str] = DigestCache(8192)


def _after_greeting(sent: Span) -> int:
    """Index of the first token of ``sent`` after a leading greeting ("Hi there,", "Hello!", "Sorry to
    trouble you,")."""
    i = sent.start
    while i < sent.end:
        tok = sent.doc[i]
        after_intj = i > sent.start and sent.doc[i - 1].pos_ == "INTJ"
        if tok.pos_ == "INTJ" and tok.dep_ != "ROOT":
            i = max(i + 1, tok.right_edge.i + 1)  # with what it takes: "Sorry *to trouble you*"
        # the adverb an interjection takes ("Hi *there*"), and the punctuation between
        elif tok.pos_ == "INTJ" or tok.is_punct or tok.is_space or (after_intj and tok.pos_ == "ADV"):
            i += 1
        else:
            break
    return i


def _salient(text: str) -> tuple[tuple[str, float, bool], ...]:
    """A turn's sentences worth summarising: ``(sentence, goal score, is a bare introduction)``.

    A sentence scores by what its clauses do (:data:`_GOAL_WEIGHTS`); a greeting before it is dropped
    (interjections, by the tagger), and a sentence of fewer than three words is chit-chat or an answer.
    """
    said = read_statements(text)  # parses the turn once; the sentences below reuse that parse
    doc = shared_pipeline().parse(text, entities=False)
    found: list[tuple[str, float, bool]] = []
    for sent in doc.sents:
        first = _after_greeting(sent)
        if first >= sent.end:
            continue
        start, end = doc[first].idx, sent.end_char
        clean = text[start:end].strip()
        if len(words(clean)) < 3:
            continue
        within = [s for s in said.said if s.start < end and start < s.end]
        # a verbless request ("Just a quick question", "Agent!") says less than one with its verb
        score = sum(_GOAL_WEIGHTS.get(s.kind, 0.0) / (2 if s.form == "fragment" else 1) for s in within)
        score = min(score, _MAX_GOAL_SCORE)
        intro = bool(said.intro_name) and said.intro_name in clean and len(words(clean)) < _MAX_INTRO_WORDS
        found.append((clean, score, intro))
    return tuple(found)


def _scored_sentences(turns: Sequence[Turn], facts: Sequence[Fact]) -> list[tuple[float, int, str]]:
    """Customer sentences with a salience score: goal cues, facts stated, earliness; chit-chat drops."""
    facts_by_turn: dict[int, int] = {}
    for fact in facts:
        facts_by_turn[fact.turn] = facts_by_turn.get(fact.turn, 0) + 1
    customer = [t for t in turns if t.role == "customer"]
    scored: list[tuple[float, int, str]] = []
    for rank, turn in enumerate(customer):
        for clean, score, intro in _SALIENT.get_or_compute(turn.text, _salient):
            if intro and not score:
                continue  # "My name is Dana" says who, not what: retold, it was "Dana's name is dana."
            score += 0.5 * min(facts_by_turn.get(turn.index, 0), 2)
            score += 1.5 / (1 + rank)  # the opening request usually states the problem
            if intro:
                score -= 1.0  # an introduction adds little the facts don't carry
            scored.append((score, len(scored), clean))
    return scored


GOAL_WORDS = 25


def goal_of(turns: Sequence[Turn], facts: Sequence[Fact]) -> str:
    """The customer's goal: their best-scoring request sentence, whole and in their words.

    Readers (openers, sections) read it whole, a part of a turn already parsed; the brief shows it
    clipped to :data:`GOAL_WORDS`.
    """
    scored = _scored_sentences(turns, facts)
    if not scored:
        return "Not stated yet."
    best = max(scored, key=lambda s: (s[0], -s[1]))
    return best[2]


def summarize(turns: Sequence[Turn], facts: Sequence[Fact], max_tokens: int = SUMMARY_MAX_TOKENS) -> str:
    """Two short sentences in the third person: the request with its facts and reason, the latest concern.

    The request is the customer's best-scoring sentence (as for the goal), retold by
    :func:`graph.context.summary.write_summary`; no turn is quoted whole.
    """
    ranked = _scored_sentences(turns, facts)
    best = max(ranked, key=lambda s: (s[0], -s[1]))[2] if ranked else ""
    return write_summary(turns, facts, best, max_tokens)


def sentiment_of(turns: Sequence[Turn], signals: Mapping[str, Any] | None = None) -> SentimentView:
    """Latest customer sentiment (lexicon) and its trend: last third of turns vs the first third."""
    scores = [_SENTIMENTS.get_or_compute(t.text, sentiment_score) for t in turns if t.role == "customer"]
    if signals and isinstance(signals.get("sentiment"), int | float):
        now = float(signals["sentiment"])
    elif scores:
        now = scores[-1] if len(scores) == 1 else 0.6 * scores[-1] + 0.4 * scores[-2]
    else:
        now = 0.0
    now = max(-1.0, min(1.0, now))
    trend: Trend = "stable"
    if len(scores) >= 3:
        third = max(1, len(scores) // 3)
        delta = sum(scores[-third:]) / third - sum(scores[:third]) / third
        trend = "improving" if delta > 0.15 else "worsening" if delta < -0.15 else "stable"
    label = "negative" if now < -0.2 else "positive" if now > 0.2 else "neutral"
    return SentimentView(now=round(now, 3), label=label, trend=trend)


def urgency_of(
    turns: Sequence[Turn], sentiment: SentimentView, signals: Mapping[str, Any] | None = None
) -> Urgency:
    """Urgency from signals when given, else from the distress, legal and timeline cues and sentiment."""
    given = (signals or {}).get("urgency")
    if isinstance(given, str) and given in get_args(Urgency):
        return given  # type: ignore[return-value]
    cues = [read_cues(t.text) for t in turns if t.role == "customer"]
    distress = any(c.find("distress") for c in cues)
    legal = any(c.find("legal") for c in cues)
    if distress and legal:
        return "critical"
    # an immediate timeline ("asap", "it's urgent", "by tomorrow") affirmed, not denied ("no rush")
    soon = any(c.find("timeline", "immediate") for c in cues)
    if distress or legal or soon or sentiment.now < -0.5:
        return "high"
    if sentiment.now < -0.2 or sentiment.trend == "worsening":
        return "medium"
    return "low"


def tried_and_resolved(turns: Sequence[Turn], facts: Sequence[Fact]) -> tuple[list[str], list[str]]:
    """What was already tried (customer reports, agent suggestions that failed) and what is settled."""
    tried = [f"Customer already {f.value}" for f in facts if f.key == "already_tried"]
    resolved: list[str] = []
    replies: list[Turn | None] = [None] * len(turns)  # the first customer turn after each turn
    following: Turn | None = None
    for i in range(len(turns) - 1, -1, -1):
        replies[i] = following
        if turns[i].role == "customer":
            following = turns[i]
    for turn, reply in zip(turns, replies, strict=True):
        if turn.role in ("bot", "agent") and reply is not None:
            outcome = _outcome(read_cues(reply.text))
            step = _STEPS.get_or_compute(turn.text, _suggested_step) if outcome else ""
            if step and outcome == "failed":
                tried.append(f"Suggested: try {step} — did not help")
            elif step:
                resolved.append(f"Try {step} — worked")
        elif turn.role == "system" and SYSTEM_DONE_RE.search(turn.text):
            resolved.append(clip_words(turn.text.strip(), 12))
    return list(dict.fromkeys(tried)), list(dict.fromkeys(resolved))


def _outcome(reply: TurnCues) -> str:
    """What a customer's reply says of the step before it: "failed", "worked" or "" (nothing).

    A failure affirmed ("it still doesn't work", "didn't help") failed, unless the reply sounds pleased; one
    denied ("that fixed it") worked. Negation and scope are the cue reader's.
    """
    failed = reply.find("failure")
    if failed and reply.sentiment < _PLEASED:
        return "failed"
    return "worked" if failed or reply.find("failure", negated=True) else ""


def _suggested_step(message: str) -> str:
    """The step a bot or agent suggests trying ("try restarting the app" -> "restarting the app").

    Read from the message's parse (the question reader parsed it): what a "try" that is not denied
    governs, in the message's words.
    """
    doc = shared_pipeline().parse(message, entities=False)
    for tok in doc:
        if tok.lemma_.lower() != "try" or tok.pos_ != "VERB" or negated(tok):
            continue
        rest = [t for t in tok.subtree if t.i > tok.i and t.dep_ not in ("intj",)]
        while rest and (rest[-1].is_punct or rest[-1].lower_ in ("please", "pls")):
            rest.pop()
        if rest:
            step = doc[rest[0].i : rest[-1].i + 1].text
            return clip_words(step, 8)
    return ""


# "I don't know what that means for the sale" is a question even without a question mark.
_IMPLICIT_QUESTION = re.compile(
    r"(?i)\b(?:i don'?t (?:know|understand)|not sure (?:what|how|if|whether)|wondering (?:if|whether|how|what)|"
    r"no idea (?:what|how|if))\b"
)


def open_questions_of(turns: Sequence[Turn], limit: int = 3) -> list[str]:
    """Customer questions in the latest stretch of the conversation (what the receiver must answer)."""
    start = int(len(turns) * 0.5)
    questions = [
        q
        for t in turns[start:]
        if t.role == "customer"
        for q in _QUESTIONS.get_or_compute(t.text, _questions)
    ]
    return questions[-limit:]


def _questions(text: str) -> tuple[str, ...]:
    """A turn's question sentences: a question clause (with or without its "?") or a worry put as one."""
    asked = [s for s in read_statements(text).said if s.kind == "question"]
    doc = shared_pipeline().parse(text, entities=False)
    found: list[str] = []
    for sent in doc.sents:
        s = sent.text.strip()
        question = any(sent.start_char <= q.start < sent.end_char for q in asked)
        if (question or s.endswith("?") or _IMPLICIT_QUESTION.search(s)) and len(words(s)) >= 3:
            found.append(clip_words(s, 20))
    return tuple(found)


_NEXT_STEPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"cancel", re.I), "Confirm the cancellation{order} and tell the customer the outcome."),
    (
        re.compile(r"refund|return|exchange|send (?:it|something) back", re.I),
        "Process the return or refund{order}.",
    ),
    (
        re.compile(r"charg|bill|fee|pay|price|cost|promo|discount", re.I),
        "Review the charge{amount} and explain or correct it.",
    ),
    (
        re.compile(r"password|username|log ?in|sign ?in|access|locked", re.I),
        "Restore account access{account}.",
    ),
    (re.compile(r"address|update|change", re.I), "Make the requested change{account}, then confirm it back."),
    (
        re.compile(r"status|where|track|deliver|ship|arriv", re.I),
        "Check the order status{order} and give a date.",
    ),
    (
        re.compile(r"slow|error|not working|search|site|app|page", re.I),
        "Continue troubleshooting; skip steps already tried.",
    ),
    (re.compile(r"sell|list", re.I), "Discuss pricing and timeline for the sale."),
    (
        re.compile(r"buy|purchase|stock|size|interested", re.I),
        "Answer the product question and help complete the purchase.",
    ),
)


def next_step_of(goal: str, facts: Sequence[Fact]) -> str:
    """Recommend the receiver's next move from the goal's intent words and the facts at hand."""
    order = next((f.value for f in facts if f.key == "order_id"), "")
    amount = next((f.value for f in facts if f.key in ("amount", "budget", "price_expectation")), "")
    account = next((f.value for f in facts if f.key in ("account_id", "username", "email")), "")
    slots = {
        "order": f" for order {order}" if order else "",
        "amount": f" of {amount}" if amount else "",
        "account": f" for {account}" if account else "",
    }
    for pattern, template in _NEXT_STEPS:
        if pattern.search(goal):
            return template.format(**slots)
    return "Pick up from the customer's last message; identity details are already in the facts."
