"""Pure manifest rules: validation naming the field, versioning, Spinnaker's labels, stability per kind (a table)."""

from __future__ import annotations

from typing import Any

import pytest

from providers import kubernetes_manifest as km


def cm(name: str = "conf", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": {"a": "1"}}


@pytest.mark.parametrize(
    ("manifest", "field"),
    [
        ("not a map", "manifests[0]"),
        ({**cm(), "apiVersion": "apps/../v1"}, "manifests[0].apiVersion"),
        ({**cm(), "kind": "Config/Map"}, "manifests[0].kind"),
        (cm("../etc"), "manifests[0].metadata.name"),
        (cm("UPPER"), "manifests[0].metadata.name"),
        (cm(namespace="a/b"), "manifests[0].metadata.namespace"),
        ({**cm(), "metadata": None}, "manifests[0].metadata"),
    ],
)
def test_bad_manifests_name_the_field(manifest: Any, field: str) -> None:
    with pytest.raises(km.ManifestError) as err:
        km.validate_manifest(manifest, "manifests[0]", "default")
    assert str(err.value).startswith(field + ":")


def test_namespace_defaults_and_coordinates() -> None:
    assert km.validate_manifest(cm(), "m", "team")["metadata"]["namespace"] == "team"
    assert km.parse_coordinates("deployment my-app") == ("deployment", "my-app")
    assert km.parse_coordinates("replicaSet/web-v001") == ("replicaSet", "web-v001")
    for bad in ("deployment", "deployment ../x", "a b c", "", None):
        with pytest.raises(km.ManifestError, match="manifestName"):
            km.parse_coordinates(bad)


def test_versioning_rules() -> None:
    assert km.is_versioned(cm()) and not km.is_versioned({**cm(), "kind": "Deployment"})
    assert not km.is_versioned(cm(annotations={km.VERSIONED: "false"}))
    assert km.is_versioned({"kind": "Deployment", "metadata": {"annotations": {km.VERSIONED: "true"}}})
    existing = [
        {"metadata": {"name": "conf-v000", "annotations": {km.DIGEST: "aaa"}}},
        {"metadata": {"name": "conf-v001", "annotations": {km.DIGEST: "bbb"}}},
        {"metadata": {"name": "other-v009", "annotations": {km.DIGEST: "ccc"}}},
    ]
    assert km.choose_version("conf", "aaa", existing) == (0, True)
    assert km.choose_version("conf", "new", existing) == (2, False)
    assert km.choose_version("conf", "ccc", existing) == (2, False)
    assert km.choose_version("conf", "x", []) == (0, False)


def test_annotate_sets_moniker_and_artifact() -> None:
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}}},
    }
    out = km.annotate(rs, km.Moniker("shop", "replicaSet web"), "k8s", 3, "d1")
    assert out["metadata"]["name"] == "web-v003"
    assert out["metadata"]["labels"] == {km.APP_NAME: "shop", km.MANAGED_BY: "spinnaker"}
    notes = out["metadata"]["annotations"]
    assert notes["moniker.spinnaker.io/application"] == "shop"
    assert notes["moniker.spinnaker.io/cluster"] == "replicaSet web"
    assert notes["moniker.spinnaker.io/sequence"] == "3"
    assert notes["artifact.spinnaker.io/type"] == "kubernetes/replicaSet"
    assert notes["artifact.spinnaker.io/version"] == "v003"
    assert out["spec"]["template"]["metadata"]["labels"][km.MANAGED_BY] == "spinnaker"
    assert rs["metadata"]["name"] == "web"  # a copy
    assert km.artifact_of(out, "k8s")["reference"] == "web-v003"


def dep(spec: dict[str, Any], status: dict[str, Any], generation: int = 2) -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"generation": generation}, "spec": spec, "status": status}


FULL = {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2}
TABLE: list[tuple[str, dict[str, Any], tuple[bool, bool]]] = [
    ("deployment done", dep({"replicas": 2}, FULL), (True, False)),
    ("deployment old generation", dep({"replicas": 2}, {**FULL, "observedGeneration": 1}), (False, False)),
    ("deployment updating", dep({"replicas": 2}, {**FULL, "updatedReplicas": 1}), (False, False)),
    ("deployment old pods", dep({"replicas": 2}, {**FULL, "replicas": 3}), (False, False)),
    ("deployment unavailable", dep({"replicas": 2}, {**FULL, "availableReplicas": 1}), (False, False)),
    ("deployment paused", dep({"replicas": 2, "paused": True}, FULL), (False, False)),
    (
        "deployment deadline",
        dep({"replicas": 2}, {"conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}),
        (False, True),
    ),
    ("replicaset ready", {"kind": "ReplicaSet", "spec": {"replicas": 1},
     "status": {"fullyLabeledReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}}, (True, False)),
    ("replicaset zero", {"kind": "ReplicaSet", "spec": {"replicas": 0}, "status": {}}, (True, False)),
    ("replicaset short", {"kind": "ReplicaSet", "spec": {"replicas": 2},
     "status": {"fullyLabeledReplicas": 2, "availableReplicas": 1, "readyReplicas": 2}}, (False, False)),
    ("statefulset rolling", {"kind": "StatefulSet", "spec": {"replicas": 1},
     "status": {"readyReplicas": 1, "currentRevision": "a", "updateRevision": "b"}}, (False, False)),
    ("statefulset ondelete", {"kind": "StatefulSet", "spec": {"updateStrategy": {"type": "OnDelete"}}}, (True, False)),
    ("daemonset", {"kind": "DaemonSet", "status": {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2,
     "numberAvailable": 1}}, (False, False)),
    ("pod running", {"kind": "Pod", "status": {"phase": "Running",
     "conditions": [{"type": "Ready", "status": "True"}]}}, (True, False)),
    ("pod pending", {"kind": "Pod", "status": {"phase": "Pending"}}, (False, False)),
    ("pod failed", {"kind": "Pod", "status": {"phase": "Failed"}}, (False, True)),
    ("job done", {"kind": "Job", "spec": {"completions": 2}, "status": {"succeeded": 2}}, (True, False)),
    ("job failed", {"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True"}]}}, (False, True)),
    ("service lb pending", {"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {}}, (False, False)),
    ("service cluster ip", {"kind": "Service", "spec": {"type": "ClusterIP"}}, (True, False)),
    ("configmap", {"kind": "ConfigMap"}, (True, False)),
]  # fmt: skip


@pytest.mark.parametrize(("case", "manifest", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_stability_table(case: str, manifest: dict[str, Any], expected: tuple[bool, bool]) -> None:
    result = km.stability(manifest)
    assert (result.stable, result.failed) == expected, case
    assert result.stable or result.message
    if case == "deployment paused":
        assert result.to_json()["paused"] == {"state": True}
