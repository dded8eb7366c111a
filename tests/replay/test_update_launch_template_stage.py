"""``updateLaunchTemplate`` as a pipeline stage through Gate and the engine, against moto's server.

The activity has its own tests (tests/infrastructure/test_activities.py); this one runs the stage end to end, so
that ``make replay-record`` (REPLAY_TESTS in the Makefile) stores a history of it for the replay corpus, which
must hold one for every stage type of the catalog (test_coverage.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.test_gate_infra import serve
from tests.providers.aws_fixtures import REGION, AwsWorld, aws_world, moto_clients, moto_endpoint  # noqa: F401

pytestmark = pytest.mark.temporal


async def test_update_launch_template_stage_in_a_pipeline(
    client: Any,
    tmp_path: Path,
    aws_world: AwsWorld,  # noqa: F811
) -> None:
    world = aws_world
    world.templated_group("myapp-v001")
    stage = {"refId": "1", "type": "updateLaunchTemplate", "credentials": "test", "region": REGION,
             "serverGroupName": "myapp-v001", "instanceType": "t3.large"}  # fmt: skip
    config = {"application": "myapp", "name": "relaunch", "stages": [stage]}
    async with serve(client, tmp_path, world.endpoint) as gate:
        saved = await gate.call("writer", "POST", "/pipelines", json=config)
        assert saved.status_code == 200, saved.text
        started = await gate.call("writer", "POST", "/pipelines/myapp/relaunch", json={})
        assert started.status_code == 202, started.text
        execution = await gate.finished("/pipelines/" + started.json()["ref"].split("/")[-1])
    assert execution["status"] == "SUCCEEDED", execution["stages"][0]["context"].get("exception")
    versions = world.ec2.describe_launch_template_versions(LaunchTemplateName="myapp-v001")["LaunchTemplateVersions"]
    latest = max(versions, key=lambda v: v["VersionNumber"])
    assert latest["VersionNumber"] == 2 and latest["LaunchTemplateData"]["InstanceType"] == "t3.large"
