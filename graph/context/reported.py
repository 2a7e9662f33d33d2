"""A customer's direct question put in reported order and retold: "Why am I still waiting?" ->
"why you are still waiting" (to them) or "why Dana is still waiting" (about them), for the brief's
summary and a bot's promise that an agent will answer it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from graph.context.retelling import Person, Retelling, past_tense, third_singular
from graph.language.pipeline import shared_pipeline
from graph.language.question_form import WH_TAGS, led_by_preposition
from graph.language.scope import has_auxiliary

if TYPE_CHECKING:
    from spacy.tokens import Token

_SUBJECTS = frozenset({"nsubj", "nsubjpass", "expl"})
_FINITE = frozenset({"VBD", "VBZ", "VBP", "MD"})
# Subjects of a statement the customer makes with a question mark: about themselves, or what was said.
_STATED = frozenset({"i", "we", "that", "this", "it", "those", "these"})
_POINTING = frozenset({"it", "that", "this", "they", "them", "these", "those"})
# Verbs a question is asked inside of: "I was wondering if ...", "I'd like to know whether ...".
_ASKING = frozenset({"wonder", "know", "ask", "see", "check"})
_BARE = frozenset({"VB", "VBP"})  # a verb after "do" (tagged as a present one when the parse slips)
_INNER_CLAUSES = frozenset({"ccomp", "advcl", "relcl", "xcomp", "pcomp", "csubj", "acl"})
# A contraction moved away from its word is written out ("what's the fee" -> "what the fee is"); a
# "Whats" typed without the apostrophe is tokenized "What" "s".
_WRITTEN_OUT = {"'s": "is", "s": "is", "'re": "are", "'m": "am", "'ve": "have", "'ll": "will", "'d": "would"}
# A question word alone after a statement asks it of the statement: "..., why?", "..., how come?".
_TAGGED = frozenset({"why", "how come", "how so"})
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


def reported(question: str, person: Person, who: str = "") -> str | None:
    """A direct question in reported order, the customer's pronouns moved to ``person``: "How long does
    it take to sell?" -> "how long it takes to sell", "What are your fees?" -> "what our fees are",
    "Why am I still waiting?" -> "why you are still waiting" (second person) or "why they are still
    waiting" (third; ``who`` names the customer instead), "is there parking?" -> "whether there is
    parking", "Why did I get charged?" -> "why they got charged". ``None`` when the order cannot be
    undone (a past the lemmatizer's forms do not settle).
    Questions joined in one sentence are reported one after the other ("What's the number, and are
    pets allowed?" -> "what the number is and whether pets are allowed"); one that cannot be is left
    out.

    Retold in the question's own parse (the turn's, when the question is part of a turn just parsed),
    its words in their new order: the rewrite is not parsed again.
    """
    text = question.strip().rstrip("?").strip()
    head, _, tail = text.rpartition(",")
    if head.strip() and tail.strip().lower() in _TAGGED:
        # "I was charged extra when I withdrew cash, why?": why of what it follows
        doc = shared_pipeline().parse(f"{tail.strip()} {head.strip()}", entities=False)
        parts = [_Reordered([t for t in doc if not t.is_punct], {}, None, True)]
    else:
        # "Not sure yet, what do you think it's worth": the question starts after the comma
        for part in reversed(text.split(",")):
            first = part.split()[0].lower() if part.split() else ""
            if first in _QUESTION_STARTS:
                text = part.strip()
                break
        doc = shared_pipeline().parse(text, entities=False)  # word order only
        words = _from_question_start([t for t in doc if not (t.is_punct or t.is_space)])
        parts = [order for order in map(_reordered, _questions_in(words)) if order is not None]
        inner = _wondered(words) if not parts else None
        if inner:
            parts = [_Reordered(inner, {}, None, False)]  # "I was wondering if ..." -> "whether ..."
        elif not parts and _declarative(words):
            parts = [_Reordered(words, {}, None, False)]  # "The ATM kept my card?" -> "whether the ATM ..."
    if not parts:
        return None
    telling = Retelling(person, who)  # one customer across the questions: named once
    return " and ".join(_retold(order, telling) for order in parts)


def _retold(order: _Reordered, telling: Retelling) -> str:
    swap: dict[int, str] = {}
    agrees = order.verb.i if order.verb is not None else None  # spaCy makes a new Token per access
    for tok in order.tokens:
        word = telling.word(tok, order.swap.get(tok.i), finite=tok.i == agrees).strip()
        if tok.i in order.swap or word != tok.text:
            swap[tok.i] = word
    told = _joined(order.tokens, swap)
    return told if order.wh else f"whether {told}"


def _from_question_start(words: list[Token]) -> list[Token]:
    """The words from where a question starts in a run-on: "I have my card now *how do I activate it*",
    "After my card expires *what should I do*" (a question word, an auxiliary, its subject); all of them
    when the first word starts it or none does."""
    if not words or words[0].lower_ in _QUESTION_STARTS:
        return words
    if led_by_preposition(words):
        return words  # "In what increments can I ..."
    for k, tok in enumerate(words[1:-1], start=1):
        aux, subject = words[k + 1], words[k + 2] if k + 2 < len(words) else None
        inverted = aux.tag_ == "MD" or aux.pos_ == "AUX"
        starts = (tok.tag_ in WH_TAGS and inverted and subject is not None and subject.dep_ in _SUBJECTS) or (
            tok.tag_ == "MD" and aux.dep_ in _SUBJECTS and aux.pos_ == "PRON"  # "... *can I get a card*"
        )
        if starts:
            # one that points back ("The disposable cards - what are *they* for") needs what it cut
            back = any(t.lower_ in _POINTING for t in words[k:])
            return words if back else words[k:]
    return words


def _declarative(words: list[Token]) -> bool:
    """A statement asked with a question mark, opening with its subject and about us or a thing ("The
    ATM kept my card?", "You're open on Sunday?"); not one about the customer, which they state ("I have
    a disposable card but it does not work?"), nor "that works?", "so if ...", "Your rates come from
    where?", "Explain how ...?"."""
    if not words or any(t.tag_ in WH_TAGS for t in words):
        return False
    subject = next((t for t in words if t.dep_ in _SUBJECTS), None)
    if subject is None or subject.left_edge.i != words[0].i or subject.lower_ in _STATED:
        return False
    verb = subject.head
    return verb.i > subject.i and (verb.tag_ in _FINITE or has_auxiliary(verb))


def _wondered(words: list[Token]) -> list[Token] | None:
    """The question inside "I was wondering if ...", "I want to know whether ...": its words after the
    "if" / "whether" (asked as "whether ..."), or None."""
    for tok in words:
        asks = tok.head.head if tok.head.dep_ == "ccomp" else None
        if (
            tok.lower_ in ("if", "whether")
            and tok.dep_ == "mark"
            and asks is not None
            and asks.lemma_ in _ASKING
        ):
            return [t for t in words if t.i > tok.i]
    return None


def _questions_in(words: list[Token]) -> list[list[Token]]:
    """The words of each question a sentence asks, cut before a conjunction that opens another one
    (a question word, or an auxiliary before its subject: "..., and *are pets* allowed")."""
    parts: list[list[Token]] = [[]]
    for k, tok in enumerate(words):
        after = words[k + 1 : k + 3]
        opens = bool(after) and (
            after[0].tag_ in WH_TAGS
            or (
                after[0].lower_ in _QUESTION_STARTS
                and len(after) > 1
                and after[1].dep_ in ("nsubj", "nsubjpass", "expl")
            )
        )
        if tok.pos_ == "CCONJ" and parts[-1] and opens:
            parts.append([])
        elif tok.pos_ not in ("INTJ", "CCONJ"):
            parts[-1].append(tok)
    return [part for part in parts if part]


class _Reordered(NamedTuple):
    tokens: list[Token]  # the question's words in reported order
    swap: dict[int, str]  # token index -> the word it becomes ("'s" -> "is", "take" -> "takes")
    verb: Token | None  # the verb that agrees in place of a dropped "do"
    wh: bool  # a question word leads (else it becomes "whether ...")


def _reordered(words: list[Token]) -> _Reordered | None:
    """The words of one direct question in reported order (see :func:`reported`)."""
    # a question word leads, or the preposition it is the object of: "in what way can I ..."
    wh = words[0].tag_ in WH_TAGS or led_by_preposition(words)
    aux_at = next(
        (
            i
            for i, t in enumerate(words)
            if t.tag_ == "MD" or t.pos_ == "AUX" or t.lemma_ == "do" or _glued_is(t)
        ),
        None,
    )
    if aux_at is None or (wh and words[0].dep_.startswith("nsubj")):
        # "what happens next", "who handles the closing": already in order
        return _Reordered(words, {}, None, True) if wh else None
    aux = words[aux_at]
    subject = next(
        (t for t in words[aux_at + 1 :] if t.dep_ in ("nsubj", "nsubjpass", "expl") and _asked_of(t, aux)),
        None,
    )
    if subject is None and wh and any(t.dep_ in ("nsubj", "nsubjpass") for t in words[1:aux_at]):
        return _Reordered(words, {}, None, True)  # "where it will land": already in order
    if subject is None or (not wh and aux_at != 0):
        return None
    span = range(subject.left_edge.i, subject.right_edge.i + 1)
    lead = words[:aux_at] if wh else []
    rest = [t for t in words[aux_at + 1 :] if t.i not in span]
    subject_words = [t for t in words if t.i in span]
    if aux.lemma_ == "do":
        if aux.lower_ == "did":
            return _past(lead, subject_words, aux, rest, wh)
        verb = _supported(aux, rest)
        swap = {verb.i: third_singular(verb.text)} if verb is not None and aux.lower_ == "does" else {}
        return _Reordered([*lead, *subject_words, *rest], swap, verb, wh)
    swap = {aux.i: _WRITTEN_OUT[aux.lower_]} if aux.lower_ in _WRITTEN_OUT else {}
    return _Reordered([*lead, *subject_words, aux, *rest], swap, None, wh)


def _past(
    lead: list[Token], subject: list[Token], did: Token, rest: list[Token], wh: bool
) -> _Reordered | None:
    """A "did" question in reported order: "why didn't the store accept ..." -> "why the store didn't
    accept ..."; "why did I get charged" -> "why I got charged" (None when the past is not known)."""
    if rest and rest[0].dep_ == "neg":
        return _Reordered([*lead, *subject, did, *rest], {}, None, wh)
    verb = _supported(did, rest)
    past = past_tense(verb.lemma_) if verb is not None else None
    if verb is None or past is None:
        return None
    return _Reordered([*lead, *subject, *rest], {verb.i: past}, None, wh)


def _asked_of(subject: Token, aux: Token) -> bool:
    """``subject`` is the auxiliary's clause's ("Is outdoor *seating* available"), not an inner
    clause's: in "Was wondering how *I* can change my plan" nothing is asked of "I"."""
    node = subject
    for _ in range(8):  # a question's subject is a step or two below its auxiliary
        if node.i != subject.i and _inner_clause(node):
            return False
        if node.head.i in (aux.i, aux.head.i):
            return True
        if node.head.i == node.i:
            return False
        node = node.head
    return False


def _inner_clause(verb: Token) -> bool:
    """A clause of its own inside the question: introduced ("how I can", "if it is") or with its own
    auxiliary; not the participle a parse hangs on the question's "is" ("Is my new card activated")."""
    if verb.dep_ in ("relcl", "acl"):
        return True  # "is this something I need to configure": the "I" is the relative clause's
    return verb.dep_ in _INNER_CLAUSES and any(
        c.dep_ in ("mark", "aux", "auxpass") or c.tag_ in WH_TAGS for c in verb.children
    )


def _glued_is(tok: Token) -> bool:
    """A bare "s" glued to the word before it: "Whats", "Wheres" typed without the apostrophe."""
    return tok.lower_ == "s" and tok.tag_ == "VBZ" and tok.i > 0 and not tok.doc[tok.i - 1].whitespace_


def _supported(do: Token, rest: Sequence[Token]) -> Token | None:
    """The verb that agrees once the auxiliary "do" is dropped: the first of the verb it supports and
    that verb's other auxiliaries ("do I *have* set", "do I *get* started")."""
    after = {t.i for t in rest}
    group = [do.head, *(c for c in do.head.children if c.dep_ in ("aux", "auxpass"))]
    found = sorted((t for t in group if t.i in after and t.tag_ in _BARE), key=lambda t: t.i)
    return (
        found[0] if found else next((t for t in rest if t.pos_ in ("VERB", "AUX") and t.tag_ in _BARE), None)
    )


def _joined(tokens: Sequence[Token], swap: dict[int, str]) -> str:
    """Tokens in a new order, spaced as written ("it's" stays one word), the first in lower case."""
    out = ""
    for tok in tokens:
        word = swap.get(tok.i, tok.text)
        if tok.i == 0 and tok.pos_ != "PROPN" and not tok.is_upper:
            word = word.lower()  # capitalised only because it started the question
        # glued as the word now written is: "'m" retold "'re" stays on its pronoun, "'s" written out "is"
        # (or retold " is") does not
        glued = word.startswith("'") or word.lower() == "n't"
        word = word.lstrip(" ")
        out += word if not out or glued else " " + word
    return out
