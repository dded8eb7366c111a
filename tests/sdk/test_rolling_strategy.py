"""The SDK's ``RollingRedBlack`` writes the cluster fields the engine's rolling red/black reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gennaker.pipelines import PipelineBuildError
from gennaker.pipelines.deploy import Cluster, RollingRedBlack
from workflows.stages.deploy import strategy_stages


def _cluster(strategy: Any) -> dict[str, Any]:
    built = Cluster("myapp", "prod", account="prod", regions=["us-east-1"], capacity=(2, 4, 4), strategy=strategy)
    return built.to_json("clusters[0]")


def test_rolling_red_black_fields() -> None:
    out = _cluster(
        RollingRedBlack(
            percentages=[25, 50],
            scale_down=True,
            delay_before_cleanup=timedelta(seconds=30),
            delay_before_scale_down=timedelta(minutes=1),
            validation={"application": "myapp", "pipelineId": "smoke", "pipelineParameters": {"k": "v"}},
            max_remaining=3,
            rollback_on_failure=True,
        )
    )
    assert {k: out[k] for k in out if k not in ("application", "stack", "freeFormDetails", "account")} == {
        "cloudProvider": "aws",
        "capacity": {"min": 2, "max": 4, "desired": 4},
        "availabilityZones": {"us-east-1": []},
        "strategy": "rollingredblack",
        "targetPercentages": [25, 50],
        "scaleDown": True,
        "delayBeforeCleanup": 30,
        "delayBeforeScaleDown": 60,
        "pipelineBeforeCleanup": {"application": "myapp", "pipelineId": "smoke", "pipelineParameters": {"k": "v"}},
        "maxRemainingAsgs": 3,
        "rollback": {"onFailure": True},
    }
    # what the engine plans from it
    item = {
        "cluster": 0,
        "cloudProvider": "aws",
        "account": "prod",
        "region": "us-east-1",
        "serverGroupName": "myapp-prod-v001",
        "clusterName": "myapp-prod",
        "source": {"serverGroupName": "myapp-prod-v000", "capacity": out["capacity"]},
    }
    names = [s.name for s in strategy_stages({"clusters": [out], "deploy.plan": [item]})]
    assert names.count("Run Validation Pipeline") == 3 and "Grow to 25% of Desired Size" in names


@pytest.mark.parametrize(
    ("strategy", "fragment"),
    [
        (RollingRedBlack(percentages=[0]), "strategy.percentages: must be whole percentages"),
        (RollingRedBlack(percentages=[50, 25]), "strategy.percentages: must grow"),
        (RollingRedBlack(percentages=[]), "strategy.percentages"),
        (RollingRedBlack(validation={"application": "myapp"}), "strategy.validation: needs application and pipelineId"),
        (RollingRedBlack(delay_before_cleanup=5), "strategy.delay_before_cleanup"),  # type: ignore[arg-type]
    ],
)
def test_mistakes_name_the_field(strategy: RollingRedBlack, fragment: str) -> None:
    with pytest.raises(PipelineBuildError, match=fragment.replace(".", r"\.")):
        _cluster(strategy)
