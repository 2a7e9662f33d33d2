"""Prose for briefs: the customer's own words retold, in the third person for a summary and in the
second person for the receiver's openers, read from the dependency parse (never quoted whole).

"I'd like to sell my house at 12 Oak Street" becomes "Dana Whitfield would like to sell their house at
12 Oak Street" in a summary and "you'd like to sell your house at 12 Oak Street" in an opener. The
customer's "you" (the company) becomes "we"/"us". Only pronouns, the verbs they govern and leading
fillers ("Honestly", "Hi") change; every other word is the customer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from graph.context.models import Fact
from graph.context.reported import reported
from graph.context.retelling import Person, Retelling
from graph.language.pipeline import shared_pipeline
from graph.language.prototypes import SEEDS
from graph.language.scope import PLEASE, shared_subject
from graph.language.statements import Said, read_statements
from graph.textutil import DigestCache
from graph.transcript import Turn

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_LEADING = frozenset({"INTJ", "PUNCT", "CCONJ"})
# Verbs of conversing: "talk to a human" asked of us means the customer wants to talk to one of our
# people, not that we should ("speak with my husband" is still ours to do).
_CONVERSE = frozenset({"talk", "speak", "chat"})
_SOFTENERS = PLEASE | {"just", "kindly"}
_CACHE: DigestCache[tuple[str, bool]] = DigestCache(8192)
# Modals that open a request put as a question ("Can you send ...", "Could I see ...").
_REQUESTING = frozenset({"can", "could", "would", "will", "may"})
# After a request with a verb: a question, a bare request ("A 2 bed condo"), then any statement.
_GOAL_KINDS = (("question",), ("request",), ("situation", "reason", "value"), ("other",))
# The forms a clause joined to a goal clause of each form may have: two requests of us ("stop ... and
# delete ..."), or after a subject, the customer's second need or a request of us ("I want you to
# cancel it and refund me").
_JOINABLE = {"imperative": ("imperative",), "": ("predicate", "imperative")}


def _tokens(text: str, source: str | None, at: int) -> Doc | Span:
    """The parsed tokens of ``text``; of its place in ``source`` when it is a part of that text.

    A clause of a turn is read in the turn's parse (which its reader parsed just before), not parsed
    again on its own: one parse per turn.
    """
    if source is not None and source[at : at + len(text)] == text:
        span = shared_pipeline().parse(source).char_span(at, at + len(text), alignment_mode="expand")
        if span is not None and len(span):
            return span
    return shared_pipeline().parse(text, entities=False)  # retelling moves pronouns, not names


def starts_with_name(text: str, source: str, at: int) -> bool:
    """``text`` (at ``at`` in ``source``) starts with a name ("Green Book sounds good") or "I", read in
    the parse of ``source``."""
    first = next((t for t in _tokens(text, source, at) if not t.is_space), None)
    return first is not None and (first.pos_ == "PROPN" or first.lower_ == "i")


def _retell(
    text: str, person: Person, who: str, source: str | None = None, at: int = 0, told: bool = False
) -> tuple[str, bool]:
    doc = _tokens(text, source, at)
    start = 0
    while start < len(doc) and (
        doc[start].pos_ in _LEADING
        or (
            doc[start].dep_ in ("advmod", "intj")
            and doc[start].tag_ != "WRB"  # "how long", "where": the question, not a filler
            and doc[start].i < doc[start].head.i
        )
    ):
        start += 1  # "Honestly I'm devastated", "Hi, I need ...", "So we want ..."
    telling = Retelling(person, who)
    if told:
        telling.told_before(doc[start:])
    pieces: list[str] = []
    for tok in doc[start:]:
        word = telling.word(tok)
        if word.startswith(" ") and pieces and pieces[-1].endswith(" "):
            word = word[1:]
        elif word[:1].isalpha() and pieces and pieces[-1][-1:].isalpha() and word not in (tok.text, "n't"):
            word = " " + word  # "I" "'m" -> "Dana" " is"; "do" "n't" stays glued
        pieces.append(word + tok.whitespace_)
    return "".join(pieces).strip(), telling.named


def retell(
    text: str, person: Person, who: str = "", *, source: str | None = None, at: int = 0, told: bool = False
) -> tuple[str, bool]:
    """``text`` (the customer's words) with their pronouns moved to ``person``.

    Args:
        text: A clause or sentence the customer wrote.
        person: "second" (to the customer: "you", "your") or "third" (about them: "they", "their").
        who: In the third person, the name the first "I"/"we" (or "my"/"our" subject) becomes.
        source: The turn or sentence ``text`` was read from (``source[at:]`` starts with it): the
            clause is retold from that parse instead of being parsed alone.
        at: Character offset of ``text`` in ``source``.
        told: The caller writes the customer (``who``, "the customer", "you") before the text, whose
            subject is earlier in ``source``: its verbs agree with that ("I lost my job and need to
            sell" -> "the customer needs to sell").

    Returns:
        The retold text, and whether ``who`` took the place of the customer's subject.
    """
    if source is None:
        return _CACHE.get_or_compute(text, lambda t: _retell(t, person, who), salt=f"{person}:{who}")
    salt = f"{person}:{who}:{at}:{len(text)}:{told}"
    return _CACHE.get_or_compute(source, lambda src: _retell(text, person, who, src, at, told), salt=salt)


def customer_name(turns: Sequence[Turn], facts: Sequence[Fact]) -> str:
    """The customer's name: a ``customer_name`` fact, else the name they introduced themselves with."""
    named = next((f.value for f in facts if f.key == "customer_name"), "")
    for turn in turns:
        if named:
            break
        if turn.role == "customer":
            named = read_statements(turn.text).intro_name
    # "joyce Wu" typed in a hurry is still a name
    return " ".join(w[:1].upper() + w[1:] for w in named.split())


def first_name(name: str) -> str:
    """The first word of a name, capitalised ("joseph banter" -> "Joseph")."""
    return name.split()[0].capitalize() if name.split() else ""


def listing(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def best_clause(text: str) -> Said | None:
    """The clause of a sentence that states the customer's goal: a request, else a question, else any."""
    said = read_statements(text).said
    requests = [s for s in said if s.kind == "request" and s.form != "fragment"]
    # A phrase ("in new york", "for four days") answers a question: it states no goal.
    stated = [s for s in said if s.form != "phrase" or s.kind == "question"]
    for found in (requests, *([s for s in stated if s.kind in kinds] for kinds in _GOAL_KINDS)):
        if found:
            return found[0]
    return None


def retell_goal(sentence: str, person: Person, who: str) -> str | None:
    """The customer's goal sentence retold as one clause about (or to) them.

    A request keeps its verb ("Dana would like to sell their house"), a request of us becomes "asks us
    to ..." / "you'd like us to ...", another question "asks about fees" / "you asked about fees", and
    a statement keeps its words ("Joseph's order never arrived", "the app crashes on your iPhone").
    """
    said = best_clause(sentence)
    if said is None:
        return None
    subject = who or "the customer"
    if said.kind == "question":
        return _question(said, read_statements(sentence).topics, person, subject, sentence)
    told = retell_said(said, sentence, person, subject)
    more = coordinated_request(sentence)
    if more is None:
        return told
    # "needs to cancel their subscription and get a refund": the second verb shares the first's form
    return f"{told} and {retell(more.text, person, source=sentence, at=more.start)[0]}"


def coordinated_request(sentence: str) -> Said | None:
    """The request coordinated with the goal clause of ``sentence`` that shares its subject and verb
    form: "delete my account" of "Please stop sending me emails and delete my account", "get a refund"
    of "I need to cancel my subscription and get a refund"; None if there is none."""
    said = best_clause(sentence)
    if said is None or said.kind != "request":
        return None
    later = [s for s in read_statements(sentence).said if s.start >= said.end]
    forms = _JOINABLE.get(said.form, ())
    if not later or later[0].kind not in ("request", "situation") or later[0].form not in forms:
        return None
    tokens = _tokens(later[0].text, sentence, later[0].start)
    goal = _tokens(said.text, sentence, said.start)
    if tokens.doc.text != sentence or goal.doc.text != sentence:
        return None
    head, root = tokens[:].root, goal[:].root
    # coordinated with the goal's verb or its infinitive ("need to cancel ... and get"), not with a verb
    # of a clause inside it ("visit the bar for which I need to call a cab and help me")
    complement = _complement(head.head)
    joined_to = head.head.head if complement else head.head
    # the customer's subject ("I need to ... and get"), ours ("I want you to ... and refund me"), or
    # none for two requests of us
    shared = shared_subject(head)
    if said.form == "imperative":
        ours = shared is None
    else:
        ours = shared is not None and shared.lower_ in ("i", "we", "you")
    joined = head.dep_ == "conj" and head.tag_ == "VB" and joined_to.i == root.i
    # a second infinitive shares the goal's want ("want to take ... and add ..."), a bare verb its
    # modal ("I'll pick it up at 12:00 and return it Thursday"); else it asks itself
    shares = complement or any(c.tag_ == "MD" for c in joined_to.children)
    asks = later[0].kind == "request" or shares
    return later[0] if joined and ours and asks else None


def subordinate_clauses(sentence: str) -> list[Said]:
    """The clauses of ``sentence`` after its goal clause that are part of it: "when paying with card"
    of "Why was I charged an extra fee when paying with card?", "for me to get my card" of "How long
    will it take for me to get my card?"; not one coordinated with it ("... and haven't had a single
    offer") or set off by punctuation ("I forgot an item, can you add it to my order?")."""
    said = best_clause(sentence)
    if said is None:
        return []
    goal = _tokens(said.text, sentence, said.start)
    if goal.doc.text != sentence:
        return []
    root = goal[:].root
    found = []
    for later in (s for s in read_statements(sentence).said if s.start >= said.end):
        node = _tokens(later.text, sentence, later.start)[:].root
        while node.dep_ == "conj" and node.head.i != node.i:
            node = node.head  # "a withdrawal that I did not make or *authorize*": as "make" is
        if node.i == root.i or node.dep_ == "parataxis" or not root.is_ancestor(node):
            continue
        if (_complement(node) and node.head.i == root.i) or (
            said.kind != "question" and node.dep_ not in ("relcl", "acl", "advcl")
        ):
            continue  # "am trying to sign in and have forgotten my password": a concern of its own
        low, high = sorted((node.i, node.head.i))
        if node.dep_ == "ccomp" and any(t.is_punct for t in node.doc[low:high]):
            continue  # a clause of its own after a comma
        found.append(later)
    return found


def _complement(verb: Token) -> bool:
    """The verb complements the one above it: "stop *sending* ...", "want you *to cancel* ..."."""
    return verb.dep_ == "xcomp" or (verb.dep_ == "ccomp" and any(c.tag_ == "TO" for c in verb.children))


def _to_one_of_ours(clause: str) -> bool:
    """Whether the clause starts (after "please", "just") with a verb of conversing and names one of
    our people: "talk to a human please"."""
    said = [w.strip(",.!?") for w in clause.lower().split()]
    first = next((w for w in said if w not in _SOFTENERS), "")
    return first in _CONVERSE and any(w in SEEDS["human_request"] for w in said)


def retell_said(said: Said, source: str, person: Person, subject: str) -> str:
    """A request or statement clause ``said`` of ``source`` retold about (or to) the customer."""
    # A clause whose subject is elsewhere ("Wanted to see when I owe ...") gets the customer first.
    who = "" if said.form == "predicate" else subject
    told = said.form == "predicate"  # the subject written before it is the customer's (or "you")
    text, named = retell(said.text, person, who, source=source, at=said.start, told=told)
    rest = lower_first(text)
    if said.form == "imperative" and _to_one_of_ours(said.text):
        return ("you'd like to " if person == "second" else f"{subject} wants to ") + rest
    if person == "second":
        lead = {
            "imperative": "you'd like us to ",
            "gerund": "you're ",
            "fragment": "you're looking for ",
            "predicate": "you ",
        }
        return lead.get(said.form, "") + rest
    if named and said.form != "predicate":
        return text
    lead = {"imperative": "wants us to", "gerund": "is", "fragment": "is looking for", "predicate": ""}
    return " ".join(w for w in (subject, lead.get(said.form, "says"), rest) if w)


def _question(said: Said, topics: Sequence[str], person: Person, subject: str, source: str) -> str:
    words = said.text.split()
    modal = len(words) > 2 and words[0].lower() in _REQUESTING
    of_us = modal and words[1].lower() == "you"
    by_them = modal and words[1].lower() in ("i", "we")
    if of_us or by_them:  # "Can you send me the forms" asks us to do something; "Can I ..." to be let
        action = " ".join(w for w in words[2:] if w.lower() not in ("please", "pls"))
        # Read in the sentence's parse when the action is the clause's own words ("send me the forms").
        at = said.start + max(0, said.text.find(action))
        act = retell(action, person, source=source, at=at)[0]
        if person == "second":
            return f"you'd like {'us ' if of_us else ''}to {act}"
        return f"{subject} asks {'us ' if of_us else ''}to {act}"
    told = reported(said.text, person)
    if told and len(told.split()) > 1:  # "Now what?" asks nothing a reader can use: "asks what"
        return f"you asked {told}" if person == "second" else f"{subject} asks {told}"
    about = listing(list(topics[:2]))
    if person == "second":
        return f"you asked about {about}" if about else "you have a question"
    return f"{subject} asks about {about}" if about else f"{subject} has a question"


def lower_first(text: str) -> str:
    """``text`` with its first letter in lower case, unless the word is a name or an acronym."""
    return text[:1].lower() + text[1:] if text[1:2].islower() or text[1:2] == " " else text
