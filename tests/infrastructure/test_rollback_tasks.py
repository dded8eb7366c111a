"""``rollbackCluster`` as an ad hoc ``/tasks`` job through Gate with Fiat on (Orca runs any stage type as an
orchestration): a writer's job rolls the cluster back on moto's server, a reader gets 403."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from providers.aws import AwsCloud
from tests.infrastructure.test_gate_infra import serve
from tests.providers.aws_fixtures import REGION, AwsWorld
from tests.providers.test_aws import request

pytestmark = pytest.mark.temporal


async def test_rollback_cluster_through_tasks(
    client: Any, tmp_path: Path, aws_world: AwsWorld, aws_cloud: AwsCloud
) -> None:
    old = aws_cloud.create_server_group(request(aws_world, "myapp-prod-v000", load_balancers=[]))
    new = aws_cloud.create_server_group(request(aws_world, "myapp-prod-v001", load_balancers=[]))
    aws_cloud.disable("test", REGION, old.name)  # v001 replaced it
    job = {
        "type": "rollbackCluster",
        "cloudProvider": "aws",
        "credentials": "test",
        "moniker": {"app": "myapp", "cluster": "myapp-prod"},
        "regions": [REGION],
    }
    async with serve(client, tmp_path, aws_world.endpoint) as gate:
        denied = await gate.call("reader", "POST", "/tasks", json={"application": "myapp", "job": [job]})
        assert denied.status_code == 403 and "test" in denied.text
        done = await gate.task("writer", job)
    assert done["status"] == "SUCCEEDED", done
    assert "AddToLoadBalancer" not in aws_world.suspended(old.name)
    assert "AddToLoadBalancer" in aws_world.suspended(new.name)
    assert aws_world.target_ids() == {i.id for i in old.instances}
