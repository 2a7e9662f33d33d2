"""Whether a clause asks a question: by its form (a question word, or an auxiliary before its subject),
by its place in a sentence that ends in "?" (a statement beside the question states: "*My cart is not
updating*, could you help me?"), and a greeting asked as a question ("How are you?"), which asks nothing.

Read from the clauses of :mod:`graph.language.scope`; the statements reader gives each clause its kind
with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.language.scope import Clause, subject_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from spacy.tokens import Token

# How a purpose hangs from the question it is asked with: "do I need to pay *to activate it*?"
_INNER_DEPS = frozenset({"advcl", "xcomp", "acl", "relcl"})
WH_TAGS = frozenset({"WDT", "WP", "WRB", "WP$"})
_PHATIC_WORDS = 5  # "how are you doing today"
_MODALS_OF_US = frozenset({"can", "could", "would", "will"})


def asks_question(clause: Clause, asked: frozenset[int]) -> bool:
    """A question, with or without its "?": "What are your fees", "can you tell me ...", "is there ...".

    In a sentence ending in "?", a clause that does not ask ("*My cart is not updating*, could you help
    me?") states, unless it is all the sentence has to ask with ("You're open Sunday?") or is coordinated
    with one that asks; ``asked`` holds the tokens of the turn's clauses that ask in form.
    """
    sent = clause.head.sent
    if sent.text.rstrip().endswith("?"):
        if asks_in_form(clause) or not clause.has_verb or not any(sent.start <= i < sent.end for i in asked):
            return True
        if _opens_with_any(clause):
            return True  # "(Is there) any chance you can tell me ...?"
        return _part_of_asking(clause.head, asked)
    words = [t for t in sent if not (t.is_punct or t.pos_ == "INTJ")]
    if not words or words[0].i < clause.tokens[0].i:
        return False  # the question word belongs to an earlier clause of the sentence
    word = asking_word(clause)
    return word is not None and word.pos_ != "ADP"  # "From what I can tell, ..." states


def _part_of_asking(head: Token, asked: frozenset[int]) -> bool:
    """The clause headed by ``head`` is coordinated with one that asks ("Can I go ahead and *get that
    charged* ...?") or is the purpose it asks with ("do I need to pay the balance *to activate it*?")."""
    if head.head.i == head.i or head.head.i not in asked:
        return False
    if head.dep_ == "conj":
        return True
    purpose = head.dep_ in _INNER_DEPS and any(c.tag_ == "TO" for c in head.children)
    return purpose and head.i > head.head.i and not any(t.is_punct for t in head.doc[head.head.i : head.i])


def _opens_with_any(clause: Clause) -> bool:
    first = next((t for t in clause.tokens if not (t.is_punct or t.is_space)), None)
    return first is not None and first.lower_ in ("any", "anything", "anyone", "anybody")


def asks_in_form(clause: Clause) -> bool:
    """Whether the clause opens as a question (:func:`asking_word`)."""
    return asking_word(clause) is not None


def asking_word(clause: Clause) -> Token | None:
    """The word a clause opens its question with: a question word ("what", "how"; "*In* what way"), or
    a modal or an auxiliary before its subject ("can you ...", "is there ..."), after any "so", "and",
    "ok" before them; None when the clause does not open as a question."""
    words = [t for t in clause.tokens if not (t.is_punct or t.pos_ in ("INTJ", "CCONJ") or t.dep_ == "intj")]
    while words and words[0].pos_ == "ADV" and words[0].tag_ != "WRB" and words[0].dep_ == "advmod":
        words = words[1:]  # "So what is my balance", "now can you ..."
    if not words:
        return None
    first = words[0]
    if led_by_preposition(words):
        return first  # "In what way can I change my PIN", "At which ATMs"
    inverted = first.tag_ == "MD" or first.pos_ == "AUX"
    if first.tag_ in WH_TAGS or (
        inverted and len(words) > 1 and words[1].dep_ in ("nsubj", "nsubjpass", "expl")
    ):
        return first
    return None


def led_by_preposition(words: Sequence[Token]) -> bool:
    """A question word led by the preposition it is the object of: "*In* what way", "*At* which ATMs"."""
    return len(words) > 1 and words[0].pos_ == "ADP" and words[1].tag_ in WH_TAGS


def phatic(clause: Clause) -> bool:
    """A greeting asked as a question: "How are you?", "how's it going", "How are you doing today?"."""
    words = [t for t in clause.tokens if not (t.is_punct or t.is_space or t.dep_ == "intj")]
    subject = subject_of(clause.head)
    return (
        bool(words)
        and words[0].lower_ == "how"
        and len(words) <= _PHATIC_WORDS
        and clause.head.lemma_.lower() in ("be", "do", "go")
        and subject is not None
        and subject.lower_ in ("you", "it", "things", "everything")
        and not any(t.pos_ in ("NOUN", "PROPN", "NUM") and t.dep_ != "npadvmod" for t in words)
    )


def asked_of_us(question: str) -> str | None:
    """What a modal question asks us to do: "help me out" of "could you please help me out", "check if
    my refund went through" of "Can you check if ..."; None for any other question."""
    words = question.split()
    if len(words) < 3 or words[0].lower() not in _MODALS_OF_US or words[1].lower() != "you":
        return None
    return " ".join(w for w in words[2:] if w.lower() not in ("please", "pls")) or None
