"""Prose for briefs: the customer's own words retold, in the third person for a summary and in the
second person for the receiver's openers, read from the dependency parse (never quoted whole).

"I'd like to sell my house at 12 Oak Street" becomes "Dana Whitfield would like to sell their house at
12 Oak Street" in a summary and "you'd like to sell your house at 12 Oak Street" in an opener. The
customer's "you" (the company) becomes "we"/"us". Only pronouns, the verbs they govern and leading
fillers ("Honestly", "Hi") change; every other word is the customer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple

from graph.context.models import Fact
from graph.language.pipeline import shared_pipeline
from graph.language.prototypes import SEEDS
from graph.language.scope import PLEASE
from graph.language.statements import Said, read_statements
from graph.textutil import DigestCache
from graph.transcript import Turn

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
_EXPANDED = {"'s": "is", "'re": "are", "'m": "am", "'ve": "have", "'ll": "will", "'d": "would"}
_PLURAL_BE = {"am": "are", "'m": "'re", "m": "'re", "was": "were"}
_SINGULAR = {"am": "is", "'m": " is", "m": " is", "are": "is", "'re": " is", "were": "was"}
_SINGULAR |= {"have": "has", "'ve": " has", "do": "does", "'d": " would", "'ll": " will"}
_FINITE = frozenset({"VBP", "VBZ", "VBD", "MD"})
_BARE = frozenset({"VB", "VBP"})  # a verb after "do" (tagged as a present one when the parse slips)
_SIBILANT = ("s", "sh", "ch", "x", "z", "o")
_LEADING = frozenset({"INTJ", "PUNCT", "CCONJ"})
# Verbs of conversing: "talk to a human" asked of us means the customer wants to talk to one of our
# people, not that we should ("speak with my husband" is still ours to do).
_CONVERSE = frozenset({"talk", "speak", "chat"})
_SOFTENERS = PLEASE | {"just", "kindly"}
_CACHE: DigestCache[tuple[str, bool]] = DigestCache(8192)
# Modals that open a request put as a question ("Can you send ...", "Could I see ...").
_REQUESTING = frozenset({"can", "could", "would", "will", "may"})
# After a request with a verb: a question, a bare request ("A 2 bed condo"), then any statement.
_GOAL_KINDS = (("question",), ("request",), ("situation", "reason", "value", "other"))
# First words of a direct question: a question word, an auxiliary or a modal.
_QUESTION_STARTS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "am",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "shall",
        "may",
        "might",
        "have",
        "has",
    ]
)


def _third_singular(verb: str) -> str:
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


def _subject(tok: Token) -> Token | None:
    """The subject a finite verb or auxiliary agrees with: the customer's "I" / "we" where the parse
    gives the verb two ("which ATMs am I allowed to ..." reads "ATMs" as a subject too)."""
    verb = tok.head if tok.dep_ in ("aux", "auxpass") else tok
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    return next((c for c in subjects if c.lower_ in _SUBJECTS), subjects[0] if subjects else None)


def _finite_first(tok: Token) -> bool:
    """The verb that agrees: an auxiliary, or a main verb without one ("I *am* moving", "I *need*")."""
    if tok.tag_ not in _FINITE and tok.lower_ not in _SINGULAR:
        return False
    if tok.dep_ in ("aux", "auxpass"):
        return not any(c.dep_ in ("aux", "auxpass") and c.i < tok.i for c in tok.head.children)
    return not any(c.dep_ in ("aux", "auxpass") for c in tok.children)


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


def _retell(text: str, person: Person, who: str, source: str | None = None, at: int = 0) -> tuple[str, bool]:
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
    telling = _Retelling(person, who)
    pieces: list[str] = []
    for tok in doc[start:]:
        word = telling.word(tok)
        if word.startswith(" ") and pieces and pieces[-1].endswith(" "):
            word = word[1:]
        elif word[:1].isalpha() and pieces and pieces[-1][-1:].isalpha() and word != tok.text:
            word = " " + word  # "I" "'m" -> "Dana" " is"
        pieces.append(word + tok.whitespace_)
    return "".join(pieces).strip(), telling.named


@dataclass
class _Retelling:
    """One retelling, a token at a time: pronouns moved to ``person``, and the verbs whose subject
    moved made to agree with it (the subject comes first in a statement and in reported order)."""

    person: Person
    who: str
    agree: dict[int, str] = field(default_factory=dict)  # verb index -> "you", "they" or "one" (``who``)
    named: bool = False

    def word(self, tok: Token, written: str | None = None, *, finite: bool = False) -> str:
        """``tok`` retold. ``written``: the word it stands as when a reordering changed it ("'s" ->
        "is"); ``finite``: a verb that agrees in place of an auxiliary the reordering dropped ("How
        do I go" -> "how I go")."""
        person, who = self.person, self.who
        word = tok.text if written is None else written
        low = word.lower()
        if low in _SUBJECTS and tok.dep_ in ("nsubj", "nsubjpass"):
            if person == "second":
                word, self.agree[tok.head.i] = "you", "you"
            elif who and not self.named:
                word, self.agree[tok.head.i], self.named = who, "one", True
            else:
                word, self.agree[tok.head.i] = "they", "they"
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
            word = "we" if tok.dep_.startswith("nsubj") else "us"
        elif low in _COMPANY:
            word = _COMPANY[low]
        elif finite or _finite_first(tok):
            subject = _subject(tok)
            customer = subject is not None and subject.lower_ in _SUBJECTS
            mode = self.agree.get(subject.head.i) if subject is not None and customer else None
            if mode in ("you", "they"):
                word = _PLURAL_BE.get(low, word)
            elif mode == "one":
                present = finite or tok.tag_ == "VBP"
                word = _SINGULAR.get(low) or (_third_singular(word) if present else word)
        return word


def retell(
    text: str, person: Person, who: str = "", *, source: str | None = None, at: int = 0
) -> tuple[str, bool]:
    """``text`` (the customer's words) with their pronouns moved to ``person``.

    Args:
        text: A clause or sentence the customer wrote.
        person: "second" (to the customer: "you", "your") or "third" (about them: "they", "their").
        who: In the third person, the name the first "I"/"we" (or "my"/"our" subject) becomes.
        source: The turn or sentence ``text`` was read from (``source[at:]`` starts with it): the
            clause is retold from that parse instead of being parsed alone.
        at: Character offset of ``text`` in ``source``.

    Returns:
        The retold text, and whether ``who`` took the place of the customer's subject.
    """
    if source is None:
        return _CACHE.get_or_compute(text, lambda t: _retell(t, person, who), salt=f"{person}:{who}")
    salt = f"{person}:{who}:{at}:{len(text)}"
    return _CACHE.get_or_compute(source, lambda src: _retell(text, person, who, src, at), salt=salt)


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
    for found in (requests, *([s for s in said if s.kind in kinds] for kinds in _GOAL_KINDS)):
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
    return retell_said(said, sentence, person, subject)


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
    text, named = retell(said.text, person, who, source=source, at=said.start)
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
    if told:
        return f"you asked {told}" if person == "second" else f"{subject} asks {told}"
    about = listing(list(topics[:2]))
    if person == "second":
        return f"you asked about {about}" if about else "you have a question"
    return f"{subject} asks about {about}" if about else f"{subject} has a question"


def reported(question: str, person: Person, who: str = "") -> str | None:
    """A direct question in reported order, the customer's pronouns moved to ``person``: "How long does
    it take to sell?" -> "how long it takes to sell", "What are your fees?" -> "what our fees are",
    "Why am I still waiting?" -> "why you are still waiting" (second person) or "why they are still
    waiting" (third; ``who`` names the customer instead), "is there parking?" -> "whether there is
    parking". ``None`` when the order cannot be undone without a past-tense form ("did it ...").

    Retold in the question's own parse (the turn's, when the question is part of a turn just parsed),
    its words in their new order: the rewrite is not parsed again.
    """
    order = _reordered(question)
    if order is None:
        return None
    telling = _Retelling(person, who)
    swap: dict[int, str] = {}
    agrees = order.verb.i if order.verb is not None else None  # spaCy makes a new Token per access
    for tok in order.tokens:
        word = telling.word(tok, order.swap.get(tok.i), finite=tok.i == agrees).strip()
        if tok.i in order.swap or word != tok.text:
            swap[tok.i] = word
    told = _joined(order.tokens, swap)
    return told if order.wh else f"whether {told}"


class _Reordered(NamedTuple):
    tokens: list[Token]  # the question's words in reported order
    swap: dict[int, str]  # token index -> the word it becomes ("'s" -> "is", "take" -> "takes")
    verb: Token | None  # the verb that agrees in place of a dropped "do"
    wh: bool  # a question word leads (else it becomes "whether ...")


def _reordered(question: str) -> _Reordered | None:
    """The words of a direct question in reported order (see :func:`reported`)."""
    text = question.strip().rstrip("?").strip()
    # "Not sure yet, what do you think it's worth": the question starts after the comma
    for part in reversed(text.split(",")):
        first = part.split()[0].lower() if part.split() else ""
        if first in _QUESTION_STARTS:
            text = part.strip()
            break
    doc = shared_pipeline().parse(text, entities=False)  # word order only
    words = [t for t in doc if not (t.is_punct or t.pos_ in ("INTJ", "CCONJ"))]
    if not words:
        return None
    wh = words[0].tag_ in ("WDT", "WP", "WRB", "WP$")
    aux_at = next(
        (i for i, t in enumerate(words) if t.tag_ == "MD" or t.pos_ == "AUX" or t.lemma_ == "do"), None
    )
    if aux_at is None or (wh and words[0].dep_.startswith("nsubj")):
        # "what happens next", "who handles the closing": already in order
        return _Reordered(words, {}, None, True) if wh else None
    aux = words[aux_at]
    subject = next((t for t in words[aux_at + 1 :] if t.dep_ in ("nsubj", "nsubjpass", "expl")), None)
    if subject is None or (not wh and aux_at != 0):
        return None
    span = range(subject.left_edge.i, subject.right_edge.i + 1)
    lead = words[:aux_at] if wh else []
    rest = [t for t in words[aux_at + 1 :] if t.i not in span]
    subject_words = [t for t in words if t.i in span]
    if aux.lemma_ == "do":
        if aux.lower_ == "did":
            return None
        verb = _supported(aux, rest)
        swap = {verb.i: _third_singular(verb.text)} if verb is not None and aux.lower_ == "does" else {}
        return _Reordered([*lead, *subject_words, *rest], swap, verb, wh)
    # "what's the fee" -> "what the fee is": a contraction moved away is written out
    swap = {aux.i: _EXPANDED[aux.lower_]} if aux.lower_ in _EXPANDED else {}
    return _Reordered([*lead, *subject_words, aux, *rest], swap, None, wh)


def _supported(do: Token, rest: Sequence[Token]) -> Token | None:
    """The verb that agrees once the auxiliary "do" is dropped: the first of the verb it supports and
    that verb's other auxiliaries ("do I *have* set", "do I *get* started")."""
    after = {t.i for t in rest}
    group = [do.head, *(c for c in do.head.children if c.dep_ in ("aux", "auxpass"))]
    found = sorted((t for t in group if t.i in after and t.tag_ in _BARE), key=lambda t: t.i)
    return (
        found[0] if found else next((t for t in rest if t.pos_ in ("VERB", "AUX") and t.tag_ in _BARE), None)
    )


def _joined(tokens: Sequence[Token], swap: dict[int, str] | None = None) -> str:
    """Tokens in a new order, spaced as written ("it's" stays one word), the first in lower case."""
    swap = swap or {}
    out = ""
    for tok in tokens:
        word = swap.get(tok.i, tok.text)
        if tok.i == 0 and tok.pos_ != "PROPN" and not tok.is_upper:
            word = word.lower()  # capitalised only because it started the question
        glued = (tok.text.startswith("'") or tok.lower_ == "n't") and tok.i not in swap
        out += word if not out or glued else " " + word
    return out


def lower_first(text: str) -> str:
    """``text`` with its first letter in lower case, unless the word is a name or an acronym."""
    return text[:1].lower() + text[1:] if text[1:2].islower() or text[1:2] == " " else text
