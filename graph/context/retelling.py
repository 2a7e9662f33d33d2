"""Retelling the customer's words token by token: their pronouns moved to the second person (to
them: "you", "your") or the third (about them: "they", "their", or their name), the company's "you"
to "we" / "us", and the verbs whose subject moved made to agree ("I am" -> "you are", "Dana is").

Shared by :mod:`graph.context.prose` (statements retold in their parse) and
:mod:`graph.context.reported` (questions retold in reported order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from graph.language.pipeline import shared_pipeline
from graph.language.scope import has_auxiliary, shared_subject

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

Person = Literal["second", "third"]

_SUBJECTS = frozenset({"i", "we"})
_OBJECTS = {"second": {"me": "you", "us": "you"}, "third": {"me": "them", "us": "them"}}
_POSSESSIVES = {
    "second": {"my": "your", "our": "your", "mine": "yours", "ours": "yours", "myself": "yourself"},
    "third": {"my": "their", "our": "their", "mine": "theirs", "ours": "theirs", "myself": "themselves"},
}
_COMPANY = {"your": "our", "yours": "ours", "yourself": "ourselves", "yourselves": "ourselves"}
_PLURAL_BE = {"am": "are", "'m": "'re", "was": "were"}
_SINGULAR = {"am": "is", "'m": " is", "are": "is", "'re": " is", "were": "was"}
_SINGULAR |= {"have": "has", "'ve": " has", "do": "does", "'d": " would", "'ll": " will"}
# spaCy splits a contraction typed without its apostrophe ("ive", "youre", "id") into the pronoun and a
# bare piece ("ve", "re", "d"): retold as the piece written with it, "ive been" -> "has been", not "ves".
_BARE_PIECES = {"m": "'m", "re": "'re", "ve": "'ve", "d": "'d", "ll": "'ll"}
_AFTER_WOULD = frozenset({"VB", "VBP", "VBN", "RB", "RBR"})  # "I'd like", "I'd been", "I'd rather"
_NOUN_SIDE = frozenset({"NN", "NNS", "NNP", "NNPS", "JJ", "CD", "DT", "PRP$", "POS", "WDT", "WP"})
_FINITE = frozenset({"VBP", "VBZ", "VBD", "MD"})
_NOT_AFTER_I = frozenset({"are", "'re", "were", "is", "'s"})  # a verb without its subject is not "I"'s
_SIBILANT = ("s", "sh", "ch", "x", "z", "o")


def third_singular(verb: str) -> str:
    """ "want" -> "wants", "try" -> "tries", "go" -> "goes" (a verb whose subject became one person)."""
    low = verb.lower()
    if low in ("be", "am", "are"):
        return "is"
    if low == "have":
        return "has"
    if low.endswith(_SIBILANT):
        return verb + "es"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


# A verb whose one irregular form is its participle has a regular past: "shown", "proven" -> "showed".
_PARTICIPLE_ENDS = ("en", "wn", "ne", "un")


def past_tense(verb: str) -> str | None:
    """ "get" -> "got", "charge" -> "charged", "stop" -> "stopped", "put" -> "put": the simple past, from
    the lemmatizer's irregular forms, else the regular ending; None where the forms do not say which is
    the past ("begin": "began", "begun" tell apart by their vowel; none else is guessed)."""
    low = verb.lower()
    if low == "be":
        return None  # "was" or "were": the subject decides
    known = shared_pipeline().verb_forms(low)
    forms = [f for f in known if not f.endswith("ing") and f not in (third_singular(low), low + "es")]
    # the past and the participle: "went" / "gone", "took" / "taken", then "began" / "begun"
    if len(forms) > 1:
        forms = [f for f in forms if not f.endswith(("n", "ne"))] or forms
    if len(forms) > 1:
        forms = [f for f in forms if "a" in f and "u" not in f] or forms
    if len(forms) == 1 and not forms[0].endswith(_PARTICIPLE_ENDS):
        return forms[0]
    if len(forms) > 1:
        return None
    if known and not forms:
        return low  # only an "-ing" form is irregular: "put", "cut", "set"
    if low.endswith("e"):
        return low + "d"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return low[:-1] + "ied"
    return low + "ed"


def _subject(tok: Token) -> Token | None:
    """The subject a finite verb or auxiliary agrees with: the customer's "I" / "we" where the parse
    gives the verb two ("which ATMs am I allowed to ..." reads "ATMs" as a subject too), else the one
    a coordinated verb shares ("I lost my job and *need* to sell")."""
    verb = tok.head if tok.dep_ in ("aux", "auxpass") else tok
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    if not subjects:
        return shared_subject(verb)
    return next((c for c in subjects if c.lower_ in _SUBJECTS), subjects[0])


def _customers(subject: Token) -> bool:
    """The subject is the customer: "I", "we", or one with them in it ("My husband and I")."""
    return subject.lower_ in _SUBJECTS or any(c.lower_ in _SUBJECTS for c in subject.conjuncts)


def _coordinated_present(tok: Token) -> bool:
    """A bare verb coordinated with a finite one is in the present tense, whatever its tag: "We are
    moving and *need* to sell" (tagged VB); not one after a modal ("I will call and *send*")."""
    head = tok.head
    if tok.tag_ != "VB" or tok.dep_ != "conj" or has_auxiliary(tok):
        return False
    if head.tag_ in ("VBP", "VBZ", "VBD"):
        return True
    # "I was charged twice and *want* ...", "We are moving and *need* ...": not "did call and send"
    auxiliaries = [c for c in head.children if c.dep_ in ("aux", "auxpass")]
    return any(c.tag_ in ("VBP", "VBZ", "VBD") and c.lemma_ != "do" for c in auxiliaries)


