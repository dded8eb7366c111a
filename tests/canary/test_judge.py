"""The whole judge (NetflixACAJudge-v1.0 and the zero-inflated variant): configs read as Kayenta reads them,
results in Kayenta's CanaryJudgeResult shape."""

from __future__ import annotations

import math
from typing import Any

import pytest

from canary.judge import JUDGES, NETFLIX_V1, ZERO_INFLATED, JudgeError, judge

THRESHOLDS = {"pass": 75, "marginal": 50}
BASE = [10.0, 11.0, 9.5, 10.5, 10.2, 9.8, 10.1, 10.9, 9.7, 10.3] * 3
HIGH = [v * 1.5 for v in BASE]


def metric(name: str, groups: list[str], **canary: Any) -> dict[str, Any]:
    return {"name": name, "groups": groups, "analysisConfigurations": {"canary": canary}, "scopeName": "default"}


def pair(name: str, control: list[float], experiment: list[float]) -> dict[str, Any]:
    return {"name": name, "id": f"id-{name}", "tags": {}, "values": {"control": control, "experiment": experiment}}


def test_equal_series_pass_and_higher_series_fail() -> None:
    config = {"metrics": [metric("errors", ["errors"], direction="increase")]}
    same = judge(config, THRESHOLDS, [pair("errors", BASE, BASE)])
    assert same["judgeName"] == NETFLIX_V1
    assert same["score"] == {"score": 100.0, "classification": "Pass", "classificationReason": ""}
    result = same["results"][0]
    assert result["classification"] == "Pass" and result["resultMetadata"] == {"ratio": 1.0}
    assert result["controlMetadata"]["stats"]["count"] == 30
    worse = judge(config, THRESHOLDS, [pair("errors", BASE, HIGH)])
    assert worse["results"][0]["classification"] == "High"
    assert worse["results"][0]["resultMetadata"]["ratio"] == pytest.approx(1.5)
    assert worse["score"]["classification"] == "Fail" and worse["score"]["score"] == 0.0
    assert worse["groupScores"] == [{"name": "errors", "score": 0.0, "classification": "", "classificationReason": ""}]


def test_direction_decrease_ignores_an_increase() -> None:
    config = {"metrics": [metric("m", ["g"], direction="decrease")]}
    assert judge(config, THRESHOLDS, [pair("m", BASE, HIGH)])["results"][0]["classification"] == "Pass"


def test_nan_strategies_and_nodata() -> None:
    nan = math.nan
    config = {"metrics": [metric("a", ["g"]), metric("b", ["g"], nanStrategy="replace"), metric("c", ["g"])]}
    pairs = [pair("a", [nan] * 5, BASE), pair("b", [nan] * 5, [nan] * 5), pair("c", BASE, BASE)]
    result = judge(config, THRESHOLDS, pairs)
    labels = [r["classification"] for r in result["results"]]
    assert labels == ["Nodata", "Pass", "Pass"]
    assert result["results"][0]["classificationReason"] == "Missing data for a"
    assert result["score"]["score"] == 100.0  # Nodata is left out of the group's total


def test_too_many_nodata_fails_the_canary() -> None:
    config = {"metrics": [metric("a", ["g"]), metric("b", ["g"])]}
    result = judge(config, THRESHOLDS, [pair("a", [], BASE), pair("b", BASE, BASE)])
    assert result["score"]["score"] == 0.0
    assert result["score"]["classificationReason"] == "Canary Failed: 50% or more metrics returned NODATA"


def test_must_have_data_counts_as_a_failure_and_critical_zeroes_the_run() -> None:
    config = {"metrics": [metric("a", ["g"], mustHaveData=True), metric("b", ["g"]), metric("c", ["g"])]}
    result = judge(config, THRESHOLDS, [pair("a", [], BASE), pair("b", BASE, BASE), pair("c", BASE, BASE)])
    assert result["results"][0]["classification"] == "NodataFailMetric"
    assert result["score"]["score"] == 66.67 and result["score"]["classification"] == "Marginal"
    config = {"metrics": [metric("a", ["g"], critical=True), metric("b", ["g"])]}
    result = judge(config, THRESHOLDS, [pair("a", BASE, HIGH), pair("b", BASE, BASE)])
    assert result["results"][0]["critical"] is True
    assert result["score"]["score"] == 0.0
    assert result["score"]["classificationReason"] == "Canary Failed: The metric a was classified as High (Critical)"


def test_muted_metrics_are_classified_but_not_scored() -> None:
    config = {"metrics": [metric("a", ["g"], muted=True), metric("b", ["g"])]}
    result = judge(config, THRESHOLDS, [pair("a", BASE, HIGH), pair("b", BASE, BASE)])
    assert result["results"][0]["classification"] == "High" and result["results"][0]["muted"] is True
    assert result["score"]["score"] == 100.0


def test_group_weights_and_unweighted_groups_share_the_rest() -> None:
    config = {
        "metrics": [metric("a", ["g1"]), metric("b", ["g2"]), metric("c", ["g3"])],
        "classifier": {"groupWeights": {"g1": 50, "g2": 30}},
    }
    result = judge(config, THRESHOLDS, [pair("a", BASE, BASE), pair("b", BASE, HIGH), pair("c", BASE, BASE)])
    assert result["score"]["score"] == 70.0  # 50·1 + 30·0 + 20·1
    assert result["score"]["classification"] == "Marginal"


