"""thinc's numpy backend with each weight matrix transposed once: the same products, the same parses."""

from __future__ import annotations

import numpy as np
import spacy
from thinc.api import NumpyOps, set_current_ops
from threadpoolctl import threadpool_limits

from graph import blas
from graph.language.inference_ops import InferenceOps
from graph.language.pipeline import LEFT_ON_DISK, Pipeline, model_path
from tests.test_language_pipeline import _customer_turns

RNG = np.random.default_rng(7)


def _weights(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def test_a_product_with_a_transposed_weight_matches_numpy_ops_and_transposes_it_once() -> None:
    ops, plain = InferenceOps(), NumpyOps(use_blis=False)
    w, x = _weights(288, 96), _weights(13, 96)
    for _ in range(3):
        np.testing.assert_allclose(ops.gemm(x, w, trans2=True), plain.gemm(x, w, trans2=True), rtol=1e-5)
    assert len(ops._transposed) == 1
    # the parser's layers pass a fresh view of one weight each call, and write into a slice of a buffer
    stacked = _weights(4, 72, 96)
    for _ in range(3):
        out, expected = np.zeros((14, 288), np.float32), np.zeros((14, 288), np.float32)
        ops.gemm(x, stacked.reshape((288, 96)), trans2=True, out=out[1:])
        plain.gemm(x, stacked.reshape((288, 96)), trans2=True, out=expected[1:])
        np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert len(ops._transposed) == 2


def test_weights_that_are_views_of_one_buffer_each_get_their_own_transpose() -> None:
    ops, x = InferenceOps(), _weights(5, 8)
    flat = _weights(2 * 6 * 8)
    first, second = flat[:48].reshape(6, 8), flat[48:].reshape(6, 8)  # one owner, the same shape
    for w in (first, second, first):
        np.testing.assert_allclose(ops.gemm(x, w, trans2=True), x @ w.T, rtol=1e-5)
    assert len(ops._transposed) == 2


def test_other_products_are_numpy_ops_own() -> None:
    ops, a, b = InferenceOps(), _weights(7, 5), _weights(7, 3)
    np.testing.assert_allclose(ops.gemm(a, b, trans1=True), a.T @ b, rtol=1e-5)
    np.testing.assert_allclose(ops.gemm(a, _weights(5, 3)).shape, (7, 3))
    assert ops._transposed == {}


def test_the_pipeline_reads_every_turn_as_with_numpy_ops(current_ops: None) -> None:
    texts = _customer_turns("abcd_dev.jsonl", 200) + _customer_turns("sgd_dev.jsonl", 200)
    readings = []
    for ops in (NumpyOps(use_blis=False), InferenceOps()):
        set_current_ops(ops)
        nlp = spacy.load(model_path(), exclude=LEFT_ON_DISK)
        readings.append(
            [[(t.tag_, t.dep_, t.head.i, t.lemma_, t.ent_type_, t.ent_iob_) for t in nlp(s)] for s in texts]
        )
        if isinstance(ops, InferenceOps):
            assert ops._transposed, "the pipeline's layers multiply through the kept transposes"
    assert len(texts) == 400
    assert readings[0] == readings[1]


def test_a_pipeline_on_one_blas_thread_loads_with_kept_transposes(current_ops: None) -> None:
    with threadpool_limits(limits=None):
        blas.hold_to_one_thread()
        pipeline = Pipeline()
        pipeline.warm()
        reloaded = Pipeline()
        reloaded.warm()
    assert isinstance(pipeline._ops, InferenceOps)
    assert pipeline._ops is not reloaded._ops  # a reload's weights do not keep the last ones' copies
    pipeline.parse("My card was charged twice at the airport in Lisbon.")
    kept = len(pipeline._ops._transposed)
    assert kept > 0
    pipeline.parse("Hi, I want to sell my house at 12 Elm Street in Brookline.")
    assert len(pipeline._ops._transposed) == kept