def _bare_piece(tok: Token) -> str | None:
    """The contraction piece ``tok`` is when typed glued to a pronoun without its apostrophe ("ve" of
    "ive"), written with it; None for any other token."""
    if tok.i == 0 or tok.lower_ not in _BARE_PIECES:
        return None
    doc, pronoun = tok.doc, tok.doc[tok.i - 1]
    if pronoun.tag_ != "PRP" or pronoun.whitespace_:
        return None
    if tok.lower_ == "d":  # spaCy splits the noun too: "my account id is", "order id is", "what id"
        after = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
        before = doc[pronoun.i - 1] if pronoun.i > 0 else None
        if after is None or after.tag_ not in _AFTER_WOULD:
            return None
        if before is not None and before.tag_ in _NOUN_SIDE:
            return None
    return _BARE_PIECES[tok.lower_]


def _bare_negation(tok: Token) -> bool:
    """``tok`` is the "nt" spaCy splits off an auxiliary typed without its apostrophe ("dont", "cant",
    "isnt"): written "n't", so the retold verb reads "doesn't", not "doesnt"."""
    if tok.i == 0 or tok.lower_ != "nt":
        return False
    verb = tok.doc[tok.i - 1]
    return not verb.whitespace_ and (verb.tag_ == "MD" or verb.pos_ == "AUX")


def _piece_follows(tok: Token) -> bool:
    """A contraction's piece is glued to ``tok``: it is a subject, whatever the parse says ("Id rather")."""
    return tok.i + 1 < len(tok.doc) and _bare_piece(tok.doc[tok.i + 1]) is not None


def _id(tok: Token) -> bool:
    """``tok`` is the "i" spaCy split off the noun "id" ("order id is ..."): no pronoun."""
    glued = tok.i + 1 < len(tok.doc) and not tok.whitespace_
    return glued and tok.lower_ == "i" and tok.doc[tok.i + 1].lower_ == "d"


def _finite_first(tok: Token) -> bool:
    """The verb that agrees: an auxiliary, or a main verb without one ("I *am* moving", "I *need*")."""
    if tok.tag_ not in _FINITE and tok.lower_ not in _SINGULAR and not _coordinated_present(tok):
        return False
    if tok.dep_ in ("aux", "auxpass"):
        return not any(c.dep_ in ("aux", "auxpass") and c.i < tok.i for c in tok.head.children)
    return not has_auxiliary(tok)


