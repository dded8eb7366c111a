"""The SDK's KayentaCanary builder writes the stage as Deck does, and refuses what the stage would refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from canary import stage_plan as plan
from gennaker.pipelines import KayentaCanary, Pipeline, PipelineBuildError, Stage
from workflows.stages import resolve


def rendered(**kwargs: Any) -> dict[str, Any]:
    stage = KayentaCanary("shop-errors", control_scope="baseline", experiment_scope="canary", **kwargs)
    return Pipeline("p", application="shop", stages=[stage]).to_json()["stages"][0]


def test_real_time_with_intervals() -> None:
    stage = rendered(lifetime=timedelta(hours=1, minutes=30), interval=timedelta(minutes=15), warmup=5, step=10)
    assert stage["analysisType"] == "realTime"
    config = stage["canaryConfig"]
    assert config["lifetimeDuration"] == "PT1H30M" and config["canaryAnalysisIntervalMins"] == 15
    assert config["beginCanaryAnalysisAfterMins"] == 5 and config["canaryConfigName"] == "shop-errors"
    assert config["scopes"][0]["step"] == 10 and config["scoreThresholds"] == {"pass": 75, "marginal": 50}
    # what the engine plans from it
    before = resolve("kayentaCanary").before_stages(stage)
    assert [s.name for s in before][:3] == ["Warmup Wait", "Interval Wait #1", "Run Canary #1"]
    assert len([s for s in before if s.type == "runCanary"]) == 6


def test_retrospectives_fixed_and_relative() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    fixed = rendered(start=start, end=start + timedelta(hours=1), interval=30)["canaryConfig"]
    assert fixed["scopes"][0]["startTimeIso"] == "2025-01-01T00:00:00Z" and "lifetimeDuration" not in fixed
    relative = rendered(relative_window="last 1h before stage Deploy", interval=timedelta(minutes=20))
    assert relative["analysisType"] == "retrospective"
    settings = plan.read_settings(relative)
    assert settings.relative == plan.RelativeWindow(60, "Deploy") and plan.interval_plan(settings) == (3, 20)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "lifetime"),
        ({"lifetime": timedelta(hours=1), "config_id": "c1"}, "config"),
        ({"end": "2025-01-01T01:00:00Z"}, "start"),
        ({"relative_window": "last 1h", "end": "2025-01-01T01:00:00Z", "start": "x"}, "relative_window"),
        ({"lifetime": timedelta(hours=1), "step": 0}, "step"),
        ({"lifetime": timedelta(hours=1), "interval": -1}, "interval"),
    ],
)
def test_mistakes_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(PipelineBuildError, match=rf"KayentaCanary\('Canary Analysis'\)\.{field}"):
        KayentaCanary("shop-errors", control_scope="baseline", experiment_scope="canary", **kwargs)


def test_it_is_a_stage() -> None:
    assert isinstance(
        KayentaCanary(config_id="c1", control_scope="a", experiment_scope="b", lifetime=timedelta(1)), Stage
    )
