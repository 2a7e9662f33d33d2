"""The retail rules: what support conversations state in fixed shapes, under the keys receivers ask by.

Ids (order, account, ticket), contact details, zip and pin codes, membership levels, payment methods,
brands and items, sizes, what the customer already tried, and the customer's own name, read from one
customer turn in the light of the keys the previous question asked for (see
:func:`graph.context.extract.asked_keys`). Every fact is grounded in the turn it reads. The language
layer (:mod:`graph.language`) reads everything else; :func:`graph.context.extract.extract_facts` merges
both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from graph.context.grounding import occurs_in
from graph.context.models import Fact
from graph.language import patterns as pt
from graph.language import retail_terms as lx
from graph.language.patterns import MONEY_RE
from graph.language.pipeline import shared_pipeline
from graph.transcript import Turn

_QUESTION_WORDS = re.compile(r"\b(?:try|should i|can i|could i|how do i|do i)\s+$", re.IGNORECASE)
_SUBJECT = re.compile(r"\b(?:i|you|we|they|he|she)\s+$", re.IGNORECASE)


@dataclass
class _TurnScan:
    """Facts found in one turn, with the character spans already claimed by a fact."""

    turn: Turn
    asked: frozenset[str]
    facts: list[Fact] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.spans)

    def add(self, key: str, value: str, span: tuple[int, int] | None = None) -> None:
        value = " ".join(value.split()).strip(" .,;:!?")
        if not value or not occurs_in(self.turn.text, value):
            return  # never emit an ungrounded value
        if span is not None:
            self.spans.append(span)
        self.facts.append(Fact(key=key, value=value, turn=self.turn.index))

    def left(self, start: int, width: int = 30) -> str:
        return self.turn.text[max(0, start - width) : start].lower()


def _ids(scan: _TurnScan) -> None:
    text = scan.turn.text
    for m in pt.EMAIL_RE.finditer(text):
        scan.add("email", m.group(0), m.span())
        scan.add("username", m.group(0).split("@", 1)[0])  # ABCD-style accounts: username = local part
    for m in pt.PHONE_RE.finditer(text):
        if scan.free(*m.span()):
            scan.add("phone", m.group(0).strip(), m.span())
    for m in pt.TICKET_RE.finditer(text):
        if scan.free(*m.span("v")) and any(c.isdigit() for c in m.group("v")):
            scan.add("ticket_id", m.group("v"), m.span("v"))
    for m in pt.TEN_DIGITS_RE.finditer(text):
        if not scan.free(*m.span()):
            continue
        left = scan.left(m.start())
        if "order" in left:
            key = "order_id"
        elif re.search(r"phone|cell|mobile|tel\b|call", left) or (
            "phone" in scan.asked and "order_id" not in scan.asked
        ):
            key = "phone"
        else:
            key = "order_id"
        scan.add(key, m.group(0), m.span())
    for m in pt.ALNUM10_RE.finditer(text):
        token = m.group(0)
        if not scan.free(*m.span()) or token.isdigit():
            continue
        left = scan.left(m.start())
        has_digit = any(c.isdigit() for c in token)
        account_cue = "account" in left or "account_id" in scan.asked or text.strip(" .") == token
        if not has_digit and not (token.isupper() and account_cue):
            continue  # a plain 10-letter word ("RIDICULOUS") is not an id
        if re.fullmatch(r"(?<![a-z])[a-z]+\d+", token) and ("user" in left or "account_id" not in scan.asked):
            scan.add("username", token, m.span())
        else:
            scan.add("account_id", token, m.span())
    for m in pt.USERNAME_CUE_RE.finditer(text):
        group = "v" if m.group("v") else "w"
        if scan.free(*m.span(group)) and m.group(group).lower() not in {"is", "and", "please"}:
            scan.add("username", m.group(group), m.span(group))
    if "username" in scan.asked:
        for m in re.finditer(r"[A-Za-z][\w.-]+", text):
            if scan.free(*m.span()) and pt.HANDLE_RE.match(m.group(0)):
                scan.add("username", m.group(0), m.span())
                break


def _places(scan: _TurnScan) -> None:
    text = scan.turn.text
    for m in lx.ADDRESS_RE.finditer(text):
        if scan.free(*m.span()):
            scan.add("street_address", m.group(0), m.span())
    has_street = any(f.key == "street_address" for f in scan.facts)
    for m in pt.STATE_ZIP_RE.finditer(text):
        # "in 46201" could be Indiana or a preposition: lower-case states need a street address too.
        if scan.free(*m.span("v")) and (text[m.start()].isupper() or has_street):
            scan.add("zip_code", m.group("v"), m.span("v"))
    for m in pt.ZIP_CUE_RE.finditer(text):
        if scan.free(*m.span("v")):
            scan.add("zip_code", m.group("v"), m.span("v"))
    for m in pt.PIN_CUE_RE.finditer(text):
        if scan.free(*m.span("v")):
            scan.add("pin_number", m.group("v"), m.span("v"))


def _money_and_time(scan: _TurnScan) -> None:
    text = scan.turn.text
    found = [m for m in lx.AMOUNT_RE.finditer(text)]
    found += [m for m in MONEY_RE.finditer(text) if m.group("cur") or m.group("mult") or m.group("word")]
    for m in sorted(found, key=lambda m: m.start()):
        if not scan.free(*m.span()):
            continue
        window = text[max(0, m.start() - 40) : m.end() + 20]
        key = "amount"
        if lx.BUDGET_CUE_RE.search(window):
            key = "budget"
        elif lx.PRICE_CUE_RE.search(window):
            key = "price_expectation"
        scan.add(key, m.group(0).strip(), m.span())
    for m in lx.DATE_RE.finditer(text):
        if scan.free(*m.span()):
            scan.add("date", m.group(0), m.span())
    for m in lx.TIMELINE_RE.finditer(text):
        if scan.free(*m.span()):
            scan.add("timeline", m.group(0), m.span())
    for regex, key in (
        (lx.FINANCING_RE, "financing"),
        (lx.BEDROOMS_RE, "rooms"),
        (lx.SQFT_RE, "square_feet"),
        (lx.PROPERTY_TYPE_RE, "property_type"),
    ):
        for m in regex.finditer(text):
            if scan.free(*m.span()):
                scan.add(key, m.group(0), m.span())


def _products(scan: _TurnScan) -> None:
    text = scan.turn.text
    for m in lx.PRODUCT_RE.finditer(text):
        brand = m.group("brand").lower()
        if brand in lx.AMBIGUOUS_BRANDS and not (
            m.group("brand")[0].isupper() or (m.group("item") and not _SUBJECT.search(text[: m.start()]))
        ):
            continue  # "I guess shirts run small" is the verb, "the guess shirt" is the brand
        if brand in lx.AMBIGUOUS_BRANDS and not m.group("item") and m.start() == 0:
            continue
        if scan.free(*m.span()):
            scan.add("product" if m.group("item") else "brand", m.group(0).replace("_", " "), m.span())
    for m in lx.BOUGHT_RE.finditer(text):
        words = m.group("np").split()
        while words and words[0].lower() in {"this", "that", "these", "those", "my", "is", "it", "are"}:
            words = words[1:]  # "I bought this shirt" -> "shirt"
        if words and scan.free(*m.span("np")):
            scan.add("product", " ".join(words), m.span("np"))
    for m in lx.PLAN_RE.finditer(text):
        if scan.free(*m.span()):
            scan.add("plan", m.group(0), m.span())
    for m in lx.SIZE_RE.finditer(text):
        if scan.free(*m.span()):
            scan.add("size", m.group(0), m.span())


def _account_details(scan: _TurnScan) -> None:
    text = scan.turn.text
    short = len(text.split()) <= 4
    for m in lx.MEMBERSHIP_RE.finditer(text):
        if scan.free(*m.span()) and (
            short or "membership_level" in scan.asked or lx.MEMBERSHIP_CUE_RE.search(text)
        ):
            scan.add("membership_level", m.group("v"), m.span())
    for m in lx.PAYMENT_RE.finditer(text):
        if scan.free(*m.span()):
            scan.add("payment_method", m.group("v"), m.span())
    for m in lx.TRIED_RE.finditer(text):
        first = m.group("v").split()[0].lower()
        past = first.endswith("ed") or first in {"tried", "used", "reset"}
        if _QUESTION_WORDS.search(text[: m.start()]):
            continue  # "should I try clearing the cache?" asks, it does not report
        if scan.free(*m.span()) and (past or lx.TRIED_CUE_RE.search(text)):
            scan.add("already_tried", m.group("v"), m.span())
    answer = re.search(r"(?:security\s+)?answer\s*(?:is|:)\s*(?P<v>[A-Za-z][\w' -]{1,30})", text, re.I)
    if answer:
        scan.add("security_answer", answer.group("v").split(".")[0], answer.span("v"))
    elif "security_answer" in scan.asked and _is_bare_answer(text) and scan.free(0, len(text)):
        scan.add("security_answer", text)


def _is_bare_answer(text: str) -> bool:
    """A short reply made of content words only ("Livingston", not "That's fine!")."""
    words = text.strip(" .!").split()
    return 0 < len(words) <= 3 and not any(w.lower().strip(".,!") in lx.NOT_NAME_WORDS for w in words)


def _is_name(candidate: str) -> bool:
    words = candidate.split()
    if not 2 <= len(words) <= 3:
        return False
    if any(w.lower().strip(".,") in lx.NOT_NAME_WORDS for w in words):
        return False
    return lx.PRODUCT_RE.fullmatch(candidate) is None  # "Calvin Klein" is a brand


def _names(scan: _TurnScan) -> None:
    text = scan.turn.text
    for regex in (lx.NAME_CUE_RE, lx.NAME_SUFFIX_RE):
        for m in regex.finditer(text):
            if scan.free(*m.span("v")) and _is_name(m.group("v")):
                scan.add("customer_name", m.group("v"), m.span("v"))
    if any(f.key == "customer_name" for f in scan.facts):
        return
    bare = text.strip(" .!,")
    if "customer_name" in scan.asked:
        for m in lx.NAME_PAIR_RE.finditer(text):
            if scan.free(*m.span("v")) and _is_name(m.group("v")):
                scan.add("customer_name", m.group("v"), m.span("v"))
                return
        lower = lx.LOWER_NAME_CUE_RE.search(text)
        if lower and scan.free(*lower.span("v")) and _is_name(lower.group("v").title()):
            scan.add("customer_name", lower.group("v"), lower.span("v"))
            return
        # A lower-cased answer to "full name?" ("joseph banter") is still a name.
        if re.fullmatch(r"(?<![A-Za-z'-])[A-Za-z][a-z'-]+(?:\s+[A-Za-z][a-z'-]+){1,2}", bare) and _is_name(
            bare.title()
        ):
            scan.add("customer_name", bare, (0, len(text)))
            return
    # A name typed on its own, even without a question ("Joyce Wu", "Joyce wu"), when the tagger reads
    # it as proper nouns: "Permission granted" and "Seven days" are capitalised too.
    typed = re.fullmatch(rf"{lx.NAME_WORD}(?:\s+[A-Za-z][a-z'-]+){{1,2}}", bare) and _is_name(bare)
    if typed and all(t.pos_ == "PROPN" for t in shared_pipeline().parse(bare)):
        scan.add("customer_name", bare, (0, len(text)))


def _bare_answers(scan: _TurnScan) -> None:
    """Values that only mean something as the answer to the question just asked."""
    found = {f.key for f in scan.facts}
    text = scan.turn.text
    for m in re.finditer(r"(?<![\w$.-])\d{4,6}(?![\w.-]?\d)", text):
        if not scan.free(*m.span()):
            continue
        value = m.group(0)
        zip_ok = len(value) == 5 and "zip_code" in scan.asked and "zip_code" not in found
        pin_ok = "pin_number" in scan.asked and ("pin" in text.lower() or not zip_ok)
        if pin_ok and "pin_number" not in found:
            scan.add("pin_number", value, m.span())
        elif zip_ok:
            scan.add("zip_code", value, m.span())
    if "amount" in scan.asked and not found & {"amount", "budget", "price_expectation"}:
        bare = lx.BARE_NUMBER_RE.match(text)
        if bare and scan.free(*bare.span("v")):
            scan.add("amount", bare.group("v"), bare.span("v"))


_STEPS = (_ids, _places, _money_and_time, _products, _account_details, _names, _bare_answers)


def extract_turn(turn: Turn, asked: Iterable[str] = ()) -> list[Fact]:
    """All facts stated in one customer turn, given the keys the previous question asked for."""
    scan = _TurnScan(turn=turn, asked=frozenset(asked))
    for step in _STEPS:
        step(scan)
    return scan.facts
