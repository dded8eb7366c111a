"""The demo's k8s-local pipeline (gennaker/demo_k8s.py) runs SUCCEEDED through the engine on the real API server."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from temporalio.worker import Worker

from gennaker.demo_k8s import ACCOUNT, NAMESPACE, pipeline, start_local_cluster
from providers.kubernetes import KubernetesCloud
from providers.kubernetes_accounts import KubernetesAccount
from workflows import operations

pytestmark = pytest.mark.temporal


async def test_demo_pipeline_succeeds(client: Any, kube_cluster: Any) -> None:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    account = {"name": ACCOUNT, "type": "kubernetes", "kubeconfigFile": str(kube_cluster.kubeconfig_path)}
    queue = f"k8s-demo-{uuid.uuid4()}"
    settings = Settings(task_queue=queue)
    settings.accounts = [account]  # type: ignore[attr-defined]
    worker = Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings, client, configs=MemoryConfigSource(), clouds={}),
        activity_executor=ThreadPoolExecutor(max_workers=5),
        workflow_runner=workflow_runner(),
    )
    async with worker:
        execution_id = await operations.start_pipeline(client, pipeline("demo"), task_queue=queue)
        execution = await operations.wait_for_execution(client, execution_id)
    assert execution["status"] == "SUCCEEDED", [(s["name"], s["status"]) for s in execution["stages"]]
    cloud = KubernetesCloud([KubernetesAccount.model_validate(account)])
    service = cloud.get(ACCOUNT, "service", "demo", NAMESPACE)
    assert service is not None and service["metadata"]["labels"]["tier"] == "web"
    assert cloud.get(ACCOUNT, "configMap", "demo-config-v000", NAMESPACE) is None  # deleted by the last stage


def test_no_cluster_without_the_binary(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import ExitStack

    monkeypatch.setenv("GENNAKER_KUBE_APISERVER", str(tmp_path / "missing"))
    with ExitStack() as stack:
        assert start_local_cluster(tmp_path / "kube", stack) is None
