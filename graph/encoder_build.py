"""The sentence encoder as this machine runs it fastest: int8 weights *and* int8 activations.

The shipped ``all-MiniLM-L6-v2`` file stores int8 weights that onnxruntime folds back to float32 at
load, so every matrix product runs in float32 (90 MB of weights in memory, ~0.7 ms per token). Dynamic
quantization (onnxruntime's own tool: activations quantized per call, weights per channel) runs the
products in int8 (VNNI where the CPU has it): about twice as fast and a quarter of the memory, with
cosine ≥ 0.96 to the float vectors (tests/test_embeddings.py).

The derived file is built once per machine from the shipped one (a few seconds; nothing is downloaded)
and kept in :func:`cache_dir`, named by the shipped file's digest and the onnxruntime version, so a new
model or a new runtime builds a new file. Concurrent builders each write temporary files and rename
them into place, the model last, so a reader never sees half a model.

The word-embedding table (30,522 x 384 bytes, half the weights) is stored beside the model as ONNX
external data, which onnxruntime maps from the file instead of copying: a worker holds the rows of the
words it has read (file pages the kernel shares between workers and can drop), not all 11.7 MB
(benchmarks/README.md). The other weights are repacked for the int8 kernels at load either way.
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
# Initializers at least this large are kept in the external data file (only the word-embedding
# table, 11.7 MB; the largest matrix after it is 0.6 MB and repacked at load anyway).
_EXTERNAL_BYTES = 4_000_000


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
    target = folder / f"{source.stem}{_TAG}{file_digest(source)}-ort{ort.__version__}-mapped.onnx"
    if not (target.is_file() and weights_path(target).is_file()):
        _build(source, target)
    return target


def weights_path(model: Path) -> Path:
    """The external data file beside a model :func:`quantized_path` built (the word-embedding table)."""
    return model.with_name(model.name + ".data")


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
        quantized = Path(work) / "quantized.onnx"
        root = logging.getLogger()
        root.addFilter(_quiet_advice)
        try:
            quantize_dynamic(folded, quantized, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.removeFilter(_quiet_advice)
        built = Path(work) / target.name
        _save_mapped(quantized, built, weights_path(target).name)
        # Each rename is atomic on one file system; the model names its data file, so it goes last.
        weights_path(built).replace(weights_path(target))
        built.replace(target)
    _drop_older(source, target)


def _drop_older(source: Path, target: Path) -> None:
    """Delete what earlier releases derived from ``source`` here (22 MB each, e.g. another onnxruntime
    version). A worker still running one keeps its open copy; another release starting builds again."""
    keep = {target.name, weights_path(target).name}
    for old in target.parent.glob(f"{source.stem}{_TAG}*"):
        if old.name not in keep and old.is_file():
            try:
                old.unlink()
            except OSError as exc:  # another builder's, or not ours to delete: leave it
                log.info("could not delete %s (%s)", old.name, exc)


def _save_mapped(model_file: Path, target: Path, data_name: str) -> None:
    """Save ``model_file`` as ``target`` with its large initializers in ``data_name`` beside it."""
    import onnx

    model = onnx.load(str(model_file))
    onnx.save_model(
        model,
        str(target),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data_name,
        size_threshold=_EXTERNAL_BYTES,
    )
