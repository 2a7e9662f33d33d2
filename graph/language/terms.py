"""Terms of the trade in a turn: what an experienced buyer or a complex transaction is talked about in.

"cap rate", "1031 exchange", "LLC", "tenants" are read as terms, not as paraphrases (the words are the
signal), but each is still checked like any cue: not inside a place name ("Portfolio Street") and not
denied ("no tenants").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.language.pipeline import shared_pipeline
from graph.language.prototypes import SOPHISTICATION_TERMS, TRANSACTION_TERMS
from graph.language.scope import negated

if TYPE_CHECKING:
    from spacy.tokens import Doc

# Names that hide a term ("Portfolio Street"); an organisation may be the buyer's own LLC.
_HIDING_NAMES = frozenset({"PLACE", "GPE", "LOC", "PERSON"})
_patterns: dict[str, tuple[tuple[str, ...], ...]] | None = None
_lock = threading.Lock()


@dataclass(frozen=True)
class Term:
    """A term found in a turn: ``text == turn[start:end]``; ``term`` is its lower-case form."""

    kind: str
    term: str
    text: str
    start: int
    end: int


def load_terms() -> dict[str, tuple[tuple[str, ...], ...]]:
    """The terms of each kind as the pipeline tokenises them (lower case), parsed once."""
    global _patterns
    if _patterns is None:
        with _lock:
            if _patterns is None:
                parse = shared_pipeline().parse
                _patterns = {
                    kind: tuple(tuple(t.lower_ for t in parse(term)) for term in terms)
                    for kind, terms in (
                        ("sophistication", SOPHISTICATION_TERMS),
                        ("transaction", TRANSACTION_TERMS),
                    )
                }
    return _patterns


def find_terms(doc: Doc, names: dict[int, str]) -> list[Term]:
    """Every affirmed term of the trade in a parsed turn, by kind ("sophistication", "transaction")."""
    lower = [t.lower_ for t in doc]
    found = []
    for kind, patterns in load_terms().items():
        for words in patterns:
            n = len(words)
            for i in range(len(lower) - n + 1):
                if tuple(lower[i : i + n]) != words:
                    continue
                span = doc[i : i + n]
                if any(names.get(t.i) in _HIDING_NAMES for t in span) or negated(span.root):
                    continue
                found.append(Term(kind, span.text.lower(), span.text, span.start_char, span.end_char))
    return found
