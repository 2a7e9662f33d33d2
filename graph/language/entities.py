"""Span finding: the shared pipeline's entities, mended by the token grammar and merged where they split.

Order of trust, for overlapping candidates: hand patterns (an e-mail is an e-mail), then the token
grammar (built for what the entity model cuts short), then the model's entities, merged where the model
split one value in two: adjacent dates ("Thursday" + "next week"), and a place followed by its region
("Long Beach" + ", " + "CA").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.language.grammar import MONTHS, grammar_matches
from graph.language.patterns import pattern_spans
from graph.language.phrases import naming_spans, typed_phrases
from graph.language.spans import Span, SpanKind

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

LABEL_KINDS: dict[str, SpanKind] = {
    "PERSON": "person",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "ORG": "organisation",
    "NORP": "organisation",
    "DATE": "date",
    "TIME": "time",
    "MONEY": "money",
    "CARDINAL": "number",
    "QUANTITY": "number",
    "PERCENT": "number",
    "PRODUCT": "product",
    "WORK_OF_ART": "product",
    "EVENT": "product",
    "LANGUAGE": "product",
    "ADDRESS": "address",
}
# Labels the model splits one value over when two of them touch.
_JOINABLE = {"DATE", "TIME", "GPE", "ORG", "FAC"}
_PLACE_LABELS = {"GPE", "LOC", "FAC"}
_REGION_LABELS = {"GPE", "LOC", "ORG", "NORP", "FAC"}


def _model_entities(doc: Doc) -> list[tuple[str, int, int]]:
    """The model's entities as ``(label, start_token, end_token)``, with split values joined."""
    ents = [(e.label_, e.start, e.end) for e in doc.ents]
    joined: list[tuple[str, int, int]] = []
    for label, start, end in ents:
        if joined:
            last_label, last_start, last_end = joined[-1]
            if last_end == start and label == last_label and label in _JOINABLE:
                joined[-1] = (label, last_start, end)
                continue
            comma = last_end + 1 == start and doc[last_end].text == ","
            state = end - start == 1 and _is_state(doc[start])  # the model calls "CA" a product, too
            placed = last_label in _PLACE_LABELS or state or label in _PLACE_LABELS
            regional = label in _REGION_LABELS or state
            if comma and placed and last_label in _REGION_LABELS and regional and end - start <= 2:
                joined[-1] = ("GPE", last_start, end)  # "Long Beach, CA", "London, England", "Anaheim, CA"
                continue
        if label in _PLACE_LABELS and end + 1 < len(doc) and doc[end].text == ",":
            region = doc[end + 1]
            # A region the model left out: "Vancouver, BC", "Portland, OR", "toronto, ontario".
            if not region.ent_type_ and (_is_state(region) or region.pos_ == "PROPN"):
                joined.append((label, start, end + 2))
                continue
        joined.append((label, start, end))
    return joined


def _is_state(token: Token) -> bool:
    """A two-letter region code: "CA", "OR", "Ca", "ga" (lower case only when not a word: "in")."""
    text = token.text
    return len(text) == 2 and text.isalpha() and (text[0].isupper() or not token.is_stop)


def _kind(label: str, text: str) -> SpanKind | None:
    kind = LABEL_KINDS.get(label)
    bare = not any(c.isalpha() or c in "$/:-" for c in text)
    if kind in ("date", "time", "money") and bare:
        return "number"  # "88231" or "1367" read as a year: a number until a question says more
    return kind


def _empty(token: Token) -> bool:
    """A token that carries no value: spaces, punctuation, pronouns, stop words other than numbers."""
    return token.is_space or token.is_punct or token.pos_ == "PRON" or (token.is_stop and not token.like_num)


def _uncovered(doc: Doc, start: int, end: int, spans: list[Span]) -> tuple[int, int]:
    """The part of an entity after (or before) a span that claimed its other end, edges trimmed.

    "Kennedy St., San Lima, Texas" after the address "4395 Kennedy St." keeps "San Lima, Texas".
    """

    def free(i: int) -> bool:
        token = doc[i]
        return not any(s.overlaps(token.idx, token.idx + len(token.text)) for s in spans)

    while start < end and (not free(start) or doc[start].is_punct or doc[start].is_space):
        start += 1
    while end > start and (not free(end - 1) or doc[end - 1].is_punct or doc[end - 1].is_space):
        end -= 1
    return start, end


