"""What a message keeps of the characters a client sends: the visible text, not terminal or display controls.

A customer's "\u202e\u200bI want to talk to a human\u200d" hid its request for a person (the reading saw a
word "human\u200d" and noted it as a town), and "\x1b[31m" colour codes were stored, echoed back and
printed by ``baton chat`` as terminal commands. At the door (:class:`api.turns.TurnService`, so every
way in) a message loses:

* ANSI escape sequences and every other control character but the tab and the newline (a carriage
  return becomes a newline, a vertical tab or form feed a space; "hello\x00world" is "helloworld",
  as the customer saw it);
* invisible format characters (Unicode ``Cf``: zero-width space, word joiner, byte order mark, soft
  hyphen, the bidirectional embeddings, overrides and isolates, which reorder how a console shows the
  text), except the joiners and direction marks that scripts and emoji need (``_KEPT_BETWEEN``) when
  they sit between two such characters ("👩\u200d💻"), and the tag characters of flag emoji.

What is left is stored, read and shown; a message that had nothing else is refused as empty.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# CSI ("\x1b[31m", "\x1b[2J") and OSC ("\x1b]0;title\x07") sequences, then any other escape pair.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_KEEP_CONTROLS = frozenset("\n\t")
# Controls that space text out (vertical tab, form feed, the separators, next line): a space.
_SPACES = {c: " " for c in (0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x1F, 0x85)}
# Zero-width non-joiner and joiner, left-to-right, right-to-left and Arabic letter marks: needed inside
# emoji sequences and some scripts, noise beside ASCII or a space.
_KEPT_BETWEEN = frozenset("\u200c\u200d\u200e\u200f\u061c")
_TAGS = range(0xE0020, 0xE0080)  # the letters of subdivision flags ("🏴" + tags)


def _kept(ch: str, before: str, after: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cc":
        return ch in _KEEP_CONTROLS
    if category != "Cf":
        return True
    if ord(ch) in _TAGS:
        return True
    return ch in _KEPT_BETWEEN and _in_script(before) and _in_script(after)


def _in_script(ch: str) -> bool:
    return bool(ch) and not ch.isascii() and not ch.isspace()


def clean_text(text: str) -> str:
    """``text`` without control and stray invisible characters (see the module docstring)."""
    if text.isascii() and text.isprintable():
        return text  # the usual message: nothing to take out
    text = _ESCAPES.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.translate(_SPACES)
    kept: list[str] = []
    for i, ch in enumerate(text):
        before = kept[-1] if kept else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if _kept(ch, before, after):
            kept.append(ch)
    return "".join(kept)


def clean_values(value: Any) -> Any:
    """``value`` with :func:`clean_text` applied to every string in it (a customer profile: its name
    is shown to agents as the customer's)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_values(v) for v in value]
    return value
