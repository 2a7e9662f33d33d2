"""The brief's five-second summary, written about the customer in the third person.

"Dana Whitfield would like to sell their house at 12 Oak Street within two months (around $850,000),
because they're relocating for a new job. Dana is devastated; their ex-husband's lawyer says there's
a lien on the title." The first sentence is the customer's request retold (:mod:`graph.context.prose`),
with the when, how much and where they gave and the reason they gave; the second is what they raised
last. Every value comes from the facts or the customer's own clauses; no turn is quoted whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph.context.changes import as_changed, now_and_was
from graph.context.models import Fact
from graph.context.prose import (
    best_clause,
    coordinated_request,
    customer_name,
    first_name,
    lower_first,
    retell,
    retell_goal,
    retell_said,
    starts_with_name,
    subordinate_clauses,
)
from graph.context.tokens import count_tokens
from graph.language.statements import Said, read_statements
from graph.textutil import has_words
from graph.transcript import Turn

# Words before an amount that say it is approximate ("around $850,000").
_APPROXIMATE = frozenset({"around", "about", "roughly", "approximately", "approx", "circa", "~"})
# A time value that reads on its own after a verb phrase ("within two months", "next Tuesday").
_TIME_LEADS = frozenset(
    {"in", "within", "by", "before", "after", "until", "around", "on", "at", "next", "this"}
)
_TIME_KEYS = frozenset({"timeline", "date", "time", "duration"})
_MONEY_KEYS = frozenset({"amount", "budget", "price_expectation", "price"})
_PLACE_KEYS = frozenset({"place", "city", "area", "location", "neighbourhood", "neighborhood"})
_RAISED = ("situation", "question", "request", "reason")
_MAX_WORDS = 40
# Customer turns after the request whose values belong to it (answers to the follow-up questions).
_NEAR_TURNS = 2


def fact_sort(fact: Fact) -> str:
    """What kind of value a fact holds, from its key: "time", "money", "place" or ""."""
    key = fact.key
    if key in _TIME_KEYS or key.endswith(("_date", "_time", "_day")):
        return "time"
    if key in _MONEY_KEYS or fact.value[:1] in "$€£":
        return "money"
    if key in _PLACE_KEYS or key.endswith(("_city", "_location")):
        return "place"
    return ""


def _approximate(fact: Fact, turns: Sequence[Turn]) -> bool:
    text = next((t.text for t in turns if t.index == fact.turn), "")
    before = text[: text.find(fact.value)].split() if fact.value in text else []
    return bool(before) and before[-1].lower() in _APPROXIMATE


def attach(
    clause: str,
    facts: Sequence[Fact],
    *,
    sorts: Sequence[str] = ("time", "place", "money"),
    turns: Sequence[Turn] = (),
    goal_turn: int = -1,
    noted: bool = True,
    goal: str = "",
) -> str:
    """When, where and how much to add to a retold request: " within two months in Newton ($850,000)".

    A kind of value the request already names ("by March") is not added again. With the turns, only
    facts stated with the request or just after it count, so a fact from a later, unrelated request
    (a second task in the same chat) is not attached to this one. A value the customer changed is
    added as what it became (with what it was, unless ``noted`` is False). A value the ``goal``
    sentence gives in the customer's situation or reason is not the request's: "(we are) moving to
    Denver in May" says when they move, not when they sell.
    """
    customer = [t.index for t in turns if t.role == "customer" and t.index >= goal_turn]
    near = set(customer[: _NEAR_TURNS + 1])
    facts = [f for f in facts if not _said_beside(f.value, goal)]
    extras = ""
    for sort in sorts:
        if any(has_words(clause, f.value) for f in facts if fact_sort(f) == sort):
            continue
        # A fact whose slot the request names ("with a return date") would read as a form field.
        same = [f for f in facts if fact_sort(f) == sort and not has_words(clause, f.key.replace("_", " "))]
        fact = next((f for f in same if not turns or f.turn in near), None)
        if fact is None:
            continue
        value = now_and_was(fact, noted=noted)
        # inside parentheses a change reads "(Friday, was Tuesday)", not nested ones
        inner = f"{fact.changed_to}, was {fact.value}" if fact.changed_to is not None and noted else value
        if sort == "money":
            extras += f" ({'around ' if _approximate(fact, turns) else ''}{inner})"
        elif sort == "place":
            extras += f" in {value}"
        else:
            timed = value.split()[0].lower() in _TIME_LEADS
            extras += f" {value}" if timed else f" ({inner})"
    return extras


def _said_beside(value: str, goal: str) -> bool:
    """``value`` is in a clause of the ``goal`` sentence that tells the customer's situation or reason,
    not in the goal's own: "(we are) moving to Denver in May" says when they move, not when they sell."""
    if not goal or not has_words(goal, value):
        return False
    told = best_clause(goal)
    beside = [s for s in read_statements(goal).said if s.kind in ("situation", "reason") and s != told]
    return any(has_words(s.text, value) for s in beside) and not (told and has_words(told.text, value))


def _goal_turn(turns: Sequence[Turn], goal: str) -> int:
    return next((t.index for t in turns if t.role == "customer" and goal and goal in t.text), -1)


