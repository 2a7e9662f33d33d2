"""A fitted ``[w * embedding, char n-gram TF-IDF] -> logistic regression`` as plain arrays.

sklearn fits it (:mod:`graph.linear_fit`); this module scores with numpy alone, so a serving worker
never imports sklearn and scipy (~80 MB of its resident memory) just to read a few hundred weights.
The router classifies one customer turn at a time: sklearn's batch ``transform`` + ``predict_proba``
cost about 1 ms of validation and sparse-matrix assembly for one short text; here it is a dict lookup
per n-gram and one small dot product. ``tests/test_linear_text.py`` checks both against sklearn.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]

_RUNS_OF_SPACE = re.compile(r"\s\s+")


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams inside word boundaries, as sklearn's ``analyzer="char_wb"`` (lowercased).

    Each whitespace-separated word is padded with one space on either side; a word shorter than ``n``
    counts once, as a whole, for the smallest such ``n`` and no larger one.
    """
    out: list[str] = []
    for word in _RUNS_OF_SPACE.sub(" ", text.lower()).split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if n >= size:
                out.append(padded)
                break
            out.extend(padded[i : i + n] for i in range(size - n + 1))
    return out


@dataclass(frozen=True, eq=False)
class LinearTextModel:
    """Class scores of one text from its embedding and its character n-grams.

    Attributes:
        dense_coef: ``(embedding dims, classes)`` weights of the scaled embedding.
        sparse_coef: ``(vocabulary, classes)`` weights of the TF-IDF block (no rows without it).
        intercept: ``(classes,)``; one value when sklearn scored two classes with a sigmoid.
        vocabulary: n-gram -> row of ``sparse_coef``.
        idf: Inverse document frequency per vocabulary row.
        ngram_range: ``(low, high)`` of the n-grams; ``None`` without a TF-IDF block.
        sublinear_tf: ``1 + log(count)`` instead of the count.
        dense_weight: Scale of the embedding against the unit-norm TF-IDF block.
    """

    dense_coef: Matrix
    sparse_coef: Matrix
    intercept: Matrix
    vocabulary: dict[str, int]
    idf: list[float]
    ngram_range: tuple[int, int] | None
    sublinear_tf: bool
    dense_weight: float

    def proba(self, text: str, vector: npt.NDArray[np.float32]) -> Matrix:
        """Class probabilities, shape ``(classes,)``, equal to sklearn's up to float rounding."""
        dims = self.dense_coef.shape[0]
        dense = (vector[:dims] * np.float32(self.dense_weight)).astype(np.float64)
        z = dense @ self.dense_coef + self.intercept
        if self.ngram_range is not None:
            low, high = self.ngram_range
            vocab = self.vocabulary
            counts = Counter(
                i for gram in char_wb_ngrams(text, low, high) if (i := vocab.get(gram)) is not None
            )
            if counts:
                rows = list(counts)
                tf = [1.0 + math.log(c) if self.sublinear_tf else float(c) for c in counts.values()]
                weights = np.array([t * self.idf[i] for t, i in zip(tf, rows, strict=True)])
                weights /= math.sqrt(float(weights @ weights))
                z = z + weights @ self.sparse_coef[rows]
        if z.shape[0] == 1:  # two classes: sklearn's one-vs-rest sigmoid
            p = 1.0 / (1.0 + math.exp(-float(z[0])))
            return np.array([1.0 - p, p])
        e = np.exp(z - z.max())
        out: Matrix = e / e.sum()
        return out
