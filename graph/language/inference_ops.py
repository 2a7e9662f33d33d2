"""thinc's numpy backend for a pipeline that only predicts: each weight matrix transposed once, not per call.

thinc's layers multiply their input by a weight matrix stored output-major (``gemm(X, W, trans2=True)``).
numpy hands OpenBLAS the transposed view, and for the few rows of a customer turn OpenBLAS then repacks
all of ``W`` on every call: a (16, 288) x (288, 288) product took ~70 us against ~37 us with ``W.T``
already laid out row-major, and ~55 against ~14 us at 8 rows; a whole parse costs 16% less, with the
same readings of 6,769 customer turns (``benchmarks/language_cpu.py --parts gemm``). The pipeline never
trains, so its weights never change: each is transposed on first use (~4 MB in all) and kept with the
ops instance, which lives and dies with the loaded pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from thinc.api import NumpyOps

_Key = tuple[int, tuple[int, ...], tuple[int, ...]]


class InferenceOps(NumpyOps):  # type: ignore[misc]  # thinc's Cython class is untyped
    """``NumpyOps`` on numpy's BLAS whose ``gemm(x, W, trans2=True)`` reads a kept row-major ``W.T``."""

    name = "numpy"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(use_blis=False, **kwargs)
        # (address of W's first element, W's shape and strides) -> (W, W.T laid out row-major). Keeping W
        # keeps its memory from being freed, so no other weight can turn up at that address.
        self._transposed: dict[_Key, tuple[np.ndarray, np.ndarray]] = {}

    def gemm(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        out: np.ndarray | None = None,
        trans1: bool = False,
        trans2: bool = False,
    ) -> np.ndarray:
        if trans1 or not trans2 or x.ndim != 2 or y.ndim != 2:
            product: np.ndarray = super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)
            return product
        # The parser's layers pass ``W.reshape(...)``, a new view each call, and weights may be views of
        # one buffer: key on where W's numbers are and how they are laid out, not on the object.
        key = (y.__array_interface__["data"][0], y.shape, y.strides)
        kept = self._transposed.get(key)
        if kept is None:
            kept = (y, np.ascontiguousarray(y.T))
            self._transposed[key] = kept
        if out is None:
            product = np.dot(x, kept[1])
            return product
        np.dot(x, kept[1], out=out)
        return out
