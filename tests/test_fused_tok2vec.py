"""spaCy's token-to-vector networks compiled into plain functions: the same vectors, bit for bit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from spacy.language import Language
from thinc.api import Model, Relu, chain

from graph.language.fused_tok2vec import fuse
from graph.language.pipeline import Pipeline
from tests.test_language_pipeline import _customer_turns


def _networks(nlp: Language) -> list[Model]:
    return [nlp.get_pipe("tok2vec").model, nlp.get_pipe("ner").model.get_ref("tok2vec")]


def _vectors(nlp: Language, batches: list[list[str]]) -> list[list[np.ndarray]]:
    out = []
    for network in _networks(nlp):
        for texts in batches:
            docs = [nlp.make_doc(text) for text in texts]
            got = network.predict(docs)
            out.append([np.array(v, copy=True) for v in (got if isinstance(got, list) else [got])])
    return out


def test_fused_networks_give_thincs_vectors_bit_for_bit(load_pipeline: Callable[[], Language]) -> None:
    plain, fused = load_pipeline(), load_pipeline()
    assert fuse(fused) == 2  # the shared tok2vec and the entity recogniser's own
    assert fuse(fused) == 0  # already fused: nothing is wrapped twice
    turns = _customer_turns("abcd_dev.jsonl", 150) + _customer_turns("sgd_dev.jsonl", 150)
    # one turn at a time (what a parse passes), a batch, and batches with an empty and a blank text
    batches = [[t] for t in turns] + [turns[:40], ["", turns[0]], [" ", "Hi"], ["\n\nok  thanks "]]
    want, got = _vectors(plain, batches), _vectors(fused, batches)
    assert len(want) == len(got) == 2 * len(batches)
    for a, b in zip(want, got, strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert x.shape == y.shape
            assert np.array_equal(x, y)


def test_fused_pipeline_reads_every_turn_as_thincs(load_pipeline: Callable[[], Language]) -> None:
    plain, fused = load_pipeline(), load_pipeline()
    fuse(fused)
    turns = _customer_turns("abcd_dev.jsonl", 120) + _customer_turns("sgd_dev.jsonl", 120)

    def reading(nlp: Language, text: str) -> list[tuple[str, str, int, str, str]]:
        doc = nlp(text)
        return [(t.tag_, t.dep_, t.head.i, t.lemma_, t.ent_type_) for t in doc]

    for text in turns:
        assert reading(fused, text) == reading(plain, text), text


def test_training_still_runs_thincs_layers(load_pipeline: Callable[[], Language]) -> None:
    nlp = load_pipeline()
    fuse(nlp)
    network = nlp.get_pipe("tok2vec").model
    docs = [nlp.make_doc("I want to sell my house")]
    vectors, backprop = network.begin_update(docs)  # is_train: thinc's own forward, with a backprop
    assert vectors[0].shape == (6, 96)
    backprop([np.zeros_like(v) for v in vectors])
    _, fused_backprop = network(docs, is_train=False)
    with pytest.raises(RuntimeError, match="only predicts"):
        fused_backprop(vectors)


def test_a_network_with_a_layer_it_does_not_know_is_left_alone(load_pipeline: Callable[[], Language]) -> None:
    nlp = load_pipeline()
    network = nlp.get_pipe("tok2vec").model
    unknown = chain(network, Relu(nO=8, nI=96))
    forward = unknown._func
    from graph.language import fused_tok2vec

    assert fused_tok2vec._install(unknown) == 0
    assert unknown._func is forward


@pytest.mark.usefixtures("current_ops")
def test_the_shared_pipeline_loads_fused() -> None:
    pipeline = Pipeline()
    pipeline.warm()
    assert pipeline._nlp is not None
    for network in _networks(pipeline._nlp):
        assert getattr(network._func, "fused", False)
