"""The kayentaCanary stage's planning and decision as tables (Orca's RunCanaryIntervalsStage,
MonitorKayentaCanaryTask and AggregateCanaryResultsTask), and its synthetic stages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from canary import stage_plan as plan
from workflows.stages import resolve

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def ctx(scope: dict[str, Any] | None = None, **config: Any) -> dict[str, Any]:
    first = {"scopeName": "default", "controlScope": "base", "experimentScope": "can", "step": 60, **(scope or {})}
    return {"canaryConfig": {"canaryConfigId": "c1", "scopes": [first], **config}}


def hm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


# (context, expected N, I, [(experiment start, end, control start, end) per interval])
CASES = [
    # real time, growing windows from now
    (ctx(lifetimeDuration="PT1H", canaryAnalysisIntervalMins=30), 2, 30,
     [("12:00", "12:30", "12:00", "12:30"), ("12:00", "13:00", "12:00", "13:00")]),
    # legacy lifetimeHours; no interval → one interval of the whole lifetime
    (ctx(lifetimeHours=2), 1, 120, [("12:00", "14:00", "12:00", "14:00")]),
    # an interval longer than the lifetime is the lifetime
    (ctx(lifetimeDuration="PT1H", canaryAnalysisIntervalMins=90), 1, 60, [("12:00", "13:00", "12:00", "13:00")]),
    # a remainder is dropped (⌊L/I⌋)
    (ctx(lifetimeDuration="PT50M", canaryAnalysisIntervalMins=20), 2, 20,
     [("12:00", "12:20", "12:00", "12:20"), ("12:00", "12:40", "12:00", "12:40")]),
    # warm-up shifts real-time windows; the baseline offset shifts the control only
    (ctx(lifetimeDuration="PT30M", canaryAnalysisIntervalMins=15, beginCanaryAnalysisAfterMins=10,
         baselineAnalysisOffsetInMins=60), 2, 15,
     [("12:10", "12:25", "11:10", "11:25"), ("12:10", "12:40", "11:10", "11:40")]),
    # lookback: sliding windows
    (ctx(lifetimeDuration="PT1H", canaryAnalysisIntervalMins=20, lookbackMins=15), 3, 20,
     [("12:05", "12:20", "12:05", "12:20"), ("12:25", "12:40", "12:25", "12:40"),
      ("12:45", "13:00", "12:45", "13:00")]),
    # retrospective: from the first scope's start, no warm-up shift
    (ctx({"startTimeIso": "2026-01-01T08:00:00Z", "endTimeIso": "2026-01-01T09:00:30Z"},
         canaryAnalysisIntervalMins=30, beginCanaryAnalysisAfterMins=10), 2, 30,
     [("08:00", "08:30", "08:00", "08:30"), ("08:00", "09:00", "08:00", "09:00")]),
]  # fmt: skip


@pytest.mark.parametrize(("context", "count", "interval", "windows"), CASES)
def test_interval_plan(context: dict[str, Any], count: int, interval: float, windows: list[tuple[str, ...]]) -> None:
    settings = plan.read_settings(context)
    assert plan.interval_plan(settings) == (count, interval)
    anchor = settings.start or NOW
    got = []
    for i in range(1, count + 1):
        w = plan.window(settings, i, anchor, interval)
        got.append((hm(w.start), hm(w.end), hm(w.control_start), hm(w.control_end)))
    assert got == windows


@pytest.mark.parametrize(
    ("text", "minutes", "stage", "gap", "start"),
    [
        ("last 3h", 180, None, 0, "09:00"),
        ("LAST 90m before stage Deploy", 90, "Deploy", 0, "09:30"),
        ("last 1h ending 10m before stage 'Deploy prod'", 60, "Deploy prod", 10, "09:50"),
        ("last 30 min at stage Bake", 30, "Bake", 0, "10:30"),
    ],
)
def test_relative_windows(text: str, minutes: float, stage: str | None, gap: float, start: str) -> None:
    rel = plan.parse_relative(text)
    assert (rel.minutes, rel.stage, rel.gap_minutes) == (minutes, stage, gap)
    stage_end = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    assert hm(plan.relative_anchor(rel, NOW, stage_end)) == start
    settings = plan.read_settings(ctx({"window": text}, canaryAnalysisIntervalMins=minutes / 2))
    assert settings.retrospective and plan.interval_plan(settings) == (2, minutes / 2)


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({}, "canaryConfig"),
        ({"canaryConfig": {"scopes": [{}]}}, "canaryConfigId"),
        ({"canaryConfig": {"canaryConfigId": "c", "scopes": []}}, "canaryConfig.scopes"),
        (ctx(), "canaryConfig.lifetimeDuration"),
        (ctx(lifetimeDuration="an hour"), "canaryConfig.lifetimeDuration"),
        (ctx({"endTimeIso": "yesterday"}), "canaryConfig.scopes[0].endTimeIso"),
        (ctx({"window": "the last while"}), "canaryConfig.scopes[0].window"),
        (ctx({"window": "last 1h", "endTimeIso": "2026-01-01T00:00:00Z"}), "canaryConfig.scopes[0].window"),
        (ctx(lifetimeDuration="PT1H", lookbackMins=-5), "canaryConfig.lookbackMins"),
        (ctx(lifetimeDuration="PT1H", scoreThresholds={"pass": "high"}), "canaryConfig.scoreThresholds.pass"),
    ],
)
def test_bad_contexts_name_the_field(context: dict[str, Any], field: str) -> None:
    with pytest.raises(plan.PlanError) as err:
        plan.read_settings(context)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("score", "marginal", "passed"),
    [(50, 50, False), (50.9, 50, False), (51, 50, True), (0, 50, False), (100, None, True)],
)
def test_interval_verdict_fails_at_or_below_marginal(score: float, marginal: float | None, passed: bool) -> None:
    assert plan.interval_verdict(plan.orca_score(score), marginal)[0] is passed


@pytest.mark.parametrize(
    ("scores", "pass_t", "marginal", "passed", "says"),
    [
        ([100, 100], 75, 50, True, "met or exceeded the pass"),
        ([10, 80], 75, 50, True, "met or exceeded"),  # only the last interval decides
        ([100, 74], 75, 50, False, "below the pass score threshold 75"),
        ([100, 50], 75, 50, False, "not above the marginal score threshold 50"),
        ([60], None, 50, True, "above the marginal"),
        ([0], None, None, True, "no score thresholds"),
        ([], 75, 50, False, "No canary interval"),
    ],
)
def test_final_decision(
    scores: list[float], pass_t: float | None, marginal: float | None, passed: bool, says: str
) -> None:
    got, message = plan.final_decision(scores, pass_t, marginal)
    assert got is passed and says in message


def test_synthetic_stages_as_orca_plans_them() -> None:
    stage = resolve("kayentaCanary")
    real_time = ctx(lifetimeDuration="PT20M", canaryAnalysisIntervalMins=10, beginCanaryAnalysisAfterMins=5)
    planned = [(s.type, s.name, s.context.get("waitTime")) for s in stage.before_stages(real_time)]
    assert planned == [
        ("wait", "Warmup Wait", 300),
        ("wait", "Interval Wait #1", 600),
        ("runCanary", "Run Canary #1", None),
        ("wait", "Interval Wait #2", 600),
        ("runCanary", "Run Canary #2", None),
    ]
    retro = ctx({"startTimeIso": "2026-01-01T08:00:00Z", "endTimeIso": "2026-01-01T09:00:00Z"},
                canaryAnalysisIntervalMins=20)  # fmt: skip
    assert [s.name for s in stage.before_stages(retro)] == ["Run Canary #1", "Run Canary #2", "Run Canary #3"]
    assert stage.before_stages({"canaryConfig": {}}) == []  # the stage's own task names the field
    run = resolve("runCanary")
    assert [t.name for t in run.tasks({"canaryConfigId": "c1"})] == ["planCanaryInterval", "runCanary", "monitorCanary"]
    monitor = run.tasks({"canaryConfigId": "c1"})[-1]
    assert monitor.polling and monitor.on_cancel == "kayenta_cancel_canary"
    assert monitor.timeout is not None and monitor.timeout.total_seconds() == 43200
