"""deployManifest's ``strategy.spinnaker.io/max-version-history`` (Clouddriver's ``maxVersionHistory`` cleanup) and
the cloud cache refreshed by the manifest stages themselves (Orca's force cache refresh), against the real
kube-apiserver, read back through Gate; the pure rules as tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from activities.manifest import ManifestActivities
from activities.manifest_ops import ManifestOperations
from activities.manifest_tasks import CacheRefresh
from core.status import ExecutionStatus
from providers import kubernetes_manifest as km
from providers.kubernetes import KubernetesCloud
from providers.kubernetes_accounts import KubernetesAccount
from tests.api.permissions_world import principal_from_header
from tests.k8s.test_manifest_activities import finish_rs, merged, rs, task

HISTORY = km.MAX_VERSION_HISTORY


# --- pure rules -----------------------------------------------------------------------------------------------------


def _member(name: str, base: str = "web", spinnaker: bool = True) -> dict[str, Any]:
    notes = {km.ARTIFACT + "name": base} if spinnaker else {}
    return {"metadata": {"name": name, "annotations": notes}}


@pytest.mark.parametrize(
    ("deployed", "members", "keep", "deleted"),
    [
        ("web-v003", ["web-v000", "web-v001", "web-v002", "web-v003"], 2, ["web-v000", "web-v001"]),
        ("web-v003", ["web-v000", "web-v001", "web-v002", "web-v003"], 1, ["web-v000", "web-v001", "web-v002"]),
        ("web-v003", ["web-v002", "web-v003"], 2, []),  # already within the limit (a retry)
        ("web-v003", ["web-v003"], 1, []),
        # a deploy that reused v001 for the same content keeps it, with the newest other
        ("web-v001", ["web-v000", "web-v001", "web-v002", "web-v003"], 2, ["web-v000", "web-v002"]),
        # the number orders versions, not the text; another cluster's names are not members
        ("web-v1000", ["web-v999", "web-v1000", "webapp-v001", "web-v998"], 2, ["web-v998"]),
    ],
)
def test_versions_beyond_history(deployed: str, members: list[str], keep: int, deleted: list[str]) -> None:
    assert km.versions_beyond_history(deployed, "web", [_member(m) for m in members], keep) == deleted


def test_versions_beyond_history_leaves_what_spinnaker_did_not_deploy() -> None:
    members = [_member("web-v000", spinnaker=False), _member("web-v001", base="other"), _member("web-v002")]
    assert km.versions_beyond_history("web-v003", "web", [*members, _member("web-v003")], 1) == ["web-v002"]


@pytest.mark.parametrize(("value", "parsed"), [(None, None), ("3", 3), (" 1 ", 1), (2, 2)])
def test_max_version_history_annotation(value: Any, parsed: int | None) -> None:
    notes = {} if value is None else {HISTORY: value}
    assert km.max_version_history({"metadata": {"annotations": notes}}, "manifests[0]") == parsed


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "", True])
def test_a_bad_max_version_history_names_the_field(value: Any) -> None:
    with pytest.raises(km.ManifestError, match=r"manifests\[2\]\.metadata\.annotations\[strategy\.spinnaker\.io/max"):
        km.max_version_history({"metadata": {"annotations": {HISTORY: value}}}, "manifests[2]")


# --- against the API server -----------------------------------------------------------------------------------------


@pytest.fixture
def cloud(kube_cluster: Any) -> KubernetesCloud:
    return KubernetesCloud([KubernetesAccount(name="k8s", kubeconfigFile=str(kube_cluster.kubeconfig_path))])


def _names(cloud: KubernetesCloud, ns: str) -> list[str]:
    return sorted(r["metadata"]["name"] for r in cloud.list("k8s", "replicaSet", ns))


def _deploy_stable(acts: ManifestActivities, cloud: KubernetesCloud, api: Any, ctx: dict[str, Any]) -> dict[str, Any]:
    """One deployManifest stage: deploy, the controller's status report, wait for stable (and its cleanup)."""
    deployed = merged(ctx, acts.deploy(task(ctx)))
    [name] = [m["metadata"]["name"] for m in deployed["outputs.manifests"]]
    finish_rs(cloud, api, deployed["outputs.manifests"][0]["metadata"]["namespace"], name, 1)
    return merged(deployed, acts.wait_stable(task(deployed)))


def test_max_version_history_deletes_older_versions_after_a_stable_deploy(
    cloud: KubernetesCloud, k8s_namespace: str, k8s_api: Any
) -> None:
    ns = k8s_namespace
    acts = ManifestActivities(cloud)
    # web-v007 was not deployed by Spinnaker (no artifact annotation): never deleted, but versions go past it
    cloud.apply("k8s", rs("web-v007", ns, replicas=0))
    for image in ("web:1", "web:2", "web:3"):
        manifest = rs("web", ns, image=image, replicas=1)
        manifest["metadata"]["annotations"] = {HISTORY: "2"}
        done = _deploy_stable(acts, cloud, k8s_api, {"manifests": [manifest], "moniker": {"app": "shop"}})
    assert _names(cloud, ns) == ["web-v007", "web-v009", "web-v010"]
    assert done["manifest.history.deleted"] == {ns: ["replicaSet web-v008"]}

    # the wait retried after its cleanup (the result lost): nothing more is deleted
    again = acts.wait_stable(task(done))
    assert again.status == ExecutionStatus.SUCCEEDED and "manifest.history.deleted" not in again.context
    assert _names(cloud, ns) == ["web-v007", "web-v009", "web-v010"]

    # without the annotation nothing is trimmed; the other stage types never trim
    plain = _deploy_stable(acts, cloud, k8s_api, {"manifests": [rs("web", ns, image="web:4", replicas=1)]})
    assert "manifest.history.deleted" not in plain and len(_names(cloud, ns)) == 4
    scaled = acts.wait_stable(task(done, stage_type="scaleManifest"))
    assert scaled.status == ExecutionStatus.SUCCEEDED and len(_names(cloud, ns)) == 4


