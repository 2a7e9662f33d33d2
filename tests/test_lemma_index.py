"""The rule lemmatizer's word lists held as hashes: same lemmas as spaCy's own lists, a fraction of the memory."""

from __future__ import annotations

from typing import cast

import spacy
from spacy.language import Language
from spacy.lookups import Table
from spacy.pipeline import Lemmatizer

from graph.language.lemma_index import INDEX_TABLE, WordHashes, compact_lemma_index
from graph.language.pipeline import Pipeline, model_path


def _index(nlp: Language) -> Table:
    return cast("Lemmatizer", nlp.get_pipe("lemmatizer")).lookups.get_table(INDEX_TABLE)


def test_word_hashes_answer_membership_like_the_list() -> None:
    words = ["house", "mouse", "leaf", "house"]
    held = WordHashes(words)
    assert len(held) == 3
    assert "house" in held
    assert "leaf" in held
    assert "houses" not in held
    assert "" not in held
    assert 42 not in held
    assert not WordHashes([])  # falsy when empty, like the list: the lemmatizer tests an entry's truth


def test_the_pipeline_keeps_no_word_list_and_lemmatizes_as_spacy_does() -> None:
    pipeline = Pipeline()
    pipeline.warm()
    assert pipeline._nlp is not None
    table = _index(pipeline._nlp)
    assert table
    assert all(isinstance(words, WordHashes) for words in table.values())
    whole = spacy.load(model_path())
    lists = _index(whole)
    assert all(isinstance(words, list) for words in lists.values())
    # known plurals, irregular forms (the exceptions table), and a noun spaCy has never seen
    text = "The mice ate leaves in both houses while the gloobers were running and studied quickly."
    ours = [(t.text, t.lemma_) for t in pipeline.parse(text)]
    assert ours == [(t.text, t.lemma_) for t in whole(text)]
    assert {("houses", "house"), ("mice", "mouse"), ("gloobers", "gloober")} <= set(ours)


def test_a_list_free_pipeline_is_left_as_it_is() -> None:
    nlp = spacy.blank("en")
    assert compact_lemma_index(nlp) == 0
