"""deploy/kubernetes, applied to the test kube-apiserver with server-side dry run, and read for what it promises.

The kustomization is rendered by a tiny renderer of the few fields it uses (namespace, labels, images; a test pins
that it uses no other), so no kustomize or kubectl binary is needed; each object then goes to the real API server
with dryRun=All, which runs defaulting, validation and admission but stores nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tests.install.conftest import ROOT, console_scripts
from tests.k8s.conftest import k8s_namespace, kube_cluster  # noqa: F401  (fixtures)

DEPLOY = ROOT / "deploy" / "kubernetes"
OPTIONAL = sorted((DEPLOY / "optional").glob("*.yaml"))
RENDERED_FIELDS = {"apiVersion", "kind", "namespace", "labels", "resources", "images"}


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())


def render(extra: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k deploy/kubernetes` would send (plus `extra` files, as an overlay adds them)."""
    spec = kustomization()
    files = [DEPLOY / name for name in spec["resources"]] + list(extra)
    objects = [doc for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]
    labels = {k: v for entry in spec.get("labels", []) for k, v in entry["pairs"].items()}
    tags = {image["name"]: image["newTag"] for image in spec.get("images", [])}
    for obj in objects:
        obj["metadata"]["namespace"] = spec["namespace"]
        obj["metadata"].setdefault("labels", {}).update(labels)
        for container in containers(obj):
            if container["image"] in tags:
                container["image"] = f"{container['image']}:{tags[container['image']]}"
    return objects


def containers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if obj["kind"] == "Deployment":
        yield from obj["spec"]["template"]["spec"]["containers"]


def deployment(name: str) -> dict[str, Any]:
    (found,) = [o for o in render() if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    return found


def test_the_kustomization_uses_only_what_the_renderer_knows() -> None:
    assert set(kustomization()) <= RENDERED_FIELDS
    assert all(set(entry) <= {"pairs", "includeSelectors"} for entry in kustomization()["labels"])


def test_every_object_passes_the_api_servers_dry_run(kube_cluster: Any, k8s_namespace: str) -> None:  # noqa: F811
    from kubernetes.dynamic import DynamicClient

    objects = render(OPTIONAL)
    assert {o["kind"] for o in objects} == {
        "ServiceAccount", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Ingress", "Secret"
    }  # fmt: skip
    with kube_cluster.new_api_client() as api:
        dynamic = DynamicClient(api)
        for obj in objects:
            body = copy.deepcopy(obj)
            body["metadata"]["namespace"] = k8s_namespace
            if body["apiVersion"] == "policy/v1" and int(kube_cluster.version.get("minor", "0").rstrip("+")) < 21:
                # Debian's kube-apiserver here is 1.20, before policy/v1 (1.21); a PodDisruptionBudget's v1 schema is
                # v1beta1's for the fields we use (minAvailable, selector), so the older server checks those
                body["apiVersion"] = "policy/v1beta1"
            resource = dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])
            answer = resource.create(body=body, namespace=k8s_namespace, dry_run="All").to_dict()
            assert answer["metadata"]["name"] == obj["metadata"]["name"]
            assert answer["metadata"]["namespace"] == k8s_namespace
            if obj["kind"] == "Deployment":  # defaulted by the server: the dry run went through the whole chain
                assert answer["spec"]["strategy"]["type"] == "RollingUpdate"
        deployments = dynamic.resources.get(api_version="apps/v1", kind="Deployment")
        assert deployments.get(namespace=k8s_namespace).to_dict()["items"] == []  # nothing was stored


def test_a_broken_manifest_is_refused_by_the_same_dry_run(kube_cluster: Any, k8s_namespace: str) -> None:  # noqa: F811
    """The dry run does validate: a probe on a port name the container does not declare is refused."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic import DynamicClient

    body = deployment("gennaker-api")
    body["metadata"]["namespace"] = k8s_namespace
    body["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = "no-such-port-name-x"
    with kube_cluster.new_api_client() as api:
        resource = DynamicClient(api).resources.get(api_version="apps/v1", kind="Deployment")
        with pytest.raises(ApiException) as refused:
            resource.create(body=body, namespace=k8s_namespace, dry_run="All")
    assert refused.value.status == 422


def test_containers_run_unprivileged_with_probes_and_resources(wheel: Path) -> None:
    scripts = console_scripts(wheel)
    probes = {"gennaker-api": (8084, "/health"), "gennaker-worker": (9464, "/metrics")}
    for name in ("gennaker-api", "gennaker-worker"):
        pod = deployment(name)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["command"] == [name] and name in scripts
        assert container["image"] == "gennaker:0.1.0"
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and "memory" in container["resources"][
            "limits"
        ]
        port, path = probes[name]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe in ("startupProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == path and ports[container[probe]["httpGet"]["port"]] == port
        assert container["envFrom"] == [{"configMapRef": {"name": "gennaker"}}, {"secretRef": {"name": "gennaker"}}]
        # API and workers share the sealing key, and a pod without it does not start (not optional)
        (seal,) = [e for e in container["env"] if e["name"] == "GENNAKER_AUTH__SEAL_KEY"]
        assert seal["valueFrom"]["secretKeyRef"] == {"name": "gennaker", "key": "GENNAKER_AUTH__SEAL_KEY"}
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/var/lib/gennaker", "/tmp"} <= mounts  # the only writable places under a read-only root
    api = deployment("gennaker-api")["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health"


def settings_field(model: type[BaseModel], path: list[str]) -> bool:
    """Whether GENNAKER_A__B names a field a.b of the settings (pydantic-settings ignores unknown top-level names)."""
    fields = model.model_fields
    if path[0] not in fields:
        return False
    if len(path) == 1:
        return True
    annotation = fields[path[0]].annotation
    return isinstance(annotation, type) and issubclass(annotation, BaseModel) and settings_field(annotation, path[1:])


def test_the_configmap_and_the_secret_name_real_settings_that_load(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import Settings, load_settings

    (config,) = [o for o in render() if o["kind"] == "ConfigMap"]
    (secret,) = [o for o in render(OPTIONAL) if o["kind"] == "Secret"]
    env = {**config["data"], **secret["stringData"]}
    for key in env:
        assert key.startswith("GENNAKER_") and settings_field(
            Settings, key.removeprefix("GENNAKER_").lower().split("__")
        )
    for key in [k for k in list(__import__("os").environ) if k.startswith("GENNAKER_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(Path(__file__).parent)  # no gennaker.yml here
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.api.host == "0.0.0.0" and settings.api.port == 8084
    assert settings.observability.worker_metrics_port == 9464
    assert settings.store_url.startswith("postgresql+psycopg://")
    assert "DATABASE_URL" not in " ".join(config["data"])  # the secret one lives in the Secret only
    assert settings.auth.seal_key is not None and "SEAL_KEY" not in " ".join(config["data"])
