"""The judge's numeric helpers, as Kayenta's judge computes them: NaN handling, R-7 percentiles, the IQR outlier
detector, descriptive statistics, average ranks and the effect sizes (mean ratio, CLES). Pure, stdlib only."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

NAN = float("nan")


def remove_nans(values: Sequence[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def replace_nans(values: Sequence[float], value: float = 0.0) -> list[float]:
    return [value if math.isnan(v) else v for v in values]


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0 < p ≤ 100) by linear interpolation between order statistics (R's type 7, as
    commons-math's ``EstimationType.R_7``); NaN for no values."""
    if not values:
        return NAN
    data = sorted(values)
    n = len(data)
    if n == 1:
        return data[0]
    h = (n - 1) * p / 100.0
    low = math.floor(h)
    if low >= n - 1:
        return data[-1]
    return data[low] + (h - low) * (data[low + 1] - data[low])


def iqr_outliers(values: Sequence[float], factor: float = 1.5, reduce_sensitivity: bool = False) -> list[bool]:
    """Which values lie outside the fences Q1 − k·IQR and Q3 + k·IQR; with ``reduce_sensitivity`` (how the
    NetflixACAJudge calls it) the fences are widened to at least the 1st and 99th percentiles."""
    if factor <= 0:
        raise ValueError("factor must be greater than zero")
    if not values:
        return []
    q1, q3 = percentile(values, 25), percentile(values, 75)
    lower, upper = q1 - factor * (q3 - q1), q3 + factor * (q3 - q1)
    if reduce_sensitivity:
        lower, upper = min(percentile(values, 1), lower), max(percentile(values, 99), upper)
    return [v > upper or v < lower for v in values]


def remove_outliers(values: Sequence[float], factor: float) -> list[float]:
    """The judge's outlier removal: the IQR detector with reduced sensitivity."""
    flags = iqr_outliers(values, factor, reduce_sensitivity=True)
    return [v for v, outlier in zip(values, flags, strict=True) if not outlier]


@dataclass(frozen=True)
class Summary:
    """``controlMetadata.stats`` / ``experimentMetadata.stats``: zeros when there are no values."""

    min: float
    max: float
    mean: float
    std: float
    count: int

    def to_json(self) -> dict[str, float | int]:
        return {"min": self.min, "max": self.max, "mean": self.mean, "std": self.std, "count": self.count}


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else NAN


def summary(values: Sequence[float]) -> Summary:
    if not values:
        return Summary(0.0, 0.0, 0.0, 0.0, 0)
    m = mean(values)
    variance = math.fsum((v - m) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return Summary(min(values), max(values), m, math.sqrt(variance), len(values))


def average_ranks(values: Sequence[float]) -> list[float]:
    """Ranks 1..n with ties given their average rank (NaN ranked last, as commons-math's MAXIMAL strategy)."""
    order = sorted(range(len(values)), key=lambda i: (math.isnan(values[i]), values[i]))
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and _same(values[order[j + 1]], values[order[i]]):
            j += 1
        rank = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def mean_ratio(control: Sequence[float], experiment: Sequence[float]) -> float:
    """mean(experiment) / mean(control); NaN when either mean is 0 (or undefined)."""
    c, e = mean(control), mean(experiment)
    if c == 0.0 or e == 0.0 or math.isnan(c) or math.isnan(e):
        return NAN
    return e / c


def cles(control: Sequence[float], experiment: Sequence[float]) -> float:
    """Common-language effect size: the probability that a random experiment value exceeds a random control
    value (ties count half), from the experiment's rank sum in the pooled sample."""
    m, n = len(experiment), len(control)
    ranks = average_ranks([*experiment, *control])
    r1 = math.fsum(ranks[:m])
    return (2 * r1 - m * (m + 1)) / (2 * n * m)