def test_a_bad_max_version_history_stops_the_deploy_before_anything_is_applied(
    cloud: KubernetesCloud, k8s_namespace: str
) -> None:
    good = rs("api", k8s_namespace)
    bad = rs("web", k8s_namespace)
    bad["metadata"]["annotations"] = {HISTORY: "none"}
    result = ManifestActivities(cloud).deploy(task({"manifests": [good, bad]}))
    assert result.status == ExecutionStatus.TERMINAL
    assert "manifests[1].metadata.annotations[strategy.spinnaker.io/max-version-history]" in str(result.error)
    assert _names(cloud, k8s_namespace) == []


class Gate:
    def __init__(self, http: httpx.AsyncClient, store: Any) -> None:
        self.http, self.store = http, store

    async def groups(self) -> list[str]:
        answer = await self.http.get("/applications/shop/serverGroups", headers={"X-Test-As": "admin"})
        assert answer.status_code == 200, answer.text
        return sorted(g["name"] for g in answer.json())


@pytest.fixture
async def gate(kube_cluster: Any, tmp_path: Path) -> AsyncIterator[Gate]:
    from api.deps import get_principal
    from api.main import create_app
    from core.settings import Settings
    from core.settings.auth import AuthSettings
    from core.store import Store

    account = {"name": "k8s", "type": "kubernetes", "kubeconfigFile": str(kube_cluster.kubeconfig_path)}
    settings = Settings(state_dir=tmp_path, accounts=[account], auth=AuthSettings(enabled=True, admin_roles=["admins"]))
    store = Store(settings.store_url)
    store.migrate()
    store.applications.save({"name": "shop", "email": "a@b.c"}, "setup")
    app = create_app(settings, temporal=object(), store=store)
    app.dependency_overrides[get_principal] = principal_from_header
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
        yield Gate(http, store)
    store.close()


async def test_manifest_stages_refresh_the_cache_gate_reads(
    gate: Gate, cloud: KubernetesCloud, k8s_namespace: str, k8s_api: Any
) -> None:
    ns = k8s_namespace
    refresh = CacheRefresh(cloud, gate.store)
    acts, ops = ManifestActivities(cloud, refresh), ManifestOperations(cloud, refresh)
    # something cached of another namespace of the account: a refresh of this stage's namespace leaves it alone
    elsewhere = {"name": "replicaSet far-v000", "region": "elsewhere", "account": "k8s", "moniker": {"app": "shop"}}
    gate.store.cloud_cache.put_item("kubernetes", "k8s", "serverGroups", elsewhere)
    assert await gate.groups() == ["replicaSet far-v000"]

    # deployManifest: the new ReplicaSet is served as soon as the deploy task ends (before it is stable)
    ctx = {"manifests": [rs("web", ns, replicas=1)], "moniker": {"app": "shop"}}
    first = merged(ctx, acts.deploy(task(ctx)))
    assert await gate.groups() == ["replicaSet far-v000", "replicaSet web-v000"]
    finish_rs(cloud, k8s_api, ns, "web-v000", 1)
    merged(first, acts.wait_stable(task(first)))

    # a second version with max-version-history 1: the stage's end shows v001 only
    manifest = rs("web", ns, image="web:2", replicas=1)
    manifest["metadata"]["annotations"] = {HISTORY: "1"}
    second = _deploy_stable(acts, cloud, k8s_api, {"manifests": [manifest], "moniker": {"app": "shop"}})
    assert second["manifest.history.deleted"] == {ns: ["replicaSet web-v000"]}
    assert await gate.groups() == ["replicaSet far-v000", "replicaSet web-v001"]

    # scaleManifest: the wait for stable that ends it refreshes the capacity Gate shows
    on = {"location": ns, "manifestName": "replicaSet web-v001"}
    target = merged(on, ops.resolve_target(task(on, "scaleManifest")))
    scaled = merged(target, ops.scale(task({**target, "replicas": 3}, "scaleManifest")))
    finish_rs(cloud, k8s_api, ns, "web-v001", 3)
    merged(scaled, acts.wait_stable(task(scaled, "scaleManifest")))
    answer = await gate.http.get("/applications/shop/serverGroups", headers={"X-Test-As": "admin"})
    [web] = [g for g in answer.json() if g["name"] == "replicaSet web-v001"]
    assert web["capacity"]["desired"] == 3

    # deleteManifest: gone from Gate when the stage ends; the other namespace's entry is still there
    merged(target, ops.delete(task(target, "deleteManifest")))
    assert await gate.groups() == ["replicaSet far-v000"]
