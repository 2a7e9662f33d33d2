"""A turn that revises what the customer said before: "No, make it Wednesday", "Actually, 3 tickets".

A value stated again in such a turn replaces the earlier value of the same slot; one stated in a turn
with no such sign may be a second value of it (a pick-up and a drop-off date). The signs are a closed
class of English discourse, read from the parse: a turn that opens by refusing ("No, ...", "Nope"); an
adverb of replacement ("actually", "instead", "rather"); a verb of changing ("change it to", "switch",
"update", "I meant"); "make it" / "make that" with the new value; a retry ("how about", "try another
one", "anything else?", "a different city", "try again").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.language.pipeline import shared_pipeline
from graph.textutil import DigestCache

if TYPE_CHECKING:
    from spacy.tokens import Token

_REFUSALS = frozenset({"no", "nope", "nah", "not"})
_REPLACING = frozenset({"actually", "instead", "rather"})
_CHANGING = frozenset({"change", "switch", "modify", "update", "correct", "swap", "alter"})
_POINTERS = frozenset({"it", "that", "this", "them"})
_OTHER = frozenset({"another", "else", "different", "other", "again"})
_CACHE: DigestCache[bool] = DigestCache(4096)


def revises(text: str) -> bool:
    """Whether ``text`` (a customer turn) takes back or replaces something said before."""
    return _CACHE.get_or_compute(text, _revises)


def _revises(text: str) -> bool:
    words = [t for t in shared_pipeline().parse(text, entities=False) if not (t.is_punct or t.is_space)]
    if not words:
        return False
    if words[0].lower_ in _REFUSALS:
        return True
    return any(_revising(t) for t in words)


def _revising(token: Token) -> bool:
    lemma = token.lemma_.lower()
    if token.lower_ in _REPLACING:
        return True
    if token.lower_ == "about" and token.i > 0 and token.doc[token.i - 1].lower_ in ("how", "what"):
        return bool(token.doc[token.i - 1].is_sent_start)  # "How about Fremont?", "... What about the 5th?"
    if token.lower_ in ("else", "different") and token.head.lower_ != "nothing":
        return True  # "anything else available?", "a different city"; "nothing else" ends the request
    if token.pos_ not in ("VERB", "AUX"):
        return False
    if lemma in _CHANGING:
        return True
    if lemma == "mean":  # "I meant the 5th", not "what does that mean"
        return token.tag_ == "VBD" and any(c.dep_ == "nsubj" and c.lower_ == "i" for c in token.children)
    if lemma == "make":  # "make it 3", "make that Wednesday"; not "make a reservation" (parsed many ways)
        return token.i + 1 < len(token.doc) and token.doc[token.i + 1].lower_ in _POINTERS
    if lemma == "try":  # "try another city", "can you try again", "try something else"
        return any(t.lower_ in _OTHER for t in token.subtree)
    return False
