"""Slips of the keyboard read as the word the customer meant, for the cue reader.

"cna I talk to a humna" parsed "cna" as a noun, so the turn asked nothing, and "humna" named nobody:
a request for a person went unseen. Chat is typed fast; a typo should not hide what a customer asks.

The rule is the noisy channel's: a written word is read as another one edit away (a letter left out,
added, changed, or two swapped: Damerau's four kinds of slip) when that word is at least a hundred
times as common (``GAP`` on the Zipf scale) and clearly the likeliest such word (``MARGIN`` over the
next). Rare words that are real stay as written, since nothing near them is that much more common
("easement" is not "basement", "Zillow" neither "pillow" nor "willow"); a slip common enough to be
listed itself ("cna", 2.8) still yields to its word ("can", 6.5), while a word used once per million
words or more (``KNOWN``) is a word ("lien", never "line"). Words of one or two letters, words with
an apostrophe or a capital past their first letter, and capitalised words inside a sentence (names)
are left alone, and so are words over twenty letters.

Frequencies are wordfreq's "large" English list (321k words down to once per 100 million, Apache-2.0
code, CC BY-SA 4.0 data), read from the file its wheel ships without importing its code (which would
load ftfy and langcodes, ~17 MB). Once per machine they are kept beside the int8 encoder as a sorted
table of 64-bit word hashes and frequencies that every worker maps from disk: ~10 bytes a word,
shared, and only the pages a lookup touches are resident.

Only the reading changes: a cue's evidence is mapped back to the customer's own words
(:meth:`Respelled.original_span`), and the brief quotes the text as written.
"""

from __future__ import annotations

import bisect
import gzip
import importlib.util
import logging
import re
import string
import tempfile
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import ormsgpack

from graph.encoder_build import cache_dir, file_digest

log = logging.getLogger(__name__)

KNOWN = 3.0  # a word used once per million words or more is a word, whatever is near it ("lien")
GAP = 2.0  # the meant word is at least 10**GAP times as common as the word written
MARGIN = 0.5  # ... and 10**MARGIN times as common as any other word one edit away
MIN_LETTERS = 3
# A word's candidates grow with its length squared (~54 per letter, each as long as the word): a
# 4,000-letter "word" took 1.5 s of CPU. Slips worth reading are in words of everyday length.
MAX_LETTERS = 20
# Unlisted words guessed at per text, the first ones: a guess costs ~0.5 ms, and 4,000 characters of
# made-up words must not cost seconds (real turns have a few slips at most).
MAX_GUESSES = 12
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_LETTERS = string.ascii_lowercase
_lock = threading.Lock()
_table: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None


class WordListMissing(RuntimeError):
    """wordfreq's data is not installed (``make install`` installs it)."""


def word_list_path() -> Path:
    """wordfreq's large English list, located without running the package's ``__init__``."""
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        raise WordListMissing("package 'wordfreq' is not installed; it ships the English word list")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "large_en.msgpack.gz"


def _key(word: str) -> int:
    # Stable across processes (str.__hash__ is not), so every worker reads the same table; two
    # checksums of different kinds (~0.2 us) where a cryptographic hash took ~1 us a candidate.
    data = word.encode()
    key = zlib.crc32(data) << 32 | zlib.adler32(data)
    return key - (1 << 64) if key >= 1 << 63 else key


def _build(source: Path) -> npt.NDArray[np.int64]:
    """The sorted keys of every word, then each one's frequency in centibels: one array, two halves."""
    # cBpack: a header, then lists of words; list i holds the words of frequency 10 ** (-i / 100).
    header, *buckets = ormsgpack.unpackb(gzip.decompress(source.read_bytes()))
    if header != {"format": "cB", "version": 1}:
        raise WordListMissing(f"unexpected word list format {header!r}")
    count = sum(len(words) for words in buckets)
    keys = np.fromiter((_key(word) for words in buckets for word in words), dtype=np.int64, count=count)
    cbs = np.fromiter((cb for cb, words in enumerate(buckets) for _ in words), dtype=np.int64, count=count)
    order = np.lexsort((cbs, keys))
    keys, cbs = keys[order], cbs[order]
    first = np.ones(count, dtype=bool)  # a key listed twice keeps its most common frequency
    first[1:] = keys[1:] != keys[:-1]
    return np.concatenate([keys[first], cbs[first]])


def _open_table() -> npt.NDArray[np.int64]:
    source = word_list_path()
    target = cache_dir() / f"words-{file_digest(source)}.npy"
    if not target.is_file():
        table = _build(source)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".npy", delete=False) as out:
                np.save(out, table)
            Path(out.name).replace(target)  # atomic: another worker sees no file or all of it
        except OSError as exc:  # a read-only home: the table stays in this process
            log.warning("cannot keep the word table (%s); holding it in memory", exc)
            return table
    mapped: npt.NDArray[np.int64] = np.load(target, mmap_mode="r")
    return mapped


