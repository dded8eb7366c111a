"""The manifest activities against the real API server: deploy (versions, labels, artifacts, traffic), wait for
stable, delete, scale, patch, undo rollout, and a deploy whose result is lost after the apply (exactly once)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import yaml
from temporalio.exceptions import ApplicationError

from activities.manifest import ManifestActivities
from activities.manifest_ops import ManifestOperations
from core.status import ExecutionStatus
from providers.base import TransientCloudError
from providers.kubernetes import KubernetesCloud
from providers.kubernetes_accounts import KubernetesAccount
from workflows.stages.base import TaskInput, TaskResult


@pytest.fixture
def cloud(kube_cluster: Any) -> KubernetesCloud:
    return KubernetesCloud([KubernetesAccount(name="k8s", kubeconfigFile=str(kube_cluster.kubeconfig_path))])


def task(context: dict[str, Any], stage_type: str = "deployManifest", **kw: Any) -> TaskInput:
    return TaskInput("e1", "shop", "s1", "1", stage_type, "t", {"account": "k8s", **context}, 0, 0, **kw)


def merged(ctx: dict[str, Any], result: TaskResult) -> dict[str, Any]:
    assert result.status == ExecutionStatus.SUCCEEDED, result.error
    return {**ctx, **result.context}


def rs(name: str, ns: str, image: str = "nginx:1", replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": image}]}},
        },
    }  # fmt: skip


def service(ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web-svc", "namespace": ns},
        "spec": {"selector": {"frontdoor": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]},
    }


def finish_rs(cloud: KubernetesCloud, api: Any, ns: str, name: str, replicas: int) -> None:
    """What the ReplicaSet controller would report: every replica labeled, ready, available."""
    import kubernetes

    status = {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
              "availableReplicas": replicas, "observedGeneration": cloud.get("k8s", "replicaSet", name, ns)["metadata"]["generation"]}  # fmt: skip # noqa: E501
    kubernetes.client.AppsV1Api(api).patch_namespaced_replica_set_status(name, ns, {"status": status})


def test_deploy_versions_labels_and_reuses_content(cloud: KubernetesCloud, k8s_namespace: str, k8s_api: Any) -> None:
    acts = ManifestActivities(cloud)
    ctx = {"manifests": [rs("web", k8s_namespace), service(k8s_namespace)], "moniker": {"app": "shop"}}
    first = merged(ctx, acts.deploy(task(ctx)))
    assert first["outputs.manifestNamesByNamespace"] == {k8s_namespace: ["replicaSet web-v000", "service web-svc"]}
    applied = first["outputs.manifests"][0]
    assert applied["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "spinnaker"
    assert applied["metadata"]["annotations"]["moniker.spinnaker.io/cluster"] == "replicaSet web"
    assert first["deploy.account.name"] == "k8s"
    assert first["outputs.createdArtifacts"][0]["reference"] == "web-v000"
    again = merged(ctx, acts.deploy(task(ctx)))  # a new stage with the same content: the same version
    assert again["outputs.manifestNamesByNamespace"][k8s_namespace][0] == "replicaSet web-v000"
    changed = {**ctx, "manifests": [rs("web", k8s_namespace, image="nginx:2")]}
    second = merged(changed, acts.deploy(task(changed)))
    assert second["outputs.manifestNamesByNamespace"] == {k8s_namespace: ["replicaSet web-v001"]}
    # waits until the ReplicaSet reports ready, then is stable
    waiting = acts.wait_stable(task(second))
    assert waiting.status == ExecutionStatus.RUNNING and "replicaSet web-v001" in waiting.context["messages"][0]
    finish_rs(cloud, k8s_api, k8s_namespace, "web-v001", 2)
    assert acts.wait_stable(task(second)).status == ExecutionStatus.SUCCEEDED


class LostAfterApply:
    """The cloud, except that the first apply raises after it happened (the worker died before reporting)."""

    def __init__(self, cloud: KubernetesCloud) -> None:
        self.cloud, self.died = cloud, False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.cloud, name)
        if name != "apply":
            return attr

        def apply(*args: Any) -> Any:
            out = attr(*args)
            if not self.died:
                self.died = True
                raise TransientCloudError("the worker died after apply (simulated)")
            return out

        return apply


def test_deploy_exactly_once_when_the_result_is_lost(cloud: KubernetesCloud, k8s_namespace: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf", "namespace": k8s_namespace},
          "data": {"a": "1"}}  # fmt: skip
    cloud.apply("k8s", {**cm, "metadata": {**cm["metadata"], "name": "conf-v000"}})  # an older, different version
    acts = ManifestActivities(LostAfterApply(cloud))  # type: ignore[arg-type]
    ctx = {"manifests": [cm]}
    with pytest.raises(ApplicationError):  # retryable: Temporal runs the activity again with the same input
        acts.deploy(task(ctx))
    done = merged(ctx, acts.deploy(task(ctx)))
    assert done["outputs.manifestNamesByNamespace"] == {k8s_namespace: ["configMap conf-v001"]}
    names = sorted(m["metadata"]["name"] for m in cloud.list("k8s", "configMap", k8s_namespace))
    assert [n for n in names if n.startswith("conf-")] == ["conf-v000", "conf-v001"]


def test_artifact_sources_and_expressions(cloud: KubernetesCloud, k8s_namespace: str) -> None:
    acts = ManifestActivities(cloud)
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "from-art", "namespace": k8s_namespace,
                                        "annotations": {"strategy.spinnaker.io/versioned": "false"}},
                           "data": {"tag": "${trigger['parameters']['tag']}"}})  # fmt: skip
    artifact = {"type": "embedded/base64", "reference": base64.b64encode(text.encode()).decode(), "id": "a1"}
    trigger = {"parameters": {"tag": "v7"}, "artifacts": [artifact]}
    ctx = {"source": "artifact", "manifestArtifactId": "a1"}
    done = merged(ctx, acts.deploy(task(ctx, trigger=trigger)))
    assert done["outputs.manifests"][0]["data"] == {"tag": "v7"}
    assert done["outputs.boundArtifacts"] == [artifact]
    skipped = {**ctx, "skipExpressionEvaluation": True}
    done = merged(skipped, acts.deploy(task(skipped, trigger=trigger)))
    assert done["outputs.manifests"][0]["data"] == {"tag": "${trigger['parameters']['tag']}"}
    for bad, field in [
        (
            {"source": "artifact", "manifestArtifact": {"type": "github/file", "reference": "x"}},
            "manifestArtifact.type",
        ),
        ({"source": "artifact", "manifestArtifactId": "missing"}, "manifestArtifactId"),
        ({"manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "../x"}}]}, "metadata.name"),
        ({"manifests": []}, "manifests"),
    ]:
        result = acts.deploy(task(bad, trigger=trigger))
        assert result.status == ExecutionStatus.TERMINAL and field in str(result.error), (field, result.error)


def test_redblack_moves_traffic_and_highlander_deletes(cloud: KubernetesCloud, k8s_namespace: str) -> None:
    acts = ManifestActivities(cloud)
    cloud.apply("k8s", service(k8s_namespace))
    traffic = {"enabled": True, "options": {"services": ["service web-svc"], "enableTraffic": True,
                                            "strategy": "redblack"}}  # fmt: skip
    v0 = {"manifests": [rs("web", k8s_namespace)], "trafficManagement": traffic}
    first = merged(v0, acts.deploy(task(v0)))
    assert first["outputs.manifests"][0]["spec"]["template"]["metadata"]["labels"]["frontdoor"] == "web"
    v1 = {**v0, "manifests": [rs("web", k8s_namespace, image="nginx:2")]}
    second = merged(v1, acts.deploy(task(v1)))
    result = merged(second, acts.traffic(task(second)))
    assert result["manifest.traffic.disabled"] == ["replicaSet web-v000"]
    old = cloud.get("k8s", "replicaSet", "web-v000", k8s_namespace)
    assert old is not None and "frontdoor" not in old["spec"]["template"]["metadata"]["labels"]
    new = cloud.get("k8s", "replicaSet", "web-v001", k8s_namespace)
    assert new is not None and new["spec"]["template"]["metadata"]["labels"]["frontdoor"] == "web"
    high = {**second, "trafficManagement": {**traffic, "options": {**traffic["options"], "strategy": "highlander"}}}
    assert merged(high, acts.traffic(task(high)))["manifest.traffic.deleted"] == ["replicaSet web-v000"]
    assert cloud.get("k8s", "replicaSet", "web-v000", k8s_namespace) is None
    bad = {**v0, "trafficManagement": {"enabled": True, "options": {"services": ["service nope"]}}}
    assert "service nope not found" in str(acts.deploy(task(bad)).error)


def test_delete_scale_patch_by_name_criteria_and_labels(cloud: KubernetesCloud, k8s_namespace: str) -> None:
    acts, ops = ManifestActivities(cloud), ManifestOperations(cloud)
    for image in ("nginx:1", "nginx:2", "nginx:3"):
        ctx = {"manifests": [rs("web", k8s_namespace, image=image)]}
        merged(ctx, acts.deploy(task(ctx)))
    base = {"location": k8s_namespace}
    scale = {**base, "manifestName": "replicaSet web-v002", "replicas": 5}
    scale = merged(scale, ops.resolve_target(task(scale, "scaleManifest")))
    merged(scale, ops.scale(task(scale, "scaleManifest")))
    assert cloud.get("k8s", "replicaSet", "web-v002", k8s_namespace)["spec"]["replicas"] == 5  # type: ignore[index]
    patch = {**base, "manifestName": "replicaSet web-v002", "patchBody": [{"metadata": {"labels": {"p": "1"}}}],
             "options": {"mergeStrategy": "merge"}}  # fmt: skip
    patch = merged(patch, ops.resolve_target(task(patch, "patchManifest")))
    merged(patch, ops.patch(task(patch, "patchManifest")))
    assert cloud.get("k8s", "replicaSet", "web-v002", k8s_namespace)["metadata"]["labels"]["p"] == "1"  # type: ignore[index]
    oldest = {**base, "cluster": "replicaSet web", "criteria": "oldest", "options": {"cascading": True}}
    oldest = merged(oldest, ops.resolve_target(task(oldest, "deleteManifest")))
    assert oldest["manifest.targets"] == ["replicaSet web-v000"]
    merged(oldest, ops.delete(task(oldest, "deleteManifest")))
    merged(oldest, ops.delete(task(oldest, "deleteManifest")))  # again (a retry): 404 is done
    assert cloud.get("k8s", "replicaSet", "web-v000", k8s_namespace) is None
    by_label = {**base, "mode": "label", "kinds": ["replicaSet"],
                "labelSelectors": {"selectors": [{"kind": "EQUALS", "key": "p", "values": ["1"]}]}}  # fmt: skip
    by_label = merged(by_label, ops.resolve_target(task(by_label, "deleteManifest")))
    assert by_label["manifest.targets"] == ["replicaSet web-v002"]
    bad = ops.resolve_target(task({**base, "manifestName": "replicaSet ../../etc"}, "deleteManifest"))
    assert bad.status == ExecutionStatus.TERMINAL and "manifestName" in str(bad.error)
    bad = ops.scale(task({**base, "manifest.targets": ["replicaSet web-v001"], "replicas": "x"}, "scaleManifest"))
    assert "replicas" in str(bad.error)


def test_undo_rollout_goes_back_by_revision(cloud: KubernetesCloud, k8s_namespace: str) -> None:
    ops = ManifestOperations(cloud)
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": k8s_namespace},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
                    "template": {"metadata": {"labels": {"app": "api"}},
                                 "spec": {"containers": [{"name": "c", "image": "api:3"}]}}}}  # fmt: skip
    uid = cloud.apply("k8s", dep)["metadata"]["uid"]
    for revision in (1, 2, 3):  # what the deployment controller would have made
        owned = rs(f"api-{revision}", k8s_namespace, image=f"api:{revision}", replicas=0)
        owned["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": str(revision)}
        owned["metadata"]["labels"] = {"app": "api", "pod-template-hash": f"h{revision}"}
        owned["spec"]["selector"] = {"matchLabels": {"app": "api", "pod-template-hash": f"h{revision}"}}
        owned["spec"]["template"]["metadata"]["labels"] = {"app": "api", "pod-template-hash": f"h{revision}"}
        owned["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api",
                                                 "uid": uid, "controller": True}]  # fmt: skip
        cloud.apply("k8s", owned)
    ctx = {"location": k8s_namespace, "manifestName": "deployment api", "revisionsBack": 2}
    ctx = merged(ctx, ops.resolve_target(task(ctx, "undoRolloutManifest")))
    assert ctx["undo.revision"]["revision"] == 1
    merged(ctx, ops.undo(task(ctx, "undoRolloutManifest")))
    got = cloud.get("k8s", "deployment", "api", k8s_namespace)
    assert got is not None and got["spec"]["template"]["spec"]["containers"][0]["image"] == "api:1"
    too_far = {"location": k8s_namespace, "manifestName": "deployment api", "revisionsBack": 5}
    assert "revisionsBack" in str(ops.resolve_target(task(too_far, "undoRolloutManifest")).error)
    assert json.dumps(ctx["undo.revision"]).count("pod-template-hash") == 0
