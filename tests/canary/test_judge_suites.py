"""The judge against Kayenta's own judge test suites, restated as data.

Sources, all at spinnaker/kayenta@a69573be9d8fededacf80817e4151a2c8df41276:
- ``data/classifier_suite.json``: every MannWhitneyClassifier test of
  kayenta-judge/src/test/scala/com/netflix/kayenta/judge/ClassifierSuite.scala (inputs, classifier parameters,
  expected classification / critical / ratio), extracted from the Scala source by a script.
- ``data/mann_whitney_suite.json``: kayenta-mannwhitney/src/test/scala/.../MannWhitneySuite.scala (the R tie-out
  vectors and expected intervals, estimates and intermediate values).
- ``SCORER_CASES`` below: kayenta-judge/src/test/scala/.../ScorerSuite.scala.
- ``TRANSFORM``/``DETECTOR``/``STATISTIC`` tables below: TransformSuite.scala, DetectorSuite.scala and
  StatisticSuite.scala in the same folder (the KSigma detector and Cohen's d are not used by the
  NetflixACAJudge and are left out).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pytest

from canary.judge import scorer, stats
from canary.judge.classifier import Direction, Label, MannWhitneyClassifier
from canary.judge.mannwhitney import brent, mann_whitney, wilcoxon_diff

DATA = Path(__file__).parent / "data"
CLASSIFIER = json.loads((DATA / "classifier_suite.json").read_text())["cases"]
MW = json.loads((DATA / "mann_whitney_suite.json").read_text())["tests"]
E = 1e-6


@pytest.mark.parametrize("case", CLASSIFIER, ids=[c["name"] for c in CLASSIFIER])
def test_classifier_suite(case: dict[str, Any]) -> None:
    classifier = MannWhitneyClassifier(
        tolerance=case["tolerance"],
        confidence=case["confidence"],
        allowed=tuple(case.get("allowed", (1.0, 1.0))),  # type: ignore[arg-type]
        critical_thresholds=tuple(case.get("criticalThresholds", (1.0, 1.0))),  # type: ignore[arg-type]
        effect_measure=case.get("measure", "meanRatio"),
    )
    result = classifier.classify(
        case["control"],
        case["experiment"],
        "metric",
        Direction(case["direction"]),
        nan_remove=case["nanStrategy"] == "remove",
        critical=case["critical"],
    )
    if "expected" in case:
        assert result.label == Label(case["expected"])
    if "expectedCritical" in case:
        assert result.critical is case["expectedCritical"]
    if case.get("expectedRatio") == "NaN":
        assert math.isnan(result.deviation)
    elif "expectedRatio" in case:
        assert result.deviation == case["expectedRatio"]
    if case.get("expectedReason"):
        assert result.reason


def test_classifier_suite_is_complete() -> None:
    """ClassifierSuite has 34 MannWhitneyClassifier tests; none was lost in the extraction."""
    assert len(CLASSIFIER) == 34
    assert all(c["experiment"] is not None and c["control"] is not None for c in CLASSIFIER)


def test_wilcoxon_diff_function() -> None:
    t = MW["Wilcoxon Diff Function"]
    x, y = t["arrays"]["x"], t["arrays"]["y"]
    assert wilcoxon_diff(0, 0, x, y) == pytest.approx(-1.229416, abs=E)
    assert wilcoxon_diff(5, 0, x, y) == pytest.approx(-35.80606, abs=E)


def test_z_quantile() -> None:
    assert NormalDist().inv_cdf(0.02 / 2) == pytest.approx(-2.326348, abs=E)


def test_confidence_interval_and_estimate() -> None:
    result = mann_whitney([10.0, 20.0, 30.0, 40.0], [1.0, 2.0, 3.0, 4.0])
    assert (result.lower, result.upper, result.estimate) == pytest.approx((6.0, 39.0, 22.5), abs=E)


def test_problem_case() -> None:
    t = MW["Mann-Whitney Confidence Interval & Estimate: Problem Case"]
    result = mann_whitney(t["arrays"]["experiment"], t["arrays"]["control"], 0.98)
    assert result.lower == pytest.approx(-1.4808028936386108e-5, abs=E)
    assert result.upper == pytest.approx(1.808255910873413e-5, abs=E)
    assert result.estimate == pytest.approx(1.808255910873413e-5, abs=E)


@pytest.mark.parametrize(
    ("name", "confidence"),
    [
        ("Mann-Whitney Confidence Interval & Estimate: Tie out with R Version", 0.95),
        ("Mann-Whitney Confidence Interval & Estimate: Tie out with R Version (Large)", 0.98),
    ],
)
def test_tie_out_with_r(name: str, confidence: float) -> None:
    t = MW[name]
    result = mann_whitney(t["arrays"]["experiment"], t["arrays"]["control"], confidence)
    assert result.lower == pytest.approx(t["values"]["rCiLow"], abs=E)
    assert result.upper == pytest.approx(t["values"]["rCiHigh"], abs=E)
    assert result.estimate == pytest.approx(t["values"]["rEst"], abs=1e-4)


def test_intermediate_values() -> None:
    t = MW["Mann-Whitney Intermediate Values / Variables"]
    x, y, r = t["arrays"]["x"], t["arrays"]["y"], t["values"]
    mu_min, mu_max = min(x) - max(y), max(x) - min(y)
    zq_lower = -NormalDist().inv_cdf(0.05 / 2)
    zq_upper = NormalDist().inv_cdf(0.05 / 2)
    f_lower1, f_upper1 = wilcoxon_diff(mu_min, zq_lower, x, y), wilcoxon_diff(mu_max, zq_lower, x, y)
    f_lower2, f_upper2 = wilcoxon_diff(mu_min, zq_upper, x, y), wilcoxon_diff(mu_max, zq_upper, x, y)
    got = {
        "rMumin": mu_min,
        "rMumax": mu_max,
        "rZqLower": zq_lower,
        "rZqUpper": zq_upper,
        "rFlower1": f_lower1,
        "rFupper1": f_upper1,
        "rFlower2": f_lower2,
        "rFupper2": f_upper2,
        "rCil": brent(mu_min, mu_max, f_lower1, f_upper1, lambda mu: wilcoxon_diff(mu, zq_lower, x, y)),
        "rCiu": brent(mu_min, mu_max, f_lower2, f_upper2, lambda mu: wilcoxon_diff(mu, zq_upper, x, y)),
        "rEst": brent(
            mu_min,
            mu_max,
            wilcoxon_diff(mu_min, 0, x, y),
            wilcoxon_diff(mu_max, 0, x, y),
            lambda mu: wilcoxon_diff(mu, 0, x, y),
        ),
    }
    for key, value in got.items():
        assert value == pytest.approx(r[key], abs=E), key


# ---- ScorerSuite: (weights, [(classification, groups, critical)], expected summary score) ----------------------
SCORER_CASES = [
    ("Single Metric Pass", {}, [("Pass", ["test-group"], False)], 100.0),
    ("Single Metric Fail", {}, [("High", ["test-group"], False)], 0.0),
    ("Single group Nodata", {}, [("Nodata", ["test-group-nodata"], False)], 0.0),
    (
        "Two Groups, one Pass, one Nodata",
        {},
        [("Pass", ["test-group-pass"], False), ("Pass", ["test-group-pass"], False), ("Nodata", ["nd"], False)],
        100.0,
    ),
    ("One Group, Two Metrics", {}, [("Pass", ["g"], False), ("High", ["g"], False)], 50.0),
    ("One Group, Three Metrics", {}, [("Pass", ["g"], False), ("High", ["g"], False), ("Low", ["g"], False)], 33.33),
    (
        "Two Groups, Three Metrics",
        {"group-1": 75.0, "group-2": 25.0},
        [("Pass", ["group-1"], False), ("Pass", ["group-1"], False), ("High", ["group-2"], False)],
        75.0,
    ),
    (
        "Two Groups, Three Metrics (Equal Weight)",
        {"group-1": 50.0, "group-2": 50.0},
        [("Pass", ["group-1"], False), ("High", ["group-1"], False), ("High", ["group-2"], False)],
        25.0,
    ),
    (
        "Two Groups, Three Metrics (Equal Weight), one NoData",
        {"group-1": 50.0, "group-2": 50.0},
        [("Pass", ["group-1"], False), ("Nodata", ["group-1"], False), ("High", ["group-2"], False)],
        50.0,
    ),
    ("one good (normal), one fail (critical)", {}, [("Pass", ["g"], False), ("High", ["g"], True)], 0.0),
    ("one low (normal), one good (critical)", {}, [("Low", ["g"], False), ("Pass", ["g"], True)], 50.0),
    ("one good (normal), one nodata (critical)", {}, [("Pass", ["g"], False), ("Nodata", ["g"], True)], 0.0),
    (
        "Two Groups (Unequal Weight), Four Metrics",
        {"group1": 15.0, "group2": 85.0},
        [
            ("High", ["group1"], False),
            ("Low", ["group1"], False),
            ("Pass", ["group1"], False),
            ("High", ["group2"], False),
        ],
        5.0,
    ),
]


@pytest.mark.parametrize(("name", "weights", "metrics", "expected"), SCORER_CASES, ids=[c[0] for c in SCORER_CASES])
def test_scorer_suite(name: str, weights: dict[str, float], metrics: list[Any], expected: float) -> None:
    results = [
        {"name": f"m{i}", "classification": c, "groups": g, "critical": crit, "classificationReason": f"r{i}"}
        for i, (c, g, crit) in enumerate(metrics)
    ]
    groups, summary, _ = scorer.score(results, weights)
    assert summary == expected
    if name == "Single group Nodata":
        assert [g["score"] for g in groups] == [0.0]
    if name == "Two Groups, one Pass, one Nodata":
        assert sorted(g["score"] for g in groups) == [0.0, 100.0]


# ---- TransformSuite, DetectorSuite ----------------------------------------------------------------------------
NAN = math.nan


def test_transforms() -> None:
    assert stats.remove_nans([0.0, 1.0, NAN, 1.0, 0.0]) == [0.0, 1.0, 1.0, 0.0]
    assert stats.remove_nans([NAN, NAN, NAN]) == []
    assert stats.replace_nans([NAN, 10.10, 20.20, 30.30, NAN, 40.40], 0.0) == [0.0, 10.10, 20.20, 30.30, 0.0, 40.40]
    data = [21.0, 23.0, 24.0, 25.0, 50.0, 29.0, 23.0, 21.0]
    flags = stats.iqr_outliers(data, 1.5)
    assert [v for v, f in zip(data, flags, strict=True) if not f] == [21.0, 23.0, 24.0, 25.0, 29.0, 23.0, 21.0]


NIST = [
    30, 171, 184, 201, 212, 250, 265, 270, 272, 289, 305, 306, 322, 322, 336, 346, 351, 370, 390, 404, 409, 411, 436,
    437, 439, 441, 444, 448, 451, 453, 470, 480, 482, 487, 494, 495, 499, 503, 514, 521, 522, 527, 548, 550, 559, 560,
    570, 572, 574, 578, 585, 592, 592, 607, 616, 618, 621, 629, 637, 638, 640, 656, 668, 707, 709, 719, 737, 739, 752,
    758, 766, 792, 792, 794, 802, 818, 830, 832, 843, 858, 860, 869, 918, 925, 953, 991, 1000, 1005, 1068, 1441,
]  # fmt: skip

DETECTOR = [
    ("IQR Detection", [21.0, 23.0, 24.0, 25.0, 50.0, 29.0, 23.0, 21.0], [0, 0, 0, 0, 1, 0, 0, 0]),
    ("IQR Detect Two Sided", [1.0, 1.0, 1.0, 5.0, -1.0, -1.0, -1.0, -5.0], [0, 0, 0, 1, 0, 0, 0, 1]),
    ("IQR Empty Data", [], []),
    ("IQR NIST Test", [float(v) for v in NIST], [0] * (len(NIST) - 1) + [1]),
]


@pytest.mark.parametrize(("name", "data", "truth"), DETECTOR, ids=[d[0] for d in DETECTOR])
def test_detector_suite(name: str, data: list[float], truth: list[int]) -> None:
    assert stats.iqr_outliers(data, 1.5) == [bool(t) for t in truth]


def test_reduced_sensitivity_widens_to_the_1st_and_99th_percentiles() -> None:
    """The judge's detector (reduceSensitivity): fences are at least P1/P99, so repeated extremes stay even with a
    tiny factor."""
    data = [1.0, 1.0, 2.0, 3.0, 4.0, 100.0, 100.0]
    assert stats.iqr_outliers(data, 0.01) == [False, False, False, False, False, True, True]
    assert stats.iqr_outliers(data, 0.01, reduce_sensitivity=True) == [False] * 7


# ---- StatisticSuite -------------------------------------------------------------------------------------------
def test_statistic_suite() -> None:
    assert stats.summary([4.0]) == stats.Summary(4, 4, 4, 0, 1)
    s = stats.summary([1.0, 1.0, 1.0, 10.0, 10.0, 10.0])
    assert (s.min, s.max, s.mean, s.count) == (1.0, 10.0, 5.5, 6)
    assert s.std == pytest.approx(4.9295, abs=1e-4)
    assert stats.summary([]) == stats.Summary(0, 0, 0, 0, 0)
    basic = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert stats.percentile(basic, 5) == pytest.approx(0.175, abs=1e-4)
    assert stats.percentile(basic, 50) == 1.75
    assert stats.percentile(basic, 100) == 3.5
    assert stats.percentile([float(i) for i in range(10)], 50) == 4.5
    nist = [95.1772, 95.1567, 95.1937, 95.1959, 95.1442, 95.0610, 95.1591, 95.1195, 95.1772, 95.0925, 95.1990, 95.1682]
    assert stats.percentile(nist, 90) == pytest.approx(95.19568, abs=1e-9)
    assert stats.percentile([1.0], 100) == 1.0
    interp = [
        0.07142857142857144, 0.02083333333333332, 0.16666666666666666, 0.03448275862068966, 0.038461538461538464,
        0.03225806451612904, 0.027777777777777773, 0.0, 0.23076923076923078, 0.10344827586206898,
        0.04545454545454542, 0.0, 0.028571428571428564, 0.0, 0.0, 0.04, 0.0, 0.0, 0.05128205128205127,
        0.10714285714285716, 0.0263157894736842, 0.04166666666666667, 0.09523809523809522, 0.02941176470588235,
        0.024999999999999984, 0.0, 0.0, 0.023809523809523794, 0.0, 0.02564102564102563, 0.0, 0.0,
        0.028571428571428564, 0.07142857142857144, 0.047619047619047596, 0.021276595744680833, 0.02564102564102563,
        0.03125, 0.03125, 0.03125, 0.11363636363636356, 0.03571428571428572, 0.0, 0.02777777777777777, 0.0, 0.0,
        0.055555555555555546, 0.028571428571428564, 0.03225806451612904,
    ]  # fmt: skip
    assert stats.percentile(interp, 25) == 0.0
    assert stats.percentile(interp, 75) == pytest.approx(0.0416, abs=1e-4)


def test_effect_sizes() -> None:
    ones = [1.0] * 5
    assert stats.mean_ratio(ones, ones) == 1.0
    assert stats.mean_ratio(ones, [10.0] * 5) == 10.0
    assert stats.mean_ratio([100.0] * 5, [10.0] * 5) == 0.1
    assert math.isnan(stats.mean_ratio([0.0] * 5, [10.0] * 5))
    assert stats.cles([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0]) == 0.5
    experiment = [2.27776335, 2.61149434, 3.26894105, 2.91672701, 1.40656921,
                  2.18292082, 3.47901292, 3.00034118, 3.02402043, 4.69912745]  # fmt: skip
    control = [25.31531073, 25.19450817, 24.6288846, 24.37991861, 26.40999244,
               25.28524759, 24.99788745, 26.13841676, 22.93604649, 24.56817832]  # fmt: skip
    assert stats.cles(control, experiment) == 0.0
    high_e = [
        29.17644856, 25.16947646, 25.88467948, 29.4900454, 27.05622757, 26.13307864, 27.2711558, 26.69139944,
        29.05412377, 26.39818697, 26.68312641, 24.99600187, 27.99524816, 22.57278291, 23.72798196, 25.82821505,
        28.26624521, 28.02370228, 24.1792213, 26.02914828, 25.90970275, 31.18337461, 27.44254942, 29.93347686,
        26.70848069, 28.12191913, 27.39257837, 30.17636627, 29.60240485, 30.10635388,
    ]  # fmt: skip
    high_c = [
        24.69397578, 25.37120574, 25.86186148, 26.93804252, 22.72232309, 24.15894084, 24.80842752, 26.07830794,
        27.35323988, 23.25110886, 24.65909111, 23.88299016, 21.34817847, 26.33198082, 23.39498829, 26.6734461,
        25.33769589, 23.92348759, 25.29740715, 24.21381887, 28.1697053, 22.2271772, 27.16612837, 25.16639243,
        26.85955896, 27.13421926, 25.43350074, 26.32130314, 23.8854011, 27.86180318,
    ]  # fmt: skip
    assert stats.cles(high_c, high_e) == pytest.approx(0.771, abs=0.001)
    low_e = [
        22.58442682, 18.83161858, 22.34282944, 18.52177725, 19.41399147, 21.77120485, 24.33796385, 22.16390531,
        23.781802, 21.38514296, 22.2205035, 22.06152361, 21.30313392, 21.59652134, 22.38394223, 24.68882792,
        20.58916439, 21.03137302, 22.26213957, 23.76485986, 20.56271226, 24.56567102, 19.86055958, 22.18967677,
        20.31475409, 19.2634656, 24.60283585, 20.41729998, 20.62069798, 22.53448767,
    ]  # fmt: skip
    low_c = [
        23.15322873, 22.09179077, 26.56410603, 23.0971542, 24.26372276, 25.6461273, 29.42730472, 22.08630097,
        29.15257054, 25.8096766, 24.62191338, 23.67398895, 23.63946085, 26.44684325, 25.76230914, 25.41279862,
        22.64005862, 24.58898152, 25.01968457, 25.03695883, 23.79864705, 26.60180151, 25.99405034, 22.46726084,
        28.31843786, 24.30152484, 22.83713467, 21.92380184, 23.44735223, 29.15676219,
    ]  # fmt: skip
    assert stats.cles(low_c, low_e) == 0.12
