"""Experiment analytics: intervals against published values and scipy, per-variant counts on a scripted
dataset, and the verdict's wording at its thresholds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scipy import stats

from api.experiment_stats import (
    MIN_N,
    mean_difference,
    mean_interval,
    metric_verdict,
    overall,
    rate_difference,
    wilson,
)
from api.experiments import ExperimentAnalytics, asks_again, compare, observe, record_handoff, record_turn
from api.store import ApiStore, open_db
from graph.runtime_models import TurnResult
from graph.state import HandoffRecord


def test_wilson_matches_published_and_scipy_values() -> None:
    none = wilson(0, 10)
    assert none.low == 0.0
    assert none.high == pytest.approx(0.2775, abs=5e-5)  # Newcombe (1998), table II
    for k, n in ((10, 40), (1, 3), (37, 37), (250, 1000)):
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        got = wilson(k, n)
        assert (got.low, got.high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert wilson(0, 0).value is None


def test_rate_difference_is_newcombes_hybrid_score_interval() -> None:
    # Newcombe (1998), example (a): 56/70 - 48/80 = 0.2, method 10 gives 0.0524 to 0.3339
    diff = rate_difference(wilson(56, 70), wilson(48, 80))
    assert diff is not None
    assert diff.value == pytest.approx(0.2)
    assert (diff.low, diff.high) == (pytest.approx(0.0524, abs=5e-5), pytest.approx(0.3339, abs=5e-5))


def test_means_use_t_and_welch_intervals() -> None:
    one = mean_interval([1, 2, 3, 4, 5])
    half = stats.t.ppf(0.975, 4) * stats.tstd([1, 2, 3, 4, 5]) / 5**0.5
    assert (one.value, one.low, one.high) == (3.0, pytest.approx(3 - half), pytest.approx(3 + half))
    a, b = [4.0, 5.0, 5.0, 3.0, 4.0, 5.0], [3.0, 4.0, 2.0, 3.0, 4.0]
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval()
    diff = mean_difference(a, b)
    assert diff is not None
    assert (diff.low, diff.high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert mean_difference([4.0], b) is None


def test_verdict_wording_at_the_thresholds() -> None:
    just_under = metric_verdict(
        "CSAT",
        "mean",
        "higher",
        "B",
        mean_interval([5.0, 4.0] * 15),
        "A",
        mean_interval([2.0, 3.0] * 14 + [2.0]),
        mean_difference([5.0, 4.0] * 15, [2.0, 3.0] * 14 + [2.0]),
    )
    assert just_under == ("not_enough_data", f"CSAT: not enough data yet (B 30, A 29; each needs {MIN_N})")
    a, b = [2.0, 3.0] * 15, [5.0, 4.0] * 15
    diff = mean_difference(b, a)
    assert diff is not None
    outcome, sentence = metric_verdict(
        "CSAT", "mean", "higher", "B", mean_interval(b), "A", mean_interval(a), diff
    )
    assert outcome == "better"
    assert sentence == (
        f"B is better on CSAT than A (4.50 vs 2.50, difference +2.00, 95% CI {diff.low:+.2f} to {diff.high:+.2f})"
    )
    outcome, sentence = metric_verdict(
        "time to accept", "seconds", "lower", "B", mean_interval(b), "A", mean_interval(a), diff
    )
    assert (outcome, sentence.split(" (")[0]) == ("worse", "B is worse on time to accept than A")
    same = mean_difference([3.0, 4.0] * 15, [4.0, 3.0] * 15)
    outcome, sentence = metric_verdict(
        "CSAT",
        "mean",
        "higher",
        "B",
        mean_interval([3.0, 4.0] * 15),
        "A",
        mean_interval([4.0, 3.0] * 15),
        same,
    )
    assert outcome == "no_difference"
    assert sentence.startswith("CSAT: no clear difference yet (3.50 vs 3.50, difference +0.00, 95% CI -0.")
    rate = rate_difference(wilson(20, 40), wilson(8, 40))
    outcome, sentence = metric_verdict(
        "handoff rate", "rate", "neither", "B", wilson(20, 40), "A", wilson(8, 40), rate
    )
    assert outcome == "different"
    assert sentence.startswith(
        "B has a higher handoff rate than A (50% vs 20%, difference +30 points, 95% CI +"
    )
    assert overall([("not_enough_data", "x"), ("not_enough_data", "y")]) == "not enough data yet"
    assert overall([("not_enough_data", "x"), ("no_difference", "y")]) == "no clear difference yet"
    assert overall([("no_difference", "x"), ("better", "B is better on CSAT")]) == "B is better on CSAT"


def _turn(cid: str, variant: str) -> TurnResult:
    routing = {"target": "x", "rule_id": "r", "experiment": "exp", "variant": variant}
    return TurnResult(conversation_id=cid, status="bot", active_agent="x", replies=[], routing=routing)


def _handoff(hid: str, variant: str) -> HandoffRecord:
    return HandoffRecord(
        id=hid,
        from_agent="bot",
        to="human_agent",
        kind="human",
        trigger="explicit_request",
        rule_id="r",
        experiment="exp",
        variant=variant,
    )


async def _event(store: ApiStore, key: str, type_: str, hid: str, **data: object) -> None:
    ts = datetime.now(UTC)
    body = {"type": type_, "handoff_id": hid, "ts": ts.isoformat(), **data}
    await store.add_desk_event(key, type_, ts.timestamp(), hid, json.dumps(body))


async def test_outcomes_per_variant_on_a_scripted_dataset(tmp_path: Path) -> None:
    """A: 40 conversations, 10 to a person (8 accepted after 10..80 s; 6 completed, 1 returned by the agent,
    2 rolled back, 1 open), 30 CSAT of 2 and 3. B: 50 conversations, 25 to a person (all accepted after 5 s;
    20 completed, 5 rolled back), 30 CSAT of 4 and 5."""
    async with open_db("", tmp_path) as db:
        store = ApiStore(db)
        plan = {"A": (40, 10), "B": (50, 25)}
        for variant, (conversations, handed) in plan.items():
            for i in range(conversations):
                cid = f"{variant}-{i}"
                await record_turn(store, cid, _turn(cid, variant))
                await record_turn(store, cid, _turn(cid, variant))  # a second turn counts once
                if i < handed:
                    await record_handoff(store, cid, _handoff(f"h-{cid}", variant))
                    await record_handoff(store, cid, _handoff(f"h-{cid}", variant))  # recorded once
                if i < 30:
                    await store.set_csat(cid, (2 if variant == "A" else 4) + i % 2, "")
        # a bot-to-bot handoff and another experiment's unit do not count
        await record_handoff(store, "A-0", _handoff("bot-A-0", "A").changed(kind="bot"))
        await record_turn(
            store,
            "Z-1",
            _turn("Z-1", "A").model_copy(update={"routing": {"experiment": "other", "variant": "A"}}),
        )
        for i in range(10):
            hid = "h-A-" + str(i)
            if i < 8:
                await _event(
                    store,
                    f"{hid}-acc",
                    "handoff_accepted",
                    hid,
                    agent_id="m",
                    time_to_accept_s=10.0 * (i + 1),
                )
            end = {
                0: "completed",
                1: "completed",
                2: "completed",
                3: "completed",
                4: "completed",
                5: "completed",
                6: "returned",
                7: "expired",
                8: "expired",
            }.get(i)
            if end == "completed":
                await _event(store, f"{hid}-end", "handoff_completed", hid, agent_id="m")
            elif end == "returned":
                await _event(store, f"{hid}-end", "handoff_returned_to_ai", hid, agent_id="m")
            elif end == "expired":
                await _event(store, f"{hid}-end", "handoff_expired", hid)
        for i in range(25):
            hid = "h-B-" + str(i)
            await _event(store, f"{hid}-acc", "handoff_accepted", hid, agent_id="m", time_to_accept_s=5.0)
            if i < 20:
                await _event(store, f"{hid}-end", "handoff_completed", hid, agent_id="m")
            else:
                await _event(store, f"{hid}-end", "handoff_returned_to_ai", hid, agent_id=None)
        seen = await observe(store, None, "exp")
        result: ExperimentAnalytics = compare("exp", ["A", "B"], seen)
    assert result.control == "A"
    a, b = result.variants
    assert (a.variant, a.conversations, b.variant, b.conversations) == ("A", 40, "B", 50)
    counts = {
        row.variant: {m: (v.estimate.successes, v.estimate.n) for m, v in row.metrics.items()}
        for row in result.variants
    }
    assert counts["A"] == {
        "handoff_rate": (10, 40),
        "time_to_accept_s": (None, 8),
        "completion_rate": (6, 9),
        "rollback_rate": (2, 10),
        "csat": (None, 30),
        "repeat_question_rate": (0, 0),
    }
    assert counts["B"] == {
        "handoff_rate": (25, 50),
        "time_to_accept_s": (None, 25),
        "completion_rate": (20, 25),
        "rollback_rate": (5, 25),
        "csat": (None, 30),
        "repeat_question_rate": (0, 0),
    }
    for row, (k, n) in ((a, (10, 40)), (b, (25, 50))):
        ref = stats.binomtest(k, n).proportion_ci(method="wilson")
        rate = row.metrics["handoff_rate"].estimate
        assert (rate.value, rate.low, rate.high) == (k / n, pytest.approx(ref.low), pytest.approx(ref.high))
    assert a.metrics["time_to_accept_s"].estimate.value == pytest.approx(45.0)
    assert b.metrics["csat"].estimate.value == pytest.approx(4.5)
    csat = b.metrics["csat"]
    ref = stats.ttest_ind([4.0, 5.0] * 15, [2.0, 3.0] * 15, equal_var=False).confidence_interval()
    assert csat.difference is not None
    assert (csat.difference.low, csat.difference.high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert csat.outcome == "better"
    assert b.metrics["completion_rate"].outcome == "not_enough_data"  # 9 and 25 ended handoffs
    assert b.metrics["handoff_rate"].outcome == "different"
    assert b.metrics["time_to_accept_s"].outcome == "not_enough_data"  # 25 and 8 accepted
    assert result.verdict == "; ".join([b.metrics["handoff_rate"].verdict, b.metrics["csat"].verdict])
    assert result.verdict.startswith("B has a higher handoff rate than A (50% vs 25%, difference +25 points")


def test_an_agent_question_for_a_fact_the_brief_holds_is_a_repeat() -> None:
    keys = ["customer_name", "budget", "email"]
    assert asks_again("Thanks for waiting. What's your budget?", keys)
    assert asks_again("May I have your name?", keys)
    assert not asks_again("What's your timeline?", keys)
    assert not asks_again("I see your budget is 600k. Let's find a showing time.", keys)
