"""Class probabilities of a fitted ``[w * embedding, TF-IDF] -> LogisticRegression`` for one text.

The router classifies one customer turn at a time. sklearn's ``TfidfVectorizer.transform`` and
``predict_proba`` are built for batches: for a single short text their validation and sparse-matrix
assembly cost about 1 ms, most of the router's time (benchmarks/README.md). This scorer computes the
same numbers with sklearn's own analyzer, a dict lookup per n-gram and one small dot product.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

Matrix = npt.NDArray[np.float64]


class SingleTextScorer:
    """``predict_proba`` of ``lr`` on ``hstack([vector * dense_weight, tfidf.transform([text])])``."""

    def __init__(
        self, tfidf: TfidfVectorizer | None, lr: LogisticRegression, dense_dims: int, dense_weight: float
    ) -> None:
        if tfidf is not None and (tfidf.norm != "l2" or not tfidf.use_idf):
            msg = "SingleTextScorer reproduces only l2-normalised TF-IDF"
            raise ValueError(msg)
        coef = np.asarray(lr.coef_, dtype=np.float64)
        self._dense_dims = dense_dims
        self._dense_weight = dense_weight
        self._dense_coef = np.ascontiguousarray(coef[:, :dense_dims].T)
        self._sparse_coef = np.ascontiguousarray(coef[:, dense_dims:].T)  # one row per n-gram
        self._intercept = np.asarray(lr.intercept_, dtype=np.float64)
        self._binary = coef.shape[0] == 1  # sklearn scores two classes one-vs-rest with a sigmoid
        self._analyze = tfidf.build_analyzer() if tfidf is not None else None
        self._vocab: dict[str, int] = dict(tfidf.vocabulary_) if tfidf is not None else {}
        self._idf: list[float] = tfidf.idf_.tolist() if tfidf is not None else []
        self._sublinear = bool(tfidf.sublinear_tf) if tfidf is not None else False

    def proba(self, text: str, vector: npt.NDArray[np.float32]) -> Matrix:
        """Class probabilities, shape ``(n_classes,)``, equal to sklearn's up to float rounding."""
        dense = (vector[: self._dense_dims] * np.float32(self._dense_weight)).astype(np.float64)
        z = dense @ self._dense_coef + self._intercept
        if self._analyze is not None:
            counts = Counter(i for gram in self._analyze(text) if (i := self._vocab.get(gram)) is not None)
            if counts:
                idx = list(counts)
                tf = [1.0 + math.log(c) if self._sublinear else float(c) for c in counts.values()]
                weights = np.array([t * self._idf[i] for t, i in zip(tf, idx, strict=True)])
                weights /= math.sqrt(float(weights @ weights))
                z = z + weights @ self._sparse_coef[idx]
        if self._binary:
            p = 1.0 / (1.0 + math.exp(-float(z[0])))
            return np.array([1.0 - p, p])
        e = np.exp(z - z.max())
        out: Matrix = e / e.sum()
        return out
