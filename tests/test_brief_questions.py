"""A question and what is said beside it: a statement in a sentence ending in "?" states.

Seen on the 1,601 dev briefs (SGD, ABCD and the Banking77 messages): 156 summaries told a question
by its nouns ("Norman asks about cart", "asks about friend and Yumi", "asks about Crystal Minh and
question"), because every clause of a sentence ending in "?" was read as a question: "*My cart is not
updating*, could you please help me out?" asked about "cart". A clause asks by its form (a question
word, an auxiliary before its subject), as the purpose or a coordinated part of one that does, or
when nothing else in its sentence asks.
"""

from __future__ import annotations

import pytest

from graph.context.builder import build_brief_offline
from graph.language.statements import read_statements
from graph.transcript import Turn


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in read_statements(text).said]


def _summary(text: str) -> str:
    return build_brief_offline([Turn(index=0, role="customer", text=text)], target="human_agent").summary


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (
            "My cart is not updating, could you please help me out?",
            [("situation", "My cart is not updating"), ("question", "could you please help me out")],
        ),
        (
            "I forget what my password is, can you help me reset that?",
            [("situation", "I forget what my password is"), ("question", "can you help me reset that")],
        ),
        ("You are open on Sunday?", [("question", "You are open on Sunday")]),  # all it has to ask with
        ("Any update on the boots?", [("question", "Any update on the boots")]),
        # coordinated with the question, and its purpose
        (
            "Can I go ahead and get that charged to my card on file please?",
            [("question", "Can I go ahead"), ("question", "get that charged to my card on file please")],
        ),
        (
            "do I need to pay the balance to activate it?",
            [("question", "do I need to pay the balance"), ("question", "to activate it")],
        ),
        # a question starts at its question word: "so can I ...", "In what way ..."
        (
            "The card was in my jacket, so can I reactivate it?",
            [("situation", "The card was in my jacket"), ("question", "can I reactivate it")],
        ),
        (
            "How are you? My payment method seems to be wrong.",
            [("filler", "How are you"), ("situation", "My payment method seems to be wrong")],
        ),
    ],
)
def test_a_clause_asks_by_its_form_or_its_place(text: str, kinds: list[tuple[str, str]]) -> None:
    assert _kinds(text) == kinds


def test_a_preposition_before_a_question_word_states_without_a_question_mark() -> None:
    assert not any(kind == "question" for kind, _ in _kinds("From what I can tell, the shirt is in stock."))


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        # what the customer says of themselves beside a question of us is why they ask
        (
            "My cart is not updating, could you please help me out?",
            "The customer asks us to help them out, because their cart is not updating.",
        ),
        (
            "I am going to Sydney soon - can you find me some attractions there?",
            "The customer asks us to find them some attractions there, because they are going to Sydney.",
        ),
        (
            "The card I thought was lost was just in my jacket, so can I reactivate it?",
            "The customer asks to reactivate it.",
        ),
        ("In what way can I change my PIN?", "The customer asks in what way they can change their PIN."),
        (
            "I was charged extra when I made a cash withdraw, why?",
            "The customer asks why they were charged extra when they made a cash withdraw.",
        ),
        (
            "I'm sure I have enough money so why didn't the store accept my card?",
            "The customer asks why the store didn't accept their card.",
        ),
        ("Why did I get charged twice?", "The customer asks why they got charged twice."),
        # a question of one word asks nothing a reader can use: "The customer asks what."
        ("I forgot my passcode. Now what?", "The customer forgot their passcode."),
    ],
)
def test_a_question_is_told_as_asked_not_by_its_nouns(text: str, summary: str) -> None:
    assert _summary(text) == summary


def test_a_greeting_asked_as_a_question_is_no_goal() -> None:
    summary = _summary("How are you? My payment method seems to be wrong.")
    assert "how we are" not in summary
    assert "payment method seems to be wrong" in summary
