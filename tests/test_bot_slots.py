"""Bots fill their slots from the language layer's reading: nothing the customer said is asked again.

Every conversation runs through the real graph, offline, on the real-estate or support policy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from conftest import make_settings

from graph.actions import Close, Reply, ReturnToAI
from graph.runtime import BatonRuntime
from graph.runtime_models import TurnResult
from graph.transcript import Turn
from nodes.base import BotSpec, find_slot_values
from nodes.billing_bot import SPEC as BILLING
from nodes.buyer_bot import SPEC as BUYER
from nodes.concierge_bot import SPEC as CONCIERGE
from nodes.hearing import hear
from nodes.luxury_specialist import SPEC as LUXURY
from nodes.replies import offline_reply
from nodes.sales_bot import SPEC as SALES
from nodes.seller_bot import SPEC as SELLER
from nodes.support_bot import SPEC as SUPPORT
from nodes.tech_bot import SPEC as TECH

SPECS: tuple[BotSpec, ...] = (CONCIERGE, SELLER, BUYER, LUXURY, SUPPORT, SALES, BILLING, TECH)


def questions_for(slot: str) -> set[str]:
    """Every question any bot asks for ``slot`` (the bots share what they collect)."""
    return {s.question for spec in SPECS for s in spec.slots if s.name == slot}


def bot_text(result: TurnResult) -> str:
    return " ".join(r.text for r in result.replies if r.role == "bot")


@pytest.fixture
async def estate(tmp_path: Path) -> AsyncIterator[BatonRuntime]:
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as rt:
        yield rt


@pytest.fixture
async def support(tmp_path: Path) -> AsyncIterator[BatonRuntime]:
    async with BatonRuntime.open(make_settings(tmp_path, "support.yaml"), checkpoint_url="memory") as rt:
        yield rt


async def _to(rt: BatonRuntime, cid: str, bot: str) -> None:
    """Hand the conversation to ``bot`` unless the router already did."""
    if (await rt.get(cid)).active_agent != bot:
        await rt.escalate(cid, reason="test", target=bot)


# --- the cases that were broken ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    ["My account is 88231", "my account number is 88231", "Account #88231, and I was charged twice"],
)
async def test_billing_never_asks_for_an_account_id_it_was_given(support: BatonRuntime, said: str) -> None:
    await support.post_message("c", "Hi")
    await support.post_message("c", said)
    await _to(support, "c", "billing_bot")
    result = await support.post_message("c", "It's the charge on my last invoice")
    view = await support.get("c")
    assert view.collected["account"]["value"] == "88231"
    asked = questions_for("account")
    assert not any(q in t.text for t in view.transcript for q in asked if t.index > 2), bot_text(result)


@pytest.mark.parametrize("answer", ["88231", "it's 88231", "Sure, 88231."])
async def test_billing_takes_a_bare_id_as_the_answer_to_its_question(
    support: BatonRuntime, answer: str
) -> None:
    await support.post_message("c", "Hi")
    await support.post_message("c", "I was charged twice for my subscription")
    await _to(support, "c", "billing_bot")
    view = await support.get("c")
    assert "What's the email or account id on the account?" in view.transcript[-1].text
    result = await support.post_message("c", answer)
    assert (await support.get("c")).collected["account"]["value"] == "88231"
    assert "account id" not in bot_text(result)


@pytest.mark.parametrize(
    ("said", "budget"),
    [
        ("I want to buy a house, we're pre-approved for 700k", "$700,000"),
        ("We're looking to buy a home and our budget is 2M", "$2,000,000"),
        ("I'd like to buy a condo, we can spend up to $650,000", "$650,000"),
    ],
)
async def test_buyer_never_asks_for_a_budget_it_was_given(
    estate: BatonRuntime, said: str, budget: str
) -> None:
    await estate.post_message("c", "Hi")
    result = await estate.post_message("c", said)
    await _to(estate, "c", "buyer_bot")
    view = await estate.get("c")
    assert view.collected["budget"]["value"] == budget
    assert "What budget are you working with?" not in bot_text(result)
    assert all("What budget" not in t.text for t in view.transcript)


async def _seller_asking_motivation(rt: BatonRuntime) -> None:
    await rt.post_message("c", "Hi")
    await rt.post_message("c", "I'd like to sell my house at 48 Maple Avenue")
    result = await rt.post_message("c", "Within two months")
    assert "What's prompting the move?" in bot_text(result)


async def test_an_off_script_question_is_acknowledged_and_never_the_motivation(estate: BatonRuntime) -> None:
    await _seller_asking_motivation(estate)
    result = await estate.post_message("c", "What are your fees?")
    reply = bot_text(result)
    assert "fees" in reply
    assert reply.rstrip().endswith("what's prompting the move?")  # the next slot question follows
    assert "motivation" not in (await estate.get("c")).collected


async def test_a_request_for_a_person_is_never_the_motivation(estate: BatonRuntime) -> None:
    await _seller_asking_motivation(estate)
    result = await estate.post_message("c", "Actually can I talk to a human agent please")
    assert result.pending_interrupt is not None  # the router hands off
    await estate.resume("c", Reply(text="Hi, I'm Maria. I'll call you tomorrow.", agent_id="maria"))
    result = await estate.resume("c", ReturnToAI(note="call booked"))
    assert result.active_agent == "seller_bot"
    assert "motivation" not in (await estate.get("c")).collected


@pytest.mark.parametrize("question", ["is there parking?", "How long does it take?", "What are your fees?"])
async def test_after_a_person_closed_the_case_a_question_is_answered_not_requalified(
    estate: BatonRuntime, question: str
) -> None:
    await estate.post_message("c", "Hi")
    await estate.post_message("c", "I want to sell my house at 12 Oak Street")
    await estate.post_message("c", "Can I talk to a real person please?")
    await estate.resume("c", Reply(text="Hi, I'm Maria.", agent_id="maria"))
    await estate.resume("c", Close(note="done", text="Take care."))
    result = await estate.post_message("c", question)
    reply = bot_text(result)
    assert reply
    assert not any(q in reply for spec in SPECS for s in spec.slots for q in [s.question]), reply
    assert "Good question" in reply or "within a week" in reply


@pytest.mark.parametrize(
    ("said", "bot", "slot"),
    [
        ("I want to sell my 3-bedroom colonial in Newton", "seller_bot", "city"),
        ("We want to buy a 3-bedroom colonial in Newton", "buyer_bot", "area"),
        ("We'd like to sell our place in newton within two months", "seller_bot", "city"),
    ],
)
async def test_the_town_the_customer_named_is_known(
    estate: BatonRuntime, said: str, bot: str, slot: str
) -> None:
    await estate.post_message("c", "Hi")
    await estate.post_message("c", said)
    await _to(estate, "c", bot)
    view = await estate.get("c")
    assert view.collected[slot]["value"].lower() == "newton"
    assert all(q not in t.text for t in view.transcript for q in questions_for(slot))


# --- property: a bot never asks for a slot whose value appears in an earlier customer turn ----------

# (customer turn, slots it states): several phrasings of the same qualification dialogues.
SCRIPTS: list[tuple[str, list[tuple[str, tuple[str, ...]]]]] = [
    (
        "real_estate.yaml",
        [
            ("Hello", ()),
            (
                "My name is Dana Whitfield and I'd like to sell my house at 12 Oak Street",
                ("property_address",),
            ),
            ("We need to be out by March", ("timeline",)),
            ("We're relocating because of my husband's new job", ("motivation",)),
            ("Ideally around $850,000", ("price_expectation",)),
        ],
    ),
    (
        "real_estate.yaml",
        [
            ("hi there", ()),
            (
                "Looking to sell our condo at 77 Elm Road in Quincy, we're downsizing",
                ("property_address", "city"),
            ),
            ("as soon as possible", ("timeline",)),
            ("1.2 million", ("price_expectation",)),
        ],
    ),
    (
        "real_estate.yaml",
        [
            ("Hi", ()),
            ("We want to buy a family home in Brookline, budget up to 900k", ("area", "budget")),
            ("We're pre-approved", ("financing",)),
            ("Sometime this summer", ("timeline",)),
        ],
    ),
    (
        "real_estate.yaml",
        [
            ("Good morning", ()),
            ("I'm hoping to buy my first home, we are cash buyers", ("financing",)),
            ("Somerville or Medford", ("area",)),
            ("about 600k", ("budget",)),
            ("in the next two months", ("timeline",)),
        ],
    ),
    (
        "support.yaml",
        [
            ("Hi", ()),
            ("My order 88231977 never arrived, my email is ana@example.com", ("order_id", "account")),
            ("It was supposed to come last week", ()),
        ],
    ),
]


@pytest.mark.parametrize(("policy", "script"), SCRIPTS, ids=[f"script{i}" for i in range(len(SCRIPTS))])
async def test_no_bot_asks_for_what_an_earlier_turn_stated(
    tmp_path: Path, policy: str, script: list[tuple[str, tuple[str, ...]]]
) -> None:
    stated: set[str] = set()
    async with BatonRuntime.open(make_settings(tmp_path, policy), checkpoint_url="memory") as rt:
        for text, slots in script:
            stated |= set(slots)
            result = await rt.post_message("c", text)
            reply = bot_text(result)
            for slot in stated:
                assert not questions_for(slot) & {q for q in questions_for(slot) if q in reply}, (text, reply)
        view = await rt.get("c")
    assert stated <= set(view.collected)


# --- each turn read against the message it answers ----------------------------------------------------


def _turns(*lines: tuple[str, str]) -> list[Turn]:
    return [Turn(index=i, role=role, text=text) for i, (role, text) in enumerate(lines)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "slot", "said", "value"),
    [
        (BUYER, "budget", "2M", "$2,000,000"),
        (BUYER, "budget", "around two million", "$2,000,000"),
        (BUYER, "budget", "around half a million", "$500,000"),
        (BUYER, "budget", "somewhere between 400 and 500 thousand", "$400,000 to $500,000"),
        (SELLER, "price_expectation", "Not really sure, maybe 600-650k?", "$600,000 to $650,000"),
        (LUXURY, "property_value", "Around 4 to 5 million", "$4,000,000 to $5,000,000"),
        (SELLER, "price_expectation", "900k", "$900,000"),
        (BILLING, "charge", "sixty dollars", "$60"),
        (BUYER, "area", "Brookline or Newton", "Brookline or Newton"),
        (BUYER, "timeline", "next spring", "next spring"),
        (CONCIERGE, "customer_name", "Dana Whitfield", "Dana Whitfield"),
        (SUPPORT, "order_id", "A1234X", "A1234X"),
    ],
)
def test_a_bare_answer_fills_the_slot_that_asked_for_it(
    spec: BotSpec, slot: str, said: str, value: str
) -> None:
    question = next(s.question for s in spec.slots if s.name == slot)
    found = find_slot_values(spec, _turns(("bot", question), ("customer", said)), {})
    assert found[slot]["value"] == value


def test_a_bare_number_means_nothing_unasked() -> None:
    for spec in (BUYER, SELLER, SUPPORT):
        assert find_slot_values(spec, _turns(("customer", "12345")), {}) == {}


def test_an_answer_to_another_bots_question_fills_the_same_slot() -> None:
    turns = _turns(("bot", SELLER.slot("timeline").question), ("customer", "next spring"))  # type: ignore[union-attr]
    assert find_slot_values(LUXURY, turns, {})["timeline"]["value"] == "next spring"


def test_questions_and_requests_for_a_person_are_never_answers() -> None:
    for text in ("What are your fees?", "Can I talk to a real person please?", "how long does it take?"):
        for spec in SPECS:
            for slot in spec.slots:
                found = find_slot_values(spec, _turns(("bot", slot.question), ("customer", text)), {})
                assert slot.name not in found, (spec.name, slot.name, text, found)


def _pairs(lines: Sequence[str]) -> list[tuple[str, str]]:
    return [("customer", line) for line in lines]


def test_reasons_are_the_motivation_in_several_phrasings() -> None:
    for text, reason in [
        ("We're selling 45 Maple Avenue because we're downsizing", "we're downsizing"),
        ("I'd like to sell my house, we're relocating for a new job", "we're relocating for a new job"),
        ("Moving because of a job relocation", "a job relocation"),
        ("We need to sell since my husband got a job in Denver.", "my husband got a job in Denver"),
        (
            "My job is transferring me to Denver so we have to sell by June",
            "My job is transferring me to Denver",
        ),
    ]:
        assert find_slot_values(SELLER, _turns(*_pairs([text])), {})["motivation"]["value"] == reason


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("What are your fees?", "Good question — I'll make sure our agent covers fees."),
        ("Is there anything I need to prepare?", "tells you whether there is anything you need to prepare."),
        ("How long does it take to sell?", "photos and the listing can usually follow within a week."),
        # a question that asks us to act is passed on as what the agent will do, not "tells you whether
        # we could help you out"
        (
            "My cart is not updating, could you please help me out?",
            "I'll pass that on — our agent will help you out.",
        ),
        ("Can you check if my refund went through?", "our agent will check if your refund went through."),
    ],
)
def test_a_question_is_answered_or_acknowledged_then_the_next_slot_follows(question: str, said: str) -> None:
    reply = offline_reply(SELLER, collected={}, new={}, opening=None, latest=hear(0, question))
    assert said in reply
    assert reply.endswith("In the meantime, what is the address of the property you'd like to sell?")


def test_after_a_person_settled_the_case_a_question_gets_no_slot_question() -> None:
    reply = offline_reply(
        CONCIERGE, collected={}, new={}, opening=None, latest=hear(0, "is there parking?"), settled=True
    )
    assert (
        reply
        == "Good question — I'll make sure our agent covers parking. Is there anything else I can help you with?"
    )


@pytest.mark.parametrize(
    "said", ["My name is Dana Whitfield", "Dana here, looking to sell", "this is dana", "I'm Dana"]
)
def test_the_customer_introducing_themselves_is_their_name(said: str) -> None:
    found = find_slot_values(CONCIERGE, _turns(("customer", said)), {})
    assert found["customer_name"]["value"].split()[0] == "Dana"


async def test_a_corrected_value_replaces_the_one_the_bot_noted(estate: BatonRuntime) -> None:
    await estate.post_message("c", "Hi, I want to sell my house at 12 Elm Street in Brookline")
    result = await estate.post_message("c", "Sorry, I meant 14 Elm Street")
    reply = bot_text(result)
    assert "address: 14 Elm Street" in reply
    assert "When would you ideally like to sell?" in reply  # the correction is no answer to it
    collected = (await estate.get("c")).collected
    assert collected["property_address"]["value"] == "14 Elm Street"
    assert "timeline" not in collected


async def test_a_value_in_passing_does_not_replace_the_one_noted(estate: BatonRuntime) -> None:
    await estate.post_message("c", "Hi, I want to sell my house at 12 Elm Street in Brookline")
    await estate.post_message("c", "By June. My sister lives at 30 Oak Street, so we know the area")
    collected = (await estate.get("c")).collected
    assert collected["property_address"]["value"] == "12 Elm Street"


async def test_a_situation_saying_when_is_still_the_motivation(estate: BatonRuntime) -> None:
    await estate.post_message("c", "Hi there")
    said = "My husband and I are retiring next year and want to sell our house in Newton"
    await estate.post_message("c", said)
    result = await estate.post_message("c", "It's at 48 Maple Avenue")
    collected = (await estate.get("c")).collected
    assert collected["motivation"]["value"] == "My husband and I are retiring next year"
    assert "What's prompting the move?" not in bot_text(result)  # was asked after the address


async def test_a_time_the_request_is_said_with_replaces_one_from_the_situation(estate: BatonRuntime) -> None:
    await estate.post_message("c", "Hi there")
    await estate.post_message(
        "c", "My husband and I are retiring next year and want to sell our house in Newton"
    )
    await estate.post_message("c", "It's at 48 Maple Avenue")
    assert (await estate.get("c")).collected["timeline"]["value"] == "next year"  # when they retire
    result = await estate.post_message("c", "Probably around 850k, we need to sell by March")
    collected = (await estate.get("c")).collected
    assert collected["timeline"]["value"] == "by March"
    assert "timeline: by March" in bot_text(result)
    assert collected["motivation"]["value"] == "My husband and I are retiring next year"


@pytest.mark.parametrize(
    ("text", "timeline"),
    [
        ("We need to sell by March", "by March"),
        ("We want to buy something by June", "by June"),
        ("I want to sell my house I bought in March 2019", None),  # when they bought it
        ("We moved here in 2019 and want to sell", None),
    ],
)
def test_a_date_is_the_timeline_when_the_request_is_timed_by_it(text: str, timeline: str | None) -> None:
    slot = SELLER.slot("timeline")
    assert slot is not None
    found = slot.read(hear(0, text), False)
    assert (found.value if found is not None else None) == timeline


def test_a_thing_that_is_not_updating_changes_no_slot() -> None:
    # "updating" is a verb of changing, but the cart does it: the motivation the bot holds stays
    held = {"motivation": {"value": "My husband and I are retiring next year", "turn": 2, "by": "seller_bot"}}
    turn = hear(9, "My cart is not updating, could you please help me out?")
    assert "motivation" not in find_slot_values(SELLER, [turn], held, current=turn)
