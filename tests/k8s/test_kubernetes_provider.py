"""The Kubernetes cloud against the real API server: apply, get, list, patch, scale, delete, errors translated."""

from __future__ import annotations

from typing import Any

import pytest

from providers.base import InvalidRequestError, NotFoundCloudError, ThrottledError, TransientCloudError
from providers.kubernetes import KubernetesCloud, translate
from providers.kubernetes_accounts import KubernetesAccount


@pytest.fixture
def cloud(kube_cluster: Any) -> KubernetesCloud:
    return KubernetesCloud([KubernetesAccount(name="k8s", kubeconfigFile=str(kube_cluster.kubeconfig_path))])


def deployment(name: str, namespace: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"tier": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    }


def test_apply_get_patch_scale_delete(cloud: KubernetesCloud, k8s_namespace: str) -> None:
    applied = cloud.apply("k8s", deployment("web", k8s_namespace))
    assert applied["metadata"]["managedFields"][0]["manager"] == "spinnaker"
    again = cloud.apply("k8s", deployment("web", k8s_namespace))  # idempotent
    assert again["metadata"]["generation"] == applied["metadata"]["generation"]
    got = cloud.get("k8s", "deployment", "web", k8s_namespace)
    assert got is not None and got["spec"]["replicas"] == 1
    assert [d["metadata"]["name"] for d in cloud.list("k8s", "Deployment", k8s_namespace, "tier=web")] == ["web"]
    cloud.patch("k8s", "deployment", "web", k8s_namespace, {"metadata": {"labels": {"x": "1"}}}, "strategic")
    cloud.patch("k8s", "deployment", "web", k8s_namespace, [{"op": "add", "path": "/metadata/labels/y", "value": "2"}],
                "json")  # fmt: skip
    cloud.scale("k8s", "deployment", "web", k8s_namespace, 3)
    got = cloud.get("k8s", "deployment", "web", k8s_namespace)
    assert got is not None and got["spec"]["replicas"] == 3
    assert got["metadata"]["labels"] == {"tier": "web", "x": "1", "y": "2"}
    assert cloud.delete("k8s", "deployment", "web", k8s_namespace, {"gracePeriodSeconds": 0}) is True
    assert cloud.delete("k8s", "deployment", "web", k8s_namespace) is False  # 404 is done
    assert cloud.get("k8s", "deployment", "web", k8s_namespace) is None


def test_refusals_are_not_retryable(cloud: KubernetesCloud, k8s_namespace: str) -> None:
    bad = deployment("web", k8s_namespace)
    bad["spec"]["selector"] = {"matchLabels": {"other": "x"}}  # does not match the template: 422
    with pytest.raises(InvalidRequestError, match="422"):
        cloud.apply("k8s", bad)
    with pytest.raises(InvalidRequestError, match="mergeStrategy"):
        cloud.patch("k8s", "deployment", "web", k8s_namespace, {}, "bogus")
    with pytest.raises(InvalidRequestError, match="not served"):
        cloud.get("k8s", "noSuchKind", "x", k8s_namespace)
    with pytest.raises(NotFoundCloudError):
        cloud.get("nope", "deployment", "x", k8s_namespace)


def test_namespace_allow_list(kube_cluster: Any, k8s_namespace: str) -> None:
    account = KubernetesAccount(name="k-ns", kubeconfigFile=str(kube_cluster.kubeconfig_path), namespaces=["only"])
    with pytest.raises(InvalidRequestError, match="namespaces"):
        KubernetesCloud([account]).apply("k-ns", deployment("web", k8s_namespace))


def test_error_translation() -> None:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import MaxRetryError

    assert isinstance(translate(ApiException(status=429), "x"), ThrottledError)
    assert isinstance(translate(ApiException(status=503), "x"), TransientCloudError)
    assert isinstance(translate(ApiException(status=404), "x"), NotFoundCloudError)
    assert type(translate(ApiException(status=403), "x")) is InvalidRequestError
    assert type(translate(MaxRetryError(None, "https://h"), "x")) is TransientCloudError  # type: ignore[arg-type]
