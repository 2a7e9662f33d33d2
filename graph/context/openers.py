"""Openers: the receiver's first words, which prove the context arrived (never "how can I help?")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from graph.context.analysis import clip_words, second_person
from graph.context.models import Brief, Fact

# Which facts are worth citing first: the ones a receiver would otherwise ask for.
_CITE_ORDER = (
    "order_id",
    "product",
    "plan",
    "account_id",
    "membership_level",
    "amount",
    "budget",
    "price_expectation",
    "already_tried",
    "street_address",
    "property_type",
    "timeline",
    "financing",
    "date",
    "size",
    "payment_method",
    "email",
    "username",
    "phone",
    "brand",
    "ticket_id",
)
_PHRASES = {
    "order_id": "your order {v}",
    "account_id": "your account {v}",
    "product": "the {v}",
    "brand": "the {v} item",
    "plan": "you're on the {v}",
    "membership_level": "your {v} membership",
    "amount": "the amount of {v}",
    "budget": "your budget of {v}",
    "price_expectation": "your price of {v}",
    "already_tried": "that you already tried {v}",
    "street_address": "the address {v}",
    "zip_code": "zip code {v}",
    "email": "your email {v}",
    "username": "your username {v}",
    "phone": "your number {v}",
    "date": "the date you gave ({v})",
    "timeline": "your timeline ({v})",
    "financing": "that you're {v}",
    "property_type": "the {v}",
    "size": "{v}",
    "payment_method": "your {v}",
    "ticket_id": "ticket {v}",
}
_WANT = re.compile(
    r"\b(?:i(?:'d| would) like to|i want to|i need to|i wanted to|i(?:'m| am) trying to|i(?:'m| am) "
    r"looking to|i was wondering if|i want|i need)\s+(?P<rest>[^.?!]+)",
    re.IGNORECASE,
)
_ACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"cancel", re.I), "let me confirm the cancellation with you"),
    (
        re.compile(r"refund|return|exchange|send (?:it|something) back", re.I),
        "let me get the return or refund moving",
    ),
    (re.compile(r"charg|bill|fee|pay|price|cost|promo", re.I), "let me go through that charge with you"),
    (
        re.compile(r"password|username|log ?in|sign ?in|access|locked", re.I),
        "let me get you back into your account",
    ),
    (re.compile(r"address|update|change", re.I), "let me make that change now"),
    (re.compile(r"status|where|track|deliver|ship|arriv", re.I), "let me check exactly where things stand"),
)


def _cite(facts: Sequence[Fact], limit: int) -> list[str]:
    """Up to ``limit`` short phrases citing the most useful facts (one per key)."""
    by_key: dict[str, str] = {}
    for fact in facts:
        by_key.setdefault(fact.key, fact.value)
    keys = [k for k in _CITE_ORDER if k in by_key] + [k for k in by_key if k not in _CITE_ORDER]
    keys = [k for k in keys if k != "customer_name"]
    return [_PHRASES.get(k, k.replace("_", " ") + " {v}").format(v=by_key[k]) for k in keys[:limit]]


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def goal_phrase(goal: str) -> str:
    """The goal as a clause addressed to the customer ("you'd like to cancel your order")."""
    m = _WANT.search(goal)
    if m:
        return "you'd like to " + clip_words(second_person(m.group("rest").strip()), 14)
    text = clip_words(second_person(goal.rstrip("?.! ")), 14)
    if goal.rstrip().endswith("?"):
        return f'you asked "{text}"'
    return "you mentioned " + (text[0].lower() + text[1:] if text else "your request")


def _action(goal: str) -> str:
    for pattern, action in _ACTIONS:
        if pattern.search(goal):
            return action
    return "let me take it from here"


def first_name(facts: Sequence[Fact]) -> str:
    """The customer's first name, title-cased, or ``""``."""
    name = next((f.value for f in facts if f.key == "customer_name"), "")
    return name.split()[0].title() if name else ""


def tidy(text: str) -> str:
    """Fix punctuation left where clipped or quoted text meets a template's own full stop."""
    return re.sub(r'([…?!])"?\.', lambda m: m.group(0)[:-1], text)


def make_openers(facts: Sequence[Fact], goal: str, open_questions: Sequence[str]) -> list[str]:
    """Exactly three opening replies for the receiver, each citing known facts or the stated goal.

    The first sentence of each opener carries the citation, so trimming to one sentence (the budget
    does that) keeps what proves the context arrived.
    """
    name = first_name(facts)
    hi = f"Hi {name}" if name else "Hi"
    cites = _cite(facts, 3)
    want = goal_phrase(goal)
    last = open_questions[-1] if open_questions else ""
    pickup = f'you asked "{clip_words(second_person(last), 14)}"' if last else want
    action = _action(goal)
    if not cites:
        return [
            tidy(o)
            for o in [
                f"{hi}, I can see {want}. {action.capitalize()}.",
                f"{hi}, I've read your conversation, so you won't need to repeat anything; {action}.",
                f"Picking up where you left off: {pickup}.",
            ]
        ]
    return [
        tidy(o)
        for o in [
            f"{hi}, I can see {cites[0]}, and that {want}. {action.capitalize()}.",
            f"{hi}, I already have {_join(cites)}, so you won't need to repeat anything. "
            f"{action.capitalize()}.",
            f"Picking up where you left off with {cites[0]}: {pickup}.",
        ]
    ]


def short_openers(facts: Sequence[Fact]) -> list[str]:
    """Three minimal openers that still cite a fact (the budget's last resort before word clipping)."""
    cites = _cite(facts, 2) or ["your conversation so far"]
    return [
        f"I can see {cites[0]}.",
        f"I already have {_join(cites)}.",
        f"Picking up with {cites[0]}.",
    ]


def opening_message(brief: Brief, receiver_name: str) -> str:
    """The first message a specialist bot sends after a handoff: it names itself and cites 1-3 facts.

    Args:
        brief: The handoff brief the bot received.
        receiver_name: How the bot introduces itself, e.g. ``"the billing assistant"``.
    """
    name = first_name(brief.facts)
    cites = _cite(brief.facts, 3)
    hello = f"Hi {name}, this is {receiver_name}." if name else f"Hi, this is {receiver_name}."
    seen = f"I can see {_join(cites)}, and that {goal_phrase(brief.goal)}."
    if not cites:
        seen = f"I can see {goal_phrase(brief.goal)}."
    return tidy(f"{hello} {seen} {_action(brief.goal).capitalize()}.")
