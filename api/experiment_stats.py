"""Confidence intervals and the plain-language verdict of an A/B experiment.

Rates get Wilson score intervals (right near 0 and 1 and at small n, where the normal approximation is
not); the difference of two rates gets Newcombe's hybrid score interval, built from the two Wilson
intervals. Means (CSAT, seconds to accept) get Student's t interval, their difference Welch's. A
difference is called only when its 95% interval excludes zero and both variants have at least
``MIN_N`` observations of that metric; otherwise the verdict says there is not enough data yet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

CONFIDENCE = 0.95
Z = 1.959963984540054  # the standard normal's 97.5th percentile
MIN_N = 30
"""Observations each variant needs on a metric before a difference on it is called."""

Better = Literal["higher", "lower", "neither"]


class Estimate(BaseModel):
    """A rate or mean of one variant with its 95% confidence interval (``None`` without data)."""

    value: float | None = Field(examples=[0.42])
    low: float | None = Field(examples=[0.33])
    high: float | None = Field(examples=[0.51])
    n: int = Field(description="Observations (the rate's denominator, or values averaged).", examples=[100])
    successes: int | None = Field(default=None, description="A rate's numerator.", examples=[42])


class Difference(BaseModel):
    """A variant minus the control, with the 95% interval of the difference."""

    value: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z) -> Estimate:
    """The Wilson score interval of ``successes / n``."""
    if n == 0:
        return Estimate(value=None, low=None, high=None, n=0, successes=0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Estimate(
        value=p, low=max(0.0, centre - half), high=min(1.0, centre + half), n=n, successes=successes
    )


def _t_quantile(dof: float) -> float:
    """Student's t two-sided critical value at ``CONFIDENCE``."""
    # scipy.stats costs a worker ~45 MB; it loads when an experiment's figures are first asked for.
    from scipy import stats

    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, dof))


def mean_interval(values: Sequence[float]) -> Estimate:
    """The mean with Student's t interval (one value: no interval)."""
    n = len(values)
    if n == 0:
        return Estimate(value=None, low=None, high=None, n=0)
    mean = math.fsum(values) / n
    if n == 1:
        return Estimate(value=mean, low=None, high=None, n=1)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = _t_quantile(n - 1) * sd / math.sqrt(n)
    return Estimate(value=mean, low=mean - half, high=mean + half, n=n)


def rate_difference(variant: Estimate, control: Estimate) -> Difference | None:
    """Newcombe's hybrid score interval of ``variant - control`` (method 10 of Newcombe 1998)."""
    if not variant.n or not control.n:
        return None
    p1, l1, u1 = variant.value or 0.0, variant.low or 0.0, variant.high or 0.0
    p2, l2, u2 = control.value or 0.0, control.low or 0.0, control.high or 0.0
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Difference(value=diff, low=low, high=high)


def mean_difference(variant: Sequence[float], control: Sequence[float]) -> Difference | None:
    """Welch's t interval of ``mean(variant) - mean(control)``."""
    n1, n2 = len(variant), len(control)
    if n1 < 2 or n2 < 2:
        return None
    m1, m2 = math.fsum(variant) / n1, math.fsum(control) / n2
    v1 = math.fsum((v - m1) ** 2 for v in variant) / (n1 - 1) / n1
    v2 = math.fsum((v - m2) ** 2 for v in control) / (n2 - 1) / n2
    se = math.sqrt(v1 + v2)
    if se == 0:
        return Difference(value=m1 - m2, low=m1 - m2, high=m1 - m2)
    dof = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    half = _t_quantile(dof) * se
    return Difference(value=m1 - m2, low=m1 - m2 - half, high=m1 - m2 + half)


def _number(value: float, kind: str) -> str:
    if kind == "rate":
        return f"{value * 100:.0f}%"
    return f"{value:.2f}" if kind == "mean" else f"{value:.1f} s"


def _delta(value: float, kind: str) -> str:
    if kind == "rate":
        return f"{value * 100:+.0f} points"
    return f"{value:+.2f}" if kind == "mean" else f"{value:+.1f} s"


def metric_verdict(
    label: str,
    kind: Literal["rate", "mean", "seconds"],
    better: Better,
    variant_name: str,
    variant: Estimate,
    control_name: str,
    control: Estimate,
    difference: Difference | None,
    *,
    min_n: int = MIN_N,
) -> tuple[str, str]:
    """``(outcome, sentence)`` for one metric; outcome is ``not_enough_data``, ``no_difference``,
    ``better``, ``worse`` or ``different``."""
    if variant.n < min_n or control.n < min_n or difference is None:
        return "not_enough_data", (
            f"{label}: not enough data yet ({variant_name} {variant.n}, {control_name} {control.n}; "
            f"each needs {min_n})"
        )
    values = f"{_number(variant.value or 0.0, kind)} vs {_number(control.value or 0.0, kind)}"
    interval = (
        f"difference {_delta(difference.value, kind)}, 95% CI {_delta(difference.low, kind)} "
        f"to {_delta(difference.high, kind)}"
    )
    if difference.low <= 0 <= difference.high:
        return "no_difference", f"{label}: no clear difference yet ({values}, {interval})"
    up = difference.value > 0
    if better == "neither":
        word = "higher" if up else "lower"
        return "different", f"{variant_name} has a {word} {label} than {control_name} ({values}, {interval})"
    good = up == (better == "higher")
    outcome = "better" if good else "worse"
    return outcome, f"{variant_name} is {outcome} on {label} than {control_name} ({values}, {interval})"


def overall(sentences: Sequence[tuple[str, str]]) -> str:
    """One line for the experiment: the called differences, or why none is called yet."""
    called = [s for outcome, s in sentences if outcome in ("better", "worse", "different")]
    if called:
        return "; ".join(called)
    if all(outcome == "not_enough_data" for outcome, _ in sentences):
        return "not enough data yet"
    return "no clear difference yet"