_LOCATIVE = {"to", "in", "from", "at", "near", "around", "into", "towards"}


def _place_objects(doc: Doc) -> list[tuple[int, int]]:
    """Proper nouns the model left unlabelled after a preposition of place: "going to SD", "to sf".

    The object and the proper nouns compounded before it; the token must be a proper noun or written
    in capitals, so "go to savings" stays out.
    """
    found: list[tuple[int, int]] = []
    for token in doc:
        if token.dep_ != "pobj" or token.ent_type_ or token.head.lower_ not in _LOCATIVE:
            continue
        if not (token.pos_ == "PROPN" or (token.is_upper and len(token) >= 2)) or token.is_stop:
            continue
        start = token.i
        while start > 0 and doc[start - 1].dep_ == "compound" and doc[start - 1].pos_ == "PROPN":
            start -= 1
        found.append((start, token.i + 1))
    return found


def _possessive_places(doc: Doc) -> list[tuple[int, int]]:
    """Places named by their owner, after a preposition of place: "to Joe's Garage", "at Nick's Pizza",
    and with the place left unsaid, "to Mister Jiu's", "from Trader Joe's". The model reads a person in
    them ("Joe", "Jiu") and the rest as another value ("Garage"); "at Sarah's place" stays a person's.
    """
    found: list[tuple[int, int]] = []
    for owner in doc:
        mark = owner.nbor() if owner.i + 1 < len(doc) else None
        if (
            owner.pos_ != "PROPN"
            or mark is None
            or mark.lower_ not in ("'s", "\u2019s")
            or mark.head != owner
        ):
            continue
        start = owner.i
        while start > 0 and doc[start - 1].dep_ == "compound" and doc[start - 1].pos_ == "PROPN":
            start -= 1
        place = owner.head
        if owner.dep_ == "poss" and place.pos_ == "PROPN" and place.i > mark.i:
            between = doc[mark.i + 1 : place.i]
            if all(t.dep_ == "compound" and t.pos_ == "PROPN" for t in between) and _locative(place):
                found.append((start, place.i + 1))  # "Joe's Garage", "Nick's Auto Repair"
        elif owner.dep_ == "pobj" and _locative(owner):
            found.append((start, mark.i + 1))  # "Mister Jiu's": the owner's place
    return found


def _locative(token: Token) -> bool:
    return token.dep_ == "pobj" and token.head.lower_ in _LOCATIVE


def find_spans(doc: Doc) -> list[Span]:
    """Every typed span of a parsed turn, non-overlapping, in text order."""
    text = doc.text
    spans = pattern_spans(text)

    def add(label: str, start: int, end: int, source: str) -> None:
        if end <= start:
            return
        first, last = doc[start], doc[end - 1]
        named_date = label == "DATE" and all(t.pos_ == "PROPN" and t.lower_ in MONTHS for t in doc[start:end])
        if all(_empty(t) for t in doc[start:end]) and not named_date:
            return  # "that", "up to", "  ": not a value; "in May" is one though "may" is a stop word
        if (
            label == "DATE"
            and first.pos_ == "DET"
            and not any(t.like_num or t.pos_ == "PROPN" for t in doc[start:end])
        ):
            return  # "that day", "the year", "these days": a reference back, not a date
        if label == "PERSON" and first.tag_ == "PRP$":
            return  # "My Order ID is ...": a name does not start with "my"
        begin, finish = first.idx, last.idx + len(last.text)
        kind = _kind(label, text[begin:finish])
        if kind is None or any(s.overlaps(begin, finish) for s in spans):
            return
        spans.append(Span(kind, begin, finish, text[begin:finish], "grammar" if source == "g" else "entity"))

    grammar = grammar_matches(doc)
    for label, start, end in grammar:
        add(label, start, end, "g")
    for extra in naming_spans(doc):
        if not any(s.overlaps(extra.start, extra.end) for s in spans):
            spans.append(extra)
    for start, end in _possessive_places(doc):
        add("ORG", start, end, "g")
    for label, start, end in _model_entities(doc):
        start, end = _uncovered(doc, start, end, spans)
        add(label, start, end, "e")
    for start, end in _place_objects(doc):
        add("GPE", start, end, "g")
    for extra in typed_phrases(doc):
        if not any(s.overlaps(extra.start, extra.end) for s in spans):
            spans.append(extra)
    return sorted(spans, key=lambda s: s.start)
