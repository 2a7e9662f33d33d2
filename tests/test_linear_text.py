"""The intent classifier's regression, scored without sklearn and fitted out of process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from graph import linear_fit
from graph.embeddings import get_embedder
from graph.linear_text import char_wb_ngrams

ROOT = Path(__file__).resolve().parent.parent

TEXTS = [
    "I want to sell my house",
    "How much is my flat worth?",
    "I am looking for a 3 bedroom house to buy",
    "Can I book a viewing of the flat on Main Street?",
    "Let me talk to a person",
    "Connect me to a human please",
]
LABELS = np.array([0, 0, 1, 1, 2, 2], dtype=np.int64)
SPEC = linear_fit.LinearFitSpec(ngram_range=(2, 5), dense_weight=3.0, c=20.0, tol=1e-4)
UNSEEN = [
    "I need to sell my apartment quickly",
    "  HUMAN   please!!  ",
    "tabs\tand\nnew lines\r\n  and\u00a0no-break spaces",
    "zzzz qqqq",  # no n-gram the vectoriser knows
    "",
    "a I x",  # words shorter than the smallest n-gram
    "Quiero vender mi casa en Málaga — ÉTÉ ß İstanbul",
    "buy buy buy a house house",
]


@pytest.mark.parametrize("ngrams", [(2, 5), (1, 3), (3, 3), (1, 1)])
def test_char_wb_ngrams_are_sklearns(ngrams: tuple[int, int]) -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams).build_analyzer()
    for text in TEXTS + UNSEEN:
        assert char_wb_ngrams(text, *ngrams) == analyzer(text), text


@pytest.mark.parametrize(
    ("labels", "spec"),
    [
        (LABELS, SPEC),
        (np.array([0, 0, 1, 1, 1, 1], dtype=np.int64), SPEC),  # two classes: sklearn's sigmoid
        (LABELS, linear_fit.LinearFitSpec(ngram_range=None, dense_weight=3.0, c=20.0, tol=1e-4)),
        (LABELS, linear_fit.LinearFitSpec(ngram_range=(1, 3), dense_weight=1.0, c=1.0, tol=1e-3)),
    ],
)
def test_the_model_scores_as_sklearn_predicts(labels: np.ndarray, spec: linear_fit.LinearFitSpec) -> None:
    vectors = get_embedder().embed(TEXTS)
    tfidf, lr = linear_fit.sklearn_fit(TEXTS, labels, vectors, spec)
    model = linear_fit.to_model(tfidf, lr, vectors.shape[1], spec.dense_weight)
    unseen = get_embedder().embed(UNSEEN)
    expected = lr.predict_proba(linear_fit.sklearn_features(UNSEEN, unseen, tfidf, spec.dense_weight))
    for text, vector, row in zip(UNSEEN, unseen, expected, strict=True):
        assert model.proba(text, vector) == pytest.approx(row, abs=1e-6), text


def test_a_child_process_fits_the_same_weights() -> None:
    vectors = get_embedder().embed(TEXTS)
    here = linear_fit.fit_here(TEXTS, LABELS, vectors, SPEC)
    child = linear_fit.fit_in_child(TEXTS, LABELS, vectors, SPEC)
    assert child.vocabulary == here.vocabulary
    assert child.idf == here.idf
    for name in ("dense_coef", "sparse_coef", "intercept"):
        assert np.array_equal(getattr(child, name), getattr(here, name)), name


def test_a_failing_child_fit_says_why() -> None:
    vectors = get_embedder().embed(TEXTS)
    bad = linear_fit.LinearFitSpec(ngram_range=(2, 5), dense_weight=3.0, c=-1.0, tol=1e-4)  # C must be > 0
    with pytest.raises(RuntimeError, match=r"(?s)child process failed.*'C' parameter"):
        linear_fit.fit_in_child(TEXTS, LABELS, vectors, bad)


def test_a_process_without_sklearn_classifies_without_loading_it() -> None:
    # What a serving worker does: fit a policy's examples, classify a turn; sklearn stays out of it.
    script = (
        "import json, sys\n"
        "from graph.intent import IntentClassifier\n"
        "clf = IntentClassifier.from_examples({'sell': ['I want to sell my house', 'value my flat'],"
        " 'person': ['let me talk to a human', 'a real person please']})\n"
        "p = clf.predict('can I speak to a person')\n"
        "print(json.dumps({'label': p.label, 'sklearn': 'sklearn' in sys.modules, 'scipy': 'scipy' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "label": "person",
        "sklearn": False,
        "scipy": False,
    }