def _reason(turns: Sequence[Turn], goal: str, goal_turn: int, asks: bool) -> tuple[Said, str] | None:
    """The first reason the customer gives for the goal, in the goal's own turn, that is not the clause
    the summary retells already, and the turn's text; a situation only where the goal ``asks`` (a
    request or question), not beside a goal that is a situation itself.

    A reason in another turn is the reason for what that turn asks: tied to the goal it read "would
    like to watch a movie, because they love football" or "asks who directed the film, because Green
    Book sounds all right" (most such links in the dev conversations were wrong).
    """
    turn = next((t for t in turns if t.index == goal_turn and t.role == "customer"), None)
    if turn is None:
        return None
    for said in read_statements(turn.text).reasons:
        # a situation explains what the customer asks for (``asks``), not another situation
        if not has_words(goal, said.text) and (asks or said.kind == "reason") and len(said.text.split()) > 2:
            return said, turn.text
    return None


def _raised_last(
    turns: Sequence[Turn], after: int, used: Sequence[str], facts: Sequence[Fact], skip: Sequence[str] = ()
) -> tuple[list[Said], str]:
    """The clauses of the latest customer turn (after the goal's, or after what the summary told of
    it) that raise something new, but those of the goal's turn in ``skip``.

    A fragment ("in transit", "Correct.") answers a question and a clause holding a fact states a
    value the brief lists already; neither is a concern. Returns the clauses and their turn's text.
    """
    values = [f.value for f in facts]
    for turn in reversed(turns):
        if turn.role != "customer" or turn.index < after:
            continue
        goal_end = max((turn.text.find(u) + len(u) for u in used if u in turn.text), default=0)
        said = [
            s
            for s in read_statements(turn.text).said
            if s.kind in _RAISED
            and s.start >= goal_end
            and (
                s.kind == "question"
                or (
                    s.form not in ("fragment", "phrase")
                    # a request holding a value still asks ("must sell before August")
                    and (s.kind == "request" or not any(has_words(s.text, v) for v in values))
                )
            )
            and not any(s.text in u or u in s.text for u in used)
            and not (turn.index == after and s.text in skip)
        ]
        if said:
            questions = [s for s in said if s.kind == "question"]
            return [s for s in said if s.kind != "question" or s is questions[0]][:2], turn.text
    return [], ""


def _told(said: Said, source: str, who: str, *, lead: bool) -> str:
    """A clause the customer raised, retold: the first names them, the next one only swaps pronouns.

    Read in its turn's parse (``source``), except a question, which is retold as a question on its own.
    """
    if said.kind == "question":
        return retell_goal(said.text + "?", "third", who) or ""
    if lead:
        return retell_said(said, source, "third", who or "the customer")
    told = retell(said.text, "third", source=source, at=said.start)[0]
    # it follows a semicolon: "Albert doesn't know; let them look", its capital only the sentence's
    return told if starts_with_name(said.text, source, said.start) else lower_first(told)


def _sentence(text: str) -> str:
    text = text.strip().rstrip(",;:")
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!", "…")) else text + "."


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]).rstrip(",;:") + "…"


def write_summary(turns: Sequence[Turn], facts: Sequence[Fact], goal: str, max_tokens: int) -> str:
    """Two short sentences about the customer: their request with its facts and reason, then their latest concern.

    Args:
        turns: The conversation.
        facts: The brief's grounded facts; a value the customer changed is told as what it became.
        goal: The customer's sentence that best states their request (unclipped).
        max_tokens: Token budget of the summary (o200k_base).
    """
    name = customer_name(turns, facts)
    clause = retell_goal(goal, "third", name) if goal else None
    if clause is None:
        return f"{name or 'The customer'} has not stated a request yet."
    clause = as_changed(clause, facts)  # "a table for Wednesday (was Tuesday)"
    goal_turn = _goal_turn(turns, goal)
    told = best_clause(goal)
    asks = told is None or told.kind in ("request", "question")
    found = _reason(turns, told.text if told is not None else goal, goal_turn, asks)
    # a value the reason tells is not added to the request too: "(March 3rd), because ... on March 3rd"
    own = [f for f in facts if found is None or not has_words(found[0].text, f.value)]
    first = _clip(clause, _MAX_WORDS) + attach(clause, own, turns=turns, goal_turn=goal_turn, goal=goal)
    if found is not None:
        reason, source = found
        because = as_changed(retell(reason.text, "third", source=source, at=reason.start)[0], facts)
        first += f", because {lower_first(because)}"
    # The goal's own clause, not its whole sentence: "... and delete my account" is raised too.
    used = [told.text if told is not None else goal, *([found[0].text] if found is not None else [])]
    used += [more.text for more in [coordinated_request(goal)] if more is not None]  # told with the goal
    # a clause inside the goal's is part of it ("why was I charged ... *for me to get my card*")
    inner = [c.text for c in subordinate_clauses(goal)]
    raised, raised_in = _raised_last(turns, goal_turn, used, facts, skip=inner)
    retold = [
        as_changed(_told(s, raised_in, first_name(name), lead=i == 0), facts) for i, s in enumerate(raised)
    ]
    # "the customer has a question" (one that could not be retold) says nothing the agent can use
    second = "; ".join(
        t for t in retold if t and not has_words(first, t) and not t.endswith(" has a question")
    )
    summary = " ".join(_sentence(s) for s in (first, second) if s)
    if count_tokens(summary) > max_tokens:
        summary = _sentence(first)
    words = _MAX_WORDS
    while count_tokens(summary) > max_tokens and words > 8:
        words -= 6
        summary = _sentence(_clip(first, words))
    return summary