def _words() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                table = np.asarray(_open_table())  # a plain view of the mapping, no memmap subclass
                half = len(table) // 2
                _table = table[:half], table[half:]
    return _table


def zipfs(words: list[str]) -> npt.NDArray[np.float64]:
    """How common each word (lower case) is: log10 of its uses per billion words; 0 when not listed."""
    keys, cbs = _words()
    wanted = np.fromiter((_key(w) for w in words), dtype=np.int64, count=len(words))
    at = np.minimum(keys.searchsorted(wanted), len(keys) - 1)
    return np.where(keys[at] == wanted, 9 - cbs[at] / 100, 0.0)


def zipf(word: str) -> float:
    """:func:`zipfs` of one word."""
    return float(zipfs([word])[0])


def _one_edit(word: str) -> list[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return sorted((deletes | swaps | changes | inserts) - {word})


def _apostrophe_back(word: str, written: float) -> str | None:
    """``word`` with an apostrophe put back, when that makes a contraction commoner than ``word``.

    Chat leaves apostrophes out more than any other slip: "weve" is "we've", though "were", one edit
    away, is far commoner than either (and "wheres" is "where's", not "where").
    """
    forms = [word[:i] + "'" + word[i:] for i in range(1, len(word))]
    scores = zipfs(forms)
    best = int(np.argmax(scores))
    return forms[best] if scores[best] > written else None


def likely_word(word: str, written: float | None = None) -> str | None:
    """The word ``word`` (lower case) is a slip of, or None when it is no slip or none is clear.

    ``written``: ``zipf(word)`` when the caller has it.
    """
    if not MIN_LETTERS <= len(word) <= MAX_LETTERS or not word.isalpha():
        return None
    written = zipf(word) if written is None else written
    if written >= KNOWN:
        return None
    contraction = _apostrophe_back(word, written)
    if contraction is not None:
        return contraction
    candidates = _one_edit(word)
    scores = zipfs(candidates)
    order = np.argsort(-scores)
    best = float(scores[order[0]])
    runner_up = float(scores[order[1]]) if len(order) > 1 else 0.0
    if best - written < GAP or best - runner_up < MARGIN:
        return None
    return candidates[int(order[0])]


@dataclass(frozen=True)
class Respelled:
    """A text with its slips corrected, and where each correction sits in both texts."""

    text: str
    original: str
    # (start in text, end in text, start in original, end in original), in order
    spans: tuple[tuple[int, int, int, int], ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """``text[start:end]`` as a span of the original: a corrected word maps to the word written."""
        return self._map(start, edge=0), self._map(end, edge=1)

    def _map(self, at: int, edge: int) -> int:
        i = bisect.bisect_right([s[0] for s in self.spans], at) - 1
        if i < 0:
            return at
        _, new_end, old_start, old_end = self.spans[i]
        if at < new_end or (edge == 1 and at == new_end):
            return old_end if edge else old_start
        return at - new_end + old_end


def _inside_a_name(match: re.Match[str], text: str) -> bool:
    """The letters are part of an address, a user name or a code ("alberts6@email.com"), not a word."""
    start, end = match.span()
    before, after = text[start - 1 : start], text[end : end + 2]
    if before.isdigit() or before in ("@", "_", ".", "/"):
        return True
    return after[:1].isdigit() or after[:1] in ("@", "_") or (after[:1] == "." and after[1:].isalnum())


def _may_be_a_slip(match: re.Match[str], text: str) -> bool:
    word = match.group()
    if (
        not MIN_LETTERS <= len(word) <= MAX_LETTERS
        or not word.isalpha()
        or any(c.isupper() for c in word[1:])
        or _inside_a_name(match, text)
    ):
        return False
    if not word[0].isupper():
        return True
    before = match.start() - 1
    while before >= 0 and text[before].isspace():
        before -= 1
    return before < 0 or text[before] in ".!?"  # a capital inside a sentence: a name


def respell(text: str) -> Respelled | None:
    """``text`` with its likely slips corrected, or None when nothing needs it (the usual case)."""
    parts: list[str] = []
    spans: list[tuple[int, int, int, int]] = []
    written = 0  # how much of ``text`` is copied into ``parts``
    length = 0  # the corrected text's length so far
    matches = [m for m in _WORD.finditer(text) if _may_be_a_slip(m, text)]
    known = zipfs([m.group().lower() for m in matches])
    guesses = 0
    for match, frequency in zip(matches, known, strict=True):
        if frequency >= KNOWN or guesses == MAX_GUESSES:
            continue
        guesses += 1
        word = match.group()
        fixed = likely_word(word.lower(), float(frequency))
        if fixed is None:
            continue
        if word[0].isupper():
            fixed = fixed.capitalize()
        before = text[written : match.start()]
        parts += [before, fixed]
        start = length + len(before)
        spans.append((start, start + len(fixed), match.start(), match.end()))
        length = start + len(fixed)
        written = match.end()
    if not spans:
        return None
    parts.append(text[written:])
    return Respelled("".join(parts), text, tuple(spans))
