"""Noun phrases a customer uses that a receiver needs: their own name, and what a home must or must
not have, read from the dependency parse of the shared pipeline (:mod:`graph.language.scope` for
negation). Closed classes of words decide (the copula, "call me", "with", verbs of wanting), never a
list of names or features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from graph.language.scope import negated, shared_subject

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

_SELF_SUBJECTS = frozenset({"i", "this", "it", "me"})
# Entity types a proper noun after "I'm" has when it is not the speaker's name ("I'm in Boston").
_NOT_NAMES = frozenset({"GPE", "LOC", "FAC", "DATE", "TIME", "MONEY", "CARDINAL", "NORP"})
# Verbs whose object is a feature wanted ("we want a garage"), and those that want a modal to say so
# ("it must have parking"; "we have two kids" states a fact).
_WANTING = frozenset({"want", "need", "require", "prefer"})
_HAVING = frozenset({"have", "include"})
_MAX_CODE_TOKENS = 3
_MODIFIERS = frozenset({"compound", "amod", "nummod", "punct", "npadvmod"})
# Prepositions of a change's goal ("upgrade *to* Pro", "move us *into* Business") and of its source.
_GOAL_PREPOSITIONS = frozenset({"to", "into"})
_SOURCE_PREPOSITIONS = frozenset({"from"})
# "I'm *on* Basic", "we're *with* the Team plan": where the speaker is.
_PLACE_PREPOSITIONS = frozenset({"on", "with"})
_SPEAKER = frozenset({"i", "we"})
_SPEAKERS_OWN = frozenset({"my", "our"})
# Verbs whose object the speaker has now ("we have the Team plan", "we use Basic").
_HOLDING = frozenset({"have", "use"})
# Names the goal of a change may not be ("talk to Sam", "move to Denver").
_NOT_GOALS = frozenset({"PERSON", "GPE", "LOC", "FAC", "NORP"})

NounRole = Literal["goal", "held", ""]


def noun_phrase(noun: Token, *, codes: bool = False) -> str:
    """A noun with the modifiers just before it, without determiners: "a big garden" -> "big garden".

    ``codes`` also takes a code written after the noun: "error code E42", "error 404".
    """
    start = noun.i
    doc = noun.doc
    while start > 0 and doc[start - 1].dep_ in _MODIFIERS and _under(doc[start - 1], noun):
        start -= 1
    end = noun.i + 1
    # a code is a word or two ("E42", "404"); 4,000 emoji tagged PROPN are no code
    last = min(len(doc), noun.i + 1 + _MAX_CODE_TOKENS)
    while codes and end < last and (doc[end].like_num or doc[end].pos_ in ("PROPN", "X", "NUM")):
        end += 1
    return doc[start:end].text


def _under(tok: Token, noun: Token) -> bool:
    """``tok`` modifies ``noun`` directly or through another modifier ("3-bedroom colonial")."""
    node = tok
    for _ in range(3):
        if node.head.i == noun.i:
            return True
        node = node.head
    return False


def _conjuncts(tok: Token) -> list[Token]:
    found = [tok]
    for child in tok.children:
        if child.dep_ == "conj" and child.pos_ in ("NOUN", "PROPN"):
            found += _conjuncts(child)
    return found


def features(doc: Doc) -> tuple[list[str], list[str]]:
    """Features wanted ("with a pool", "must have parking") and refused ("no ground floor")."""
    wants: list[str] = []
    avoids: list[str] = []
    for tok in doc:
        if tok.pos_ not in ("NOUN", "PROPN") or tok.ent_type_ in ("MONEY", "DATE", "TIME", "CARDINAL"):
            continue
        head = tok.head
        if any(c.dep_ == "det" and c.lower_ == "no" for c in tok.children):
            avoids.append(noun_phrase(tok))
        elif tok.dep_ == "pobj" and head.lower_ == "with":
            target = avoids if negated(tok) else wants
            target.extend(noun_phrase(t) for t in _conjuncts(tok))
            described = head.head
            if described.pos_ in ("NOUN", "PROPN", "ADV"):
                wants.extend(c.text for c in described.children if c.dep_ == "compound" and c.pos_ == "NOUN")
        elif tok.dep_ == "dobj" and _requires(head):
            target = avoids if negated(tok) else wants
            target.extend(noun_phrase(t) for t in _conjuncts(tok))
    return list(dict.fromkeys(wants)), list(dict.fromkeys(avoids))


def _requires(verb: Token) -> bool:
    """ "We want a garage", "it must have parking", "we need to have a yard": a requirement, not a fact."""
    lemma = verb.lemma_.lower()
    if lemma in _WANTING:
        return True
    if lemma not in _HAVING:
        return False
    modal = any(c.tag_ == "MD" for c in verb.children)
    return modal or (verb.dep_ == "xcomp" and verb.head.lemma_.lower() in _WANTING)


def intro_name(doc: Doc) -> str:
    """The name after "I'm", "my name is", "this is", "call me" (the speaker introducing themselves)."""
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        root = ent.root
        while root.dep_ == "compound" and root.head.i != root.i:
            root = root.head  # "This is Ana Silva calling": the name modifies the attribute
        head = root.head
        if (_introduces(head) and root.dep_ == "attr") or (
            head.lemma_ == "call" and any(c.lower_ == "me" for c in head.children)
        ):
            return ent.text
        if ent.start == next((t.i for t in doc if not (t.is_punct or t.pos_ == "INTJ")), -1) and all(
            t.is_punct or t.ent_type_ == "PERSON" or t.pos_ == "INTJ" for t in doc
        ):
            return ent.text  # the name typed on its own
    for tok in doc:  # "I'm Priya", "Call me Bob", "Dana here": the model often tags no person there
        if tok.pos_ != "PROPN" or tok.ent_type_ in _NOT_NAMES or tok.dep_ == "compound":
            continue
        calls = tok.head.lemma_ == "call" and any(c.lower_ == "me" for c in tok.head.children)
        here = tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "here" and tok.i == _first_word(doc)
        if (
            (tok.dep_ == "attr" and _introduces(tok.head))
            or (calls and tok.dep_ in ("npadvmod", "oprd", "dobj"))
            or here
        ):
            first = min([tok.i, *(c.i for c in tok.children if c.dep_ == "compound" and c.pos_ == "PROPN")])
            return doc[first : tok.i + 1].text
    return ""


def _first_word(doc: Doc) -> int:
    return next((t.i for t in doc if not (t.is_punct or t.pos_ == "INTJ")), -1)


def _introduces(verb: Token) -> bool:
    """ "I'm ...", "this is ...", "my name is ...": a copula whose subject is the speaker."""
    if verb.lemma_ != "be":
        return False
    subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    return subject is not None and (
        subject.lower_ in _SELF_SUBJECTS
        or (subject.lemma_ == "name" and any(c.lower_ == "my" for c in subject.children))
    )


def _speaker_subject(verb: Token) -> bool:
    subject = shared_subject(verb)
    return subject is not None and subject.lower_ in _SPEAKER


def noun_role(noun: Token) -> NounRole:
    """Whether a noun names what the customer wants to move to or get ("goal"), what they have now
    ("held"), or neither.

    Read from the parse: the goal of a change is the object of "to"/"into" on a verb ("upgrade to
    *the Enterprise plan*", "switch to *Pro*") or what a verb of wanting takes ("I'd like *the Pro
    plan*"); what the customer has is where they are ("I'm on *Basic*"), the source of a change
    ("upgrade from *Basic*"), what they have or use ("we use *the Starter plan*") or what is theirs
    ("*my Standard plan*"). A negated one ("I'm not on Pro") is neither.
    """
    if negated(noun):
        return ""
    head = noun.head
    if noun.dep_ == "pobj" and head.head.pos_ in ("VERB", "AUX"):
        verb, prep = head.head, head.lower_
        if prep in _GOAL_PREPOSITIONS and verb.lemma_ != "be" and noun.ent_type_ not in _NOT_GOALS:
            return "goal"
        if prep in _SOURCE_PREPOSITIONS and verb.lemma_ != "be":
            return "held"
        if prep in _PLACE_PREPOSITIONS and verb.lemma_ == "be" and _speaker_subject(verb):
            return "held"
    if noun.dep_ == "dobj" and _speaker_subject(head):
        if _requires(head) or head.lemma_.lower() == "like":  # "we want Pro", "I'd like the Pro plan"
            return "goal"
        if head.lemma_.lower() in _HOLDING:
            return "held"
    if any(c.dep_ == "poss" and c.lower_ in _SPEAKERS_OWN for c in noun.children):
        return "held"
    return ""
