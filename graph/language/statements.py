"""What a customer's clauses state beyond typed values: reasons, requests, wants, who they are.

The language layer (:mod:`graph.language`) reads typed values (places, dates, amounts, names) and cues
(a request for a person, distress, financing). A bot and a brief also need what the customer says about
their situation: why they sell ("we're relocating for a new job"), what they ask for ("sell my house"),
what a home must have ("parking") or must not ("no ground floor", :mod:`graph.language.nouns`), what a
question is about ("fees"), and whether a name is the customer introducing themselves. Each is read
from the dependency parse of the shared pipeline, with :mod:`graph.language.scope` for clauses and
negation, through closed classes of function words (causal subordinators, the copula, "with"), never
a list of reasons or values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from graph.language.asking import asked_action, is_request, request_action
from graph.language.clause_form import ClauseForm, clause_form, finite
from graph.language.cues import read_cues
from graph.language.nouns import features, intro_name, noun_phrase, noun_role
from graph.language.pipeline import shared_pipeline
from graph.language.question_form import asked_of_us, asking_word, asks_in_form, asks_question, phatic
from graph.language.reading import read_turn
from graph.language.revisions import pauses
from graph.language.scope import Clause, clauses, negated, shared_subject
from graph.language.spans import Span
from graph.language.turn_sentiment import compound
from graph.textutil import DigestCache

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

ClauseKind = Literal["question", "request", "reason", "situation", "value", "other", "filler"]

# Subordinators that introduce a cause ("because we're downsizing", "since my job moved") or a result
# ("so the house is too big"): either says why.
_CAUSAL_MARKS = frozenset({"because", "since", "as", "cause", "cuz"})
# Prepositions of cause: "because of a job relocation", "due to the divorce".
_CAUSAL_PREPS = frozenset({"because", "due", "owing"})
_FIRST_PERSON = frozenset({"i", "we", "my", "our", "me", "us"})
# A clause that carries one of these values or cues says what or how, not why; one saying when may
# say why as well ("we're retiring next year", "we're moving in May").
_VALUE_KINDS = frozenset({"address", "money", "id", "email", "phone"})
_PLAN_CUES = frozenset({"financing", "budget"})
# What an elliptical answer's verb may have besides a pronoun subject: a "not", a "yes" or "no", an
# auxiliary, an adverb before it (the parser labels an ID after "is" "punct": only real punctuation counts).
_ELLIPSIS_DEPS = frozenset({"neg", "intj", "advmod", "cc", "aux"})
_CONTENT = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV", "AUX", "PRON", "X", "SYM"})
# Thanks ("thanks!", "thank you so much", "thx"), short approvals ("sounds good", "perfect") and
# apologies ("sorry"): the closed classes of words that acknowledge, and the verbs an approval links with.
_GRATITUDE = frozenset({"thank", "thanks", "thx", "ty", "cheers", "appreciate"})
_LINKING = frozenset({"be", "sound", "seem", "look"})
_APOLOGY = frozenset({"sorry", "apologies", "oops", "oh"})
_APPROVAL_WORDS = 3
APPROVAL_VALENCE = 0.3  # VADER's compound score at or above which a short verbless clause approves


@dataclass(frozen=True, slots=True)
class Said:
    """One clause of a turn and what it does.

    Attributes:
        kind: A question, a request, a reason (why), a situation (a statement about the customer), a
            value (a copula naming a typed value: "my email is ..."), filler ("Hi", "Thanks!"), or other.
        text: The clause as written, without a leading subordinator ("because").
        start: Character offset of ``text`` in the turn.
        end: Offset one past its last character.
        lemmas: Lower-case lemmas of the clause's words.
        form: A clause without a subject: "imperative" ("Tell me my alarms"), "gerund" ("Looking to
            sell our condo"), "predicate" ("was wondering how ..."), "fragment" (no verb: "A 2 bed
            condo") or "phrase" (a fragment that starts with a preposition: "in new york", "for four
            days", an answer to a question); "" for a clause with one.
    """

    kind: ClauseKind
    text: str
    start: int
    end: int
    lemmas: frozenset[str] = frozenset()
    form: ClauseForm = ""


@dataclass(frozen=True, slots=True)
class Statements:
    """What one customer turn states, read once per text.

    Attributes:
        said: The turn's clauses, in order.
        reasons: Why the customer wants what they ask: a reason they give ("because we're downsizing"),
            else, in a turn that asks for something, their situation beside it ("I'd like to sell,
            *we're relocating for a new job*"); never a clause that only states a value, financing or
            a timeline.
        intro_name: The name the customer introduces themselves with ("I'm Dana"), else "".
        action: What the turn's first request asks to do ("sell my house at 12 Oak Street"), else "".
        asked_action: What the turn's first question asks us to do ("Can you help me find an
            apartment?" -> "help me find an apartment"), else "".
        wants: Features the customer wants ("pool", "parking").
        avoids: Features the customer does not want ("ground floor").
        nouns: Every noun phrase head, as ``(lemma, phrase)``: ``("plan", "Standard plan")``,
            ``("user", "25 users")``, ``("code", "error code E42")``.
        goals: The nouns that name what the customer wants to move to or get ("upgrade to *the
            Enterprise plan*", "I'd like *the Pro plan*"), as in ``nouns``.
        held: The nouns that name what the customer has now ("I'm on *the Basic plan*", "*my
            Standard plan*", "upgrade from *Basic*"), as in ``nouns``.
        topics: The noun phrases the turn's questions are about ("fees", "parking").
        topic_words: Lemmas of the content words of the turn's questions.
    """

    said: tuple[Said, ...] = ()
    reasons: tuple[Said, ...] = ()
    intro_name: str = ""
    action: str = ""
    asked_action: str = ""
    wants: tuple[str, ...] = ()
    avoids: tuple[str, ...] = ()
    nouns: tuple[tuple[str, str], ...] = ()
    goals: tuple[tuple[str, str], ...] = ()
    held: tuple[tuple[str, str], ...] = ()
    topics: tuple[str, ...] = ()
    topic_words: frozenset[str] = frozenset()

    def of_kind(self, *kinds: ClauseKind) -> list[Said]:
        """The clauses of the given kinds, in order."""
        return [s for s in self.said if s.kind in kinds]

    @property
    def asks(self) -> bool:
        """True when the turn asks a question."""
        return any(s.kind == "question" for s in self.said)


_CACHE: DigestCache[Statements] = DigestCache(8192)


def read_statements(text: str) -> Statements:
    """What ``text`` states (see :class:`Statements`), parsed once and cached by a digest of the text."""
    return _CACHE.get_or_compute(text, _read)


def _cause(clause: Clause) -> tuple[int, int] | None:
    """The span of a causal clause without its subordinator, or of the object of "because of"."""
    head = clause.head
    mark = next((c for c in head.children if c.dep_ == "mark" and c.lower_ in _CAUSAL_MARKS), None)
    if head.dep_ == "advcl" and mark is not None:
        # from after the subordinator ("just because I ..." kept "because" inside the span), and the
        # "and" of a clause coordinated after it hangs on this one's head: not a word of it
        words = [t for t in clause.tokens if t.i > mark.i and not t.is_punct and t.dep_ != "cc"]
        return (words[0].idx, words[-1].idx + len(words[-1].text)) if words else None
    # "My job is moving me to Denver, so we have to sell": the clause before "so" is the reason
    if any(
        c.dep_ == "advcl" and any(m.lower_ == "so" for m in c.children if m.dep_ == "mark")
        for c in head.children
    ):
        return clause.start, clause.end
    for tok in clause.tokens:
        if tok.lemma_.lower() in _CAUSAL_PREPS and tok.dep_ in ("prep", "mark", "advmod"):
            objects = [g for c in tok.children for g in (c, *c.children) if g.dep_ == "pobj"]
            if objects:
                obj = objects[0]
                first = tok.doc[obj.left_edge.i]
                last = tok.doc[obj.right_edge.i]
                return first.idx, last.idx + len(last.text)
    return None


def _names_a_value(clause: Clause, spans: list[tuple[int, int]]) -> bool:
    """A copula that names a typed value ("my email is ...", "it's 88231") or introduces the speaker,
    or a fragment that is only values ("88231", "next spring", "$2M")."""
    inside = [any(s <= t.idx < e for s, e in spans) for t in clause.tokens if t.pos_ in _CONTENT]
    if not clause.has_verb and inside and all(inside):
        return True
    head = clause.head
    if head.lemma_ != "be":
        return False
    attrs = [c for c in head.children if c.dep_ in ("attr", "acomp")]
    return any(any(s <= a.idx < e for s, e in spans) for a in attrs) or any(
        a.ent_type_ == "PERSON" for a in attrs
    )


def _acknowledges(clause: Clause) -> bool:
    """Thanks, a short approval or an apology: "thanks!", "thank you for your help", "sounds good",
    "perfect", "sorry"."""
    if clause.head.lemma_.lower() in _GRATITUDE or clause.head.lower_ in _GRATITUDE:
        return True
    words = [t for t in clause.tokens if not (t.is_punct or t.is_space)]
    return (
        len(words) <= _APPROVAL_WORDS
        and not any(t.pos_ in ("NOUN", "PROPN", "NUM") and t.dep_ != "npadvmod" for t in words)
        and all(t.lemma_.lower() in _LINKING for t in words if t.pos_ in ("VERB", "AUX"))
        and (
            compound(clause.text) >= APPROVAL_VALENCE
            or any(t.lower_ in _APOLOGY for t in words)  # "sorry", "oops, my bad"
        )
    )


def _elliptical(clause: Clause) -> bool:
    """An answer that leaves its verb to the question: "No, I don't", "Yes I can", "I will"."""
    head = clause.head
    if head.pos_ != "AUX" and head.lemma_.lower() not in ("do", "be", "have"):
        return False
    return all(
        c.is_punct
        or (c.dep_ == "nsubj" and c.pos_ == "PRON")  # "the apartment furnished?" says what it asks
        or (c.dep_ in _ELLIPSIS_DEPS and (c.dep_ != "advmod" or c.i < head.i))
        for c in head.children
    )


def _kind(
    clause: Clause, spans: list[tuple[int, int]], form: ClauseForm, asked: frozenset[int]
) -> ClauseKind:
    if (
        not any(t.pos_ in _CONTENT for t in clause.tokens)
        or _acknowledges(clause)
        or pauses(clause.head)
        or phatic(clause)
    ):
        return "filler"  # "ok thanks", "Hold on," before a correction, "How are you?"
    if _temporal_or_conditional(clause):
        return "other"  # "when I signed up", "before you go": when or on what condition, not what
    if asks_question(clause, asked):
        return "question"
    if _elliptical(clause):
        return "filler"
    if _cause(clause) is not None:
        return "reason"
    if _names_a_value(clause, spans):
        return "value"
    if form == "phrase":
        return "other"  # "for a Guess jacket", "for four days": the answer to a question, no request
    if (is_request(clause) and not negated(clause.head)) or _intends(clause.head):
        return "request"
    # "We listed our house and *haven't had a single offer*": the subject the verbs share
    subject = shared_subject(clause.head) if finite(clause.head) else None
    if clause.has_verb and subject is not None and (subject.pos_ != "PRON" or _first_person(subject)):
        return "situation"
    return "other"


def _past_greeting(clause: Clause) -> int:
    """Where a clause's statement starts: after an opening interjection ("hi my order hasn't arrived"
    states that the order has not arrived, "Sorry to trouble you, please play it" asks to play it,
    though the parse hangs "Sorry" on "play"); a clause of nothing else keeps its start."""
    tokens = clause.tokens
    i = 0
    while i < len(tokens) and (
        tokens[i].dep_ == "intj" or tokens[i].pos_ == "INTJ" or tokens[i].is_punct or tokens[i].is_space
    ):
        i += 1
    return tokens[i].idx if 0 < i < len(tokens) else clause.start


def _first_person(subject: Token | None) -> bool:
    if subject is None:
        return False
    return subject.lower_ in _FIRST_PERSON or any(c.lower_ in _FIRST_PERSON for c in subject.children)


def _intends(head: Token) -> bool:
    """ "Looking to sell our condo", "We're hoping to buy": a verb with a verbal complement, said by us;
    and "(we) are looking for a 3 bedroom": seeking something."""
    subject = shared_subject(head)
    has_plan = any(c.dep_ == "xcomp" and c.pos_ == "VERB" for c in head.children)
    seeks = head.lemma_ == "look" and any(c.dep_ == "prep" and c.lower_ == "for" for c in head.children)
    return (has_plan or seeks) and (subject is None or subject.lower_ in _FIRST_PERSON)


def _topics(doc: Doc, questions: list[Clause]) -> tuple[list[str], set[str]]:
    phrases: list[str] = []
    lemmas: set[str] = set()
    for clause in questions:
        members = {t.i for t in clause.tokens}
        for chunk in doc.noun_chunks:
            if chunk.root.i not in members or chunk.root.pos_ == "PRON" or chunk.root.tag_ in ("WP", "WDT"):
                continue
            words = [t for t in chunk if t.pos_ not in ("DET", "PRON") and t.tag_ != "PRP$"]
            if words:
                # "Total cost?" is capitalised for the sentence, not for the word
                lead = (
                    words[0].lower_ if words[0].is_sent_start and words[0].pos_ != "PROPN" else words[0].text
                )
                phrases.append(" ".join([lead, *(t.text for t in words[1:])]))
        lemmas.update(
            t.lemma_.lower()
            for t in clause.tokens
            if t.pos_ in ("NOUN", "VERB", "ADJ", "ADV", "PROPN") and t.is_alpha
        )
    return phrases, lemmas


def _temporal_or_conditional(clause: Clause) -> bool:
    """A subordinate clause whose subordinator is not causal ("while I'm there", "when I get there",
    "if the payment is correct"): it says when or on what condition, never why."""
    head = clause.head
    return head.dep_ == "advcl" and any(
        (c.dep_ == "mark" and c.lower_ not in _CAUSAL_MARKS)
        or (c.dep_ == "advmod" and c.tag_ == "WRB" and c.lower_ not in ("why", "how"))  # "so why didn't it"
        for c in head.children
    )


def _asks_us(said: Said) -> bool:
    """A question that asks us to do something: "could you help me out", "can you reset it"."""
    return said.kind == "question" and asked_of_us(said.text) is not None


def _reasons(text: str, said: list[Said], spans: list[Span]) -> tuple[Said, ...]:
    reasons = [s for s in said if s.kind == "reason"]
    # a goal stated ("I'd like to sell", or "Selling." in reply to "buying or selling?", or "could you
    # help me out?") with a situation
    stated = any(s.kind == "request" or s.form == "gerund" for s in said)
    if reasons or not (stated or any(_asks_us(s) for s in said)):
        return tuple(reasons)
    taken = [(s.start, s.end) for s in spans if s.kind in _VALUE_KINDS]
    taken += [(c.start, c.end) for c in read_cues(text).cues if c.kind in _PLAN_CUES]
    return tuple(
        s
        for s in said
        # a clause whose subject is another's ("... and haven't had an offer") reads as no reason alone
        if s.kind == "situation"
        and s.form != "predicate"
        and not any(s.start < e and b < s.end for b, e in taken)
        # beside a question, what the customer says of themselves ("*my cart* is not updating, could
        # you help?"), not a remark ("Shared ride is fine", "either way works")
        and (stated or bool(s.lemmas & _FIRST_PERSON))
    )


def _read(text: str) -> Statements:
    doc = shared_pipeline().parse(text)
    typed = read_turn(text).spans
    spans = [(s.start, s.end) for s in typed]
    said: list[Said] = []
    requests: list[Clause] = []
    questions: list[Clause] = []
    causes: list[Said] = []  # the clauses that may give a reason: not one that says when or on what condition
    intro = intro_name(doc)
    found = clauses(doc)
    # the clauses that ask in form ("when I made a withdrawal" says when, it does not ask)
    asked = frozenset(
        t.i for c in found if asks_in_form(c) and not _temporal_or_conditional(c) for t in c.tokens
    )
    for clause in found:
        form = clause_form(clause)
        kind = _kind(clause, spans, form, asked)
        introducing = clause.head.lemma_ in ("be", "call") or clause.head.pos_ == "PROPN"
        if intro and intro in clause.text and introducing and kind in ("request", "other", "situation"):
            kind = "value"  # "Call me Bob", "This is Ana calling": an introduction, not a request
        start, end = (_cause(clause) if kind == "reason" else None) or (_past_greeting(clause), clause.end)
        if kind == "question" and (word := asking_word(clause)) is not None:
            start = word.idx  # "so can I reactivate it" asks "can I reactivate it"
        words = frozenset(t.lemma_.lower() for t in clause.tokens if not t.is_punct)
        said.append(Said(kind, text[start:end], start, end, words, form))
        if not _temporal_or_conditional(clause):
            causes.append(said[-1])
        if kind == "request":
            requests.append(clause)
        elif kind == "question":
            questions.append(clause)
    wants, avoids = features(doc)
    heads = [t for t in doc if t.pos_ in ("NOUN", "PROPN") and t.dep_ != "compound"]
    nouns = tuple((t.lemma_.lower(), noun_phrase(t, codes=True)) for t in heads)
    roles = [noun_role(t) for t in heads]
    topics, asked_words = _topics(doc, questions)
    return Statements(
        said=tuple(said),
        reasons=_reasons(text, causes, list(typed)),
        intro_name=intro,
        action=next((a for a in map(request_action, requests) if a), ""),
        asked_action=next((a for a in map(asked_action, questions) if a), ""),
        wants=tuple(wants),
        avoids=tuple(avoids),
        nouns=nouns,
        goals=tuple(n for n, role in zip(nouns, roles, strict=True) if role == "goal"),
        held=tuple(n for n, role in zip(nouns, roles, strict=True) if role == "held"),
        topics=tuple(dict.fromkeys(topics)),
        topic_words=frozenset(asked_words),
    )
