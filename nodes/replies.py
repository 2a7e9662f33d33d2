"""What a bot says offline: the next slot question, an acknowledgement, an answer, a summary.

A customer who asks something gets an answer from what the bot knows about its own process, or an
acknowledgement of the topic ("Good question — I'll make sure our agent covers fees."), then the next
slot question; a request for a person is acknowledged. Once a person has dealt with the case, a
question gets its answer and the bot does not start its qualification again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graph.context.prose import retell
from graph.context.reported import reported
from graph.language.question_form import asked_of_us
from nodes.hearing import asked_slot

if TYPE_CHECKING:
    from graph.open_items import OpenItem
    from graph.transcript import Turn
    from nodes.base import BotSpec, Slot
    from nodes.hearing import Heard


@dataclass(frozen=True)
class Answer:
    """Something a bot knows about its own process, and the questions it answers.

    Attributes:
        about: Sets of lemmas; a question whose content words include every lemma of one set is
            answered ({"long", "take"} answers "How long does it take?").
        text: The answer, one or two sentences.
    """

    about: tuple[frozenset[str], ...]
    text: str

    def answers(self, words: frozenset[str]) -> bool:
        """True when a question with these content lemmas is one this answer covers."""
        return any(needed <= words for needed in self.about)


def knows(text: str, *about: str) -> Answer:
    """An :class:`Answer`: each of ``about`` is a space-separated set of lemmas ("long take")."""
    return Answer(tuple(frozenset(a.split()) for a in about), text)


def value_of(collected: Mapping[str, Any], name: str) -> str | None:
    """The value collected for slot ``name``, or ``None``."""
    item = collected.get(name)
    if isinstance(item, Mapping):
        value = item.get("value")
        return str(value) if value is not None else None
    return None


# A value the bot says back is cut at this many characters: a pasted page is noted, not recited.
ECHO_CHARS = 80


def _echo(value: object) -> str:
    text = str(value)
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS].rstrip(" ,;:") + "…"


def _title(spec: BotSpec, name: str) -> str:
    slot = spec.slot(name)
    return slot.title if slot else name.replace("_", " ")


# What a bot says to a customer impatient with the conversation, before its next question.
SORRY = "Sorry this is taking a while; I'll keep it short, and you can ask for a person at any time."

# A slot question is asked this many times at most: a customer who twice gives no answer ("not sure
# yet", "I'd rather not say") is asked the next thing, not the same question again.
MAX_ASKS = 2


def times_asked(spec: BotSpec, turns: Sequence[Turn]) -> Counter[str]:
    """How many of this bot's messages asked each slot (:func:`nodes.hearing.asked_slot`)."""
    return Counter(asked_slot(t.text) for t in turns if t.role == "bot" and t.speaker == spec.name)


def next_missing(
    spec: BotSpec, collected: Mapping[str, Any], asked: Mapping[str, int] | None = None
) -> Slot | None:
    """The first slot still unknown that the bot asks for and has asked fewer than ``MAX_ASKS`` times."""
    asked = asked or {}
    return next(
        (
            s
            for s in spec.slots
            if s.ask and value_of(collected, s.name) is None and asked.get(s.name, 0) < MAX_ASKS
        ),
        None,
    )


