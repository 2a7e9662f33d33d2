"""Seed 000's handoff fields and formulas: handle-time estimate, trigger source and confidence, rounding,
and a very upset customer making the handoff and its brief critical."""

from __future__ import annotations

import pytest

from graph.handoff_fields import (
    CRITICAL_SENTIMENT,
    estimated_handle_time_min,
    from_escalation,
    round_half_up,
    trigger_confidence,
    trigger_source,
)
from graph.runtime import BatonRuntime
from graph.signals import Signals

FURIOUS = "This is absolutely terrible, I am furious and disgusted, the worst service I have ever had!"


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [(32.5, 0, 33.0), (52.5, 0, 53.0), (32.4999, 0, 32.0), (0.25, 1, 0.3), (2.05, 1, 2.1), (-0.5, 0, 0.0)],
)
def test_halves_round_up_as_math_round(value: float, digits: int, expected: float) -> None:
    assert round_half_up(value, digits) == expected


def test_handle_time_estimate_follows_seed_000() -> None:
    assert estimated_handle_time_min(10, 0.2) == 5.0  # 5 x 10/10
    assert estimated_handle_time_min(7, -0.1) == 5.3  # 5 x 0.7 x 1.5 = 5.25, half up
    assert estimated_handle_time_min(0, 0.0) == 0.0


def test_trigger_source_and_confidence() -> None:
    assert trigger_source("explicit_request", "human_explicit_request") == "user"
    assert trigger_source("code", "code:vip") == "system"
    assert trigger_source("qualification_based", "manual") == "system"
    assert trigger_source("sentiment_based", "frustration") == "ai"
    upset = Signals(sentiment=-0.8, lead_score=9.0, intent_confidence=0.4, explicit_human_request=True)
    assert trigger_confidence("sentiment_based", upset) == pytest.approx(0.8)
    assert trigger_confidence("qualification_based", upset) == pytest.approx(0.9)  # lead scores run 0-10
    assert trigger_confidence("explicit_request", upset) == 1.0
    assert trigger_confidence("intent_based", upset) == pytest.approx(0.4)


def test_an_escalation_gives_only_what_it_has() -> None:
    given = from_escalation({"campaign_id": "c1", "lead_id": "", "context_notes": [], "reason": "x"})
    assert given == {"campaign_id": "c1"}


async def test_a_furious_customer_makes_the_handoff_and_its_brief_critical(
    memory_runtime: BatonRuntime, conversation_id: str
) -> None:
    result = await memory_runtime.post_message(conversation_id, FURIOUS)
    view = await memory_runtime.get(conversation_id)
    assert view.signals["sentiment"] < CRITICAL_SENTIMENT, view.signals
    record = result.handoff
    assert record is not None
    assert record.kind == "human"
    assert record.urgency == "critical"
    assert record.brief["urgency"] == "critical"  # one urgency for the handoff and its brief
    assert record.trigger_source in ("user", "ai")
    assert record.estimated_handle_time_min is not None
    assert record.ai_confidence is not None
