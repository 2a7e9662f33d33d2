"""What a waiting caller chose, read from their words: keep waiting, a callback, or the assistant.

Recognition errors are expected, so each choice is a handful of phrases a recogniser gets right
(short, common words), matched as whole words; anything else is no choice and the options are repeated.
A read-back ("Is that right?") is answered yes or no, read the same way.
"""

from __future__ import annotations

import re
from typing import Literal

Choice = Literal["queue", "callback", "ai"]

OPTIONS: dict[Choice, str] = {
    "queue": "keep waiting",
    "callback": "call me back",
    "ai": "continue with the assistant",
}

_PATTERNS: list[tuple[Choice, re.Pattern[str]]] = [
    ("callback", re.compile(r"\b(call(ing)? (me )?back|me back|callback|ring me|phone me|call me)\b")),
    ("ai", re.compile(r"\b(assistant|the bot|a bot|robot|continue|carry on|go on with|ai)\b")),
    ("queue", re.compile(r"\b(keep waiting|wait|waiting|hold|stay|i'll wait)\b")),
]


def read_choice(text: str) -> Choice | None:
    """The option the caller named, or None; the first listed wins when several match."""
    lowered = text.lower()
    for choice, pattern in _PATTERNS:
        if pattern.search(lowered):
            return choice
    return None


def options_prompt(offered: list[Choice]) -> str:
    """The spoken list of options, in the policy's order."""
    said = [f"say {OPTIONS[c]!r}".replace("'", "") for c in offered]
    if len(said) > 1:
        said[-1] = f"or {said[-1]}"
    return "You can " + ", ".join(said) + "."


_YES = frozenset({"yes", "yeah", "yep", "yup", "correct", "right", "sure", "ok", "okay", "exactly"})
_NO = frozenset({"no", "nope", "nah", "wrong", "not", "incorrect", "isn't"})


def read_yes_no(text: str) -> bool | None:
    """True for yes, False for no, None for neither; a "no" word wins ("no, that's not right")."""
    words = set("".join(c if c.isalnum() or c == "'" else " " for c in text.lower()).split())
    if words & _NO:
        return False
    if words & _YES:
        return True
    return None
