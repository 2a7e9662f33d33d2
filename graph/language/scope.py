"""What the dependency parse says about where a cue may be read: clauses, negation scope and places.

Three questions every cue reader asks of a parsed turn:

* which **clause** a word belongs to: "I don't want to wait any more, let me talk to a human" is two
  clauses, and the negation of the first says nothing about the second;
* whether a word is **negated**: a negation ("not", "n't", "never"), a determiner "no" or a governing
  "without" on the word or on a word that governs it within its clause ("I do not want to *speak* to a
  human", "never had a *lawsuit*", "sell without going to *court*"). Negation passes down into a
  complement ("want to speak") and into the nouns a verb takes, not into an adverbial or relative
  clause, nor into a coordinated verb; "Can't I talk to a person?" is a request, not a negation;
* whether a word is part of a **place** or another name: "Courtland Court", "Probate Lane", "12 Lien
  Street", "Smith Legal LLC". The model's entities (``doc.ents``) mark most of them; a street name the
  model misses is a run of proper nouns (or, with a house number, any nouns) ending in a street type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.language.pipeline import shared_pipeline

if TYPE_CHECKING:
    from collections.abc import Iterable

    from spacy.tokens import Doc, Token

# Entity labels whose words name something: a cue word inside one is part of a name, not a cue.
NAME_LABELS = frozenset({"GPE", "LOC", "FAC", "ORG", "PERSON", "NORP", "PRODUCT", "WORK_OF_ART", "EVENT"})
# Street types (USPS suffixes). Those that are also common words ("court", "place") make a street only
# when capitalised or after a house number: "we're going to court" is not an address.
STREET_TYPES = frozenset(
    {"street", "st", "avenue", "ave", "lane", "ln", "road", "rd", "boulevard", "blvd", "drive", "parkway"}
    | {"pkwy", "highway", "hwy", "alley", "crescent", "terrace", "avenida"}
)
AMBIGUOUS_STREET_TYPES = frozenset(
    {"court", "ct", "place", "pl", "way", "circle", "square", "trail", "plaza", "row", "close", "dr", "hill"}
)
# What a name is replaced by before a clause is embedded, so its words cannot pull the clause's meaning.
NEUTRAL_NAMES = {
    "PLACE": "Main Street",
    "GPE": "Springfield",
    "LOC": "Springfield",
    "ORG": "Acme",
    "PERSON": "Sam",
    "NORP": "local",
    "PRODUCT": "Acme",
    "WORK_OF_ART": "Acme",
    "EVENT": "the event",
}

# Relations across which a negation does not reach the dependent (its own clause or a separate verb).
_SCOPE_BARRIERS = frozenset({"advcl", "relcl", "parataxis", "ccomp", "conj", "csubj", "mark", "npadvmod"})
# "I don't think we need a lawyer" denies the complement; "I can't believe he died" does not.
_NEG_RAISING = frozenset({"think", "believe", "expect", "suppose", "imagine", "reckon", "say", "mean"})
_NOMINAL = frozenset({"NOUN", "PROPN", "PRON", "NUM", "ADJ"})
_NEGATING_DETS = frozenset({"no", "neither"})
_NEGATING_WORDS = frozenset({"nobody", "nothing", "none", "nowhere"})
_CLAUSE_DEPS = frozenset({"conj", "parataxis", "advcl"})
_TOPIC_PREPOSITIONS = frozenset({"about", "regarding", "concerning", "re"})
_VERBAL = frozenset({"VERB", "AUX"})
PLEASE = frozenset({"please", "pls", "plz"})  # read as asking, whatever else a turn says


@dataclass(frozen=True)
class Clause:
    """A clause of a turn: its head (main predicate) and its own words, in order.

    Attributes:
        head: The clause's main predicate (or a fragment's root noun).
        tokens: The clause's tokens, excluding those of clauses nested in it.
        start: Character offset of the clause's first word in the turn.
        end: Offset one past its last word (punctuation at either end excluded).
    """

    head: Token
    tokens: tuple[Token, ...]
    start: int
    end: int

    @property
    def text(self) -> str:
        """The clause as written (``turn[start:end]``)."""
        return self.head.doc.text[self.start : self.end]

    def masked_text(self, names: dict[int, str]) -> str:
        """The clause with every named thing replaced by a neutral stand-in (see :func:`masked`)."""
        return masked([t for t in self.tokens if self.start <= t.idx < self.end], names)

    def core_text(self, names: dict[int, str]) -> str | None:
        """The clause without what it is about ("call me back *about this listing*"), None if nothing is.

        What a request is about pulls its embedding toward the topic; the request itself is the rest.
        """
        topics = [t for t in self.tokens if t.dep_ == "prep" and t.lemma_.lower() in _TOPIC_PREPOSITIONS]
        if not topics:
            return None
        dropped = {d.i for t in topics for d in t.subtree}
        return masked(
            [t for t in self.tokens if self.start <= t.idx < self.end and t.i not in dropped], names
        )

    @property
    def has_verb(self) -> bool:
        """False for a fragment such as "A human please" or "Agent!"."""
        return any(t.pos_ in _VERBAL for t in self.tokens)


def masked(tokens: Iterable[Token], names: dict[int, str]) -> str:
    """The words of ``tokens`` with each name (see :func:`names`) replaced by one neutral stand-in."""
    parts: list[str] = []
    previous = ""
    for tok in tokens:
        label = names.get(tok.i)
        word = NEUTRAL_NAMES[label] if label else tok.text
        if not (label and word == previous):  # one stand-in per name, however many words it has
            parts.append(word + tok.whitespace_)
        previous = word if label else ""
    return "".join(parts).strip()


def _is_clause_head(tok: Token) -> bool:
    if tok.dep_ == "ROOT":
        return True
    if tok.pos_ not in _VERBAL:
        return False
    if tok.dep_ == "advcl" and _asked_whether(tok):
        return False  # "check *if my refund went through*": what to check, not a condition
    if tok.dep_ in _CLAUSE_DEPS:
        # a "verb" coordinated with a noun is a mis-tagged noun: "no lien or lawsuit"
        return tok.dep_ != "conj" or tok.head.pos_ in _VERBAL
    # A complement set off from its head by punctuation is a clause of its own: "I don't want to wait
    # any more, let me talk to a human" (the parser hangs "want" under "let"), "my lawyer says this is
    # a breach, I'm desperate".
    if tok.dep_ != "ccomp":
        return False
    between = tok.doc[tok.i : tok.head.i] if tok.i < tok.head.i else tok.doc[tok.head.i : tok.i]
    return any(t.is_punct for t in between)


def _asked_whether(verb: Token) -> bool:
    """An "if" / "whether" clause right after a verb with no object: what is asked or checked ("check
    if my refund went through", "let me know if it ships"), not a condition ("call me if you can")."""
    head = verb.head
    mark = next((c for c in verb.children if c.dep_ == "mark" and c.lower_ in ("if", "whether")), None)
    if mark is None or head.i > verb.i or any(c.dep_ in ("dobj", "dative") for c in head.children):
        return False
    return all(t.dep_ in ("prt", "advmod") for t in verb.doc[head.i + 1 : mark.i])


def _keep_words_whole(doc: Doc, members: dict[int, list[Token]], head_of: dict[int, int]) -> None:
    """A written word is in one clause: the host of a contraction goes with its piece.

    A misparse can hang "I" of "I'll" on the clause before ("in Paris, France and I" as three
    names), so the next clause began at "'ll" and the summary read "... France and I next Thursday".
    """
    for tok in doc[:-1]:
        piece = doc[tok.i + 1]
        if tok.whitespace_ or tok.is_punct or piece.is_punct:
            continue
        here, there = head_of[tok.i], head_of[piece.i]
        if here != there and tok.i != here:  # a clause's own head stays where it is
            members[here].remove(tok)
            members[there] = sorted([*members[there], tok], key=lambda t: t.i)
            head_of[tok.i] = there


def _trailing_to_conjunct(doc: Doc, members: dict[int, list[Token]]) -> None:
    """An adverb after a coordinated clause is that clause's: "I lost my job and need to sell the house
    *fast*" (the parser hangs "fast" on "lost", and the first clause ran over the second)."""
    for head_i, toks in list(members.items()):
        later = [t for t in doc[head_i].children if t.dep_ == "conj" and t.i > head_i and t.i in members]
        if not later:
            continue
        last = later[-1].i
        trailing = [t for t in toks if t.i > last]
        words = [t for t in trailing if not t.is_punct]
        if words and all(t.dep_ == "advmod" for t in words):
            members[head_i] = [t for t in toks if t.i < last]
            members[last] = sorted([*members[last], *trailing], key=lambda t: t.i)


def clauses(doc: Doc) -> list[Clause]:
    """Split a parsed turn into clauses (sentences, then coordinated, adverbial and fronted clauses)."""
    members: dict[int, list[Token]] = {}
    # Each token's clause head, kept for every token a walk passes: a parse can chain thousands of
    # tokens (4,000 emoji did), and walking each one up the whole chain again was quadratic (15 s).
    head_of: dict[int, int] = {}
    for tok in doc:
        node, path = tok, []
        # A token that is its own head is a root whatever its label: spaCy labels the lone token of a
        # whitespace-only text "dep", and the walk up would never end.
        while node.i not in head_of and not _is_clause_head(node) and node.head.i != node.i:
            path.append(node.i)
            node = node.head
        top = head_of.setdefault(node.i, node.i)
        head_of.update(dict.fromkeys(path, top))
        members.setdefault(top, []).append(tok)
    _keep_words_whole(doc, members, head_of)
    _trailing_to_conjunct(doc, members)
    out = []
    for head_i, toks in sorted(members.items(), key=lambda kv: kv[1][0].i):
        words = [t for t in toks if not (t.is_punct or t.is_space or t.dep_ == "cc")]
        if not words:
            continue
        start, last = words[0], words[-1]
        out.append(Clause(doc[head_i], tuple(toks), start.idx, last.idx + len(last.text)))
    return out


def _street_tokens(doc: Doc) -> set[int]:
    """Indices of the words of street names the model did not mark (``12 Lien Street``, ``Grief Lane``)."""
    found: set[int] = set()
    for tok in doc:
        kind = tok.lower_.rstrip(".")
        if kind not in STREET_TYPES and kind not in AMBIGUOUS_STREET_TYPES:
            continue
        parts = [t for t in tok.lefts if t.dep_ in ("compound", "nummod", "amod") and t.i < tok.i]
        numbered = any(t.like_num for t in parts) or (tok.i > 1 and doc[tok.i - 2].like_num)
        named = [t for t in parts if t.dep_ == "compound" or t.pos_ == "PROPN"]
        capitalised = tok.text[:1].isupper() and tok.i > 0 and all(t.text[:1].isupper() for t in named)
        if not named and not numbered:
            continue
        if kind in AMBIGUOUS_STREET_TYPES and not (capitalised or numbered):
            continue
        if kind in STREET_TYPES or capitalised or numbered:
            found.update([tok.i, *(t.i for t in parts)])
    return found


def names(doc: Doc) -> dict[int, str]:
    """Token index -> kind of name it belongs to ("PLACE" for streets, else the entity label).

    Only entities with a capitalised word or a digit count: the small model sometimes tags a lone
    lower-case word ("human") as a name, and a cue word is never hidden on that evidence alone.
    """
    found: dict[int, str] = {}
    for ent in doc.ents:
        if ent.label_ in NAME_LABELS and any(t.text[:1].isupper() or t.like_num for t in ent):
            label = "PLACE" if ent.label_ == "FAC" else ent.label_
            found.update(dict.fromkeys((t.i for t in ent), label))
    found.update(dict.fromkeys(_street_tokens(doc), "PLACE"))
    return found


def subject_of(tok: Token) -> Token | None:
    """The subject of ``tok`` (a verb): its nominal, passive or expletive subject child, if any."""
    return next((c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass", "expl")), None)


# A verb that takes its subject from the verb it hangs on: "We are moving ... and *need* to sell",
# "We got married and *want* to buy" (hung on "married"), "I'm on Basic and want ...".
_SHARES_SUBJECT = frozenset({"conj", "xcomp", "acomp"})


def shared_subject(verb: Token) -> Token | None:
    """The subject of ``verb``: its own, else the one it shares with the verb it is coordinated with
    or complements; None for an imperative ("Call me and send the forms")."""
    for _ in range(8):  # a parse's chain of coordinated verbs is short; a bound keeps a misparse cheap
        subject = subject_of(verb)
        if subject is not None or verb.dep_ not in _SHARES_SUBJECT or verb.head.i == verb.i:
            return subject
        if verb.dep_ == "conj" and not _joined_by_a_conjunction(verb):
            return None  # "I want to visit the bar, help me": a comma starts an imperative
        verb = verb.head
    return None


# How a phrase hangs from the verb it is said of, and how that verb hangs from the sentence's own.
_PHRASE_DEPS = frozenset({"pobj", "prep", "npadvmod", "compound", "nummod", "amod", "det", "quantmod"})
_MAIN_DEPS = frozenset({"xcomp", "conj"})


def said_of_main_verb(text: str, start: int) -> bool:
    """Whether the phrase at character ``start`` of ``text`` is said of its sentence's own verbs ("we
    need to sell *by March*"), not of a clause inside them ("the house I bought *in March*", "before it
    starts *in September*"). Read in the text's shared (cached) parse."""
    span = shared_pipeline().parse(text).char_span(start, start + 1, alignment_mode="expand")
    if span is None:
        return False
    node = span.root
    for _ in range(8):  # bounded walks: a misparse stays cheap
        if node.dep_ not in _PHRASE_DEPS or node.head.i == node.i:
            break
        node = node.head
    if node.pos_ not in ("VERB", "AUX"):
        return False
    for _ in range(8):
        if node.dep_ not in _MAIN_DEPS or node.head.i == node.i:
            break
        node = node.head
    return node.dep_ == "ROOT"


def has_auxiliary(verb: Token) -> bool:
    """The verb has an auxiliary of its own ("have *been* waiting", "*will* call", "*was* charged")."""
    return any(c.dep_ in ("aux", "auxpass") for c in verb.children)


def bare_verb_subject(verb: Token) -> Token | None:
    """The subject a bare verb ("and *need* to sell") shares: none when the shared one could not take
    it ("It will be at 4:15 and *name* it Cleaning" turns to us: "it" would take "names")."""
    subject = shared_subject(verb)
    if subject is None or subject.lower_ in ("i", "we", "you", "they"):
        return subject
    return subject if subject.tag_ in ("NNS", "NNPS") or subject.conjuncts else None


def _joined_by_a_conjunction(verb: Token) -> bool:
    """ "and" / "but" / "or" stands between ``verb`` and the verb it is coordinated with."""
    low, high = sorted((verb.i, verb.head.i))
    # the conjunction of these two verbs, not one inside a name between them ("Grill & Bar")
    return any(c.dep_ == "cc" and low < c.i < high for c in (*verb.head.children, *verb.children))


def in_question(tok: Token) -> bool:
    """The token's sentence ends in a question mark."""
    return tok.sent.text.rstrip().endswith("?")


def _rhetorical(verb: Token, neg: Token) -> bool:
    """ "Can't I talk to a person?", "Why don't you call me?": an inverted question asks, it denies nothing."""
    subject = subject_of(verb)
    return subject is not None and neg.i < subject.i and in_question(verb)


def _negates(node: Token) -> bool:
    nominal = node.pos_ in _NOMINAL and node.pos_ != "ADJ"
    for child in node.children:
        # "I want a human, not a bot": a "not" after a noun denies what follows it, not the noun
        if child.dep_ == "neg" and not _rhetorical(node, child) and not (nominal and child.i > node.i):
            return True
        # "We haven't been pre-approved": the parser may hang the negation on an auxiliary
        if child.dep_ in ("aux", "auxpass") and any(g.dep_ == "neg" for g in child.children):
            return True
        if child.dep_ == "det" and child.lower_ in _NEGATING_DETS:
            return True
        if child.dep_ in ("nsubj", "dobj") and child.lower_ in _NEGATING_WORDS:
            return True
    return node.dep_ in ("pobj", "pcomp") and node.head.lower_ == "without"


def _passes(node: Token) -> bool:
    """Whether a negation on ``node.head`` reaches ``node``."""
    dep = node.dep_
    if dep not in _SCOPE_BARRIERS:
        return True
    if dep == "conj":  # "no lien or lawsuit": a negated noun's conjuncts share it; a second verb does not
        return node.head.pos_ in _NOMINAL and node.pos_ != "AUX"
    if dep == "ccomp":
        head = node.head
        modal = any(c.tag_ == "MD" for c in head.children)
        return head.lemma_ in _NEG_RAISING and not modal
    return False


def negated(tok: Token) -> bool:
    """Whether ``tok`` is in the scope of a negation (see the module docstring)."""
    node = tok
    while True:
        if _negates(node):
            return True
        if node.head.i == node.i or not _passes(node):
            return False
        node = node.head


# Aspect: what says a thing goes on or happens again ("still", "again", "keeps", "three times", "tried").
_ITERATIVE_ADVERBS = frozenset({"still", "again", "already", "anymore", "repeatedly", "constantly"})
_ITERATIVE_VERBS = frozenset({"keep", "try", "attempt"})
_MANY = frozenset({"several", "multiple", "many", "few", "couple", "numerous"})


def iterative(tokens: Iterable[Token]) -> bool:
    """Whether words say something persists or was tried, which a repeated failure needs.

    Aspect is grammar, like negation: a closed class of adverbs ("still", "again", "anymore"), the
    verbs of repetition and attempt ("it keeps failing", "I tried that"), and counted times
    ("three times", "several times").
    """
    for tok in tokens:
        lemma = tok.lemma_.lower()
        if lemma in _ITERATIVE_ADVERBS and tok.pos_ == "ADV":
            return True
        if lemma in _ITERATIVE_VERBS and tok.pos_ == "VERB":
            return True
        if lemma == "time" and any(c.like_num or c.lower_ in _MANY for c in tok.children):
            return True
    return False


def irrealis(clause: Clause) -> bool:
    """A clause about what may or will be done ("I can check again", "let's try again") reports nothing."""
    head = clause.head
    return any(t.tag_ == "MD" for t in clause.tokens) or (head.tag_ == "VB" and head.lemma_ == "let")
