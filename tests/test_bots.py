"""Each bot node: a qualification dialogue that records what it learns and never re-asks it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_settings

from api.app import create_app
from graph.language.turn_sentiment import IMPATIENT_SENTIMENT
from graph.runtime import BatonRuntime
from graph.transcript import Turn
from nodes.base import BotSpec, find_slot_values
from nodes.billing_bot import SPEC as BILLING
from nodes.buyer_bot import SPEC as BUYER
from nodes.concierge_bot import SPEC as CONCIERGE
from nodes.hearing import hear
from nodes.luxury_specialist import SPEC as LUXURY
from nodes.replies import ECHO_CHARS, SORRY, next_missing, offline_reply
from nodes.sales_bot import SPEC as SALES
from nodes.seller_bot import SPEC as SELLER
from nodes.support_bot import SPEC as SUPPORT
from nodes.tech_bot import SPEC as TECH
from tests.test_api_support import ADMIN, Api, api_settings, in_process

CASES = [
    # bot, policy, what the customer said before the handoff, slot that must be filled, expected value
    (
        SELLER,
        "real_estate.yaml",
        "We're selling 45 Maple Avenue because we're downsizing",
        "property_address",
        "45 Maple Avenue",
    ),
    (
        BUYER,
        "real_estate.yaml",
        "Our budget is up to $650,000 and we want to live in Brookline",
        "area",
        "Brookline",
    ),
    (
        LUXURY,
        "real_estate.yaml",
        "A $4.5M waterfront home with a pool and privacy",
        "features",
        "pool, privacy, waterfront",
    ),
    (
        CONCIERGE,
        "real_estate.yaml",
        "My name is Ana Silva and I want to buy a flat",
        "customer_name",
        "Ana Silva",
    ),
    (
        SUPPORT,
        "support.yaml",
        "My order 88231977 never arrived, my email is ana@example.com",
        "order_id",
        "88231977",
    ),
    (SALES, "support.yaml", "We're on the Standard plan with 25 users", "seats", "25 users"),
    (
        BILLING,
        "support.yaml",
        "I was charged $49 twice on my invoice, account ana@example.com",
        "account",
        "ana@example.com",
    ),
    (TECH, "support.yaml", "The app crashes on my iPhone with error code E42", "device", "iPhone"),
]


@pytest.mark.parametrize(("spec", "policy", "said", "slot", "value"), CASES, ids=[c[0].name for c in CASES])
async def test_bot_uses_what_was_said_before_the_handoff(
    tmp_path: Path, spec: BotSpec, policy: str, said: str, slot: str, value: str
) -> None:
    async with BatonRuntime.open(make_settings(tmp_path, policy), checkpoint_url="memory") as rt:
        await rt.post_message("c", "Hello")
        await rt.post_message("c", said)
        result = await rt.escalate("c", reason="test", target=spec.name)
        view = await rt.get("c")
    if result.handoff is None:  # the router had already routed there by itself
        assert view.active_agent == spec.name
    else:
        assert result.active_agent == spec.name
        assert result.replies[-1].speaker == spec.name
    assert view.collected[slot]["value"] == value
    assert view.collected[slot]["by"] == spec.name
    question = next(s.question for s in spec.slots if s.name == slot)
    assert question not in view.transcript[-1].text  # never asks for what it already knows


def test_bare_answers_count_only_when_asked() -> None:
    turns = [
        Turn(index=0, role="bot", text=SELLER.slots[3].question, speaker="seller_bot"),
        Turn(index=1, role="customer", text="900k", speaker="customer"),
    ]
    assert find_slot_values(SELLER, turns, {})["price_expectation"]["value"] == "$900,000"
    unasked = [Turn(index=0, role="customer", text="900k", speaker="customer")]
    assert "price_expectation" in find_slot_values(SELLER, unasked, {})  # "900k" has a magnitude: an amount
    rooms = [Turn(index=0, role="customer", text="3 bedrooms", speaker="customer")]
    assert "price_expectation" not in find_slot_values(SELLER, rooms, {})
    bare = [Turn(index=0, role="customer", text="12345", speaker="customer")]
    assert "order_id" not in find_slot_values(SUPPORT, bare, {})
    asked = [Turn(index=0, role="bot", text=SUPPORT.slots[2].question), *bare]
    assert find_slot_values(SUPPORT, asked, {})["order_id"]["value"] == "12345"


def test_offline_reply_asks_the_next_missing_slot_then_summarises() -> None:
    collected = {"property_address": {"value": "1 Elm St"}, "timeline": {"value": "next month"}}
    assert next_missing(SELLER, collected) is SELLER.slots[2]
    reply = offline_reply(SELLER, collected=collected, new={}, opening=None)
    assert reply.endswith(SELLER.slots[2].question)
    full = {**collected, "motivation": {"value": "relocating"}, "price_expectation": {"value": "$500,000"}}
    summary = offline_reply(SELLER, collected=full, new={}, opening=None)
    assert "1 Elm St" in summary
    assert "relocating" in summary
    assert offline_reply(SELLER, collected=full, new={}, opening=None, summarized=True) == SELLER.after_done


def test_a_long_value_is_said_back_cut_and_kept_whole() -> None:
    pasted = "We need to move because " + "the commute is long and " * 20 + "the kids start school."
    new = {"motivation": {"value": pasted, "turn": 0}}
    reply = offline_reply(SELLER, collected={}, new=new, opening=None)
    noted = reply[reply.index("(") : reply.index(")")]
    assert pasted[:40] in noted
    assert noted.endswith("…")
    assert len(noted) <= ECHO_CHARS + 40  # the slot's title and the cut mark
    assert new["motivation"]["value"] == pasted  # only what is said back is cut


async def test_a_question_the_customer_twice_leaves_unanswered_gives_way_to_the_next(tmp_path: Path) -> None:
    address, timeline = SELLER.slots[0].question, SELLER.slots[1].question
    async with in_process(create_app(api_settings(tmp_path))) as api:
        cid, token = await api.conversation()
        await api.say(cid, token, "Hi")
        said = [
            await api.say(cid, token, t)
            for t in ("I want to sell my house", "not sure yet", "I'd rather not say")
        ]
        later = await api.say(cid, token, "Actually it's 12 Elm Street")
    replies = [" ".join(r["text"] for r in s["replies"]) for s in said]
    assert [r.endswith(address) for r in replies] == [True, True, False]  # asked twice, not a third time
    assert replies[2].endswith(timeline)
    late = " ".join(r["text"] for r in later["replies"])
    assert "12 Elm Street" in late  # the address is still taken when it comes
    assert address not in late


async def test_a_declined_question_is_not_asked_again_and_the_decline_is_no_value(tmp_path: Path) -> None:
    address, timeline, third = (s.question for s in SELLER.slots[:3])
    async with in_process(create_app(api_settings(tmp_path))) as api:
        cid, token = await api.conversation()
        await api.say(cid, token, "Hi")
        first = await api.say(cid, token, "I want to sell my house")
        skipped = await api.say(cid, token, "skip")
        declined = await api.say(cid, token, "I'd rather not say")
        state = (await api.http.get(f"/threads/{cid}/state", headers=Api.auth(ADMIN))).json()
    said = [" ".join(r["text"] for r in s["replies"]) for s in (first, skipped, declined)]
    assert said[0].endswith(address)
    assert said[1].endswith(timeline)  # was asked for the address again, with "skip" noted as it
    assert "skip" not in said[1]
    assert third in said[2]
    assert "rather not" not in said[2]
    collected = state["values"]["collected"]
    assert "property_address" not in collected
    assert "timeline" not in collected
    assert "motivation" not in collected


async def test_an_impatient_customer_is_no_answer_gets_an_apology_and_twice_reaches_a_person(
    tmp_path: Path,
) -> None:
    timeline = SELLER.slots[1].question
    async with in_process(create_app(api_settings(tmp_path))) as api:
        cid, token = await api.conversation()
        await api.say(cid, token, "I want to sell my house")
        await api.say(cid, token, "12 Oak Street, Springfield")
        once = await api.say(cid, token, "this is taking too long")
        state = (await api.http.get(f"/threads/{cid}/state", headers=Api.auth(ADMIN))).json()
        twice = await api.say(cid, token, "you asked me that already")
    said = " ".join(r["text"] for r in once["replies"])
    assert said.startswith(SORRY)
    assert said.endswith(timeline)  # asked again: the complaint was not taken as the timeline
    assert "timeline" not in state["values"]["collected"]
    assert state["values"]["signals"]["sentiment"] <= -0.5
    # two complaints in a row: the real_estate policy's sentiment rule passes the customer to a person
    assert twice["handoff"]["kind"] == "human", twice
    assert twice["handoff"]["trigger"] == "sentiment_based"


async def test_a_value_that_answers_an_earlier_question_is_not_also_the_asked_one(tmp_path: Path) -> None:
    budget, area, financing = (s.question for s in BUYER.slots[:3])
    async with in_process(create_app(api_settings(tmp_path))) as api:
        cid, token = await api.conversation()
        first = await api.say(cid, token, "I'm looking to buy a home")
        await api.say(cid, token, "not telling you")  # declines the budget: the area is asked
        late = await api.say(cid, token, "around 500k")  # the budget after all, said to the area question
        then = await api.say(cid, token, "Austin")
        state = (await api.http.get(f"/threads/{cid}/state", headers=Api.auth(ADMIN))).json()
    assert " ".join(r["text"] for r in first["replies"]).endswith(budget)
    assert " ".join(r["text"] for r in late["replies"]).endswith(
        area
    )  # asked again, not noted as "around 500k"
    assert " ".join(r["text"] for r in then["replies"]).endswith(financing)
    collected = state["values"]["collected"]
    assert collected["budget"]["value"] == "$500,000"
    assert collected["area"]["value"] == "Austin"
    assert "financing" not in collected


def test_a_known_value_said_again_is_not_the_answer_to_the_next_question() -> None:
    motivation = SELLER.slot("motivation")
    assert motivation is not None
    turns = [
        Turn(index=0, role="customer", text="I want to sell my house at 12 Oak Street"),
        Turn(index=1, role="bot", speaker="seller_bot", text=motivation.question),
        Turn(index=2, role="customer", text="12 Oak Street"),
    ]
    known = {"property_address": {"value": "12 Oak Street", "turn": 0, "by": "seller_bot"}}
    assert "motivation" not in find_slot_values(SELLER, turns, known)


def test_an_id_named_as_another_kind_of_id_is_not_the_asked_one() -> None:
    account = SUPPORT.slot("account")
    assert account is not None
    turns = [
        Turn(index=0, role="bot", speaker="support_bot", text=account.question),
        Turn(index=1, role="customer", text="it's order 12345"),
    ]
    found = find_slot_values(SUPPORT, turns, {})
    assert found["order_id"]["value"] == "12345"
    assert "account" not in found  # was 12345 too


def test_an_answer_in_own_words_beside_a_value_keeps_both() -> None:
    motivation = SELLER.slot("motivation")
    assert motivation is not None
    turns = [
        Turn(index=0, role="bot", speaker="seller_bot", text=motivation.question),
        Turn(index=1, role="customer", text="we need more space for the kids, hoping to get 600k"),
    ]
    found = find_slot_values(SELLER, turns, {})
    assert found["motivation"]["value"].startswith("we need more space for the kids")
    assert found["price_expectation"]["value"] == "$600,000"


@pytest.mark.parametrize(
    ("complaint", "moves_to"),
    [
        (
            "this is the third time I'm asking",
            "support_bot",
        ),  # no new need: the bot that has the case keeps it
        ("this is taking forever", "support_bot"),
        ("why is my refund taking so long?", "billing_bot"),  # impatient, and it names a need of its own
    ],
)
async def test_a_complaint_about_the_conversation_moves_nobody(
    tmp_path: Path, complaint: str, moves_to: str
) -> None:
    async with BatonRuntime.open(make_settings(tmp_path, "support.yaml"), checkpoint_url="memory") as rt:
        await rt.post_message("c", "hi my order hasn't arrived")
        await rt.post_message("c", "it's order 12345")
        result = await rt.post_message("c", complaint)
        view = await rt.get("c")
    assert result.active_agent == moves_to
    if moves_to == "support_bot":
        assert view.signals["sentiment"] <= IMPATIENT_SENTIMENT  # heard, though it moved nobody


async def test_a_customer_who_did_not_understand_the_question_gets_it_explained_not_noted(
    tmp_path: Path,
) -> None:
    address = SELLER.slots[0].question
    async with in_process(create_app(api_settings(tmp_path))) as api:
        cid, token = await api.conversation()
        await api.say(cid, token, "I want to sell my house")
        said = [
            await api.say(cid, token, t) for t in ("what do you mean?", "i dont understand", "12 Oak Street")
        ]
    replies = [" ".join(r["text"] for r in s["replies"]) for s in said]
    for reply in replies[:2]:  # explained and asked again, past the two asks a silent customer gets
        assert reply == f"Sorry, that wasn't clear: I'm asking about your address. {address}"
    assert "Good question" not in " ".join(replies)
    assert replies[2].startswith("Thanks, noted (address: 12 Oak Street)")


@pytest.mark.parametrize(
    ("text", "clarifies"),
    [
        ("what do you mean?", True),
        ("what are you asking exactly?", True),
        ("i dont understand", True),
        ("huh?", True),
        ("What?", True),
        ("sorry?", True),
        ("come again?", True),
        ("sorry", False),  # an apology
        ("what about the garden", False),
        ("What does escrow mean?", False),  # a question of its own
        ("It says that my payment is pending, what does that mean?", False),
        ("Can you explain the fees?", False),
        ("I don't understand why my card was declined", False),
    ],
)
def test_a_question_about_the_question_is_told_from_a_question_of_its_own(text: str, clarifies: bool) -> None:
    assert hear(3, text, SELLER.slots[0].question, "address").clarifies is clarifies


def test_thanks_is_no_answer() -> None:
    motivation = SELLER.slot("motivation")
    assert motivation is not None
    for text in ("thanks!", "ok, sounds good"):
        heard = hear(5, text, motivation.question, "motivation")
        assert heard.open_answer() is None
        assert motivation.read(heard, True) is None


def test_an_impatient_question_gets_no_promise_of_an_answer() -> None:
    heard = hear(2, "Why is this taking so long?", SELLER.slots[0].question, "address")
    reply = offline_reply(SELLER, collected={}, new={}, opening=None, latest=heard)
    assert reply == f"{SORRY} {SELLER.slots[0].question}"
    assert heard.open_answer() is None


@pytest.mark.parametrize(
    ("text", "declined"),
    [
        ("skip", True),
        ("I'd rather not say", True),
        ("I prefer not to share that", True),
        ("I won't tell you that", True),
        ("pass me on", False),  # a request for a person
        ("I didn't say that", False),
        ("I don't want to sell", False),
        ("not sure yet", False),
        ("12 Oak Street", False),
    ],
)
def test_a_decline_is_told_from_an_answer(text: str, declined: bool) -> None:
    assert hear(1, text, SELLER.slots[0].question, "address").declines is declined
