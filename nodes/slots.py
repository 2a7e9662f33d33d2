"""Slot readers: each bot slot takes its value from the language layer's reading of a customer turn.

A reader gets a heard turn (:class:`nodes.hearing.Heard`) and whether the turn answers the slot's own
question, and picks its value from the layer's reading: a budget or a price from the money spans
("700k", "2M", "sixty dollars"), an area from the place spans, an address from the address spans, a
timeline from the time phrases, a name from the customer introducing themselves, an account from its
id. The turn's own words count as an answer only when the turn answers the slot's own question, and
never when the turn asks something itself or asks for a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from graph.language.normalize import amount
from graph.language.scope import said_of_main_verb
from graph.language.spans import Span, SpanKind
from nodes.hearing import Found, Heard, Reader, clip, hear

# Prepositions that say a time phrase is a deadline or a window ("*within* two months", "*by* March").
_TIME_PREPOSITIONS = frozenset({"in", "within", "by", "before", "until", "till", "around", "after", "over"})
# Places named as where the customer comes from or goes to are not where their home is.
_AWAY = frozenset({"from", "to"})
_NO = frozenset({"no", "nope", "nah", "none", "nothing"})
# Words between the ends of a range or the items of a list of values.
_RANGE_WORDS = frozenset({"to", "and", "or", "-", "between", "from"})


def _word_before(text: str, span: Span) -> str:
    words = text[: span.start].split()
    return words[-1].lower().strip(",") if words else ""


def _join(text: str, spans: list[Span]) -> str:
    """Spans that follow each other with only "or", "and", "to", a dash or commas between them, as one
    value ("Brookline or Newton", "$400k to $500k")."""
    first, last = spans[0], spans[0]
    for span in spans[1:]:
        gap = text[last.end : span.start].replace(",", " ").replace("-", " - ").split()
        if any(w.lower() not in _RANGE_WORDS for w in gap):
            break
        last = span
    return text[first.start : last.end]


def _amount(text: str) -> float | None:
    """The amount a phrase states; "around two million" reads from its first number word on."""
    words = text.split()
    half = next(
        (i for i, w in enumerate(words[:-1]) if w.lower() == "half" and words[i + 1] in ("a", "an")), -1
    )
    if half >= 0:  # "half a million": the number parser reads it as "a million"
        whole = amount(" ".join(words[half + 1 :]))
        return whole / 2 if whole is not None else None
    for start in range(len(words)):
        found = amount(" ".join(words[start:]))
        if found is not None:
            return found
    return None


def _range(text: str) -> tuple[float, float] | None:
    """The amounts a phrase states, low and high: "600-650k", "4 to 5 million", "$2M" (low == high).

    A magnitude written once applies to both ends ("between 400 and 500 thousand").
    """
    parts: list[list[str]] = [[]]
    for word in text.replace("–", " - ").replace("-", " - ").split():
        if word.lower() in _RANGE_WORDS and parts[-1]:
            parts.append([])
        elif word.lower() not in _RANGE_WORDS:
            parts[-1].append(word)
    last = parts[-1][-1] if parts[-1] else ""
    magnitude = last.lstrip("$€£0123456789.,")
    ends = []
    for part in parts:
        if part and magnitude and part is not parts[-1] and not part[-1].lstrip("$€£0123456789.,"):
            part = [*part, magnitude] if len(magnitude) > 2 else [*part[:-1], part[-1] + magnitude]
        value = _amount(" ".join(part)) if part else None
        if value is not None:
            ends.append(value)
    return (min(ends), max(ends)) if ends else None


def dollars(value: float) -> str:
    """ "$850,000", "$49.99"."""
    return f"${value:,.0f}" if value.is_integer() or value >= 1000 else f"${value:,.2f}"


def money(*, least: float = 0.0, budget: bool = False) -> Reader:
    """An amount: the money spans of a turn, and its numbers when it answers the slot's question.

    Args:
        least: Smallest amount that counts ("3" is not a house price, "$50" not a budget).
        budget: Prefer the amounts the customer states as a budget (the layer's budget cue) to others
            ("we sold ours for 500k and can spend 700k").
    """

    def read(heard: Heard, asked: bool) -> Found | None:
        kinds: tuple[SpanKind, ...] = ("money", "number") if asked else ("money",)
        spans = [s for s in heard.spans(*kinds) if s.kind == "money" or asked or s.key]
        found = [r for r in (_range(_join(heard.text, spans[i:])) for i in range(len(spans))) if r]
        found = [r for r in found if r[1] >= least]
        budgets = [r for r in found if r[1] in heard.cues.budget_amounts]
        if budget and budgets:
            found = budgets
        if not found:
            return None
        low, high = max(found, key=lambda r: r[1])
        return Found(dollars(high) if low == high or low < least else f"{dollars(low)} to {dollars(high)}")

    return read


def place(*, away: bool = False) -> Reader:
    """A town, city or area: the place spans, or the answer to the slot's own question.

    Args:
        away: Also take places the customer comes from or goes to ("relocating to Denver").
    """

    def read(heard: Heard, asked: bool) -> Found | None:
        kinds: tuple[SpanKind, ...] = ("place", "organisation") if asked else ("place",)
        spans = [s for s in heard.spans(*kinds) if away or _word_before(heard.text, s) not in _AWAY]
        if spans:
            return Found(_join(heard.text, spans))
        answer = heard.open_answer() if asked else None
        return Found(answer, open=True) if answer and len(answer.split()) <= 5 else None

    return read


def address(heard: Heard, asked: bool) -> Found | None:
    """A street address ("12 Oak Street", "450 Park Ave, Apt 3")."""
    spans = heard.spans("address")
    if spans:
        return Found(spans[0].text)
    answer = heard.open_answer() if asked else None
    return Found(answer, open=True) if answer and any(c.isdigit() for c in answer) else None


def timeline(heard: Heard, asked: bool) -> Found | None:
    """When the customer wants to move: the layer's time phrases ("within two months", "ASAP")."""
    cues = heard.cues.find("timeline") + heard.cues.find("timeline", negated=True)
    if cues:
        cue = min(cues, key=lambda c: c.start)
        before = heard.text[: cue.start].split()
        lead = before[-1] if before and before[-1].lower() in _TIME_PREPOSITIONS else ""
        return Found(f"{lead} {cue.text}".strip(), cue.label)
    spans = [s for s in heard.spans("date", "time") if asked or s.key]
    if spans:
        return Found(_join(heard.text, spans))
    deadline = _deadline(heard)
    if deadline is not None:
        return Found(deadline)
    answer = heard.open_answer() if asked else None
    return Found(answer, open=True) if answer else None


def _deadline(heard: Heard) -> str | None:
    """A date the request itself is timed by: "we need to sell *by March*", "want to buy *before
    June*" (not a date of the customer's situation: "we moved here in 2019")."""
    requests = [s for s in heard.said.said if s.kind == "request"]
    for span in heard.spans("date"):
        before = heard.text[: span.start].split()
        lead = before[-1].lower() if before else ""
        if lead not in _TIME_PREPOSITIONS or not any(r.start <= span.start < r.end for r in requests):
            continue
        if said_of_main_verb(heard.text, span.start):
            return f"{before[-1]} {span.text}"
    return None


def financing(heard: Heard, asked: bool) -> Found | None:
    """How the purchase is paid for: the layer's financing cue ("we're pre-approved", "cash")."""
    cues = heard.cues.find("financing") + heard.cues.find("financing", negated=True)
    if cues:
        cue = cues[0]
        ready = cue.label == "ready" and not cue.negated
        return Found(clip(cue.text, 12), "ready" if ready else "not_ready")
    answer = heard.open_answer() if asked else None
    return Found(answer, open=True) if answer else None


def motivation(heard: Heard, asked: bool) -> Found | None:
    """Why the customer wants to move: a reason they give, or their situation beside their request.

    "because we're downsizing", "we're relocating for a new job" (said with "I'd like to sell"), or
    the whole answer to "What's prompting the move?"; never a question or a request for a person.
    """
    if heard.wants_person:
        return None
    reasons = heard.said.reasons
    if not reasons and asked:
        answer = heard.open_answer()
        return Found(answer, open=True) if answer else None
    return Found(clip("; ".join(s.text for s in reasons))) if reasons else None


def customer_name(heard: Heard, asked: bool) -> Found | None:
    """The customer's own name: as they introduce themselves, or a person named in reply to the question."""
    people = [s.text for s in heard.spans("person") if asked or s.key == "customer_name"]
    name = heard.said.intro_name or (people[0] if people else "")
    if not name:
        return None
    # "this is dana": typed in lower case, still a name
    return Found(" ".join(w[:1].upper() + w[1:] for w in name.split()) if name.islower() else name)


def contact(heard: Heard, asked: bool) -> Found | None:
    """An e-mail address or a phone number."""
    spans = heard.spans("email", "phone")
    if not spans and asked:
        spans = [s for s in heard.spans("number", "id") if sum(c.isdigit() for c in s.text) >= 7]
    return Found(spans[0].text) if spans else None


def identifier(key: str, *, email: bool = False) -> Reader:
    """An id the customer gives: named by its cue ("my account is 88231"), or in reply to the question.

    Args:
        key: The layer's key for the id ("account_id", "order_id").
        email: An e-mail address identifies the account as well as its id does.
    """

    def read(heard: Heard, asked: bool) -> Found | None:
        spans = heard.spans("email") if email else []
        spans += [s for s in heard.spans("id") if s.key == key]
        if asked and not spans:  # any id, but one the customer named as another ("order 12345")
            spans = [
                s
                for s in heard.spans("id", "number")
                if sum(c.isdigit() for c in s.text) >= 4 and s.key in ("", key)
            ]
        if asked and not spans:
            words = heard.text.strip().strip(".#").split()
            if len(words) == 1 and any(c.isdigit() for c in words[0]):
                return Found(words[0])  # a bare code: "A1234X"
        return Found(spans[0].text) if spans else None

    return read


def issue(heard: Heard, asked: bool) -> Found | None:
    """What goes wrong: the layer's failure cue, the customer's situation or request, or their answer."""
    if heard.wants_person:
        return None
    failures = heard.cues.find("failure")
    if failures:
        return Found(clip(failures[0].text))
    if asked:
        answer = heard.open_answer()
        return Found(answer, open=True) if answer else None
    stated = heard.said.of_kind("situation", "request")
    return Found(clip(stated[0].text)) if stated else None


def request(heard: Heard, asked: bool) -> Found | None:
    """What the customer asks us to do ("I'd like a refund"), or their answer to the question."""
    if heard.wants_person:
        return None
    if asked:
        answer = heard.open_answer()
        return Found(answer, open=True) if answer else None
    requests = heard.said.of_kind("request")
    return Found(clip(requests[0].text)) if requests else None


def goal(heard: Heard, asked: bool) -> Found | None:
    """What the customer wants to do ("buy a flat", "sell my house at 12 Oak Street")."""
    if heard.wants_person:
        return None
    if heard.said.action:
        return Found(heard.said.action)
    choices = [s for s in heard.reading.answers if s.key == "choice"]
    if asked and choices:
        return Found(choices[0].text)
    answer = heard.open_answer() if asked else None
    return Found(answer, open=True) if answer else None


def noun(
    heads: Iterable[str],
    *,
    counted: bool = False,
    bare: bool = False,
    kinds: tuple[SpanKind, ...] = (),
    role: Literal["", "goal", "held"] = "",
) -> Reader:
    """A noun phrase the slot is about: "Standard plan", "25 users", "error code E42", "iPhone".

    Args:
        heads: Lemmas of the nouns that name the slot's subject ("plan", "user", "code").
        counted: Only phrases with a number ("25 users", not "users").
        bare: A head noun on its own counts ("app"); else it needs a modifier ("Standard plan").
        kinds: Span kinds that fill the slot on their own (a product name), unless they hold a digit.
        role: "held": what the customer has now ("I'm on the Basic plan", "my Standard plan"), never
            what they want to move to; "goal": what they want to move to or get ("upgrade to the
            Enterprise plan", "switch to Pro"). A name said in that role counts without its head noun
            ("switch to *Pro*"). Unset: any phrase. In reply to the slot's own question, any phrase
            that is not the other role's counts.
    """
    names = frozenset(heads)

    def read(heard: Heard, asked: bool) -> Found | None:
        spans = [s for s in heard.spans(*kinds) if not any(c.isdigit() for c in s.text)] if kinds else []
        if spans:
            return Found(spans[0].text)
        goals, held = heard.said.goals, heard.said.held
        mine, other = (goals, held) if role == "goal" else (held, goals)
        nouns = heard.said.nouns
        if role:  # in reply to the slot's question, anything but the other role
            nouns = tuple(n for n in nouns if n not in other) if asked else mine
        phrases = [
            phrase
            for lemma, phrase in nouns
            if (lemma in names and (phrase[:1].isdigit() if counted else bare or " " in phrase))
            or (role and phrase[:1].isupper() and (lemma, phrase) in mine)  # "switch to *Pro*"
        ]
        if phrases:
            return Found(max(phrases, key=lambda p: p != p.lower()))  # a name ("iPhone") over "app"
        if asked and counted:
            numbers = heard.spans("number")
            return Found(numbers[0].text) if numbers else None
        if role and other:
            return None  # "Upgrade to Enterprise" in reply to "Which plan are you on?" says no current plan
        return _answer_or_none(heard) if asked else None

    return read


def features(heard: Heard, asked: bool) -> Found | None:
    """What a home must have: "with a pool and privacy", "it must have parking", a "waterfront home"."""
    wants = list(heard.said.wants)
    if not wants and asked and not (heard.asks or heard.wants_person):
        wants = [phrase for _, phrase in heard.said.nouns]
    return Found(", ".join(wants)) if wants else None


def transaction(heard: Heard, asked: bool) -> Found | None:
    """How the deal is structured: the layer's transaction terms ("1031 exchange", "trust")."""
    terms = sorted({c.label for c in heard.cues.find("transaction")})
    if terms:
        return Found(", ".join(terms))
    return _answer_or_none(heard) if asked else None


def answer(heard: Heard, asked: bool) -> Found | None:
    """Only the answer to the slot's own question (a use case, a preference)."""
    return _answer_or_none(heard) if asked else None


def _answer_or_none(heard: Heard) -> Found | None:
    """The open answer, or "none" when the customer answers no ("No", "nope, nothing")."""
    first = heard.text.strip().split()[:1]
    if first and first[0].lower().strip(",.!") in _NO:
        return Found("none")
    found = heard.open_answer()
    return Found(found, open=True) if found else None


def first_of(*readers: Reader) -> Reader:
    """The first of ``readers`` that finds a value."""

    def read(heard: Heard, asked: bool) -> Found | str | None:
        for reader in readers:
            found = reader(heard, asked)
            if found:
                return found
        return None

    return read


def clause_about(lemmas: Iterable[str]) -> Reader:
    """The clause that talks about the slot's subject ("I was charged twice this month" for a charge)."""
    words = frozenset(lemmas)

    def read(heard: Heard, asked: bool) -> Found | None:
        if heard.wants_person:
            return None
        about = [s for s in heard.said.said if s.lemmas & words and s.kind not in ("filler", "question")]
        if about:
            return Found(clip(about[0].text))
        return _answer_or_none(heard) if asked else None

    return read


def label_of(reader: Reader, text: str) -> str:
    """The label ``reader`` gives a value written as ``text`` (an older record kept only the value)."""
    found = reader(hear(-1, text), False) if text else None
    return found.label if isinstance(found, Found) else ""
