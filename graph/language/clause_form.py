"""What stands in a clause in place of its own subject: a clause's form.

"" (it has a subject), "imperative" ("Tell me my alarms": ours to do), "gerund" ("Looking to sell"),
"fragment" (no verb: "A human please"), "phrase" (a preposition and no verb: "In Berkeley please") or
"predicate" (the subject is elsewhere: "was wondering how ...", "... and need to sell"). Read from the
dependency parse with :mod:`graph.language.scope`'s clauses and shared subjects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from graph.language.asking import opens_bare
from graph.language.scope import Clause, bare_verb_subject, has_auxiliary, shared_subject

if TYPE_CHECKING:
    from spacy.tokens import Token

ClauseForm = Literal["", "imperative", "gerund", "fragment", "phrase", "predicate"]


def _prepositional(clause: Clause) -> bool:
    """A verbless clause that starts with a preposition, past an opening "yes" or "no": "No, from the
    11th please", "In Berkeley please" (where the parse makes "please" its head)."""
    first = next((t for t in clause.tokens if not (t.is_punct or t.is_space or t.dep_ == "intj")), None)
    return clause.head.pos_ == "ADP" or (first is not None and first.pos_ == "ADP")


def clause_form(clause: Clause) -> ClauseForm:
    """What a clause has in place of its own subject (see :data:`ClauseForm`)."""
    if not clause.has_verb:
        return "phrase" if _prepositional(clause) else "fragment"
    head = clause.head
    auxiliaries = [c for c in head.children if c.dep_ in ("aux", "auxpass")]  # their subjects count too
    # the subject is the clause's own, even hung on its auxiliary ("now the money *is* gone")
    if any(c.dep_ in ("nsubj", "nsubjpass", "expl") for h in (head, *auxiliaries) for c in h.children):
        return ""
    if opens_bare(head, clause) and not auxiliaries and shared_subject(head) is None:
        return "imperative"  # "Set it for 3:30", "Put it on the kitchen speaker" (tagged as a past)
    if head.tag_ in ("VBD", "VBZ", "VBP") or auxiliaries:
        return "predicate"  # "was wondering how ...", "keeps declining": the subject is elsewhere
    shared = shared_subject(head) if finite(head) else None
    if shared is not None:
        # "We are moving ... and need to sell" (tagged as a bare verb) is theirs; "Can you cancel it and
        # get me my money back" is ours to do
        return "imperative" if shared.lower_ == "you" and head.tag_ == "VB" else "predicate"
    if head.tag_ == "VB" and head.lemma_ in ("want", "need"):
        return "predicate"  # "need it asap", "want a refund": the customer's want, their "I" left out
    return "imperative" if head.tag_ == "VB" else "gerund" if head.tag_ == "VBG" else ""


def finite(head: Token) -> bool:
    """A verb that states on its own: tensed, with an auxiliary of its own ("haven't had"), or a bare
    verb coordinated with a tensed one ("... and need to sell"); not "and to watch it", "and going"."""
    if any(c.tag_ == "TO" for c in head.children):
        return False
    if head.tag_ in ("VBD", "VBZ", "VBP", "MD") or has_auxiliary(head):
        return True
    return head.tag_ == "VB" and head.dep_ == "conj" and bare_verb_subject(head) is not None
