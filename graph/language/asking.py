"""Whether a clause asks for something rather than states it: an imperative, a modal question, a
first-person want, need or obligation, "please", a question whether someone is there; and what it asks
us to do (:func:`request_action`, :func:`asked_action`): its deepest verb and what follows it, within
the clause and at most :data:`MAX_ACTION_WORDS` words.

Read from the clauses of :mod:`graph.language.scope`; the cue readers (a request for a person) and the
statements reader (what a turn asks) share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.language.scope import PLEASE, Clause, bare_verb_subject, shared_subject, subject_of

if TYPE_CHECKING:
    from spacy.tokens import Token

_WANTS = frozenset(("want", "need", "prefer", "wish", "like", "rather", "request", "demand", "insist"))
_MODALS = frozenset(("can", "could", "may", "would", "will"))


def _obliged(verb: Token) -> bool:
    """ "I have to talk ...", "I've got to ...", "I gotta ...": a present obligation, not "I had to call"."""
    if verb.lemma_ == "have":
        present = verb.tag_ in ("VB", "VBP")
    else:  # get: "'ve got to", or "gotta" (spaCy's "got" + "ta")
        present = any(c.dep_ == "aux" and c.lemma_ == "have" for c in verb.children)
    infinitives = [a for c in verb.children if c.dep_ == "xcomp" for a in c.children if a.tag_ == "TO"]
    return bool(infinitives) and (present or any(a.lower_ == "ta" for a in infinitives))


def opens_bare(head: Token, clause: Clause) -> bool:
    """A verb whose past is its base form ("put", "set", "let") opening the clause, which the tagger
    reads as a past in lower case ("put me thru to someone"): read as the base form it may be. A past
    with no subject ("put the house up in May") is then an imperative, a cost only a request for a
    person pays, and only with the customer as its object.
    """
    if head.tag_ not in ("VBD", "VBN") or head.lower_ != head.lemma_.lower():
        return False
    return all(
        t.pos_ in ("INTJ", "PUNCT", "ADV") or t.lower_ in PLEASE for t in clause.tokens if t.i < head.i
    )


def _obliges(verb: Token) -> bool:
    """ "We must sell": an obligation of the customer's; not a guess ("I must have mistyped it", "it
    must be the card")."""
    if verb.lemma_ == "be" or any(c.dep_ == "aux" and c.lemma_ == "have" for c in verb.children):
        return False
    subject = shared_subject(verb)
    return subject is not None and (
        subject.lower_ in ("i", "we") or any(c.lower_ == "i" for c in subject.conjuncts)
    )


def is_imperative(clause: Clause) -> bool:
    """An imperative, or a question that works as one: something the customer asks us to do.

    "Put me through to ...", "Get me your manager"; the causative "Have someone call me", which the
    parser reads as an inverted "have" before a subject (a question's "have" takes a participle:
    "Have you called?"); and a modal question to us, "Can you / Could you / Would you ...".
    """
    head = clause.head
    if head.tag_ != "VB" and not opens_bare(head, clause):
        return False
    auxes = [c for c in head.children if c.dep_ == "aux"]
    subject = subject_of(head)
    if subject is None:
        # "... that I did not make or *authorize*": a verb coordinated with one that has a subject
        # shares it; only ours ("Can you cancel it and *get* me my money back") asks us
        shared = bare_verb_subject(head)
        return not auxes and (shared is None or shared.lower_ == "you")
    if len(auxes) != 1 or auxes[0].i > subject.i:
        return False
    if auxes[0].lemma_ == "have":
        return True
    return (
        subject.lower_ == "you"
        and auxes[0].tag_ == "MD"
        and auxes[0].lemma_ in ("can", "could", "would", "will")
    )


def is_request(clause: Clause) -> bool:
    """Whether a clause asks for something rather than states it.

    An imperative (:func:`is_imperative`), a modal question or offer ("Could someone call me back?",
    "I'd like ..."), a first-person want, need or obligation ("I need to speak with ...", "I have to
    talk to someone", "Wanna talk to someone" with its "I" left out), an existential question ("is
    there a real person ..."), a question whether someone is there (:func:`_asks_presence`),
    "please", or a fragment with no verb ("A human please", "Agent!"). A base verb whose subject is
    "me" or "us" ("me talk to a person") is a "let me ..." that lost its first word, as a speech
    recogniser or a hurried typist does.
    """
    if not clause.has_verb:
        return True
    for tok in clause.tokens:
        if tok.lower_ in PLEASE:
            return True
        if tok.tag_ == "MD" and tok.lemma_ in _MODALS:
            return True
        if tok.lemma_ == "must" and _obliges(tok.head):  # "(we) must sell before August"
            return True
        if tok.lemma_ in _WANTS or (tok.lemma_ in ("have", "get") and _obliged(tok)):
            subject = subject_of(tok)
            if subject is not None and subject.lower_ in ("i", "we"):
                return True
            if subject is None and tok == clause.head:  # "Wanna talk to someone": the "I" left out
                return True
    if is_imperative(clause):
        return True
    head = clause.head
    subject = subject_of(head)
    if head.tag_ in ("VB", "VBP") and subject is not None and subject.lower_ in ("me", "us"):
        return not any(c.dep_ == "conj" for c in subject.children)  # "me and my wife talk ..." states
    if head.lemma_ != "be":
        return False
    return any(c.dep_ == "expl" for c in head.children) or _asks_presence(clause)


