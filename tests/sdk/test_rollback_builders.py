"""The SDK's rollback builders: ``RollbackCluster`` and ``RollbackServerGroup`` with ``PREVIOUS_IMAGE`` write the
JSON the engine's stages read (docs/deploy.md), and refuse bad fields naming them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gennaker.pipelines import PipelineBuildError, RollbackCluster, RollbackServerGroup
from tests.sdk.test_pipelines import one


def test_rollback_cluster_json() -> None:
    stage = RollbackCluster(
        "myapp-prod-canary",
        account="prod",
        regions=["us-east-1", "us-west-2"],
        target_healthy_percentage=90,
        wait_between_regions=timedelta(minutes=2),
        only_enabled=True,
    )
    assert one(stage) == {
        "refId": "1",
        "requisiteStageRefIds": [],
        "type": "rollbackCluster",
        "name": "Rollback Cluster",
        "cloudProvider": "aws",
        "credentials": "prod",
        "moniker": {"app": "myapp", "cluster": "myapp-prod-canary", "stack": "prod", "detail": "canary"},
        "regions": ["us-east-1", "us-west-2"],
        "targetHealthyRollbackPercentage": 90,
        "waitTimeBetweenRegions": 120,
        "additionalRollbackContext": {"onlyEnabledServerGroups": True},
    }
    plain = one(RollbackCluster("myapp", account="prod", regions=["us-east-1"]))
    assert plain["moniker"] == {"app": "myapp", "cluster": "myapp"}


def test_previous_image_rollback_json() -> None:
    stage = RollbackServerGroup(
        "myapp-prod-v002", account="prod", region="us-east-1", rollback_type="PREVIOUS_IMAGE", image_name="myapp-1.0"
    )
    got = one(stage)
    assert got["rollbackType"] == "PREVIOUS_IMAGE"
    assert got["rollbackContext"] == {"rollbackServerGroupName": "myapp-prod-v002", "imageName": "myapp-1.0"}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RollbackCluster("myapp-prod", account="prod", regions=[]), r"RollbackCluster.*\.regions"),
        (
            lambda: RollbackCluster("myapp-prod", account="prod", regions=["r"], target_healthy_percentage=101),
            r"\.target_healthy_percentage",
        ),
        (
            lambda: RollbackCluster("myapp-prod", account="prod", regions=["r"], wait_between_regions=5),
            r"\.wait_between_regions",
        ),
        (lambda: RollbackServerGroup("a-v001", account="p", region="r", rollback_type="TEST"), r"\.rollback_type"),
        (lambda: RollbackServerGroup("a-v001", account="p", region="r", image_name="x"), r"\.image_name"),
        (
            lambda: RollbackServerGroup("a-v001", account="p", region="r", rollback_type="PREVIOUS_IMAGE", restore="b"),
            r"\.restore",
        ),
    ],
)
def test_rollback_builder_errors(build: Any, message: str) -> None:
    with pytest.raises(PipelineBuildError, match=message):
        one(build())
