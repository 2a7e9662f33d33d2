"""Language understanding: one layer that reads customer text for the router, the brief and the bots.

Everything that interprets what a customer wrote (entities, dates, amounts, answers to the question
asked, cues such as a request for a person, with negation and scope) lives here, so a value the
customer gave is known the same way everywhere.

What a consumer calls:

- :func:`read_turn` ``(text, asked=None) -> TurnReading``: one customer turn, read once per text and
  question (cached by digest). ``asked`` is the bot's or agent's message the turn replies to. The
  reading's ``spans`` are typed (:data:`SpanKind`: person, place, organisation, address, date, time,
  money, number, email, phone, id, url, zip, product, answer) with exact offsets (``text[start:end]``),
  the text as written, ``key`` (the slot it fills when it answers the question: "city", "budget",
  "number_of_people", "car_type"...) and ``value`` (normalised on demand: digits for amounts and phones,
  ISO dates, 24-hour times). ``reading.answers`` are the spans that answer the question asked.
  A bot that asked for a slot reads ``read_turn(text, asked=its_question).answers``, or picks spans by
  kind (``reading.of_kind("money")`` after "What is your budget?" holds "700k", value "700000").
- :func:`read_question` ``(message) -> tuple[Question, ...]``: what a bot or agent message asks for
  (kind, key, options offered), one per question it asks.
- :func:`conversation_facts` ``(turns) -> list[Mention]``: every value the customer stated over a
  conversation, keyed, each citing the turn whose text contains it, ranked for a receiver (answers and
  cued values first, typed noun phrases last). The brief's facts are built from these
  (:func:`graph.context.extract.extract_facts`).
- :mod:`graph.language.patterns`: the hand patterns that are the right tool (e-mails, phones, URLs,
  ids named by their cue, zip codes), in one place; :func:`pattern_spans` finds them in a text.
- :func:`shared_pipeline`: the spaCy pipeline itself, for a reader that needs the parse.
"""

from graph.language.facts import Mention, conversation_facts
from graph.language.patterns import pattern_spans
from graph.language.pipeline import shared_pipeline
from graph.language.reading import read_question, read_turn
from graph.language.spans import Question, Span, SpanKind, TurnReading

__all__ = [
    "Mention",
    "Question",
    "Span",
    "SpanKind",
    "TurnReading",
    "conversation_facts",
    "pattern_spans",
    "read_question",
    "read_turn",
    "shared_pipeline",
]