# What a question asks of someone's presence when it ends on it: "Is anyone there?", "Is a human
# available?", "Are any agents online?".
_PRESENCE = frozenset(("there", "here", "around", "available", "online"))


def _asks_presence(clause: Clause) -> bool:
    """A question whether someone is there: "be" before whoever it asks about, its last word (but
    adverbs of time) a place or availability.

    Only where that word ends the question: "Is anyone there at the open house on Sunday?" asks about
    a place, not for someone to talk to. Who is asked about is the cue's part (a person word).
    """
    words = [t for t in clause.tokens if not t.is_punct]
    while words and words[-1].pos_ == "ADV" and words[-1].lower_ not in _PRESENCE:
        words.pop()  # "Are any agents online right now?"
    if not words or words[-1].lower_ not in _PRESENCE:
        return False
    head = clause.head
    before = [c for c in head.children if c.dep_ in ("nsubj", "attr") and c.i < head.i]
    return not before  # inverted: "Is someone there", not the statement "Someone is there"


MAX_ACTION_WORDS = 10
_ASKING_US = _MODALS - {"may"}  # "may" asks leave for the speaker ("May I ..."), not us to act
# A request's deepest verb as a participle or a past: the customer's doing, not something to do.
_NOT_TO_DO = frozenset({"VBG", "VBN", "VBD"})


def request_action(clause: Clause) -> str:
    """The deepest verb of a request and what follows it: "I'd like to sell my house" -> "sell my house"."""
    verb = clause.head
    while True:
        nxt = next((c for c in verb.children if c.dep_ == "xcomp" and c.pos_ == "VERB"), None)
        if nxt is None:
            break
        verb = nxt
    if verb.pos_ not in ("VERB", "AUX"):
        return ""  # a fragment ("A waterfront home with a pool") asks for no action
    if verb.tag_ in _NOT_TO_DO:
        return ""  # "I will be travelling soon", "I've been waiting": what they do or did, not a thing to do
    if any(c.tag_ in ("WP", "WDT") and c.dep_ in ("dobj", "attr") for c in verb.children):
        return ""  # "I don't know what to do with it": its object is the question ("how to ..." is a task)
    doc = verb.doc
    end = min(verb.right_edge.i + 1, clause.tokens[-1].i + 1)
    if any(c.lower_ == "been" for c in clause.head.children) and clause.head.tag_ == "VBG":
        # "I've been trying to log in for an hour": how long they have tried, not part of the task
        lasted = [
            c.i for c in verb.children if c.dep_ == "prep" and c.lower_ in ("for", "since") and _timed(c)
        ]
        end = min([end, *lasted])
    words = [t for t in doc[verb.i : end] if not t.is_punct or t.i < end - 1]
    while words and (words[-1].is_punct or words[-1].lower_ in ("please", "pls")):
        words.pop()
    words = words[:MAX_ACTION_WORDS]
    return "".join(t.text_with_ws for t in words).strip() if words else ""


def _timed(preposition: Token) -> bool:
    return any(t.ent_type_ in ("TIME", "DATE") for t in preposition.subtree)


def asked_action(clause: Clause) -> str:
    """What a question put to us with a modal asks us to do: "Could you book me a table?" -> "book me a
    table"; "Can I get a refund?" and "Do you have parking?" ask us to do nothing."""
    head = clause.head
    modal = any(c.dep_ == "aux" and c.lower_ in _ASKING_US for c in head.children)
    to_us = any(c.dep_ == "nsubj" and c.lower_ == "you" for c in head.children)
    # "Can you tell me when the fee is due?": what to tell is a clause of its own, not in the action
    cut = any(c.dep_ == "ccomp" and c.i > clause.tokens[-1].i for c in head.children)
    return request_action(clause) if modal and to_us and not cut else ""
