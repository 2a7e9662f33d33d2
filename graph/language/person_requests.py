"""The parse's part of a request for a person: whether a clause asks for one of our people.

A request names a person (or asks for a call, or to be passed on: :func:`graph.language.cue_bank.cue_words`)
in a clause that asks (:func:`graph.language.asking.is_request`); a person counted, owned or asked about
is named in passing. A turn that is a person word alone asks whatever the small model tags it. The
resemblance to the prototypes, read by :mod:`graph.language.cues`, decides the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from graph.language.asking import is_imperative, is_request
from graph.language.cue_bank import FloatArray, cue_words, prototype_bank
from graph.language.prototypes import SEEDS
from graph.language.scope import PLEASE, Clause

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_CALLING_DETS = frozenset({"a", "an", "the", "any", "some", "your"})


def asks_for_a_person(clause: Clause, found: dict[int, str]) -> bool:
    """The parse's part of a request for a person: a request that names a person (or a call).

    In an imperative that leaves the customer out, "my agent" or "our lawyer" is someone the customer
    already has, whom we are asked to reach ("Send the disclosure to my agent", "Tell my agent the
    offer was accepted"), not a person of ours to talk to; with the customer in it ("Connect me with
    my agent", "Get me my agent") it is a request.
    """
    anchors = [a for a in cue_words("human_request", clause, found) if not named_in_passing(a, clause)]
    if anchors and is_imperative(clause) and not any(t.lower_ in ("me", "us") for t in clause.tokens):
        anchors = [
            a for a in anchors if not any(c.dep_ == "poss" and c.lower_ in ("my", "our") for c in a.children)
        ]
    return bool(anchors) and is_request(clause)


def a_person_alone(doc: Doc | Span, found: dict[int, str]) -> bool:
    """The whole turn is a person word and nothing else: "Operator!", "Realtor please", "a live agent",
    "Supervisor now".

    Chat's way of pressing zero. A single word's vector is a weak judge of what it asks ("operator"
    scored 0.26, "staff" read closer to talk about a person than to asking for one), and the small
    model's tags and entities for a two-word fragment are guesses ("Supervisor" a verb and a place,
    "Realtor" a person's name), so the word decides: one person word, with only articles, adjectives
    and adverbs beside it. "My realtor." names someone the customer has, a possessor not a request.
    """
    words = [t for t in doc if not (t.is_punct or t.pos_ == "INTJ" or t.lower_ in PLEASE)]
    persons = [
        t for t in words if t.lower_ in SEEDS["human_request"] or t.lemma_.lower() in SEEDS["human_request"]
    ]
    if len(persons) != 1:
        return False
    person = persons[0]
    if any(t.i in found for t in words if t != person):
        return False
    return all(
        (t.pos_ in ("ADJ", "ADV") and t.lower_ != "else")  # "Anyone else?" asks for another option
        or (t.pos_ == "DET" and t.lower_ in _CALLING_DETS)
        for t in words
        if t != person
    )


_SEPARATORS = frozenset({",", ";", ":", "-", "–", "—"})


def called_out(doc: Doc, parts: Sequence[Clause], found: dict[int, str]) -> int | None:
    """The clause a person word called out at the end of the turn belongs to: "ur bot is useless,
    human", "this is going nowhere - agent please".

    What follows the turn's last separator is read as :func:`a_person_alone` reads a whole turn, unless
    it renames or adds to something said before ("We met the broker, the supervisor").
    """
    cut = max((t.i for t in doc if t.text in _SEPARATORS), default=-1)
    tail = doc[cut + 1 :]
    if cut < 0 or not any(t.is_alpha for t in tail) or not a_person_alone(tail, found):
        return None
    if any(t.dep_ in ("appos", "conj") and t.head.i <= cut for t in tail):
        return None
    return next((i for i, part in enumerate(parts) if any(t.i > cut for t in part.tokens)), None)


def named_in_passing(person: Token, clause: Clause) -> bool:
    """A person word the request is not for: people counted ("a table for *4 people*", "Just *1
    person*"), the owner of what is asked for ("Can I get *my agent's* phone number?") or the one an
    embedded question asks the identity of ("Can you tell me who *my agent* is?").

    Whom one is put through to stays a person asked for ("Can I talk to my agent's assistant?",
    "Put me through to the manager's office"): there the owned is the object of a preposition.
    """
    head = person.head
    if any(c.dep_ == "nummod" for c in person.children):
        # "for 4 people", "Just 1 person"; not whom one talks to ("talk to one person who knows")
        return not (person.dep_ == "pobj" and head.lower_ in ("to", "with"))
    if person.dep_ == "poss":
        return head.dep_ != "pobj" and head.lemma_.lower() not in SEEDS["human_request"]
    if head.lemma_ == "be" and head != clause.head and person.dep_ in ("nsubj", "attr"):
        return any(c.tag_ in ("WP", "WDT") and c != person for c in head.children)
    return False


def about_a_person(clause: Clause, row: FloatArray, score: float) -> bool:
    """A question or statement closer to talk about a person than to asking for one.

    An imperative asks whatever it resembles: the talk-about-a-person prototypes ("I already have a
    real estate agent") outscored "Get me a real estate agent on the line" on the words they share.
    """
    if is_imperative(clause):
        return False
    return float(row[prototype_bank().index["about_person"]].max()) >= score
