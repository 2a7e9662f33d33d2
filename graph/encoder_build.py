"""The sentence encoder as this machine runs it fastest: int8 weights *and* int8 activations.

The shipped ``all-MiniLM-L6-v2`` file stores int8 weights that onnxruntime folds back to float32 at
load, so every matrix product runs in float32 (90 MB of weights in memory, ~0.7 ms per token). Dynamic
quantization (onnxruntime's own tool: activations quantized per call, weights per channel) runs the
products in int8 (VNNI where the CPU has it): about twice as fast and a quarter of the memory, with
cosine ≥ 0.96 to the float vectors (tests/test_embeddings.py).

The derived file is built once per machine from the shipped one (a few seconds; nothing is downloaded)
and kept in :func:`cache_dir`, named by the shipped file's digest and the onnxruntime version, so a new
model or a new runtime builds a new file. Concurrent builders each write a temporary file and rename it
into place, so a reader never sees half a model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import onnxruntime as ort

log = logging.getLogger(__name__)

CACHE_ENV = "BATON_MODEL_CACHE"
_TAG = "-dynint8-"


def cache_dir() -> Path:
    """Where derived models live: ``$BATON_MODEL_CACHE``, else ``$XDG_CACHE_HOME/baton`` or ``~/.cache/baton``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "baton"


def file_digest(path: Path) -> str:
    """The first 16 hex digits of ``path``'s sha256: names what was derived from that file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def is_dynamic_int8(model: Path) -> bool:
    """Whether ``model`` is a file :func:`quantized_path` built (its activations are quantized per run)."""
    return model.name.endswith(".onnx") and _TAG in model.name


def quantized_path(source: Path, folder: Path | None = None) -> Path:
    """The dynamic-int8 file derived from ``source``; built first when it is not there yet.

    Args:
        source: The shipped ONNX file.
        folder: Where to keep it (default :func:`cache_dir`).

    Returns:
        Path of the derived model.
    """
    folder = folder or cache_dir()
    target = folder / f"{source.stem}{_TAG}{file_digest(source)}-ort{ort.__version__}.onnx"
    if not target.is_file():
        _build(source, target)
    return target


def _quiet_advice(record: logging.LogRecord) -> bool:
    # The quantizer advises its pre-processing step on the root logger; shape inference adds nothing
    # to a transformer whose shapes are all dynamic, so the advice is noise in the service's log.
    return not record.getMessage().startswith("Please consider to run pre-processing")


def _build(source: Path, target: Path) -> None:
    # Imported here: only a machine's first start needs the onnx package and the quantizer.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("building the int8 encoder %s from %s (once per machine)", target.name, source.name)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        folded = Path(work) / "folded.onnx"
        # Basic optimisation folds the stored int8 weights back to float32 and nothing more, so the
        # graph keeps standard operators the quantizer understands.
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        ort.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
        built = Path(work) / "built.onnx"
        root = logging.getLogger()
        root.addFilter(_quiet_advice)
        try:
            quantize_dynamic(folded, built, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.removeFilter(_quiet_advice)
        built.replace(target)  # atomic on one file system: readers see the old state or the whole file
