"""Offline reading of a conversation: goal, summary, sentiment, urgency, what was tried and resolved.

Everything here is extractive or templated, so it runs without a model and is explainable: every
sentence in the summary is the customer's own, picked by a score a reader can recompute.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from graph.context.models import Fact, SentimentView, Trend, Urgency
from graph.context.summary import write_summary
from graph.language.cues import cue_texts, sentiment_score
from graph.textutil import DigestCache, words
from graph.transcript import Turn

SUMMARY_MAX_TOKENS = 60
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
GOAL_CUE = re.compile(
    r"\b(?:i(?:'d| would) like|i want|i need|i wanted|i was wondering|i(?:'m| am) trying|trying to|"
    r"looking (?:to|for)|interested in|can you|could you|how (?:do|can) i|is it possible|help me|"
    r"cancel\w*|refund\w*|return\w*|exchange|chang\w+|updat\w+|reset|check\w*|status|charged|"
    r"never (?:got|received)|did(?:n't| not) (?:get|receive)|not working|won't|can't|cannot|"
    r"sell\w*|buy\w*|purchas\w*|upgrad\w*|order\w*)\b",
    re.IGNORECASE,
)
_CHITCHAT = re.compile(
    r"^(?:hi|hello|hey|thanks?|thank you|ok(?:ay)?|sure|yes|yeah|no|great|perfect|bye|good\w*)\b[\s!.,]*$",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey|good (?:morning|afternoon|evening))(?:\s+there)?[!.,\s]+)+", re.IGNORECASE
)
_URGENT = re.compile(r"\b(?:asap|urgent\w*|immediately|right now|emergency|as soon as possible)\b", re.I)
_SOON = re.compile(
    r"\b(?:today|tonight|tomorrow|deadline|soon|charged twice|double charge\w*|fraud\w*)\b", re.IGNORECASE
)
_AGENT_SUGGESTION = re.compile(r"\b(?:please |could you |can you |)try(?:ing)?\s+(?P<v>[^.?!]{4,60})", re.I)
_DID_NOT_HELP = re.compile(r"\b(?:didn't|did not|doesn't|does not|still|same|no luck|not work\w*)\b", re.I)
_WORKED = re.compile(r"\b(?:that worked|it worked|worked|works now|fixed|that did it|all set)\b", re.I)
_SYSTEM_DONE = re.compile(
    r"\b(?:has been|have been|was|is now)\s+(?:noted|verified|updated|processed|"
    r"refunded|changed|cancel+ed|created|sent|issued|applied|reset|pulled up)\b",
    re.I,
)
_PRONOUNS = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "im": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "am": "are",
    "was": "were",
}


def sentences(text: str) -> list[str]:
    """Split a turn into sentences (on terminal punctuation and line breaks)."""
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s and s.strip()]


def second_person(text: str) -> str:
    """Rewrite the customer's first person as second person ("my order" -> "your order")."""

    def swap(m: re.Match[str]) -> str:
        return _PRONOUNS.get(m.group(0).lower(), m.group(0))

    return re.sub(r"\b(?:i'm|i've|i'd|i'll|im|i|me|my|mine|myself|am|was)\b", swap, text, flags=re.I)


def clip_words(text: str, limit: int) -> str:
    """Keep at most ``limit`` words, marking a cut with an ellipsis."""
    parts = text.split()
    return text if len(parts) <= limit else " ".join(parts[:limit]).rstrip(",;:") + "…"


# What each distinct customer text yields, read once: a brief at the 25th turn reads only new turns.
_SENTIMENTS: DigestCache[float] = DigestCache(8192)
_SALIENT: DigestCache[tuple[tuple[str, float, bool], ...]] = DigestCache(8192)
_QUESTIONS: DigestCache[tuple[str, ...]] = DigestCache(8192)


def _salient(text: str) -> tuple[tuple[str, float, bool], ...]:
    """A turn's sentences worth summarising: ``(sentence, goal-cue score, is a bare introduction)``."""
    found: list[tuple[str, float, bool]] = []
    for sent in sentences(text):
        clean = _GREETING.sub("", sent).strip()
        if not clean or _CHITCHAT.match(clean) or len(words(clean)) < 3:
            continue
        intro = (
            re.match(r"(?i)(?:my name is|this is|i am|i'm)\b", clean) is not None and len(words(clean)) < 6
        )
        found.append((clean, 2.0 * min(len(GOAL_CUE.findall(clean)), 2), intro))
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
            score += 0.5 * min(facts_by_turn.get(turn.index, 0), 2)
            score += 1.5 / (1 + rank)  # the opening request usually states the problem
            if intro:
                score -= 1.0  # a bare introduction adds nothing the facts don't carry
            scored.append((score, len(scored), clean))
    return scored


def goal_of(turns: Sequence[Turn], facts: Sequence[Fact]) -> str:
    """The customer's goal: their best-scoring request sentence, in their words."""
    scored = _scored_sentences(turns, facts)
    if not scored:
        return "Not stated yet."
    best = max(scored, key=lambda s: (s[0], -s[1]))
    return clip_words(best[2], 25)


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
    """Urgency from signals when given, else from distress/legal cues, urgency words and sentiment."""
    given = (signals or {}).get("urgency")
    if isinstance(given, str) and given in get_args(Urgency):
        return given  # type: ignore[return-value]
    customer = [t.text for t in turns if t.role == "customer"]
    text = " ".join(customer)
    distress, legal = cue_texts(customer, "distress"), cue_texts(customer, "legal")
    if distress and legal:
        return "critical"
    if distress or legal or _URGENT.search(text) or sentiment.now < -0.5:
        return "high"
    if _SOON.search(text) or sentiment.now < -0.2 or sentiment.trend == "worsening":
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
        if turn.role in ("bot", "agent"):
            m = _AGENT_SUGGESTION.search(turn.text)
            if m and reply is not None:
                step = clip_words(m.group("v").strip(), 8)
                if _DID_NOT_HELP.search(reply.text):
                    tried.append(f"Suggested: try {step} — did not help")
                elif _WORKED.search(reply.text):
                    resolved.append(f"Try {step} — worked")
        elif turn.role == "system" and _SYSTEM_DONE.search(turn.text):
            resolved.append(clip_words(turn.text.strip(), 12))
    return list(dict.fromkeys(tried)), list(dict.fromkeys(resolved))


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
    return tuple(
        clip_words(s, 20)
        for s in sentences(text)
        if (s.endswith("?") or _IMPLICIT_QUESTION.search(s)) and len(words(s)) >= 3
    )


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
