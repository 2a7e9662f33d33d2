"""Offline fact extraction: the language layer's reading of every customer turn, plus retail rules.

Only customer turns yield facts (they are what the receiver must not ask again). The language layer
(:func:`graph.language.conversation_facts`) finds places, dates, times, amounts, names, addresses and
the answers to the questions asked; the retail rules below add what ABCD-style support conversations
state in fixed shapes (ids, membership levels, brands, what was tried) under the keys receivers ask by.
A bare value is read in the light of the previous bot/agent question: "9342308357" is a phone after
"what is your phone number?" and an order id after "order id?". Every fact cites the turn whose text
contains its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from graph.context import lexicon as lx
from graph.context.grounding import occurs_in
from graph.context.models import Entity, EntityType, Fact
from graph.language import patterns as pt
from graph.language.facts import Mention, conversation_facts
from graph.language.pipeline import shared_pipeline
from graph.textutil import MONEY_RE, DigestCache, normalize_value
from graph.transcript import Turn

# Which fact a bot/agent question asks for. Checked on the lower-cased question text.
ASK_PATTERNS: dict[str, re.Pattern[str]] = {
    "security_answer": re.compile(r"security|maiden|first pet|pet'?s name|mother'?s|secret question"),
    # The customer's own name ("your full name", "a name please", "name on the account"), not the name
    # of a thing ("the name of the alarm") or of a card.
    "customer_name": re.compile(
        r"\b(?:your|a|full|first|last|current)\s+(?:(?:full|first|last|first and last)\s+)?name\b"
        r"(?!\s+of\b)(?!\s+on\s+the\s+card)|\bname on (?:the|your) account"
    ),
    "account_id": re.compile(r"account\s*(?:id|number|#|no\b)|\bids\b"),
    "order_id": re.compile(r"order\s*(?:id|number|#|no\b)|order ids|\bids\b"),
    "phone": re.compile(r"phone|telephone|\bcell\b|mobile"),
    "email": re.compile(r"e-?mail"),
    "username": re.compile(r"user\s?name"),
    "zip_code": re.compile(r"\bzip|postal"),
    "street_address": re.compile(r"(?<!email )(?<!e-mail )\baddress"),
    "pin_number": re.compile(r"\bpin\b"),
    "membership_level": re.compile(r"member|\blevel\b|\btier\b"),
    "amount": re.compile(r"how much|amount|price|cost|charged|total"),
    "date": re.compile(r"\bwhen\b|how long ago|\bdate\b|how many days"),
    "payment_method": re.compile(r"payment|pay with|paid with|\bcard\b|how would you like"),
    "size": re.compile(r"\bsize"),
    "product": re.compile(r"\bitem\b|product|brand|which one|what did you (?:order|buy)"),
}
KEY_TO_ENTITY: dict[str, EntityType] = {
    "customer_name": "name",
    "account_id": "id",
    "order_id": "id",
    "ticket_id": "id",
    "username": "id",
    "pin_number": "id",
    "email": "email",
    "phone": "phone",
    "amount": "amount",
    "budget": "amount",
    "price_expectation": "amount",
    "date": "date",
    "timeline": "date",
    "product": "product",
    "brand": "product",
    "plan": "product",
    "street_address": "address",
    "zip_code": "address",
}
_QUESTION_WORDS = re.compile(r"\b(?:try|should i|can i|could i|how do i|do i)\s+$", re.IGNORECASE)
_SUBJECT = re.compile(r"\b(?:i|you|we|they|he|she)\s+$", re.IGNORECASE)


# What each distinct text yields, read once: a brief built at the 25th turn reads only the new turns.
_ASKED: DigestCache[frozenset[str]] = DigestCache(8192)
_FACTS: DigestCache[tuple[tuple[str, str], ...]] = DigestCache(8192)


def asked_keys(question: str) -> frozenset[str]:
    """Fact keys a bot/agent message asks for (empty when it asks for none)."""
    return _ASKED.get_or_compute(question, _asked_keys)


def _asked_keys(question: str) -> frozenset[str]:
    text = question.lower()
    keys = {key for key, pattern in ASK_PATTERNS.items() if pattern.search(text)}
    if "security_answer" in keys:
        keys.discard("customer_name")  # "your pet's name" asks for a security answer, not a name
    return frozenset(keys)


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


def question_context(turns: Sequence[Turn]) -> dict[int, frozenset[str]]:
    """Map each customer turn index to the keys the latest bot/agent message block asked for."""
    context: dict[int, frozenset[str]] = {}
    asked: frozenset[str] = frozenset()
    block: frozenset[str] = frozenset()
    in_block = False
    for turn in turns:
        if turn.role in ("bot", "agent"):
            # Consecutive agent messages form one block ("Ok." + "Can I have your name?").
            block = (block if in_block else frozenset()) | asked_keys(turn.text)
            in_block = True
        elif turn.role == "customer":
            if in_block and block:
                asked = block  # a new question; a bare "That works!" keeps the open one
            context[turn.index] = asked
            # "I have a pin number." then "67671": the customer announces what comes next.
            asked = asked | asked_keys(turn.text)
            in_block = False
    return context


def extract_turn(turn: Turn, asked: Iterable[str] = ()) -> list[Fact]:
    """All facts stated in one customer turn, given the keys the previous question asked for."""
    scan = _TurnScan(turn=turn, asked=frozenset(asked))
    for step in _STEPS:
        step(scan)
    return scan.facts


def turn_facts(turn: Turn, asked: frozenset[str] = frozenset()) -> list[Fact]:
    """:func:`extract_turn`, computed once per distinct text and question context, then cited to ``turn``.

    The facts depend only on the text and ``asked`` (the index merely cites the turn), so they are kept
    in a bounded cache keyed by a digest of the text.
    """

    def read(_: str) -> tuple[tuple[str, str], ...]:
        return tuple((f.key, f.value) for f in extract_turn(turn, asked))

    found = _FACTS.get_or_compute(turn.text, read, salt=",".join(sorted(asked)))
    return [Fact(key=key, value=value, turn=turn.index) for key, value in found]


def _retail_facts(turns: Sequence[Turn], context: dict[int, frozenset[str]]) -> list[Fact]:
    """Facts the retail rules find in every customer turn, first mention kept, duplicates dropped."""
    facts: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    for turn in turns:
        if turn.role != "customer":
            continue
        for fact in turn_facts(turn, context.get(turn.index, frozenset())):
            ident = (fact.key, normalize_value(fact.value))
            if ident not in seen:
                seen.add(ident)
                facts.append(fact)
    return facts


_DATE_KEYS = frozenset({"date", "timeline"})


def _inside(short: str, long: str) -> bool:
    return f" {normalize_value(short)} " in f" {normalize_value(long)} "


def _overlap(text: str, a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are found in ``text`` (first occurrences) and share a character."""
    lower = text.lower()
    start_a, start_b = lower.find(a.lower()), lower.find(b.lower())
    if start_a < 0 or start_b < 0:
        return False
    return start_a < start_b + len(b) and start_b < start_a + len(a)