@dataclass
class Retelling:
    """One retelling, a token at a time: pronouns moved to ``person``, and the verbs whose subject
    moved made to agree with it (the subject comes first in a statement and in reported order)."""

    person: Person
    who: str
    agree: dict[int, str] = field(default_factory=dict)  # verb index -> "you", "they" or "one" (``who``)
    named: bool = False
    unsaid: dict[int, str] = field(default_factory=dict)  # verb index -> mode, for a subject left out

    def told_before(self, tokens: Doc | Span) -> None:
        """The caller writes the customer's subject before ``tokens`` ("the customer" + "need to sell"
        of "I lost my job and need to sell"): the verbs whose subject is theirs agree with it."""
        first = tokens[0].i if len(tokens) else 0
        last = tokens[-1].i if len(tokens) else 0
        mode = "you" if self.person == "second" else "one"
        for tok in tokens:
            if tok.pos_ not in ("VERB", "AUX") or tok.dep_ in ("aux", "auxpass"):
                continue
            subject = shared_subject(tok)
            heads_the_text = tok.head.i == tok.i or not first <= tok.head.i <= last
            if subject is None:
                if heads_the_text:
                    self.unsaid[tok.i] = mode  # "Was wondering how ...": the customer's "I" left out
            elif subject.i < first and _customers(subject):
                self.agree[subject.head.i] = mode

    def word(self, tok: Token, written: str | None = None, *, finite: bool = False) -> str:
        """``tok`` retold. ``written``: the word it stands as when a reordering changed it ("'s" ->
        "is"); ``finite``: a verb that agrees in place of an auxiliary the reordering dropped ("How
        do I go" -> "how I go")."""
        person, who = self.person, self.who
        if written is None and _bare_negation(tok):
            return "n't"
        piece = _bare_piece(tok) if written is None else None
        word = piece or (tok.text if written is None else written)
        low = word.lower()
        if low in _SUBJECTS and (
            _piece_follows(tok) or (tok.dep_ in ("nsubj", "nsubjpass") and not _id(tok))
        ):
            if person == "second":
                word, self.agree[tok.head.i] = "you", "you"
            elif who and not self.named:
                word, self.agree[tok.head.i], self.named = who, "one", True
            else:
                word, self.agree[tok.head.i] = "they", "they"
        elif low in _SUBJECTS and tok.dep_ == "conj" and tok.head.dep_ in ("nsubj", "nsubjpass"):
            word = "you" if person == "second" else "they"  # "My husband and I" -> "their husband and they"
        elif low in _OBJECTS[person] and tok.tag_ == "PRP":  # "the US" is no "us"
            word = _OBJECTS[person][low]
        elif (
            low in ("my", "our")
            and person == "third"
            and who
            and not self.named
            and tok.head.dep_.startswith("nsubj")
        ):
            word, self.named = f"{who}'s", True  # "My order never arrived" -> "Joseph's order never arrived"
        elif low in _POSSESSIVES[person]:
            word = _POSSESSIVES[person][low]
        elif low == "you":
            # "I want you to cancel it", "I'll let you know": the parse's subject of "cancel" / "know"
            # is the object of "want" / "let"
            before_to = tok.i + 1 < len(tok.doc) and tok.doc[tok.i + 1].tag_ == "TO"
            of_bare = (
                tok.head.tag_ == "VB" and tok.head.dep_ in ("ccomp", "xcomp") and not has_auxiliary(tok.head)
            )
            acts = tok.dep_.startswith("nsubj") and not before_to and not of_bare
            word = "we" if acts or _piece_follows(tok) else "us"
        elif low in _COMPANY:
            word = _COMPANY[low]
        elif piece or finite or _finite_first(tok) or (tok.i in self.unsaid and not has_auxiliary(tok)):
            # A piece's subject is the pronoun it is glued to, whatever the parse made of it ("id like"
            # reads "d" as a noun); it is the verb that agrees, so the verb after it stays as it is.
            subject = tok.doc[tok.i - 1] if piece else _subject(tok)
            customer = subject is not None and _customers(subject)
            if subject is None and low not in _NOT_AFTER_I and tok.tag_ != "VBZ":
                mode = self.unsaid.get(tok.head.i if tok.dep_ in ("aux", "auxpass") else tok.i)
            elif subject is None:
                mode = None  # "all sizes are out of stock" (the parse found no subject): not the customer
            else:
                mode = self.agree.get(subject.head.i) if customer else None
            if piece and subject is not None:
                self.agree.pop(subject.head.i, None)
            if mode in ("you", "they"):
                word = _PLURAL_BE.get(low, word)
            elif mode == "one":
                # "need it asap": the "I" left out, no auxiliary ("would like" stays)
                bare = tok.tag_ == "VB" and tok.i in self.unsaid
                present = finite or tok.tag_ == "VBP" or bare or _coordinated_present(tok)
                word = _SINGULAR.get(low) or (third_singular(word) if present else word)
        return word
