"""Names and typed noun phrases: values the entity model has no label for.

Two constructions of English carry them. A name is given with a naming verb or noun: "an alarm called
music practice", "Title it Cleaning", "in the name Phone home". A kind of thing is a noun phrase whose
modifier classifies its head: "my checking account", "Rock songs", "the kitchen speaker", "premium
economy". Only noun modifiers (and capitalised adjectives, "a Standard car") count: an adjective in
lower case is as often an opinion ("nice movies") as a kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.language.questions import ID_HEADS, NOUN_KINDS
from graph.language.spans import Span

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

_NAMING_VERBS = {"call", "name", "title", "label"}
_NAMING_NOUNS = {"name", "title", "label"}
_STOP_AFTER = {"CCONJ", "ADP", "AUX", "PUNCT", "SCONJ"}
MAX_NAME_TOKENS = 5


def _name_from(doc: Doc, start: int) -> tuple[int, int] | None:
    """Tokens from ``start`` up to a conjunction, preposition or punctuation (at most five)."""
    while start < len(doc) and (doc[start].pos_ == "DET" or doc[start].lower_ in ("as", "it")):
        start += 1
    if start > 0 and doc[start - 1].pos_ == "DET":  # "calling the (new) alarm Grocery run": the thing
        thing = start  # named, then its name
        while thing < len(doc) and doc[thing].pos_ == "ADJ":
            thing += 1
        if thing + 1 < len(doc) and doc[thing].pos_ == "NOUN":
            start = thing + 1
    end = start
    while end < len(doc) and end - start < MAX_NAME_TOKENS and doc[end].pos_ not in _STOP_AFTER:
        if doc[end].lower_ == "please" or (end > start and doc[end].pos_ == "PRON"):
            break
        end += 1
    if end < len(doc) and doc[end].pos_ == "ADP" and end + 1 < len(doc) and doc[end + 1].pos_ == "NOUN":
        end += 2  # "Leave for home": a short prepositional tail belongs to the name
    return (start, end) if end > start else None


def naming_spans(doc: Doc) -> list[Span]:
    """Names given with a naming word: "called X", "named X", "titled X", "Title it X", "the name X"."""
    found: list[Span] = []
    for token in doc:
        lemma = token.lemma_.lower()
        start: int | None = None
        if lemma in _NAMING_VERBS and token.pos_ == "VERB":
            # "called X", "named X"; "Title it X", "calling the alarm X": not "Title company released".
            after = doc[token.i + 1] if token.i + 1 < len(doc) else None
            objected = after is not None and (after.lower_ in ("it", "this", "that") or after.pos_ == "DET")
            start = token.i + 1 if token.tag_ == "VBN" or objected else None
        elif lemma in _NAMING_NOUNS and token.pos_ == "NOUN" and token.i + 1 < len(doc) and token.i > 0:
            if doc[token.i - 1].pos_ not in ("DET", "ADP") or not doc[token.i + 1].is_title:
                continue  # "in the name Phone home", "with name Cooking"; "the title company" names nothing
            follows = doc[token.i + 1].pos_ not in ("ADP", "PUNCT", "AUX", "CCONJ")
            start = token.i + 1 if follows else None  # "in the name Phone home", "with name Cooking"
        if start is None:
            continue
        where = _name_from(doc, start)
        if where is None:
            continue
        first, last = doc[where[0]], doc[where[1] - 1]
        if first.pos_ in ("PRON", "NUM") or first.like_num:
            continue
        owner = _named_thing(token, where[0])
        key = f"{owner}_name" if owner else "name"
        end_char = last.idx + len(last.text)
        found.append(Span("product", first.idx, end_char, doc.text[first.idx : end_char], "grammar", key))
    return found


def _named_thing(token: Token, name_start: int) -> str:
    """The noun a naming word names: "an alarm called X", "calling the alarm X", "add an alarm and call
    it X" -> alarm; "Title it X", "make it 5 pm and name it X" -> "" (no noun of the sentence is it)."""
    doc = token.doc
    if token.dep_ in ("acl", "relcl") and token.head.pos_ == "NOUN":
        return str(token.head.lemma_.lower())  # "an alarm called X"
    if name_start - 1 > token.i and doc[name_start - 1].pos_ == "NOUN":
        return str(doc[name_start - 1].lemma_.lower())  # "calling the alarm X"
    objects = [c for c in token.children if c.dep_ == "dobj" and c.i < name_start]
    if any(c.pos_ == "NOUN" for c in objects):
        return str(next(c for c in objects if c.pos_ == "NOUN").lemma_.lower())
    if any(c.lower_ in ("it", "this", "that") for c in objects):  # "add an alarm and call it X"
        earlier = (t for t in reversed(doc[token.sent.start : token.i]) if t.dep_ == "dobj")
        antecedent = next(earlier, None)
        return str(antecedent.lemma_.lower()) if antecedent is not None and antecedent.pos_ == "NOUN" else ""
    # a noun just before, in the same clause: "make an alarm called X", "an alarm at 17:15 called X",
    # "add an alarm in the name X"; not "... in the evening and name it X"
    before = list(doc[max(token.sent.start, token.i - 3) : token.i])
    while any(t.pos_ in ("CCONJ", "PUNCT") for t in before):
        before = before[1:]
    noun = next((t for t in reversed(before) if t.pos_ == "NOUN"), None)
    return str(noun.lemma_.lower()) if noun is not None else ""


def _classifier(token: Token) -> bool:
    if token.dep_ not in ("compound", "amod") or token.is_stop or token.like_num or not token.is_alpha:
        return False
    if token.i > 0 and token.nbor(-1).text == "-":
        return False  # "one-way flight": the modifier is the tail of a hyphenated word
    if token.tag_ == "VBG":
        return True  # "checking account", "parking spot"
    return token.pos_ in ("NOUN", "PROPN") or (token.pos_ == "ADJ" and token.is_title and token.i > 0)


def typed_phrases(doc: Doc) -> list[Span]:
    """Noun phrases whose modifiers classify the head: "checking account", "kitchen speaker"."""
    found: list[Span] = []
    for head in doc:
        if head.tag_ not in ("NN", "NNS") or head.ent_type_ or head.is_stop or not head.is_alpha:
            continue
        if head.lemma_.lower() in NOUN_KINDS or head.lemma_.lower() in ID_HEADS:
            continue  # "phone number", "return date", "price range" name a slot, they do not fill it
        start = head.i
        while start > 0 and doc[start - 1].head.i in range(start, head.i + 1) and _classifier(doc[start - 1]):
            start -= 1
        if start == head.i:
            continue
        first = doc[start]
        end_char = head.idx + len(head.text)
        found.append(Span("product", first.idx, end_char, doc.text[first.idx : end_char], "phrase", ""))
    return found
