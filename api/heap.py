"""Give the C heap's free pages back to the system once start-up is done.

Loading the models (spaCy, the embedding model, the policy's classifier) frees tens of MB of
temporaries, but glibc's ``free`` keeps the pages of a heap it did not shrink from the top: they stay
resident for the life of the worker. ``malloc_trim(0)`` returns every whole free page. Other C
libraries (musl, macOS) have no such call; there it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_heap() -> bool:
    """Return the C heap's free pages to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
