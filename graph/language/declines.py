"""A turn that declines to answer the question put to it: "skip", "I'd rather not say", "pass".

Read as an answer, "skip" became the address and "I'd rather not say" the timeline. A decline is a
short turn that is either a word for moving on ("skip", "pass", "next") or a verb of telling under a
negation that is not in the past ("I'd rather not say", "I prefer not to share", "I won't tell you";
"I didn't say that" corrects, it does not decline).
"""

from __future__ import annotations

from graph.language.pipeline import shared_pipeline
from graph.language.scope import negated
from graph.textutil import DigestCache

_MOVE_ON = frozenset({"skip", "pass", "next"})
_TELL = frozenset({"say", "tell", "share", "disclose", "answer", "give", "provide", "specify", "discuss"})
_PASSED = frozenset({"me", "us"})
_MAX_WORDS = 8
_CACHE: DigestCache[bool] = DigestCache(4096)


def declines(text: str) -> bool:
    """Whether ``text`` (a customer turn) declines to answer rather than answers."""
    return _CACHE.get_or_compute(text, _declines)


def _declines(text: str) -> bool:
    words = [t for t in shared_pipeline().parse(text, entities=False) if not (t.is_punct or t.is_space)]
    if not words or len(words) > _MAX_WORDS:
        return False
    if words[0].lower_ in _MOVE_ON and len(words) <= 4:
        # "skip", "pass", "skip this one", "next question please"; "pass me on" passes the customer on
        return not any(t.lower_ in _PASSED for t in words[1:])
    return any(
        t.lemma_.lower() in _TELL
        and t.pos_ == "VERB"
        and negated(t)
        and not any(c.tag_ == "VBD" for c in t.children)  # "I didn't say that"
        for t in words
    )
