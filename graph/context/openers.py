"""Openers: the receiver's first words, which prove the context arrived (never "how can I help?").

Each opener speaks to the customer by first name when it is known, retells their request in the
second person ("Hi Dana, I see you need to sell 48 Maple Avenue in Newton by March.") and cites the
other facts as a person would ("your order 9342308357", "a budget of $400k"), never by a key name.
The first sentence of each carries a citation, so trimming to one sentence (the budget does that)
keeps what proves the context arrived.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from graph.context.changes import as_changed
from graph.context.models import Brief, Fact
from graph.context.prose import best_clause, customer_name, first_name, listing, retell, retell_goal
from graph.context.summary import attach, fact_sort
from graph.language.normalize import normalized
from graph.language.questions import COUNT_PREFIX
from graph.language.statements import read_statements
from graph.textutil import has_words
from graph.transcript import Turn

# How a fact is cited to the customer, by key; a key not listed is cited by its value alone when the
# value names itself (a time, a place, an amount, a name or a number).
_PHRASES = {
    "order_id": "your order {v}",
    "account_id": "your account {v}",
    "ticket_id": "ticket {v}",
    "username": "your username {v}",
    "email": "your email {v}",
    "phone": "your number {v}",
    "zip_code": "the {v} zip code",
    "membership_level": "your {v} membership",
    "plan": "the {v}",
    "budget": "a budget of {v}",
    "price_expectation": "a price of {v}",
    "financing": "that you're {v}",
}
# Facts a receiver uses but does not read back to the customer.
_UNCITED = frozenset({"customer_name", "choice", "pin_number", "security_answer"})
# The order in which facts are worth citing: those a receiver would otherwise ask for first.
_CITE_ORDER = (
    "order_id",
    "account_id",
    "street_address",
    "timeline",
    "budget",
    "price_expectation",
    "amount",
    "plan",
    "financing",
    "already_tried",
    "product",
    "membership_level",
    "date",
    "email",
    "username",
    "phone",
    "ticket_id",
)
_MAX_ACTION_WORDS = 8
_MARK_BEFORE_STOP = re.compile(r" ?[,;:]([.?!])")  # one mark: linear on any text
# Verbs of wanting, having or knowing: "I want it from Tuesday" asks for nothing to help with.
_NOT_ACTIONS = frozenset(
    {"want", "need", "like", "love", "have", "know", "see", "wonder", "think", "hope", "be"}
)


def _count(value: str) -> int | None:
    """The number a value is when it is only a number ("2", "Two", "1,200"), else None."""
    word = value.replace(",", "")
    if len(value.split()) != 1 or not (word.isdigit() or word.isalpha()):
        return None  # "xsjdsh29" holds a number, and is none
    number = normalized("number", value)
    return int(number) if number is not None and number.isdigit() else None


def _citable(fact: Fact) -> bool:
    if fact.key in _UNCITED or fact.key == fact.value.split()[-1].lower():
        return False  # a noun phrase keyed by its own head ("shipping order") cites nothing new
    if fact.key in _PHRASES or fact_sort(fact):
        return True
    count = _count(fact.value)
    if count is not None:
        # a bare number says nothing on its own ("I've noted New York, 2 and ..."): cited with what it
        # counts ("2 tickets", from the question's "number_of_tickets"), never "1 tickets"
        return fact.key.startswith(COUNT_PREFIX) and count != 1
    return any(c.isdigit() for c in fact.value) or fact.value[:1].isupper()


def cite(facts: Sequence[Fact], limit: int, *, besides: str = "") -> list[str]:
    """Up to ``limit`` phrases citing the most useful facts that hold, one per key, none in ``besides``."""
    by_key: dict[str, str] = {}
    for fact in facts:
        if fact.changed_to is None and _citable(fact) and not has_words(besides, fact.value):
            by_key.setdefault(fact.key, fact.value)
    keys = [k for k in _CITE_ORDER if k in by_key] + [k for k in by_key if k not in _CITE_ORDER]
    return [_phrase(k, by_key[k]) for k in keys[:limit]]


def _phrase(key: str, value: str) -> str:
    if key == "already_tried":
        done = retell(value, "second")[0]
        verb = done.split()[0].lower()
        if verb.endswith("ed"):
            return f"that you already {done}"  # "logged out", not "tried logged out"
        return f"that you've already tried {'' if verb.endswith('ing') else 'to '}{done}"
    if key.startswith(COUNT_PREFIX) and _count(value) is not None:
        return f"{value.lower()} {key.removeprefix(COUNT_PREFIX).replace('_', ' ')}"
    return _PHRASES.get(key, "{v}").format(v=value)


def _request(goal: str, facts: Sequence[Fact], turns: Sequence[Turn]) -> str:
    """ "you need to sell 48 Maple Avenue in Newton by March": the goal retold, with its time and place."""
    told = as_changed(retell_goal(goal, "second", "") or "", facts, noted=False)
    if not told:
        return ""
    goal_turn = next((t.index for t in turns if t.role == "customer" and goal in t.text), -1)
    extras = attach(
        told, facts, sorts=("time", "place"), turns=turns, goal_turn=goal_turn, noted=False, goal=goal
    )
    return told + extras


def _action(goal: str) -> str:
    """ "Let me help you cancel your order." from the request's own verb, else a plain hand-over.

    A verb of wanting or knowing ("I want it", "I'd like to know ...") is not something to help with.
    An imperative asks us to do it ("Find restaurants in Benicia", "show me my alarms"): "Let me find
    restaurants in Benicia.", "Let me show you your alarms." ("help you show you" was the retelling);
    so does a question with a modal ("Can you help me find an apartment?": "Let me help you find an
    apartment.").
    """
    best = best_clause(goal)
    if best is None or best.kind not in ("request", "question"):
        return "I'll take it from here."
    if best.kind == "request":
        action = read_statements(best.text).action
    else:  # read in its sentence: "Can you tell me" stops short of "when the fee is due"
        action = read_statements(goal).asked_action
    verb = action.split()[0].lower() if action else ""
    told = retell(action, "second")[0] if action else ""
    if not verb or verb in _NOT_ACTIONS or len(told.split()) > _MAX_ACTION_WORDS:
        return "I'll take it from here."
    told = told.rstrip(",;:")
    if best.form == "imperative" or best.kind == "question":  # "Can you help me find ...?": ours to do
        return f"Let me {told[:1].lower()}{told[1:]}."  # the verb, capitalised only as the sentence's start
    return f"Let me help you {told}."


def _pickup(question: str) -> str:
    told = retell_goal(question if question.endswith("?") else question + "?", "second", "")
    return told or "you had a question"


def _names_a_fact(text: str, facts: Sequence[Fact]) -> bool:
    return any(has_words(text, f.value) for f in facts if f.key not in _UNCITED)


def make_openers(
    facts: Sequence[Fact], goal: str, open_questions: Sequence[str], turns: Sequence[Turn] = ()
) -> list[str]:
    """Exactly three opening replies for the receiver, each citing known facts or the stated goal.

    Args:
        facts: The brief's facts, ranked.
        goal: The customer's goal sentence.
        open_questions: The customer's latest questions.
        turns: The conversation, for the name the customer introduced themselves with.
    """
    full_name = customer_name(turns, facts)
    name = first_name(full_name)
    hi = f"Hi {name}, " if name else "Hi, "
    request = _request(goal, facts, turns)
    cites = cite(facts, 3, besides=f"{request} {full_name}")
    noted = listing(cites)
    # A citation comes early in each first sentence: the budget may clip an opener to a few words.
    if request and cites and not _names_a_fact(request, facts):
        first = f"{hi}I've noted {listing(cites[:2])}, and I see {request}."
    elif request:
        first = f"{hi}I see {request}." + (f" I've also noted {noted}." if cites else "")
    else:
        first = f"{hi}I've noted {noted}." if cites else f"{hi}I've read your conversation so far."
    if cites:
        second = (
            f"{hi}I already have everything you've told us ({noted}), so you won't need to repeat anything."
        )
    else:
        second = f"{hi}I've read your whole conversation, so you won't need to repeat anything."
    pickup = _pickup(open_questions[-1]) if open_questions else request or "your request"
    if cites and not _names_a_fact(pickup, facts):
        third = f"{hi}with {cites[0]} noted, let's pick up where you left off: {pickup}."
    else:
        third = f"{hi}picking up where you left off: {pickup}."
    action = as_changed(_action(goal), facts, noted=False)
    return [_tidy(first), _tidy(f"{second} {action}"), _tidy(third)]


def short_openers(facts: Sequence[Fact]) -> list[str]:
    """Three minimal openers that still cite a fact (the budget's last resort before word clipping)."""
    cites = cite(facts, 2) or ["your conversation so far"]
    return [f"I can see {cites[0]}.", f"I already have {listing(cites)}.", f"Picking up with {cites[0]}."]


def opening_message(brief: Brief, receiver_name: str, *, name: str = "") -> str:
    """The first message a specialist bot sends after a handoff: it names itself and cites 1-3 facts.

    Args:
        brief: The handoff brief the bot received.
        receiver_name: How the bot introduces itself, e.g. ``"the billing assistant"``.
        name: The customer's name when the bot knows it (it may have heard them introduce themselves).
    """
    full_name = name or customer_name(brief.transcript, brief.facts)
    first = first_name(full_name)
    hello = f"Hi {first}, this is {receiver_name}." if first else f"Hi, this is {receiver_name}."
    request = _request(brief.goal, brief.facts, brief.transcript)
    cites = cite(brief.facts, 3, besides=f"{request} {full_name}")
    if request:
        seen = f"I see {request}" + (f", and I've noted {listing(cites)}." if cites else ".")
    else:
        seen = f"I've noted {listing(cites)}." if cites else "I've read our conversation so far."
    return _tidy(f"{hello} {seen}")


def _tidy(text: str) -> str:
    """One space between words, no doubled stops ("by March..", "…."), no comma before a stop ("bring
    up your alarms,.")."""
    text = " ".join(text.split()).replace("..", ".").replace("….", "…").replace("?.", "?")
    return _MARK_BEFORE_STOP.sub(r"\1", text)
