"""Lexicon-based sentiment and cue detection for the offline analyzer (no model needed).

Word lists are deliberately small and readable: a product owner can see why a turn scored as it did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Contact details (an e-mail or a phone number) as the analyzer and the concierge read them: the
# patterns live with the language layer's other hand patterns, re-exported here for those callers.
from graph.language.patterns import CONTACT_RE as CONTACT_RE
from graph.language.patterns import LOOSE_EMAIL_RE as LOOSE_EMAIL_RE

POSITIVE = frozenset(
    [
        "good",
        "great",
        "thanks",
        "thank",
        "awesome",
        "perfect",
        "excellent",
        "love",
        "happy",
        "glad",
        "appreciate",
        "helpful",
        "nice",
        "wonderful",
        "fantastic",
        "amazing",
        "pleased",
        "excited",
        "ideal",
        "smooth",
        "resolved",
        "works",
        "working",
        "fine",
    ]
)
NEGATIVE = frozenset(
    [
        "bad",
        "terrible",
        "awful",
        "horrible",
        "worst",
        "hate",
        "angry",
        "annoyed",
        "annoying",
        "frustrated",
        "frustrating",
        "furious",
        "upset",
        "useless",
        "ridiculous",
        "unacceptable",
        "disappointed",
        "disappointing",
        "broken",
        "wrong",
        "problem",
        "issue",
        "fail",
        "failed",
        "failing",
        "failure",
        "error",
        "stuck",
        "slow",
        "never",
        "scam",
        "rude",
        "waste",
        "wasted",
        "confused",
        "confusing",
        "stressed",
        "stressful",
        "worried",
        "scared",
        "desperate",
        "overwhelmed",
        "devastated",
        "sad",
        "crying",
        "lost",
        "nightmare",
        "disaster",
        "ripoff",
        "complaint",
        "outraged",
        "incompetent",
    ]
)
NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "wasn't",
        "can't",
        "cannot",
        "won't",
        "hardly",
    ]
)
INTENSIFIERS = frozenset(
    ["very", "really", "so", "extremely", "totally", "completely", "absolutely", "super", "incredibly"]
)

DISTRESS_PATTERNS = (
    re.compile(r"\bdivorc\w*", re.I),
    re.compile(r"\b(passed away|died|death|funeral|estate of|inherit\w*)\b", re.I),
    re.compile(r"\b(foreclos\w*|bankrupt\w*|evict\w*)\b", re.I),
    re.compile(
        r"\b(desperate|devastated|overwhelmed|panic\w*|can'?t cope|falling apart|in tears|crying)\b", re.I
    ),
    re.compile(r"\b(lost my job|laid off|medical bills|emergency)\b", re.I),
)
LEGAL_PATTERNS = (
    re.compile(
        r"\b(lawyer|attorney|lawsuit|sue|suing|court|legal|litigation|lien|probate|title dispute)\b", re.I
    ),
    re.compile(
        r"\b(contract dispute|breach|liabilit\w*|easement|zoning violation|power of attorney)\b", re.I
    ),
    re.compile(r"\b(divorc\w*|custody|estate|trust|executor)\b", re.I),
)
HUMAN_REQUEST_PATTERNS = (
    re.compile(
        r"\b(talk|speak|chat)\s+(to|with)\s+(a\s+|an\s+|some\s*one|a real\s+)?(human|person|agent|"
        r"representative|rep|someone|real person|manager|supervisor|realtor|broker)\b",
        re.I,
    ),
    re.compile(r"\b(human|real person|live agent|operator|representative)\s*(please|now|!)", re.I),
    re.compile(
        r"\b(get|give|connect|transfer|put)\s+me\s+(to|with|through to)\s+(a\s+|an\s+)?"
        r"(human|person|agent|representative|someone|manager|supervisor)\b",
        re.I,
    ),
    re.compile(r"\bi want (a|an) (human|person|real agent|representative)\b", re.I),
    re.compile(r"\b(are you|is this) a (bot|robot|machine)\b", re.I),
)
_WORD = re.compile(r"[a-z']+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept, so "don't" stays one token)."""
    return _WORD.findall(text.lower())


def sentiment_score(text: str) -> float:
    """Score ``text`` from -1 (very negative) to 1 (very positive).

    Counts lexicon hits with negation (flips the next two words) and intensifiers (x1.5), then squashes
    by the number of hits so one angry word in a long message is not -1. Exclamation marks and ALL CAPS
    words amplify whatever polarity is there.
    """
    tokens = words(text)
    total = 0.0
    hits = 0
    flip_left = 0
    boost = 1.0
    for tok in tokens:
        if tok in NEGATORS:
            flip_left = 2
            continue
        if tok in INTENSIFIERS:
            boost = 1.5
            continue
        polarity = 1.0 if tok in POSITIVE else -1.0 if tok in NEGATIVE else 0.0
        if polarity:
            if flip_left:
                polarity = -polarity * 0.8
            total += polarity * boost
            hits += 1
        boost = 1.0
        flip_left = max(0, flip_left - 1)
    if not hits:
        return 0.0
    shouting = text.count("!") + sum(1 for w in text.split() if len(w) > 2 and w.isupper())
    amp = 1.0 + min(shouting, 4) * 0.15
    score = total * amp / (hits + 1.0)
    return max(-1.0, min(1.0, score))


def any_match(patterns: Iterable[re.Pattern[str]], text: str) -> list[str]:
    """Return the matched snippets of every pattern that fires on ``text``."""
    found: list[str] = []
    for pattern in patterns:
        m = pattern.search(text)
        if m:
            found.append(m.group(0))
    return found
