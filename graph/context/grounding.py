"""Does a value occur in a turn? One definition shared by the builder and the evals."""

from __future__ import annotations

import re
from collections.abc import Sequence

from graph.textutil import contains_value, normalize_value
from graph.transcript import Turn


def occurs_in(text: str, value: str) -> bool:
    """True when ``value`` occurs in ``text``, normalised as :func:`graph.textutil.contains_value` does.

    ``@`` also counts as a word boundary, so a username is found inside the email that contains it
    (``jbanter9`` in ``jbanter9@email.com``).
    """
    if contains_value(text, value):
        return True
    needle = normalize_value(value)
    if not needle or "@" in needle:
        return False
    hay = normalize_value(text).replace("@", " ")
    return f" {needle} " in f" {hay} "


def find_turn(turns: Sequence[Turn], value: str, *, roles: tuple[str, ...] = ("customer",)) -> int | None:
    """Index of the first turn (of the given roles) whose text contains ``value``, else ``None``."""
    for turn in turns:
        if turn.role in roles and occurs_in(turn.text, value):
            return turn.index
    return None


def digits(value: str) -> str:
    """Only the digits of ``value`` (phones, ids, amounts compare on these)."""
    return re.sub(r"\D", "", value)
