"""The real kube-apiserver fixture, and the API patterns the Kubernetes provider uses against it.

Only the API server runs (no controller-manager, scheduler or kubelet), so these tests play the controllers' part:
they patch a Deployment's `/status` to finish a rollout, create ReplicaSets by hand when they need some, and clear
finalizers that the garbage collector would have cleared.
"""

from __future__ import annotations

import json
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.k8s import cluster as kube
from tests.k8s.cluster import KubeCluster

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
IMAGE = "registry.example/app:1.0"  # never pulled: no kubelet runs


def deployment_manifest(name: str, *, replicas: int = 2, image: str = IMAGE) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {**labels, "app.kubernetes.io/managed-by": "gennaker"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "app", "image": image, "ports": [{"containerPort": 8080, "protocol": "TCP"}]}
                    ]
                },
            },
        },
    }


def rollout_complete(dep: client.V1Deployment) -> bool:
    """kubectl's `rollout status` rule for a Deployment, which the provider's wait-for-rollout task mirrors."""
    status = dep.status
    if status is None or (status.observed_generation or 0) < (dep.metadata.generation or 0):
        return False
    for cond in status.conditions or []:
        if cond.type == "Progressing" and cond.reason == "ProgressDeadlineExceeded":
            return False
    wanted = dep.spec.replicas if dep.spec.replicas is not None else 1
    updated = status.updated_replicas or 0
    return updated >= wanted and (status.replicas or 0) <= updated and (status.available_replicas or 0) >= updated


def complete_rollout(apps: client.AppsV1Api, name: str, namespace: str) -> client.V1Deployment:
    """Do what the deployment controller and kubelets would: report every replica updated and available."""
    dep = apps.read_namespaced_deployment(name, namespace)
    n = dep.spec.replicas
    now = "2024-01-01T00:00:00Z"
    body = {
        "status": {
            "observedGeneration": dep.metadata.generation,
            "replicas": n,
            "updatedReplicas": n,
            "readyReplicas": n,
            "availableReplicas": n,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
            ],
        }
    }
    return apps.patch_namespaced_deployment_status(name, namespace, body, _content_type=MERGE)


# --- the fixture ----------------------------------------------------------------------------------------------