def offline_reply(
    spec: BotSpec,
    *,
    collected: Mapping[str, Any],
    new: Mapping[str, Any],
    opening: str | None,
    first_time: bool = False,
    summarized: bool = False,
    latest: Heard | None = None,
    settled: bool = False,
    later: str = "",
    asked: Mapping[str, int] | None = None,
) -> str:
    """Compose a rule-based reply: greeting or opening, acknowledgement, an answer, the next question.

    Args:
        spec: The bot.
        collected: Slot values known before this turn.
        new: Slot values found now (from this turn or an earlier one no bot had read yet).
        opening: The bot's first line after a handoff to it, if any.
        first_time: The bot has not spoken in this conversation yet (it greets).
        summarized: The bot already summarised a complete qualification.
        latest: The customer's turn being answered (None when the bot speaks without one).
        settled: A person already dealt with the case (closed or returned it): a question gets an
            answer, not the qualification again.
        later: A line about what another specialist takes up afterwards (:func:`later_line`), said
            before the next question.
        asked: How many times the bot asked each slot question (:func:`times_asked`).
    """
    parts: list[str] = []
    if opening:
        parts.append(opening)
    elif first_time:
        parts.append(spec.greeting)
    said_now = {k: v for k, v in new.items() if latest is None or v.get("turn") == latest.index}
    if said_now and not opening:
        noted = ", ".join(f"{_title(spec, k)}: {_echo(v['value'])}" for k, v in said_now.items())
        parts.append(f"Thanks, noted ({noted}).")
    merged = {**collected, **new}
    missing = next_missing(spec, merged, asked)
    unclear = spec.slot(latest.asked) if latest is not None and latest.clarifies else None
    if unclear is not None and value_of(merged, unclear.name) is None:
        missing = unclear  # explained and asked again, however often it was asked
    if latest is not None and latest.impatient and not latest.wants_person:
        parts.append(SORRY)
    elif unclear is not None and missing is unclear:
        parts.append(f"Sorry, that wasn't clear: I'm asking about your {unclear.title}.")
    aside = respond_to(spec, latest) if latest is not None else None
    if aside:
        parts.append(aside)
    if later:
        parts.append(later)
    if aside and (settled or (missing is None and summarized)):
        parts.append("Is there anything else I can help you with?")
    elif missing is not None:
        parts.append(f"In the meantime, {_lower_first(missing.question)}" if aside else missing.question)
    elif summarized and not new:
        parts.append(spec.after_done)
    else:
        summary = "; ".join(
            f"{s.title}: {_echo(value_of(merged, s.name))}" for s in spec.slots if value_of(merged, s.name)
        )
        parts.append(spec.done.format(summary=summary))
        advice = spec.advice(merged)
        if advice:
            parts.append(advice)
    return " ".join(parts)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def respond_to(spec: BotSpec, heard: Heard) -> str | None:
    """What the bot says to a turn that asks for a person or asks a question, else ``None``.

    A question is answered from what the bot knows about its own process, or acknowledged by its
    topic ("Good question — I'll make sure our agent covers fees.").
    """
    if heard.wants_person:
        return "I've passed on that you'd like to talk to a person; one of our agents will be in touch."
    if not heard.asks or heard.impatient or heard.clarifies:
        return None  # "Why is this taking so long?" is a complaint, "What do you mean?" asks about us
    words = heard.said.topic_words
    known = next((a.text for a in (*spec.knowledge, *_general(spec)) if a.answers(words)), None)
    if known:
        return known
    asked = next((s.text for s in heard.said.said if s.kind == "question"), "")
    action = asked_of_us(asked)
    if action:  # "could you please help me out?" asks us to act, not to tell: "our agent will help you out"
        return f"I'll pass that on — our agent will {retell(action, 'second')[0]}."
    topics = heard.said.topics
    if len(topics) == 1:
        return f"Good question — I'll make sure our agent covers {topics[0]}."
    told = reported(asked + "?", "second") if asked else None
    if told:  # "how long it usually takes to sell", "whether there is anything you need to prepare"
        return f"Good question — I'll make sure our agent tells you {told}."
    return "Good question — I'll make sure our agent gets back to you on that."


def _general(spec: BotSpec) -> tuple[Answer, ...]:
    """What every bot can answer: what happens next is the first sentence of its closing message."""
    first = spec.after_done.split(". ")[0].rstrip(".") + "."
    return (knows(first, "next", "happen", "step"),)


def told(item: OpenItem) -> str:
    """The item retold to the customer ("you'd like to upgrade to the Pro plan"), else quoted."""
    retold = retell(item.text, "second")[0]
    return retold if retold.lower().startswith("you") else f'"{item.text}"'


def _that(item: OpenItem) -> str:
    said = told(item)
    return f"your question ({said})" if said.startswith('"') else f"that {said}"


def later_line(item: OpenItem) -> str:
    """What a bot says when a turn with a second need reaches it: the other need is kept, not dropped."""
    return f"I've also noted {_that(item)}: our {item.target_title} will take that up once we're done here."


def offer_line(item: OpenItem) -> str:
    """What a bot says once its own part is done: it offers the open item's specialist."""
    return (
        f"You also mentioned {_that(item)}: shall I bring in our {item.target_title} for that now? "
        "They'll have everything you've told me."
    )
