"""Briefs read like a person wrote them, on real conversations (ABCD, SGD) and real-estate ones.

The five-second summary is about the customer in the third person, never a quote of a whole turn;
the openers address the customer by first name when it is known and cite facts as a person would,
never as ``key value`` ("the amount of 300k", "place Newton", "choice buy").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from graph.context import HUMAN_SECTIONS, Brief, build_brief_offline, opening_message
from graph.context.prose import customer_name, first_name
from graph.textutil import normalize_value
from graph.transcript import Role, Turn

DATASETS = Path("/work/shared/datasets")
ROLES: dict[str, Role] = {"customer": "customer", "agent": "bot", "action": "system"}
ROWS_PER_DATASET = 12
# Keys the layer gives a value by its kind alone: as text before a value they read like a form.
KIND_KEYS = {"place", "person", "date", "time", "amount", "choice", "organisation", "product", "number"}
# Keys that read like a form field before a value ("order id 123", "departure date today").
FORM_SUFFIXES = ("_id", "_name", "_date", "_time", "_code", "_number")
# A customer turn this long, found whole in a summary, is a quote rather than a retelling.
QUOTE_WORDS = 8
FIRST_PERSON = re.compile(r"\b(?:I|[Mm]y|[Mm]e|[Mm]ine|[Mm]yself)\b")
# The receiver speaks as "I" in an opener; the customer's own "my" must have become "your".
CUSTOMER_POSSESSIVE = re.compile(r"\b(?:[Mm]y|[Mm]ine|[Mm]yself)\b")


def _rows(name: str) -> list[dict[str, object]]:
    path = DATASETS / name
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    with path.open() as handle:
        return [json.loads(line) for _, line in zip(range(ROWS_PER_DATASET), handle, strict=False)]


def _turns(row: dict[str, object]) -> list[Turn]:
    raw = row["turns"]
    assert isinstance(raw, list)
    end = row.get("handoff_at") or len(raw)
    assert isinstance(end, int)
    return [Turn(index=i, role=ROLES[t["role"]], text=t["text"]) for i, t in enumerate(raw[:end])]


ESTATE = [
    [
        ("bot", "Hi, welcome! Are you looking to buy, sell, or something else?"),
        (
            "customer",
            "My name is Dana Whitfield. I'd like to sell my house at 12 Oak Street, we're relocating.",
        ),
        ("bot", "When would you ideally like to sell?"),
        ("customer", "We'd like to sell within two months, hoping for around $850,000."),
        ("customer", "Honestly I'm devastated. My ex-husband's lawyer says there's a lien on the title."),
    ],
    [
        ("customer", "Hi, I'm Dana and I need to sell 48 Maple Avenue in Newton by March"),
        ("bot", "What's prompting the move?"),
        ("customer", "We're downsizing now that the kids are gone"),
    ],
    [
        ("customer", "hello, we want to buy a 3-bedroom colonial in Newton, we're pre-approved for 700k"),
        ("bot", "Which area or neighbourhood are you looking in?"),
        ("customer", "Newton or Brookline. What are your fees?"),
    ],
    [
        ("customer", "We're selling our condo, hoping to get 300k"),
        ("bot", "When would you ideally like to sell?"),
        ("customer", "No rush, maybe next spring"),
    ],
]


def _conversations() -> list[tuple[str, list[Turn]]]:
    found = [
        (f"estate{i}", [Turn(index=j, role=r, text=t) for j, (r, t) in enumerate(lines)])  # type: ignore[arg-type]
        for i, lines in enumerate(ESTATE)
    ]
    for name in ("abcd_dev.jsonl", "sgd_dev.jsonl"):
        found += [(str(row["id"]), _turns(row)) for row in _rows(name)]
    return found


@pytest.fixture(scope="module")
def briefs() -> list[tuple[str, list[Turn], Brief]]:
    return [
        (name, turns, build_brief_offline(turns, target="human_agent", sections=HUMAN_SECTIONS))
        for name, turns in _conversations()
    ]


def mechanical(text: str, brief: Brief) -> list[str]:
    """Places where ``text`` renders a fact as a key next to its value, as a form would.

    A phrase the customer wrote themselves ("in the amount of $94") is theirs, not a form's.
    """
    said = " ".join(t.text for t in brief.transcript if t.role == "customer")
    found = []
    for fact in brief.facts:
        words = fact.key.replace("_", " ")
        value = re.escape(fact.value)
        forms = [rf"\bthe {words} of {value}", rf"\b{words} \({value}", rf"\b{words}: {value}"]
        if fact.key in KIND_KEYS or fact.key.endswith(FORM_SUFFIXES):
            forms.append(rf"\b{words} {value}")
        found += [f for f in forms if re.search(f, text, re.I) and not re.search(f, said, re.I)]
    return found


def _quotes_a_turn(summary: str, turns: list[Turn]) -> list[str]:
    text = f" {normalize_value(summary)} "
    return [
        t.text
        for t in turns
        if t.role == "customer"
        and len(t.text.split()) >= QUOTE_WORDS
        and f" {normalize_value(t.text)} " in text
    ]


def test_summaries_are_written_about_the_customer(briefs: list[tuple[str, list[Turn], Brief]]) -> None:
    for name, turns, brief in briefs:
        summary = brief.summary
        assert not re.search(r'"[^"]{12,}"', summary), (name, summary)
        assert "says:" not in summary, (name, summary)
        assert not _quotes_a_turn(summary, turns), (name, summary)
        assert not FIRST_PERSON.search(summary), (name, summary)
        assert not mechanical(summary, brief), (name, summary)
        assert summary[:1].isupper(), (name, summary)
        assert summary.rstrip().endswith((".", "…", "?")), (name, summary)
        who = customer_name(turns, brief.facts)
        if who:
            assert who in summary, (name, who, summary)


def test_openers_address_the_customer_and_cite_facts_naturally(
    briefs: list[tuple[str, list[Turn], Brief]],
) -> None:
    for name, turns, brief in briefs:
        first = first_name(customer_name(turns, brief.facts))
        assert len(brief.openers) == 3
        for opener in brief.openers:
            assert not mechanical(opener, brief), (name, opener)
            assert not CUSTOMER_POSSESSIVE.search(opener), (name, opener)
            assert "how can i help" not in opener.lower()
            if first:
                assert opener.startswith(f"Hi {first},"), (name, opener)
        message = opening_message(brief, "the seller specialist")
        assert not mechanical(message, brief), (name, message)


def test_the_request_is_retold_not_quoted(briefs: list[tuple[str, list[Turn], Brief]]) -> None:
    by_name = {name: brief for name, _, brief in briefs}
    assert by_name["estate1"].summary.startswith("Dana needs to sell 48 Maple Avenue in Newton by March.")
    assert (
        by_name["estate1"].openers[0].startswith("Hi Dana, I see you need to sell 48 Maple Avenue in Newton")
    )
    assert by_name["estate2"].summary.startswith("The customer wants to buy a 3-bedroom colonial in Newton")
    assert "fees" in by_name["estate2"].summary
    assert all("amount" not in o for o in by_name["estate3"].openers)