def test_cluster_is_ready_and_versioned(kube_cluster: KubeCluster) -> None:
    assert kube_cluster.alive()
    assert kube_cluster.get("/readyz") == (200, "ok")
    assert kube_cluster.api_url.startswith("https://127.0.0.1:")
    assert kube_cluster.version["major"] == "1"
    assert kube_cluster.version["gitVersion"].startswith("v1.")
    # the kubeconfig carries the CA and the admin token, as a user's kubeconfig would
    config = json.loads(kube_cluster.kubeconfig_path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == kube_cluster.api_url
    assert config["users"][0]["user"]["token"] == kube_cluster.token


def test_bad_token_is_refused(kube_cluster: KubeCluster) -> None:
    status, _ = kube._get(kube_cluster.api_url + "/api/v1/namespaces", "not-the-token", kube_cluster.ca_cert_path)
    assert status == 401


def test_tls_is_verified_against_the_cluster_ca(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    other_ca = kube.make_certs(tmp_path).ca_cert
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        kube._get(kube_cluster.api_url + "/readyz", kube_cluster.token, other_ca)
    assert kube._get(kube_cluster.api_url + "/readyz", kube_cluster.token, kube_cluster.ca_cert_path) == (200, "ok")


def test_pretty_json_of_maps_does_not_crash_the_server(
    kube_cluster: KubeCluster, k8s_api: Any, k8s_namespace: str
) -> None:
    """`?pretty=true` encodes labels (maps) through json-iterator; with the vendored reflect2 1.0.1 and Go >= 1.18 that
    kills the server with SIGSEGV. scripts/kube-apiserver.sh swaps in Debian's reflect2 1.0.2; this guards it."""
    client.AppsV1Api(k8s_api).create_namespaced_deployment(k8s_namespace, deployment_manifest("pretty"))
    status, body = kube_cluster.get(f"/apis/apps/v1/namespaces/{k8s_namespace}/deployments/pretty?pretty=true")
    assert status == 200
    assert json.loads(body)["metadata"]["labels"]["app"] == "pretty"
    assert kube_cluster.alive()


def test_namespace_helper_creates_and_removes(kube_cluster: KubeCluster, k8s_api: Any) -> None:
    core = client.CoreV1Api(k8s_api)
    with kube_cluster.namespace("helper-check") as name:
        assert name == "helper-check"
        assert core.read_namespace(name).status.phase == "Active"
    # no namespace controller runs: the helper's /finalize call is what lets the namespace go
    with pytest.raises(ApiException) as err:
        core.read_namespace("helper-check")
    assert err.value.status == 404


# --- the patterns the Kubernetes provider uses -------------------------------------------------------------------


def test_deployment_create_read_apply_scale_rollout_delete(k8s_api: Any, k8s_namespace: str) -> None:
    apps = client.AppsV1Api(k8s_api)
    ns = k8s_namespace

    created = apps.create_namespaced_deployment(ns, deployment_manifest("web"))
    assert created.metadata.generation == 1
    assert created.status.observed_generation is None  # nobody has looked at it: no controller-manager
    assert not rollout_complete(created)

    read = apps.read_namespaced_deployment("web", ns)
    assert read.spec.template.spec.containers[0].image == IMAGE
    assert read.spec.template.spec.containers[0].ports[0].container_port == 8080

    # server-side apply, as the provider deploys manifests: a new image and an annotation, under our field manager
    manifest = deployment_manifest("web", image="registry.example/app:2.0")
    manifest["metadata"]["annotations"] = {"deployment.kubernetes.io/revision-note": "v2"}
    applied = apps.patch_namespaced_deployment(
        "web", ns, manifest, field_manager="gennaker", force=True, _content_type=APPLY
    )
    assert applied.spec.template.spec.containers[0].image == "registry.example/app:2.0"
    assert applied.metadata.generation == 2
    managers = {(m.manager, m.operation) for m in applied.metadata.managed_fields}
    assert ("gennaker", "Apply") in managers

    # the same apply again changes nothing
    again = apps.patch_namespaced_deployment(
        "web", ns, manifest, field_manager="gennaker", force=True, _content_type=APPLY
    )
    assert again.metadata.generation == 2
    assert again.metadata.resource_version == applied.metadata.resource_version

    # scale through the /scale subresource
    scale = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}}, _content_type=MERGE)
    assert scale.spec.replicas == 3
    scaled = apps.read_namespaced_deployment("web", ns)
    assert scaled.spec.replicas == 3
    assert scaled.metadata.generation == 3
    assert not rollout_complete(scaled)

    # play the deployment controller: patch /status to say the rollout is done
    done = complete_rollout(apps, "web", ns)
    assert done.status.observed_generation == 3
    assert (done.status.replicas, done.status.updated_replicas, done.status.available_replicas) == (3, 3, 3)
    assert done.spec.replicas == 3  # /status ignores spec changes, and the main resource ignores status changes
    assert rollout_complete(apps.read_namespaced_deployment("web", ns))

    # no controller-manager, so no ReplicaSet was ever made for the Deployment
    assert apps.list_namespaced_replica_set(ns, label_selector="app=web").items == []

    # delete with propagation; Background needs no garbage collector to remove the Deployment itself
    apps.delete_namespaced_deployment("web", ns, propagation_policy="Background")
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("web", ns)
    assert err.value.status == 404


def test_apply_conflict_between_field_managers(k8s_api: Any, k8s_namespace: str) -> None:
    apps = client.AppsV1Api(k8s_api)
    ns = k8s_namespace
    apps.patch_namespaced_deployment(
        "api", ns, deployment_manifest("api"), field_manager="gennaker", _content_type=APPLY
    )
    other = deployment_manifest("api", image="registry.example/app:hotfix")
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("api", ns, other, field_manager="someone-else", _content_type=APPLY)
    assert err.value.status == 409
    assert "conflict" in (err.value.body or "").lower()
    taken = apps.patch_namespaced_deployment(
        "api", ns, other, field_manager="someone-else", force=True, _content_type=APPLY
    )
    assert taken.spec.template.spec.containers[0].image == "registry.example/app:hotfix"


