"""Fit :class:`graph.linear_text.LinearTextModel` with sklearn, in this process or in a child one.

sklearn and the parts of scipy it pulls in take ~80 MB of a process's memory for good. A serving
worker needs them only for the seconds a policy's intent examples are fitted (start-up, a policy
change), so it fits in a child process (``python -m graph.linear_fit``) and keeps the arrays. A process
that already imported sklearn (the evals, the test session) fits in place: the memory is spent there.
Both run the same sklearn code on the same inputs, so the weights are identical.
"""

from __future__ import annotations

import hashlib
import pickle  # only between this process and the child it starts: nothing from outside is read
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from graph.linear_text import LinearTextModel
from graph.textutil import DigestCache

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

_ROOT = Path(__file__).resolve().parent.parent
_FIT_TIMEOUT_S = 600


@dataclass(frozen=True)
class LinearFitSpec:
    """What to fit: the TF-IDF block's n-grams (``None``: embeddings only) and the regression."""

    ngram_range: tuple[int, int] | None
    dense_weight: float
    c: float
    tol: float


def sklearn_fit(
    texts: Sequence[str], y: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], spec: LinearFitSpec
) -> tuple[TfidfVectorizer | None, LogisticRegression]:
    """The fitted sklearn vectoriser (``None`` without n-grams) and regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    tfidf = None
    if spec.ngram_range is not None:
        tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=spec.ngram_range, sublinear_tf=True)
        tfidf.fit(texts)
    lr = LogisticRegression(C=spec.c, tol=spec.tol, max_iter=3000)
    lr.fit(sklearn_features(texts, vectors, tfidf, spec.dense_weight), y)
    return tfidf, lr


def sklearn_features(
    texts: Sequence[str], vectors: npt.NDArray[np.float32], tfidf: TfidfVectorizer | None, dense_weight: float
) -> csr_matrix:
    """``[w * embedding, TF-IDF]`` as sklearn's regression sees it."""
    from scipy.sparse import csr_matrix, hstack

    dense = csr_matrix(vectors * dense_weight)
    if tfidf is None:
        return dense
    return hstack([dense, tfidf.transform(texts)], format="csr")


def to_model(
    tfidf: TfidfVectorizer | None, lr: LogisticRegression, dims: int, dense_weight: float
) -> LinearTextModel:
    """The arrays of a fitted vectoriser and regression."""
    coef = np.asarray(lr.coef_, dtype=np.float64)
    vocabulary = {str(gram): int(i) for gram, i in tfidf.vocabulary_.items()} if tfidf is not None else {}
    return LinearTextModel(
        dense_coef=np.ascontiguousarray(coef[:, :dims].T),
        sparse_coef=np.ascontiguousarray(coef[:, dims:].T),
        intercept=np.asarray(lr.intercept_, dtype=np.float64),
        vocabulary=vocabulary,
        idf=tfidf.idf_.tolist() if tfidf is not None else [],
        ngram_range=tuple(tfidf.ngram_range) if tfidf is not None else None,  # type: ignore[arg-type]
        sublinear_tf=bool(tfidf.sublinear_tf) if tfidf is not None else False,
        dense_weight=dense_weight,
    )


def fit_here(
    texts: Sequence[str], y: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], spec: LinearFitSpec
) -> LinearTextModel:
    """Fit in this process (imports sklearn)."""
    tfidf, lr = sklearn_fit(texts, y, vectors, spec)
    return to_model(tfidf, lr, vectors.shape[1], spec.dense_weight)


def fit_in_child(
    texts: Sequence[str], y: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], spec: LinearFitSpec
) -> LinearTextModel:
    """Fit in a child Python process, so sklearn never loads into this one."""
    payload = pickle.dumps((list(texts), y, vectors, spec))
    done = subprocess.run(
        [sys.executable, "-m", "graph.linear_fit"],
        input=payload,
        capture_output=True,
        cwd=_ROOT,
        timeout=_FIT_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-2000:]
        msg = f"fitting the intent classifier in a child process failed (exit {done.returncode}): {tail}"
        raise RuntimeError(msg)
    model = pickle.loads(done.stdout)  # written by the child started above
    if not isinstance(model, LinearTextModel):
        msg = f"the intent classifier's child process returned {type(model).__name__}"
        raise RuntimeError(msg)
    return model


# Fitted models by content: a policy reload, or a second classifier over the same examples, reuses one.
_FITTED: DigestCache[LinearTextModel] = DigestCache(8)


def _key(
    texts: Sequence[str], y: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], spec: LinearFitSpec
) -> str:
    digest = hashlib.sha256(repr(astuple(spec)).encode())
    for text in texts:
        digest.update(b"\x1f" + text.encode())
    digest.update(np.ascontiguousarray(y).tobytes())
    digest.update(np.ascontiguousarray(vectors).tobytes())
    return digest.hexdigest()


def fit(
    texts: Sequence[str], y: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], spec: LinearFitSpec
) -> LinearTextModel:
    """The fitted model: cached by content, else fitted here if sklearn is loaded, else in a child."""
    fitter = fit_here if "sklearn" in sys.modules else fit_in_child
    return _FITTED.get_or_compute(_key(texts, y, vectors, spec), lambda _key: fitter(texts, y, vectors, spec))


def _child() -> None:
    texts, y, vectors, spec = pickle.loads(sys.stdin.buffer.read())  # from the parent
    sys.stdout.buffer.write(pickle.dumps(fit_here(texts, y, vectors, spec)))


if __name__ == "__main__":
    _child()
