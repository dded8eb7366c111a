"""A whole Kubernetes pipeline through the engine against the real kube-apiserver: deployManifest (a red/black
ReplicaSet behind a Service) → scaleManifest → patchManifest → a second version (the first taken out of the
Service) → deleteManifest of the oldest → undoRolloutManifest of a Deployment. No controllers run, so a task in
the test plays the ReplicaSet and Deployment controllers' status reports."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kubernetes
import pytest
from temporalio.worker import Worker

from providers.kubernetes import KubernetesCloud
from providers.kubernetes_accounts import KubernetesAccount
from workflows import operations

pytestmark = pytest.mark.temporal


def report_status(api: Any, namespace: str) -> None:
    """What the controllers would report: every ReplicaSet and Deployment rolled out at its spec's size."""
    apps = kubernetes.client.AppsV1Api(api)
    for rs in apps.list_namespaced_replica_set(namespace).items:
        n = rs.spec.replicas or 0
        status = {"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": n, "availableReplicas": n,
                  "observedGeneration": rs.metadata.generation}  # fmt: skip
        apps.patch_namespaced_replica_set_status(rs.metadata.name, namespace, {"status": status})
    for dep in apps.list_namespaced_deployment(namespace).items:
        n = dep.spec.replicas or 0
        status = {"replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n,
                  "observedGeneration": dep.metadata.generation}  # fmt: skip
        apps.patch_namespaced_deployment_status(dep.metadata.name, namespace, {"status": status})


@contextlib.asynccontextmanager
async def controllers(api: Any, namespace: str) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            with contextlib.suppress(kubernetes.client.exceptions.ApiException):
                await asyncio.to_thread(report_status, api, namespace)
            await asyncio.sleep(0.5)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def replica_set(ns: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": image}]}},
        },
    }  # fmt: skip


def deployment_with_history(cloud: KubernetesCloud, ns: str) -> None:
    """A Deployment at revision 2 with the ReplicaSets its controller would have left (revisions 1 and 2)."""

    def template(image: str, hash_: str | None = None) -> dict[str, Any]:
        labels = {"app": "api", **({"pod-template-hash": hash_} if hash_ else {})}
        return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": image}]}}

    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": ns},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
                    "template": template("api:2")}}  # fmt: skip
    uid = cloud.apply("k8s", dep)["metadata"]["uid"]
    for revision in (1, 2):
        hash_ = f"h{revision}"
        cloud.apply("k8s", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"api-{hash_}", "namespace": ns,
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api",
                                              "uid": uid, "controller": True}]},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "api", "pod-template-hash": hash_}},
                     "template": template(f"api:{revision}", hash_)},
        })  # fmt: skip


async def test_full_manifest_pipeline(client: Any, kube_cluster: Any, k8s_namespace: str, k8s_api: Any) -> None:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    ns = k8s_namespace
    account = {"name": "k8s", "type": "kubernetes", "kubeconfigFile": str(kube_cluster.kubeconfig_path)}
    cloud = KubernetesCloud([KubernetesAccount.model_validate(account)])
    deployment_with_history(cloud, ns)
    queue = f"k8s-{uuid.uuid4()}"
    settings = Settings(task_queue=queue)
    settings.accounts = [account]  # type: ignore[attr-defined]  # the stub has none; build_activities reads them
    activities = build_activities(settings, client, configs=MemoryConfigSource(), clouds={})
    on = {"account": "k8s", "cloudProvider": "kubernetes", "location": ns}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
               "spec": {"selector": {"frontdoor": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]}}  # fmt: skip
    traffic = {"enabled": True, "options": {"services": ["service web"], "strategy": "redblack",
                                            "enableTraffic": True}}  # fmt: skip
    stages = [
        {"refId": "1", "type": "deployManifest", "account": "k8s", "cloudProvider": "kubernetes", "source": "text",
         "manifests": [service]},
        {"refId": "2", "requisiteStageRefIds": ["1"], "type": "deployManifest", "account": "k8s",
         "manifests": [replica_set(ns, "web:1")], "trafficManagement": traffic},
        {"refId": "3", "requisiteStageRefIds": ["2"], "type": "scaleManifest", **on,
         "manifestName": "replicaSet web-v000", "replicas": 3},
        {"refId": "4", "requisiteStageRefIds": ["3"], "type": "patchManifest", **on,
         "manifestName": "replicaSet web-v000", "patchBody": [{"metadata": {"labels": {"patched": "yes"}}}],
         "options": {"mergeStrategy": "strategic"}},
        {"refId": "5", "requisiteStageRefIds": ["4"], "type": "deployManifest", "account": "k8s",
         "manifests": [replica_set(ns, "web:2")], "trafficManagement": traffic},
        {"refId": "6", "requisiteStageRefIds": ["5"], "type": "deleteManifest", **on,
         "cluster": "replicaSet web", "criteria": "oldest", "options": {"cascading": True}},
        {"refId": "7", "requisiteStageRefIds": ["6"], "type": "undoRolloutManifest", **on,
         "manifestName": "deployment api", "revisionsBack": 1},
    ]  # fmt: skip
    config = {"application": "shop", "name": "k8s", "limitConcurrent": False, "stages": stages}
    async with (
        Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=activities,
               activity_executor=ThreadPoolExecutor(max_workers=10), workflow_runner=workflow_runner()),
        controllers(k8s_api, ns),
    ):  # fmt: skip
        execution_id = await operations.start_pipeline(client, config, task_queue=queue)
        execution = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 240)
    by_ref = {s["refId"]: s for s in execution["stages"]}
    assert execution["status"] == "SUCCEEDED", {
        r: (s["status"], s["context"].get("exception")) for r, s in by_ref.items()
    }
    assert by_ref["2"]["outputs"]["outputs.manifestNamesByNamespace"] == {ns: ["replicaSet web-v000"]}
    assert by_ref["5"]["outputs"]["outputs.manifestNamesByNamespace"] == {ns: ["replicaSet web-v001"]}
    assert by_ref["5"]["context"]["manifest.traffic.disabled"] == ["replicaSet web-v000"]
    assert by_ref["6"]["context"]["manifest.targets"] == ["replicaSet web-v000"]
    names = sorted(
        r["metadata"]["name"] for r in cloud.list("k8s", "replicaSet", ns) if r["metadata"]["name"].startswith("web")
    )
    assert names == ["web-v001"]
    new = cloud.get("k8s", "replicaSet", "web-v001", ns)
    assert new is not None and new["spec"]["template"]["metadata"]["labels"]["frontdoor"] == "web"
    api = cloud.get("k8s", "deployment", "api", ns)
    assert api is not None and api["spec"]["template"]["spec"]["containers"][0]["image"] == "api:1"
