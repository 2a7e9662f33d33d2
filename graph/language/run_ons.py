"""Long runs cut before they cost time in the square of their length: 4,000 emoji held a worker for 38 s.

* A run of tokens with no end of sentence (emoji, apostrophes, asterisks) was parsed as one tree
  thousands deep, and every reader that walks up a tree (clauses, negation scope, noun phrases) then
  walked it again per token. spaCy's parser keeps sentence starts set before it, so a sentence break
  is set every ``MAX_RUN`` tokens; real prose ends its sentences long before that, and its parse is
  unchanged.
* spaCy's tokenizer peels a word's suffixes one at a time, searching the rest each time: 4,000
  characters with no space took it 1.4 s. A run of more than ``MAX_RUN_CHARS`` characters without
  whitespace is tokenized in pieces of that size and the pieces joined (the text stays the same).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from spacy.language import Language
    from spacy.tokens import Doc

# Tokens after the last end of sentence before a break is set: several times a long written sentence.
MAX_RUN = 100
_ENDS = frozenset({".", "!", "?", "…"})
NAME = "baton_run_on_breaks"
# No word, number, address or link is this long; a run past it is tokenized in pieces this long.
MAX_RUN_CHARS = 200
_LONG_RUN = re.compile(rf"\S{{{MAX_RUN_CHARS + 1},}}")


def _break_run_ons(doc: Doc) -> Doc:
    run = 0
    for tok in doc:
        if run >= MAX_RUN:
            tok.is_sent_start = True
            run = 0
        run += 1
        # an end of sentence is followed by a space: "?" after "?" in "(#?(#?..." ends nothing
        if (tok.text in _ENDS and tok.whitespace_) or "\n" in tok.text:
            run = 0
    return doc


def _pieces(text: str) -> Iterator[str]:
    """``text`` cut into consecutive pieces: each long run in ``MAX_RUN_CHARS`` slices, the rest whole."""
    done = 0
    for run in _LONG_RUN.finditer(text):
        if run.start() > done:
            yield text[done : run.start()]
        for at in range(run.start(), run.end(), MAX_RUN_CHARS):
            yield text[at : min(at + MAX_RUN_CHARS, run.end())]
        done = run.end()
    if done < len(text):
        yield text[done:]


class _PiecewiseTokenizer:
    """The model's tokenizer, given a text with a long run in pieces (see the module docstring)."""

    def __init__(self, base: Callable[[str], Doc]) -> None:
        self.base = base

    def __call__(self, text: str) -> Doc:
        if not _LONG_RUN.search(text):
            return self.base(text)
        from spacy.tokens import Doc

        return Doc.from_docs([self.base(piece) for piece in _pieces(text)], ensure_whitespace=False)


def break_run_ons(nlp: Language) -> None:
    """Tokenize long runs in pieces and put the run-on breaker just before ``nlp``'s parser."""
    from spacy.language import Language

    if NAME not in Language.factories:
        Language.component(NAME, func=_break_run_ons)
    nlp.add_pipe(NAME, before="parser")
    nlp.tokenizer = _PiecewiseTokenizer(nlp.tokenizer)
