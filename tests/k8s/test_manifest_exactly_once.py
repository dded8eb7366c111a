"""deployManifest through the engine whose worker "dies" right after the apply, before it can report: Temporal
runs the activity again, and the stage still ends with one new versioned object (not a -v001 next to -v000)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from temporalio.worker import Worker

from activities import manifest
from providers.base import TransientCloudError
from providers.kubernetes import KubernetesCloud
from providers.kubernetes_accounts import KubernetesAccount
from workflows import operations

pytestmark = pytest.mark.temporal


class DiesAfterApply:
    def __init__(self, cloud: KubernetesCloud) -> None:
        self.cloud, self.applies = cloud, 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.cloud, name)
        if name != "apply":
            return attr

        def apply(*args: Any) -> Any:
            out = attr(*args)
            self.applies += 1
            if self.applies == 1:
                raise TransientCloudError("the worker died after apply (simulated)")
            return out

        return apply


async def test_lost_apply_result_leaves_one_version(client: Any, kube_cluster: Any, k8s_namespace: str) -> None:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from worker import activity_name
    from workflows.all import WORKFLOWS, workflow_runner

    cloud = KubernetesCloud([KubernetesAccount(name="k8s", kubeconfig_file=str(kube_cluster.kubeconfig_path))])
    dying = DiesAfterApply(cloud)
    queue = f"k8s-once-{uuid.uuid4()}"
    settings = Settings(task_queue=queue)
    ours = manifest.build(settings, cloud=dying)  # type: ignore[arg-type]
    names = {activity_name(a) for a in ours}
    others = [a for a in build_activities(settings, client, configs=MemoryConfigSource(), clouds={})
              if activity_name(a) not in names]  # fmt: skip
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "conf", "namespace": k8s_namespace}, "data": {"k": "v"}}  # fmt: skip
    stage = {"refId": "1", "type": "deployManifest", "account": "k8s", "manifests": [config_map]}
    config = {"application": "shop", "name": "once", "limitConcurrent": False, "stages": [stage]}
    worker = Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[*others, *ours],
        activity_executor=ThreadPoolExecutor(max_workers=5),
        workflow_runner=workflow_runner(),
    )
    async with worker:
        execution_id = await operations.start_pipeline(client, config, task_queue=queue)
        execution = await operations.wait_for_execution(client, execution_id)
    assert execution["status"] == "SUCCEEDED"
    assert dying.applies == 2  # the apply ran again after the lost result
    (done,) = execution["stages"]
    assert done["outputs"]["outputs.manifestNamesByNamespace"] == {k8s_namespace: ["configMap conf-v000"]}
    versions = [m["metadata"]["name"] for m in cloud.list("k8s", "configMap", k8s_namespace)]
    assert [n for n in versions if n.startswith("conf")] == ["conf-v000"]
