"""Asking a caller for the number to call them back on: ask, read it from what they say, read it back.

A caller who says "call me back" while the conversation knows no phone number or e-mail would leave a
callback nobody can make. So the voice channel asks for one, reads it from the next turn, reads it back
digit by digit and records the callback once the caller says yes (``api/voice/choosing.py``).

A recogniser writes dictated digits as words ("five five five one two ..."); they are written as digits
here (the one thing about reading a number that is particular to speech), then the language layer's
contact patterns (``graph/language/patterns.py``) find the number and the desk's own rule
(``desk.callbacks.parse_contact``) decides whether it can be called.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.voice.choices import Choice, read_choice, read_yes_no
from desk.callbacks import Contact, parse_contact
from desk.errors import InvalidRequest
from graph.language import pattern_spans
from graph.language.patterns import CONTACT_RE

ASK = "What number should we call you back on? Please say the digits one at a time."
ASK_AGAIN = "Sorry, I didn't get a number. Please say your phone number, one digit at a time."
GIVE_UP = (
    "Sorry, I couldn't get your number. Your request for a call back is recorded with your "
    "conversation; the team will see it."
)
TURNS = 6  # the caller's turns in the dialogue before giving up (each number, answer or miss)

_DIGITS = {
    **dict.fromkeys(["zero", "oh", "o"], "0"),
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
# What PocketSphinx writes for a digit said alone ("zero one five one two three far five"); counted
# only between two real digit words, so "talk to five" or "for me" keep their meaning.
_SOUNDS_LIKE = {"to": "2", "too": "2", "for": "4", "far": "4", "fore": "4", "won": "1", "ate": "8"}
_REPEAT = {"double": 2, "triple": 3}


def _spoken(token: str) -> str:
    return token.lower().strip(".,;:!?\"'()")


def written_digits(text: str) -> str:
    """``text`` with every run of spoken digits written as one number ("five five five one" -> "5551").

    Everything else is kept as the recogniser wrote it (a whisper server writes "555-123-4567" itself).
    """
    tokens = text.split()
    out: list[str] = []
    run: list[str] = []  # digit words of the current run; a sound-alike waits for the next real digit

    def close() -> None:
        tail: list[str] = []
        while run and run[-1] in _SOUNDS_LIKE:  # a sound-alike at the end of a run is a word
            tail.insert(0, run.pop())
        if run:
            out.append("".join(_DIGITS.get(w) or _SOUNDS_LIKE.get(w) or w for w in run))
        out.extend(tail)
        run.clear()

    i = 0
    while i < len(tokens):
        word, follows = _spoken(tokens[i]), _spoken(tokens[i + 1]) if i + 1 < len(tokens) else ""
        if word == "plus" and follows in _DIGITS and not run:  # an international number
            run.append("+")
        elif word in _REPEAT and follows in _DIGITS:  # "double one" -> "11"
            run.extend([follows] * _REPEAT[word])
            i += 1
        elif word in _DIGITS or (word in _SOUNDS_LIKE and run):
            run.append(word)
        else:
            close()
            out.append(tokens[i])
        i += 1
    close()
    return " ".join(out)


def heard_contact(text: str) -> Contact | None:
    """The phone number (or e-mail address) in what the caller said, if there is one the desk can use."""
    written = written_digits(text)
    found = [s.text for s in pattern_spans(written) if s.kind in ("phone", "email")]
    found += [m.group(0) for m in CONTACT_RE.finditer(written)]
    for candidate in found:
        try:
            return parse_contact(candidate)
        except InvalidRequest:
            continue
    return None


def read_back(contact: Contact) -> str:
    """The number as it is said back: digit by digit, in groups of three (the last of up to four)."""
    if contact.kind == "email":
        return contact.value
    digits = contact.value.lstrip("+")
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    if len(groups) > 1 and len(groups[-1]) == 1:
        groups[-2:] = [groups[-2] + groups[-1]]
    said = ", ".join(" ".join(g) for g in groups)
    return ("plus " if contact.value.startswith("+") else "") + said


@dataclass(frozen=True)
class Step:
    """What the dialogue does after one caller turn."""

    line: str | None = None  # what to say now
    contact: Contact | None = None  # confirmed: record the callback with it
    choice: Choice | None = None  # the caller named another option instead
    over: bool = False  # the dialogue has ended


@dataclass
class NumberDialogue:
    """One caller being asked for their number (``hear`` each of their turns until ``over``)."""

    handoff_id: str
    offered: tuple[Choice, ...] = ()
    heard: Contact | None = None  # read back, waiting for yes or no
    turns: int = 0

    def hear(self, text: str) -> Step:
        """The next step after the caller said ``text``."""
        self.turns += 1
        number = heard_contact(text)
        answer = read_yes_no(text) if self.heard is not None and number is None else None
        if answer is True and self.heard is not None:
            return Step(contact=self.heard, over=True)
        if number is not None:  # a first number, or a corrected one instead of yes or no
            self.heard = number
            return self._next(f"I heard {read_back(number)}. Is that right?")
        if self.heard is not None and answer is None:
            return self._next(f"Is {read_back(self.heard)} right? Please say yes or no.")
        self.heard = None
        other = read_choice(text)
        if other is not None and other != "callback" and other in self.offered:
            return Step(choice=other, over=True)
        return self._next(ASK_AGAIN)

    def _next(self, line: str) -> Step:
        if self.turns >= TURNS:
            return Step(line=GIVE_UP, over=True)
        return Step(line=line)