def merge_mentions(
    retail: Sequence[Fact], mentions: Sequence[Mention], turns: Sequence[Turn] = ()
) -> list[Fact]:
    """The retail facts, then the language layer's mentions that add a value, in the layer's rank.

    A mention inside a retail value adds nothing. A mention of the same turn that contains a retail
    value ("12th of this month" around "this month") is the fuller reading: it takes the retail fact's
    place and keeps its key, which receivers ask by. Of two overlapping readings of a date ("on
    Wednesday", "Wednesday next week") the longer is kept.
    """
    texts = {t.index: t.text for t in turns}
    facts = list(retail)
    for mention in mentions:
        if any(_inside(mention.value, f.value) for f in facts):
            continue
        text = texts.get(mention.turn, "")
        same_turn = [(i, f) for i, f in enumerate(facts) if f.turn == mention.turn]
        wider = next((i for i, f in same_turn if _inside(f.value, mention.value)), None)
        if wider is not None:
            facts[wider] = facts[wider].model_copy(update={"value": mention.value})
            continue
        # Two readings of one date that overlap ("on Wednesday" and "Wednesday next week"): the longer.
        dated = mention.kind in ("date", "time")
        rival = next(
            (
                i
                for i, f in same_turn
                if dated and f.key in _DATE_KEYS and _overlap(text, f.value, mention.value)
            ),
            None,
        )
        if rival is None:
            facts.append(Fact(key=mention.key, value=mention.value, turn=mention.turn))
        elif len(mention.value) > len(facts[rival].value):
            facts[rival] = facts[rival].model_copy(update={"value": mention.value})
    return facts


def extract_facts(turns: Sequence[Turn]) -> list[Fact]:
    """Grounded facts from every customer turn, ranked for a receiver, each value once.

    The retail rules' facts come first (ids, names, contact details under their usual keys), then the
    language layer's: answers to the questions asked, then values found on their own, then typed noun
    phrases (:func:`graph.language.conversation_facts`). The budget sheds facts from the end.
    """
    context = question_context(turns)
    mentions = conversation_facts(turns)
    # A name typed alone that nobody asked for and that answers another question ("What is the name of
    # the alarm?" "Music Practice") is that answer, not the customer's name.
    answers = {(m.turn, normalize_value(m.value)) for m in mentions if m.answered and m.key != "person"}
    texts = {t.index: normalize_value(t.text) for t in turns}
    retail = [
        f
        for f in _retail_facts(turns, context)
        if not (
            f.key == "customer_name"
            and "customer_name" not in context.get(f.turn, frozenset())
            and texts.get(f.turn) == normalize_value(f.value)  # typed alone, with no introduction
            and (f.turn, normalize_value(f.value)) in answers
        )
    ]
    return merge_mentions(retail, mentions, turns)


def extract_entities(turns: Sequence[Turn], facts: Sequence[Fact] = ()) -> list[Entity]:
    """Typed mentions from every turn (facts first, then values bots, agents and the system stated)."""
    entities = [Entity(type=KEY_TO_ENTITY.get(f.key, "other"), value=f.value, turn=f.turn) for f in facts]
    seen = {normalize_value(e.value) for e in entities}
    for turn in turns:
        if turn.role == "customer":
            continue
        for fact in turn_facts(turn):
            if fact.key in KEY_TO_ENTITY and normalize_value(fact.value) not in seen:
                seen.add(normalize_value(fact.value))
                entities.append(Entity(type=KEY_TO_ENTITY[fact.key], value=fact.value, turn=turn.index))
    return entities
