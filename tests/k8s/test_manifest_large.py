"""A deployManifest of 1 MB of manifests through the engine on the real kube-apiserver (issue 12's large values):
the pipeline SUCCEEDS, every object lands whole, and neither the pipeline's nor the stage's history holds the
manifests (the claim-check codec stores them once; the stage's outputs go to the store's projection)."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kubernetes
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from workflows import operations

pytestmark = pytest.mark.temporal

CONFIG_MAPS = 4
VALUE_BYTES = 256 * 1024  # 4 x 256 KiB: 1 MiB of manifests in one stage
HISTORY_CEILING = 64 * 1024  # far below the manifests' size: they are referenced, not copied


def config_map(ns: str, i: int) -> dict[str, Any]:
    # distinct contents, so no two values share a claim-check blob by accident
    value = (f"{i:02d}" + "abcdefghijklmnopqrstuvwxyz0123456789") * (VALUE_BYTES // 38)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"big-{i}", "namespace": ns},
        "data": {"payload": value[:VALUE_BYTES]},
    }


async def history_bytes(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(event.ByteSize() for event in history.events)


async def test_a_deploy_manifest_of_one_megabyte_succeeds_without_entering_history(
    client: Client, kube_cluster: Any, k8s_namespace: str, k8s_api: Any
) -> None:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    ns = k8s_namespace
    account = {"name": "k8s", "type": "kubernetes", "kubeconfigFile": str(kube_cluster.kubeconfig_path)}
    queue = f"k8s-large-{uuid.uuid4()}"
    settings = Settings(task_queue=queue)
    settings.accounts = [account]  # type: ignore[attr-defined]  # the stub has none; build_activities reads them
    activities = build_activities(settings, client, configs=MemoryConfigSource(), clouds={})
    manifests = [config_map(ns, i) for i in range(CONFIG_MAPS)]
    stage = {
        "refId": "1",
        "type": "deployManifest",
        "name": "Deploy big",
        "account": "k8s",
        "cloudProvider": "kubernetes",
        "source": "text",
        "manifests": manifests,
    }
    config = {"application": "shop", "name": "big-manifests", "limitConcurrent": False, "stages": [stage]}
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=activities,
        activity_executor=ThreadPoolExecutor(max_workers=10),
        workflow_runner=workflow_runner(),
    ):
        execution_id = await operations.start_pipeline(client, config, task_queue=queue)
        execution = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 240)

    assert execution["status"] == "SUCCEEDED", execution
    core = kubernetes.client.CoreV1Api(k8s_api)
    for i in range(CONFIG_MAPS):
        # ConfigMaps are versioned kinds in Spinnaker: the first deploy is -v000
        live = await asyncio.to_thread(core.read_namespaced_config_map, f"big-{i}-v000", ns)
        assert live.data["payload"] == manifests[i]["data"]["payload"]

    pipeline_bytes = await history_bytes(client, execution_id)
    stage_bytes = await history_bytes(client, f"{execution_id}.stage-1")
    print(f"1 MiB of manifests: pipeline history {pipeline_bytes} B, stage history {stage_bytes} B")
    assert pipeline_bytes < HISTORY_CEILING
    assert stage_bytes < HISTORY_CEILING
