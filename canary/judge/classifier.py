"""One metric's classification as Kayenta's ``MannWhitneyClassifier`` makes it: short-circuits for missing,
identical and constant data, the Mann-Whitney interval against bounds of ±tolerance·|estimate|, effect sizes,
directions and critical thresholds. Pure."""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from . import stats
from .mannwhitney import MannWhitneyResult, mann_whitney


class Label(StrEnum):
    PASS = "Pass"
    HIGH = "High"
    LOW = "Low"
    NODATA_FAIL_METRIC = "NodataFailMetric"
    NODATA = "Nodata"
    ERROR = "Error"


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    EITHER = "either"

    @classmethod
    def parse(cls, value: object) -> Direction:
        """Unknown or missing → either, as Kayenta parses it."""
        return cls(value) if value in ("increase", "decrease", "either") else cls.EITHER


@dataclass(frozen=True)
class Classification:
    label: Label
    reason: str | None
    deviation: float  # mean ratio reported as resultMetadata.ratio (1.0 on the short-circuits)
    critical: bool


@dataclass(frozen=True)
class MannWhitneyClassifier:
    """Kayenta's classifier; its own defaults (tolerance 0.25, confidence 0.95) — the judge passes 0.98."""

    tolerance: float = 0.25
    confidence: float = 0.95
    allowed: tuple[float, float] = (1.0, 1.0)  # (allowedDecrease, allowedIncrease)
    critical_thresholds: tuple[float, float] = (1.0, 1.0)  # (criticalDecrease, criticalIncrease)
    effect_measure: str = "meanRatio"

    def classify(
        self,
        control: Sequence[float],
        experiment: Sequence[float],
        name: str = "metric",
        direction: Direction = Direction.EITHER,
        nan_remove: bool = True,
        critical: bool = False,
        must_have_data: bool = False,
    ) -> Classification:
        if not experiment or not control:
            if nan_remove:
                reason = f"Missing data for {name}"
                if must_have_data and not critical:
                    return Classification(Label.NODATA_FAIL_METRIC, reason, 1.0, False)
                return Classification(Label.NODATA, reason, 1.0, critical)
            return Classification(Label.PASS, None, 1.0, False)
        if sorted(experiment) == sorted(control):
            return Classification(Label.PASS, "The Canary and Baseline data are identical", 1.0, False)
        if len(set(experiment) | set(control)) == 1:
            return Classification(Label.PASS, None, 1.0, False)

        label, effect, deviation = self._compare(control, experiment, direction)
        if critical and label is Label.HIGH and (math.isnan(effect) or effect >= self.critical_thresholds[1]):
            return Classification(Label.HIGH, f"The metric {name} was classified as High (Critical)", deviation, True)
        if critical and label is Label.LOW and (math.isnan(effect) or effect <= self.critical_thresholds[0]):
            return Classification(Label.LOW, f"The metric {name} was classified as Low (Critical)", deviation, True)
        because = f"{name} was classified as {label}" if label is not Label.PASS else None
        return Classification(label, because, deviation, False)

    def _compare(
        self, control: Sequence[float], experiment: Sequence[float], direction: Direction
    ) -> tuple[Label, float, float]:
        if len(set(experiment)) == 1 and len(set(control)) == 1:  # both constant: break the ties with noise
            experiment, control = _with_noise(experiment), _with_noise(control)
        result = mann_whitney(experiment, control, self.confidence)
        deviation = stats.mean_ratio(control, experiment)
        effect = stats.cles(control, experiment) if self.effect_measure == "cles" else deviation
        lower, upper = self.bounds(result)
        if (
            direction in (Direction.INCREASE, Direction.EITHER)
            and result.lower > upper
            and (math.isnan(effect) or effect >= self.allowed[1])
        ):
            return Label.HIGH, effect, deviation
        if (
            direction in (Direction.DECREASE, Direction.EITHER)
            and result.upper < lower
            and (math.isnan(effect) or effect <= self.allowed[0])
        ):
            return Label.LOW, effect, deviation
        return Label.PASS, effect, deviation

    def bounds(self, result: MannWhitneyResult) -> tuple[float, float]:
        """±tolerance·|Hodges-Lehmann estimate|: how far the interval must lie from 0 to count as a change."""
        critical_value = self.tolerance * abs(result.estimate)
        return -critical_value, critical_value


def _with_noise(values: Sequence[float]) -> list[float]:
    """Gaussian noise with σ = value·1e-5. Kayenta draws it unseeded; we seed from the data, so judging the same
    data twice gives the same answer (the classification does not depend on the draw)."""
    seed = int.from_bytes(struct.pack("<d", values[0]) + len(values).to_bytes(4, "little"), "little")
    rng = random.Random(seed)
    sigma = values[0] * 1e-5
    return [v + rng.gauss(0.0, 1.0) * sigma for v in values]
