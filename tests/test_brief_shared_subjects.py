"""A verb that shares its subject with the one before it ("We are moving to Denver in May and *need*
to sell our condo") is the customer's, retold in agreement with them.

The parser tags such a verb as a bare one, so the clause was read as an imperative put to us: the brief
said "The customer wants us to need to sell their condo" and the seller bot greeted the customer with
"I see you'd like us to need to sell your condo". Retold alone, a clause whose subject came earlier
kept the customer's verb form ("The customer need to sell the house", "you was wondering"); an adverb
the parser hung on the first clause ("... and need to sell the house *fast*") stretched that clause over
the second, so the reason repeated the goal.
"""

from __future__ import annotations

import pytest

from graph.context.builder import build_brief_offline
from graph.context.prose import retell
from graph.context.reported import reported
from graph.context.retelling import Person
from graph.language.statements import read_statements
from graph.transcript import Turn


def _brief(*texts: str) -> tuple[str, list[str]]:
    turns = [Turn(index=i, role="customer", text=t) for i, t in enumerate(texts)]
    brief = build_brief_offline(turns, target="human_agent")
    return brief.summary, list(brief.openers)


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("We are moving to Denver in May and need to sell our condo", "need to sell our condo"),
        ("We got married and want to buy a bigger place", "want to buy a bigger place"),
        ("I was charged twice for it and want my money back", "want my money back"),
    ],
)
def test_a_verb_sharing_the_customers_subject_is_no_request_of_us(text: str, clause: str) -> None:
    said = next(s for s in read_statements(text).said if s.text == clause)
    assert said.form == "predicate"


def test_a_verb_sharing_an_imperatives_missing_subject_stays_an_imperative() -> None:
    said = read_statements("Please call me and send the forms").said
    assert [s.form for s in said] == ["imperative", "imperative"]


def test_the_brief_says_what_the_customer_needs_not_what_we_should_need() -> None:
    summary, openers = _brief("We are moving to Denver in May and need to sell our condo")
    assert summary.startswith("The customer needs to sell their condo")
    assert "wants us to" not in summary
    assert "you need to sell your condo" in openers[0]
    assert not any("like us to need" in o for o in openers)


def test_a_trailing_adverb_goes_with_the_second_clause_and_the_reason_stops_before_it() -> None:
    summary, openers = _brief("I lost my job and need to sell the house fast")
    assert summary == "The customer needs to sell the house fast, because they lost their job."
    assert "you need to sell the house fast" in openers[0]


@pytest.mark.parametrize(
    ("text", "person", "who", "told"),
    [
        (
            "I was charged twice and want my money back",
            "third",
            "Dana",
            "Dana was charged twice and wants their money back",
        ),
        ("We are moving in May and need to sell", "third", "Dana", "Dana is moving in May and needs to sell"),
        ("We are moving in May and need to sell", "second", "", "you are moving in May and need to sell"),
        # after a modal or "did" the second verb stays bare
        ("I will call and send the forms", "third", "Dana", "Dana will call and send the forms"),
        ("I did call and ask twice", "third", "Dana", "Dana did call and ask twice"),
    ],
)
def test_a_coordinated_verb_agrees_with_the_retold_subject(
    text: str, person: Person, who: str, told: str
) -> None:
    assert retell(text, person, who)[0] == told


def test_a_clause_whose_subject_is_left_out_agrees_with_the_person_it_is_told_to() -> None:
    _, openers = _brief("Was wondering how I can change my plan")
    assert "you were wondering how you can change your plan" in openers[0]
    _, openers = _brief("from what I can tell all sizes are out of stock")
    assert not any("sizes is" in o for o in openers)  # "are" has a subject the parse missed, not "I"


def test_an_inner_clauses_subject_is_not_the_question_asked() -> None:
    assert reported("Was wondering how I can change my plan?", "second") is None  # no "whether you was ..."
    asked = "Is outdoor seating available and do they serve vegetarian dishes?"  # a subject under "available"
    told = "whether outdoor seating is available and whether they serve vegetarian dishes"
    assert reported(asked, "second") == told


def test_a_subject_with_the_customer_in_it_agrees_as_the_customer() -> None:
    summary, openers = _brief(
        "My husband and I are retiring next year and want to downsize to a smaller place"
    )
    assert summary.startswith("The customer wants to downsize to a smaller place")
    assert "you want to downsize" in openers[0]


def test_a_situation_saying_when_is_a_reason_and_the_customer_in_it_is_retold() -> None:
    summary, _ = _brief("My husband and I are retiring next year and want to downsize to a smaller place")
    assert summary == (
        "The customer wants to downsize to a smaller place, because their husband and they are retiring next year."
    )


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("need it asap and mistakenly did not choose overnight", "The customer needs it asap."),
        ("want to check on the shipping status", "The customer wants to check on the shipping status."),
        ("Need to talk to someone", "The customer needs to talk to someone."),  # "talk" stays bare
        # after "will" the verb stays bare; "let you know" lets us know
        (
            "ok will do this now and would let you know",
            "The customer will do this now. The customer would let us know.",
        ),
    ],
)
def test_a_want_with_its_i_left_out_is_the_customers(text: str, summary: str) -> None:
    # was "The customer wants us to need it asap"
    assert _brief(text)[0] == summary
