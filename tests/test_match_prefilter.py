"""The grammar's matcher is skipped only where it could not match: the same matches on real turns."""

from __future__ import annotations

import re

from spacy.lang.en import English

from graph.language import grammar, shared_pipeline
from graph.language.match_prefilter import Prefilter, _joined
from tests.test_language_pipeline import _customer_turns

MADE_UP = [
    "Call me at 5pm on March 3rd, or half past four in the afternoon.",
    "We owe $240,000 and they offered 700k; sixty dollars a month more is fine.",
    "I live at 12b Oak Street, apartment 4, since 1998.",
    "the 5th of march works, or next tuesday at 10:30",
    "Quarter to nine tonight? 9 o'clock tomorrow morning then.",
]


def test_the_grammar_finds_the_same_matches_with_the_prefilter() -> None:
    pipeline = shared_pipeline()
    texts = MADE_UP + _customer_turns("sgd_dev.jsonl", 600) + _customer_turns("abcd_dev.jsonl", 400)
    skipped = matched = 0
    for text in texts:
        doc = pipeline.parse(text)
        assert len(doc) <= grammar._WINDOW
        whole = list(grammar._matcher(doc.vocab)(doc))
        assert grammar.raw_matches(doc) == whole, text
        skipped += not grammar._PREFILTER.possible(doc)
        matched += bool(whole)
    assert matched > 100  # SGD's turns are full of times, dates and amounts: the test sees matches
    assert skipped > len(texts) / 3  # and most turns without one never reach the matcher


def test_a_pattern_keeps_its_rarest_condition() -> None:
    prefilter = Prefilter.of(
        [[{"LOWER": "the"}, {"LOWER": {"REGEX": r"^\d+(st|nd|rd|th)$"}}, {"LOWER": "of", "OP": "?"}]],
        common={"the", "of"},
    )
    assert prefilter.words["lower"] == set()
    nlp = English()
    assert prefilter.possible(nlp("the 5th of march"))
    assert not prefilter.possible(nlp("the fifth of march"))  # "the" alone does not let it through


def test_optional_tokens_state_nothing_and_an_unread_condition_lets_every_doc_through() -> None:
    nlp = English()
    only_optional = Prefilter.of([[{"LOWER": "hi", "OP": "?"}]])
    unread = Prefilter.of([[{"POS": "PROPN"}]])
    both = Prefilter.of([[{"LIKE_NUM": True}], [{"ORTH": {"IN": ["St.", "Ave."]}, "OP": "+"}]])
    for prefilter in (only_optional, unread):
        assert prefilter.always
        assert prefilter.possible(nlp("nothing here"))
    assert not both.always
    assert both.possible(nlp("forty"))
    assert both.possible(nlp("Main St."))
    assert not both.possible(nlp("main st"))  # ORTH is case-sensitive, as the matcher reads it


def test_regular_expressions_are_joined_only_where_that_keeps_their_meaning() -> None:
    parts = [re.compile(r"^\d{1,2}(?:st|nd)$"), re.compile(r"^\d{4}$"), re.compile(r"k$")]
    (joined,) = _joined(parts)
    for text in ("1st", "22nd", "1999", "99", "5k", "kk", "123rd", "st"):
        assert bool(joined.search(text)) == any(p.search(text) for p in parts), text
    back_reference = [re.compile(r"(a)\1"), re.compile("b")]
    flagged = [re.compile("(?i)x"), re.compile("y")]
    assert _joined(back_reference) == back_reference
    assert _joined(flagged) == flagged