def test_outlier_removal_and_effect_size_thresholds() -> None:
    spiky = [*BASE[:-1], 10_000.0]
    config = {"metrics": [metric("a", ["g"], outliers={"strategy": "remove", "outlierFactor": 3.0})]}
    result = judge(config, THRESHOLDS, [pair("a", BASE, spiky)])
    assert result["results"][0]["experimentMetadata"]["stats"]["count"] == 29
    # a 50 % rise with allowedIncrease 2.0 (a 100 % rise needed) passes
    config = {"metrics": [metric("a", ["g"], effectSize={"allowedIncrease": 2.0})]}
    assert judge(config, THRESHOLDS, [pair("a", BASE, HIGH)])["results"][0]["classification"] == "Pass"


def test_bad_settings_and_unknown_metrics_are_named() -> None:
    with pytest.raises(JudgeError, match="Could not find metric config for x"):
        judge({"metrics": []}, THRESHOLDS, [pair("x", BASE, BASE)])
    with pytest.raises(JudgeError, match=r"analysisConfigurations\.canary\.critical"):
        judge({"metrics": [metric("a", ["g"], critical="yes")]}, THRESHOLDS, [pair("a", BASE, BASE)])
    with pytest.raises(JudgeError, match="Unable to resolve canary judge"):
        judge({"metrics": []}, THRESHOLDS, [], judge_name="nope")


def test_constant_sides_get_noise_and_a_zero_mean_gives_a_nan_ratio() -> None:
    """Both sides constant (0 and 5): noise (σ = value·1e-5, none for 0) breaks the ties and the test runs."""
    config = {"metrics": [metric("a", ["g"], critical=True)]}
    result = judge(config, THRESHOLDS, [pair("a", [0.0] * 10, [5.0] * 10)])
    assert result["results"][0]["classification"] == "High"
    assert math.isnan(result["results"][0]["resultMetadata"]["ratio"])


# ---- the zero-inflated variant -------------------------------------------------------------------------------
ZEROS = [0.0] * 60
SPARSE_ERRORS = [0.0] * 54 + [0.2, 0.0, 0.1, 0.0, 0.3, 0.0]


def test_v1_passes_errors_where_the_baseline_has_none() -> None:
    """The top complaint (kayenta#377/#799): the interval straddles 0 and the mean ratio is NaN, so v1.0 passes."""
    config = {"metrics": [metric("errors", ["errors"], direction="increase")]}
    assert judge(config, THRESHOLDS, [pair("errors", ZEROS, SPARSE_ERRORS)])["results"][0]["classification"] == "Pass"


def test_zero_inflated_judge_fails_them() -> None:
    config = {"metrics": [metric("errors", ["errors"], direction="increase")]}
    result = judge(config, THRESHOLDS, [pair("errors", ZEROS, SPARSE_ERRORS)], judge_name=ZERO_INFLATED)
    found = result["results"][0]
    assert found["classification"] == "High"
    assert "3 non-zero values where the Baseline has none" in found["classificationReason"]
    assert result["score"]["classification"] == "Fail"
    # a baseline without the series at all (NaN only, as an absent counter gives) fails too
    nan_control = pair("errors", [math.nan] * 60, SPARSE_ERRORS)
    assert judge(config, THRESHOLDS, [nan_control], judge_name=ZERO_INFLATED)["results"][0]["classification"] == "High"
    # and otherwise it judges as v1.0 does
    same = judge(config, THRESHOLDS, [pair("errors", BASE, BASE)], judge_name=ZERO_INFLATED)
    assert same["results"][0]["classification"] == "Pass"
    missing_canary = pair("errors", SPARSE_ERRORS, [])
    config = {"metrics": [metric("errors", ["errors"])]}
    assert judge(config, THRESHOLDS, [missing_canary], judge_name=ZERO_INFLATED)["results"][0]["classification"] == (
        "Nodata"
    )
    assert set(JUDGES) == {NETFLIX_V1, ZERO_INFLATED}


def test_a_stored_run_without_scope_times_shows_no_duration_instead_of_failing() -> None:
    """A stored request is checked when it is submitted; one altered in the store since still reads (no 500)."""
    from canary.request import duration, status_response

    good = {"scopes": {"default": {side: {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}
                                   for side in ("controlScope", "experimentScope")}}}  # fmt: skip
    assert duration(good) == "PT1H"
    for scopes in ({"default": {"controlScope": {"start": "2026-01-01T00:00:00Z"}}}, {"default": "x"},
                   {"default": {"controlScope": {"start": "yesterday", "end": "today"}}}):  # fmt: skip
        assert duration({"scopes": scopes}) is None
    run = {"id": "r", "status": "SUCCEEDED", "result": {"score": 90}, "canaryExecutionRequest": {"scopes": scopes}}
    assert status_response(run)["result"]["canaryDuration"] is None
