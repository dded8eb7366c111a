"""The Mann-Whitney U test's confidence interval and shift estimate, as R's ``wilcox.test(x, y, conf.int=TRUE,
exact=FALSE, correct=TRUE)`` computes them and Kayenta's ``kayenta-mannwhitney`` reproduces them: the normal
approximation with continuity correction, solved for the shift μ with Brent's method (R's ``zeroin``, tolerance
1e-4). Pure, stdlib only."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from core.errors import CanaryError

from .stats import average_ranks

TOLERANCE = 1e-4  # R's uniroot default, as kayenta's BrentSolver uses it
_EPSILON = 2.220446049250313e-16
_MAX_ITERATIONS = 1000


class TiedObservationsError(CanaryError, ValueError):
    """Every pooled observation is tied: σ is 0 and no interval exists (the judge reports ``Error``)."""


@dataclass(frozen=True)
class MannWhitneyResult:
    lower: float
    upper: float
    estimate: float


def wilcoxon_diff(mu: float, quantile: float, x: Sequence[float], y: Sequence[float]) -> float:
    """f(μ, z) = (d(μ) − ½·sign d(μ)) / σ − z, where d(μ) is x's rank sum in (x − μ) ∪ y less its expectation
    under no shift and σ the tie-corrected standard deviation."""
    n, m = float(len(x)), float(len(y))
    ranks = average_ranks([v - mu for v in x] + list(y))
    d = math.fsum(ranks[: len(x)]) - n * (n + 1) / 2 - n * m / 2
    correction = 0.0 if math.isnan(d) else math.copysign(0.5, d) if d != 0 else 0.0
    ties = math.fsum(t**3 - t for t in Counter(ranks).values())
    sigma = math.sqrt((n * m / 12) * ((n + m + 1) - ties / ((n + m) * (n + m - 1))))
    if sigma == 0:
        raise TiedObservationsError("cannot compute confidence interval when all observations are tied")
    return (d - correction) / sigma - quantile


def brent(a: float, b: float, fa: float, fb: float, f: Callable[[float], float]) -> float:
    """A root of f in [a, b] by Brent's method (bisection, secant and inverse quadratic interpolation) with R's
    ``zeroin`` stopping rule; returns the last iterate when no sign change brackets a root, as Kayenta does."""
    c, fc = a, fa
    if fa == 0:
        return a
    if fb == 0:
        return b
    for _ in range(_MAX_ITERATIONS + 1):
        previous_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tolerance = 2 * _EPSILON * abs(b) + TOLERANCE / 2
        step = (c - b) / 2
        if abs(step) <= tolerance or fb == 0:
            return b
        if abs(previous_step) >= tolerance and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p, q = cb * t1, 1.0 - t1
            else:  # inverse quadratic interpolation
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tolerance * q) / 2) and p < abs(previous_step * q / 2):
                step = p / q
        if abs(step) < tolerance:
            step = tolerance if step > 0 else -tolerance
        a, fa = b, fb
        b += step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def mann_whitney(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> MannWhitneyResult:
    """The confidence interval for the shift of x against y, and the shift estimate (f(μ, 0) = 0)."""
    mu_min, mu_max = min(x) - max(y), max(x) - min(y)

    def root(z: float) -> float:
        f_lower, f_upper = wilcoxon_diff(mu_min, z, x, y), wilcoxon_diff(mu_max, z, x, y)
        if f_lower <= 0:
            return mu_min
        if f_upper >= 0:
            return mu_max
        return brent(mu_min, mu_max, f_lower, f_upper, lambda mu: wilcoxon_diff(mu, z, x, y))

    z = NormalDist().inv_cdf((1.0 - confidence) / 2)  # negative
    lower, upper = root(-z), root(z)
    estimate = brent(
        mu_min,
        mu_max,
        wilcoxon_diff(mu_min, 0, x, y),
        wilcoxon_diff(mu_max, 0, x, y),
        lambda mu: wilcoxon_diff(mu, 0, x, y),
    )
    return MannWhitneyResult(lower, upper, estimate)
