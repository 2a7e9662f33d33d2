"""Offline fact extraction: the language layer's reading of every customer turn, plus retail rules.

Only customer turns yield facts (they are what the receiver must not ask again). The language layer
(:func:`graph.language.conversation_facts`) finds places, dates, times, amounts, names, addresses and
the answers to the questions asked; the retail rules (:mod:`graph.context.retail`) add what support chats
state in fixed shapes (ids, membership levels, brands, what was tried) under the keys receivers ask by.
A bare value is read in the light of the previous bot/agent question: "9342308357" is a phone after
"what is your phone number?" and an order id after "order id?". Every fact cites the turn whose text
contains its value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from graph.context.models import Entity, EntityType, Fact
from graph.context.retail import extract_turn
from graph.language.facts import Mention, conversation_facts
from graph.language.spans import SpanKind
from graph.textutil import DigestCache, has_words, normalize_value
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


KIND_TO_ENTITY: dict[SpanKind, EntityType] = {
    "person": "name",
    "place": "place",
    "organisation": "organisation",
    "address": "address",
    "date": "date",
    "time": "time",
    "money": "amount",
    "email": "email",
    "phone": "phone",
    "id": "id",
    "zip": "address",
    "product": "product",
}
_DATE_KEYS = frozenset({"date", "timeline"})


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
        if any(has_words(f.value, mention.value) for f in facts):
            continue
        text = texts.get(mention.turn, "")
        same_turn = [(i, f) for i, f in enumerate(facts) if f.turn == mention.turn]
        wider = next((i for i, f in same_turn if has_words(mention.value, f.value)), None)
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


def fact_types(facts: Sequence[Fact], turns: Sequence[Turn]) -> list[EntityType]:
    """What each fact's value is: by its key where the key says ("order_id" is an id), else by its span."""
    # A fact the language layer found is typed by what its span is ("Newton" is a place).
    kinds = {(m.turn, normalize_value(m.value)): m.kind for m in conversation_facts(turns)}

    def typed(fact: Fact) -> EntityType:
        if fact.key in KEY_TO_ENTITY:
            return KEY_TO_ENTITY[fact.key]
        return KIND_TO_ENTITY.get(kinds.get((fact.turn, normalize_value(fact.value)), "answer"), "other")

    return [typed(f) for f in facts]


def extract_entities(turns: Sequence[Turn], facts: Sequence[Fact] = ()) -> list[Entity]:
    """Typed mentions from every turn (facts first, then values bots, agents and the system stated)."""
    entities = [
        Entity(type=t, value=f.value, turn=f.turn)
        for f, t in zip(facts, fact_types(facts, turns), strict=True)
    ]
    seen = {normalize_value(e.value) for e in entities}
    for turn in turns:
        if turn.role == "customer":
            continue
        for fact in turn_facts(turn):
            if fact.key in KEY_TO_ENTITY and normalize_value(fact.value) not in seen:
                seen.add(normalize_value(fact.value))
                entities.append(Entity(type=KEY_TO_ENTITY[fact.key], value=fact.value, turn=turn.index))
    return entities
