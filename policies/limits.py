"""How big a routing policy may be, and how much of a bad value an error message may quote.

The shipped policies are about 8 KB, 520 YAML nodes and 12 levels deep; every limit leaves room for
a policy many times that size and refuses a hostile one (an alias bomb, a 1,000-deep list, a
megabyte value) before it costs more than a few milliseconds or a large error response.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
"""Policy names and rule ids: lower-case letters, digits and ``_``, starting with a letter."""
MAX_NAME = 64
"""Characters in a name, an id, a target, intent, skill or section name, or a condition field."""
MAX_BYTES = 128 * 1024
"""UTF-8 bytes in a policy document; checked before parsing."""
MAX_DEPTH = 32
"""Nesting levels of YAML collections, aliases expanded."""
MAX_NODES = 10_000
"""YAML nodes in a document, each alias counted as a copy of what it points to."""
MAX_ITEMS = 500
"""Entries in any list or mapping of the policy (rules, targets, examples, conditions, values)."""
MAX_TEXT = 2_000
"""Characters in a description, a narration, an example or a text value of a condition."""
MAX_ISSUES = 50
"""Problems reported for one document; the rest are counted."""
MAX_MESSAGE = 500
"""Characters in one problem's message (and in its path)."""
MAX_QUOTE = 80
"""Characters of a bad value quoted in a message."""

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 4
_repr.maxstring = _repr.maxother = MAX_QUOTE


def quote(value: object) -> str:
    """``repr(value)`` cut to about ``MAX_QUOTE`` characters, whatever the size of ``value``."""
    text = _repr.repr(value)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 3] + "..."


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def names(items: Iterable[object], limit: int = 40) -> str:
    """A comma-separated, sorted list of names for a message, the rest counted."""
    ordered = sorted(str(i) for i in items)
    shown = ", ".join(clip(n, MAX_NAME) for n in ordered[:limit])
    return shown + (f" (and {len(ordered) - limit} more)" if len(ordered) > limit else "")
