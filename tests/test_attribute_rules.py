"""The attribute ruler's patterns looked up by word and tag: the matcher's matches, the same readings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from graph.language.attribute_rules import _Lookup, index_rules
from graph.language.pipeline import Pipeline
from tests.test_language_pipeline import _customer_turns

ODD = [
    "I ain't gonna do it, y'all gotta wanna see",
    "haf ta go",
    "But he left.  \n\n ok",
    "There is a problem and there were two",
    "It is what it is; you and I",
]


def _before_ruler(nlp: Language, text: str) -> Doc:
    doc = nlp.make_doc(text)
    for name, component in nlp.pipeline:
        if name == "attribute_ruler":
            return doc
        doc = component(doc)
    raise AssertionError("no attribute ruler")


def _turns() -> list[str]:
    return ODD + _customer_turns("abcd_dev.jsonl", 400) + _customer_turns("sgd_dev.jsonl", 400)


def test_the_lookup_finds_the_matchers_matches(load_pipeline: Callable[[], Language]) -> None:
    nlp = load_pipeline()
    ruler = nlp.get_pipe("attribute_ruler")
    lookup = _Lookup(ruler.patterns, ruler.vocab.strings)
    # every rule is filed under a word, tag, dependency or space but the two that open with a regex
    assert len(lookup.anywhere) == 2
    for text in _turns():
        doc = _before_ruler(nlp, text)
        assert lookup.matches(doc) == ruler.match(doc), text


def test_a_pipeline_with_the_lookup_reads_every_turn_the_same(load_pipeline: Callable[[], Language]) -> None:
    plain, indexed = load_pipeline(), load_pipeline()
    assert index_rules(indexed)

    def reading(nlp: Language, text: str) -> list[tuple[str, str, str, str]]:
        return [(t.pos_, str(t.morph), t.lemma_, t.tag_) for t in nlp(text)]

    for text in _turns()[:300]:
        assert reading(indexed, text) == reading(plain, text), text


def test_a_pattern_it_cannot_read_leaves_the_matcher(load_pipeline: Callable[[], Language]) -> None:
    nlp = load_pipeline()
    ruler = nlp.get_pipe("attribute_ruler")
    ruler.add(patterns=[[{"SHAPE": "dd"}]], attrs={"LEMMA": "NUMBER"})
    assert not index_rules(nlp)
    assert "match" not in vars(ruler)


def test_rules_added_after_indexing_go_through_the_matcher(load_pipeline: Callable[[], Language]) -> None:
    nlp = load_pipeline()
    assert index_rules(nlp)
    nlp.get_pipe("attribute_ruler").add(patterns=[[{"LOWER": "mortgage"}]], attrs={"LEMMA": "loan"})
    assert [t.lemma_ for t in nlp("my mortgage")][-1] == "loan"


@pytest.mark.usefixtures("current_ops")
def test_the_shared_pipeline_loads_with_the_lookup() -> None:
    pipeline = Pipeline()
    pipeline.warm()
    assert pipeline._nlp is not None
    assert "match" in vars(pipeline._nlp.get_pipe("attribute_ruler"))