def test_replica_sets_made_by_hand_are_listed_by_owner(k8s_api: Any, k8s_namespace: str) -> None:
    """Tests that need ReplicaSets (Spinnaker's server groups) create them, owned by the Deployment."""
    apps = client.AppsV1Api(k8s_api)
    ns = k8s_namespace
    dep = apps.create_namespaced_deployment(ns, deployment_manifest("svc"))
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "svc", "uid": dep.metadata.uid, "controller": True}
    for revision, template_hash in ((1, "aaaa1111"), (2, "bbbb2222")):
        rs = deployment_manifest("svc", replicas=0 if revision == 1 else 2)
        rs["kind"] = "ReplicaSet"
        rs["metadata"] = {
            "name": f"svc-{template_hash}",
            "labels": {"app": "svc", "pod-template-hash": template_hash},
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [owner],
        }
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] = template_hash
        rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = template_hash
        apps.create_namespaced_replica_set(ns, rs)

    listed = apps.list_namespaced_replica_set(ns, label_selector="app=svc").items
    owned = [r for r in listed if any(o.uid == dep.metadata.uid for o in r.metadata.owner_references or [])]
    by_revision = sorted(owned, key=lambda r: int(r.metadata.annotations["deployment.kubernetes.io/revision"]))
    assert [r.metadata.name for r in by_revision] == ["svc-aaaa1111", "svc-bbbb2222"]

    # with no garbage collector, deleting the owner leaves its ReplicaSets behind
    apps.delete_namespaced_deployment("svc", ns, propagation_policy="Background")
    assert len(apps.list_namespaced_replica_set(ns, label_selector="app=svc").items) == 2


def test_foreground_deletion_waits_for_a_garbage_collector_that_is_not_there(k8s_api: Any, k8s_namespace: str) -> None:
    apps = client.AppsV1Api(k8s_api)
    ns = k8s_namespace
    apps.create_namespaced_deployment(ns, deployment_manifest("fg"))
    apps.delete_namespaced_deployment("fg", ns, propagation_policy="Foreground")
    stuck = apps.read_namespaced_deployment("fg", ns)
    assert stuck.metadata.deletion_timestamp is not None
    assert stuck.metadata.finalizers == ["foregroundDeletion"]
    # a test stands in for the garbage collector by dropping the finalizer
    apps.patch_namespaced_deployment("fg", ns, {"metadata": {"finalizers": None}}, _content_type=MERGE)
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("fg", ns)
    assert err.value.status == 404


# --- pieces without a cluster -------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_openssl", [False, True], ids=["cryptography", "openssl"])
def test_certs_load_and_verify(tmp_path: Path, use_openssl: bool) -> None:
    certs = kube.make_certs(tmp_path, use_openssl=use_openssl)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs.server_cert, certs.server_key)
    verifier = ssl.create_default_context(cafile=str(certs.ca_cert))
    verifier.verify_flags |= ssl.VERIFY_X509_STRICT
    assert verifier.cert_store_stats()["x509_ca"] == 1
    assert certs.service_account_key.read_text().startswith("-----BEGIN EC PRIVATE KEY-----")
    assert certs.service_account_pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert oct(certs.server_key.stat().st_mode & 0o777) == "0o600"


def test_missing_build_says_how_to_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GENNAKER_KUBE_APISERVER", raising=False)
    monkeypatch.setenv("GENNAKER_CACHE", str(tmp_path))
    with pytest.raises(kube.MissingBinary, match=r"bash scripts/kube-apiserver\.sh"):
        kube.find_kube_apiserver()


def test_cached_build_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GENNAKER_KUBE_APISERVER", raising=False)
    monkeypatch.setenv("GENNAKER_CACHE", str(tmp_path))
    binary = tmp_path / "kube-apiserver" / "1.20.5+really1.20.2-1.1+deb12u1" / "kube-apiserver"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert kube.find_kube_apiserver() == binary


def test_a_server_that_dies_at_start_is_reported_with_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "kube-apiserver"
    fake.write_text("#!/bin/sh\necho 'Error: this is not an API server' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GENNAKER_KUBE_APISERVER", str(fake))
    with pytest.raises(kube.ClusterError, match=r"(?s)exited with code 3.*this is not an API server"):
        kube.start_cluster(tmp_path / "work", timeout=30)
    leftover = subprocess.run(["pgrep", "-f", f"--data-dir={tmp_path}"], capture_output=True, text=True)
    assert leftover.stdout == ""  # etcd was stopped too
