"""A turn that revises what the customer said before: "No, make it Wednesday", "Actually, 3 tickets".

A value stated again in such a turn replaces the earlier value of the same slot; one stated in a turn
with no such sign may be a second value of it (a pick-up and a drop-off date). The signs are a closed
class of English discourse, read from the parse: a turn that opens by refusing ("No, ...", "Nope",
"Sorry, no") or by stopping itself ("Wait, ...", "Hold on."); an adverb of replacement ("actually",
"instead", "rather"); a verb or noun of changing ("change it to", "switch", "update", "I meant", "a change
of plan"); "make it" / "make that" with the new value; a retry ("how about", "try another one",
"anything else?", "a different city", "try again", "retry").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.language.pipeline import shared_pipeline
from graph.language.scope import negated, subject_of
from graph.textutil import DigestCache

if TYPE_CHECKING:
    from spacy.tokens import Token

_REFUSALS = frozenset({"no", "nope", "nah", "not"})
_REPLACING = frozenset({"actually", "instead", "rather"})
_CHANGING = frozenset({"change", "switch", "modify", "update", "correct", "swap", "alter", "rename"})
_A_CHANGE = frozenset({"change", "correction", "switch"})  # "a change of plan", "one correction"
_HESITATIONS = frozenset({"hmm", "hm", "hmmm", "mm", "um", "umm", "uh", "er", "erm"})
_RETRYING = frozenset({"retry", "redo"})
_STOPPING = frozenset({"wait", "hold", "hang"})  # "Wait, ...", "Hold on.", "Hang on, ..."
_MOMENTS = frozenset({"second", "sec", "minute", "min", "moment", "bit"})
# a pause's children that belong to other clauses or to no clause: "Wait, send it to ..."
_ELSEWHERE = frozenset({"punct", "intj", "conj", "cc", "ccomp", "parataxis", "advcl"})
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
    # "No, ...", and after an apology or a hesitation: "Sorry, no.", "Hmm, no", "Oh wait, ..."
    opening = next((t for t in words if not _hesitates(t) or t.lower_ in _REFUSALS), words[0])
    if opening.lower_ in _REFUSALS or pauses(opening):
        return True
    return any(_revising(t) for t in words)


def _hesitates(token: Token) -> bool:
    """An interjection ("Sorry", "Oh", "Well"), or a hesitation the tagger may call a name ("Hmm")."""
    return token.pos_ == "INTJ" or token.lower_ in _HESITATIONS


def pauses(token: Token) -> bool:
    """Whether ``token`` only asks us to wait while the customer corrects themselves: "Wait,", "Hold
    on.", "Hang on a second"; not "wait for my call", "hold on to the receipt", "wait times"."""
    lemma = token.lemma_.lower()
    if lemma not in _STOPPING or token.pos_ not in ("VERB", "INTJ"):
        return False
    after = token.nbor() if token.i + 1 < len(token.doc) else None
    if after is not None and not after.is_punct and after.head != token and after.head.head != token:
        return False  # "Wait times are long": the next word is another phrase's
    on = False
    for child in token.children:
        if child.dep_ in _ELSEWHERE:
            continue
        if child.lower_ == "on" and child.dep_ in ("prt", "prep"):
            on = all(g.lemma_.lower() in _MOMENTS for g in child.children if g.dep_ == "pobj")
            if on:
                continue
        if child.dep_ in ("npadvmod", "dobj") and child.lemma_.lower() in _MOMENTS:
            continue  # "wait a minute"
        return False
    return on or lemma == "wait"


def _revising(token: Token) -> bool:
    lemma = token.lemma_.lower()
    if token.lower_ in _REPLACING:
        return True
    if token.lower_ == "about" and token.i > 0 and token.doc[token.i - 1].lower_ in ("how", "what"):
        # "How about Fremont?", "... What about the 5th?", "Hmm, what about Friday?"
        asking = token.doc[token.i - 1]
        return all(t.is_punct or _hesitates(t) for t in token.doc[asking.sent.start : asking.i])
    if token.lower_ in ("else", "different") and token.head.lower_ != "nothing":
        return True  # "anything else available?", "a different city"; "nothing else" ends the request
    if token.pos_ == "NOUN" and lemma in _A_CHANGE:
        return any(c.dep_ == "det" and c.lower_ in ("a", "an", "one") for c in token.children)
    if token.pos_ not in ("VERB", "AUX"):
        return False
    if lemma in _CHANGING or lemma in _RETRYING:
        # the customer (or we, asked) change it: "change it to", "I'd like to switch", "can you update
        # it"; not something that changes or fails to: "My cart is not updating"
        subject = subject_of(token)  # its own: "..., but please *change* the reservation" has none
        return not negated(token) and (subject is None or subject.lower_ in ("i", "we", "you"))
    if lemma == "mean":  # "I meant the 5th", not "what does that mean"
        return token.tag_ == "VBD" and any(c.dep_ == "nsubj" and c.lower_ == "i" for c in token.children)
    if lemma == "make":  # "make it 3", "make that Wednesday"; not "make a reservation" (parsed many ways)
        return token.i + 1 < len(token.doc) and token.doc[token.i + 1].lower_ in _POINTERS
    if lemma == "try":  # "try another city", "can you try again", "try something else"
        return any(t.lower_ in _OTHER for t in token.subtree)
    return False
