"""NetflixACAJudge-v1.0 (Kayenta's default judge) and its opt-in zero-inflation variant.

``judge(config, thresholds, pairs)`` classifies every metric-set pair, scores the groups and classifies the
summary score; it answers Kayenta's CanaryJudgeResult JSON. Pure: no I/O, no clock (noise is seeded by the data).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import CanaryError

from . import scorer, stats
from .classifier import Classification, Direction, Label, MannWhitneyClassifier

log = logging.getLogger(__name__)

NETFLIX_V1 = "NetflixACAJudge-v1.0"
ZERO_INFLATED = "NetflixACAJudge-v1.0+zeroInflated"
TOLERANCE = 0.25  # hard-coded in Kayenta's judge (the configuration properties are bound but unused)
CONFIDENCE = 0.98

Json = dict[str, Any]


class JudgeError(CanaryError, ValueError):
    """The config or the pairs cannot be judged (an unknown metric, a setting of the wrong type)."""


def _get(config: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(config, Mapping) or key not in config or config[key] is None:
            return None
        config = config[key]
    return config


def _number(metric: Mapping[str, Any], default: float, *path: str) -> float:
    value = _get(metric.get("analysisConfigurations"), "canary", *path)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JudgeError(f"{metric.get('name')}: analysisConfigurations.canary.{'.'.join(path)} must be a number")
    return float(value)


def _flag(metric: Mapping[str, Any], *path: str) -> bool:
    value = _get(metric.get("analysisConfigurations"), "canary", *path)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise JudgeError(f"{metric.get('name')}: analysisConfigurations.canary.{'.'.join(path)} must be true or false")
    return value


def _text(metric: Mapping[str, Any], default: str, *path: str) -> str:
    value = _get(metric.get("analysisConfigurations"), "canary", *path)
    return default if value is None else str(value)


def _values(raw: Any) -> list[float]:
    return [math.nan if v is None else float(v) for v in (raw or [])]


def classify_metric(config: Mapping[str, Any], pair: Mapping[str, Any], zero_inflated: bool = False) -> Json:
    """One pair's CanaryAnalysisResult: name, id, tags, classification and reason, groups, both sides' stats,
    the mean ratio, critical, muted."""
    name = pair.get("name")
    metric = next((m for m in config.get("metrics") or [] if m.get("name") == name), None)
    if metric is None:
        raise JudgeError(f"Could not find metric config for {name}")
    nan_remove = _text(metric, "none", "nanStrategy") != "replace"
    outliers = _text(metric, "none", "outliers", "strategy") == "remove"
    factor = _number(metric, 3.0, "outliers", "outlierFactor")
    measure = _text(metric, "meanRatio", "effectSize", "measure")
    default_effect = 0.5 if measure == "cles" else 1.0
    classifier = MannWhitneyClassifier(
        tolerance=TOLERANCE,
        confidence=CONFIDENCE,
        allowed=(
            _number(metric, default_effect, "effectSize", "allowedDecrease"),
            _number(metric, default_effect, "effectSize", "allowedIncrease"),
        ),
        critical_thresholds=(
            _number(metric, default_effect, "effectSize", "criticalDecrease"),
            _number(metric, default_effect, "effectSize", "criticalIncrease"),
        ),
        effect_measure=measure,
    )
    critical, must_have_data = _flag(metric, "critical"), _flag(metric, "mustHaveData")
    direction = Direction.parse(_text(metric, "either", "direction"))

    def prepare(values: list[float]) -> list[float]:
        values = stats.remove_nans(values) if nan_remove else stats.replace_nans(values)
        return stats.remove_outliers(values, factor) if outliers else values

    values = pair.get("values") or {}
    experiment, control = prepare(_values(values.get("experiment"))), prepare(_values(values.get("control")))
    result: Json = {
        "name": name,
        "id": pair.get("id"),
        "tags": pair.get("tags") or {},
        "groups": list(metric.get("groups") or []),
        "experimentMetadata": {"stats": stats.summary(experiment).to_json()},
        "controlMetadata": {"stats": stats.summary(control).to_json()},
        "muted": _flag(metric, "muted"),
    }
    try:
        found: Classification | None = None
        if zero_inflated:
            found = _zero_inflation(control, experiment, str(name), direction, critical)
        if found is None:
            found = classifier.classify(control, experiment, str(name), direction, nan_remove, critical, must_have_data)
    except (ArithmeticError, ValueError) as err:
        log.warning("metric %s: classification failed: %s", name, err)
        return {
            **result,
            "classification": Label.ERROR.value,
            "classificationReason": "Metric Classification Failed",
            "critical": False,
            "resultMetadata": {},
        }
    return {
        **result,
        "classification": found.label.value,
        "classificationReason": found.reason,
        "critical": found.critical,
        "resultMetadata": {"ratio": found.deviation},
    }


def _zero_inflation(
    control: list[float], experiment: list[float], name: str, direction: Direction, critical: bool
) -> Classification | None:
    """The variant's rule, tried before Mann-Whitney: one side entirely zero while the other has non-zero values
    is a change in that direction, whatever the interval says. A baseline without data counts as zero (an error
    counter that never moved is often absent); a canary without data stays Nodata. Otherwise None."""
    control_zero = all(v == 0 for v in control)
    experiment_zero = all(v == 0 for v in experiment)
    if control_zero and not experiment_zero and direction in (Direction.INCREASE, Direction.EITHER):
        count = sum(1 for v in experiment if v != 0)
        reason = f"{name} was classified as High: the Canary has {count} non-zero values where the Baseline has none"
        return Classification(Label.HIGH, reason, math.nan, critical)
    if experiment and experiment_zero and not control_zero and direction in (Direction.DECREASE, Direction.EITHER):
        count = sum(1 for v in control if v != 0)
        reason = f"{name} was classified as Low: the Canary has none of the Baseline's {count} non-zero values"
        return Classification(Label.LOW, reason, math.nan, critical)
    return None


def judge(
    config: Mapping[str, Any],
    thresholds: Mapping[str, Any],
    pairs: Sequence[Mapping[str, Any]],
    judge_name: str = NETFLIX_V1,
) -> Json:
    """Kayenta's CanaryJudgeResult for these pairs: ``{judgeName, results, groupScores, score}``. The thresholds
    are the run's ``{pass, marginal}`` (the config's own ``classifier.scoreThresholds`` are ignored, as in
    Kayenta)."""
    if judge_name not in JUDGES:
        raise JudgeError(f"Unable to resolve canary judge '{judge_name}'; known judges: {', '.join(JUDGES)}")
    results = [classify_metric(config, pair, zero_inflated=judge_name == ZERO_INFLATED) for pair in pairs]
    weights_raw = _get(config, "classifier", "groupWeights") or {}
    try:
        weights = {str(k): float(v) for k, v in weights_raw.items()}
    except (TypeError, ValueError, AttributeError):
        raise JudgeError("classifier.groupWeights must map group names to numbers") from None
    groups, summary, reason = scorer.score(results, weights)
    passing, marginal = float(thresholds["pass"]), float(thresholds["marginal"])
    return {
        "judgeName": judge_name,
        "results": results,
        "groupScores": [
            {"name": g["name"], "score": g["score"], "classification": "", "classificationReason": ""} for g in groups
        ],
        "score": {
            "score": summary,
            "classification": scorer.classify_score(summary, passing, marginal),
            "classificationReason": reason or "",
        },
    }


#: every judge by name, with whether Deck lists it
JUDGES: dict[str, bool] = {NETFLIX_V1: True, ZERO_INFLATED: True}
