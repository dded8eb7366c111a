"""Group scores, the summary score and its classification, as Kayenta's ``WeightedSumScorer``,
``ScoringHelper`` and ``ThresholdScoreClassifier`` compute them. Works on result dicts (CanaryAnalysisResult's
JSON shape); pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NODATA_THRESHOLD = 50  # percent of results that are Nodata before the canary fails outright

Json = dict[str, Any]


def group_scores(results: Sequence[Mapping[str, Any]]) -> list[Json]:
    """Per group (first-seen order): 100·#Pass / (#Pass + #High + #Low + #NodataFailMetric); a group where that
    total is 0 has no data (score 0, counted as 100 in the summary)."""
    labels: dict[str, list[str]] = {}
    for result in results:
        for group in result.get("groups") or []:
            labels.setdefault(group, []).append(str(result.get("classification")))
    scores = []
    for name, group_labels in labels.items():
        passed = group_labels.count("Pass")
        total = passed + sum(group_labels.count(x) for x in ("High", "Low", "NodataFailMetric"))
        scores.append({"name": name, "score": 100.0 * passed / total if total else 0.0, "noData": total == 0})
    return scores


def round_half_up(value: float, places: int = 2) -> float:
    """commons-math's ``Precision.round``: the decimal text of the double, rounded half up."""
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def summary_score(groups: Sequence[Mapping[str, Any]], weights: Mapping[str, float]) -> float:
    """Σ score·weight/100; groups without a configured weight share what the configured weights leave of 100."""
    unweighted = {g["name"] for g in groups} - set(weights)
    share = (100 - sum(weights.values())) / len(unweighted) if unweighted else 0.0
    total = 0.0
    for group in groups:
        score = 100.0 if group["noData"] else group["score"]
        total += score * (weights.get(group["name"], share) / 100)
    return round_half_up(total)


def score(results: Sequence[Mapping[str, Any]], weights: Mapping[str, float]) -> tuple[list[Json], float, str | None]:
    """(group scores, summary score, reason) over the results that are not muted."""
    counted = [r for r in results if not r.get("muted")]
    groups = group_scores(counted)
    failures = [r for r in counted if r.get("critical") and r.get("classification") != "Pass"]
    if failures:
        return groups, 0.0, f"Canary Failed: {failures[0].get('classificationReason')}"
    nodata = sum(1 for r in counted if r.get("classification") == "Nodata")
    if counted and nodata * 100 / len(counted) >= NODATA_THRESHOLD:
        return groups, 0.0, f"Canary Failed: {NODATA_THRESHOLD}% or more metrics returned NODATA"
    return groups, summary_score(groups, weights), None


def classify_score(value: float, passing: float, marginal: float) -> str:
    """≥ pass → Pass; ≥ marginal → Marginal; else Fail."""
    if value >= passing:
        return "Pass"
    if value >= marginal:
        return "Marginal"
    return "Fail"
