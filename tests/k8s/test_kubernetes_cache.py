"""Kubernetes in the cloud cache and Gate's cluster, server group, load balancer, instance and search reads: the
account's workloads read from the real kube-apiserver by the cache refresh, served over HTTP in Clouddriver's
shapes, with freshness headers and Fiat's account filtering; the pure rules (health, monikers, relationships) as
tables."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from activities.cloud_cache import CloudCacheActivities
from core.messages.cloud_cache import RefreshCloudCacheInput
from providers.base import TransientCloudError
from providers.kubernetes import KubernetesCloud
from providers.kubernetes_accounts import KubernetesAccount
from providers.kubernetes_cache import build, health_state, moniker_of, pod_health, service_selects
from tests.api.permissions_world import principal_from_header

OPEN, VAULT = "k8s-cache", "k8s-vault"
SHOP = {"moniker.spinnaker.io/application": "shop"}
MANAGED = {"app.kubernetes.io/managed-by": "spinnaker"}


# --- pure rules -----------------------------------------------------------------------------------------------------


def _pod(phase: str | None, *ready: bool) -> dict[str, Any]:
    status: dict[str, Any] = {"containerStatuses": [{"name": f"c{i}", "ready": r} for i, r in enumerate(ready)]}
    if phase is not None:
        status["phase"] = phase
    return {"kind": "Pod", "metadata": {"name": "p", "namespace": "n", "uid": "u"}, "status": status}


@pytest.mark.parametrize(
    ("pod", "states", "overall"),
    [
        (_pod("Running", True, True), ["Up", "Up", "Up"], "Up"),
        (_pod("Running", True, False), ["Up", "Up", "Down"], "Down"),
        (_pod("Pending"), ["Down"], "Down"),
        (_pod("Pending", False), ["Down", "Down"], "Down"),
        (_pod("Succeeded", False), ["Unknown", "Down"], "Down"),
        (_pod("Unknown"), ["Unknown"], "Unknown"),
        ({"kind": "Pod", "metadata": {"name": "p"}}, [], "Unknown"),
    ],
)
def test_pod_health_as_clouddriver_reports_it(pod: dict[str, Any], states: list[str], overall: str) -> None:
    health = pod_health(pod)
    assert [h["state"] for h in health] == states
    assert all(h["healthClass"] == "platform" for h in health)
    assert [h["type"] for h in health[:1]] == (["kubernetes/pod"] if states else [])
    assert health_state(health) == overall


@pytest.mark.parametrize(
    ("kind", "name", "annotations", "expected"),
    [
        ("ReplicaSet", "web-v003", {**SHOP, "moniker.spinnaker.io/cluster": "replicaSet web"},
         {"app": "shop", "cluster": "replicaSet web", "sequence": 3}),
        ("ReplicaSet", "web-5f7d", {**SHOP, "moniker.spinnaker.io/cluster": "deployment web",
                                    "deployment.kubernetes.io/revision": "4"},
         {"app": "shop", "cluster": "deployment web", "sequence": 4}),
        ("ReplicaSet", "web-v003", {**SHOP, "moniker.spinnaker.io/sequence": "7", "moniker.spinnaker.io/stack": "s"},
         {"app": "shop", "cluster": "web", "stack": "s", "sequence": 7}),
        ("StatefulSet", "db-main-v001", {}, {"app": "db", "cluster": "db-main", "sequence": 1}),
        ("Service", "db", {}, {"app": "db", "cluster": "db"}),
    ],
)  # fmt: skip
def test_moniker_from_annotations_else_the_name(
    kind: str, name: str, annotations: dict[str, str], expected: dict[str, Any]
) -> None:
    assert moniker_of({"kind": kind, "metadata": {"name": name, "annotations": annotations}}) == expected


@pytest.mark.parametrize(
    ("selector", "labels", "selects"),
    [
        ({"app": "web"}, {"app": "web", "pod-template-hash": "1"}, True),
        ({"app": "web", "tier": "fe"}, {"app": "web"}, False),
        ({"app": "web"}, {"app": "api"}, False),
        ({}, {"app": "web"}, False),
        (None, {"app": "web"}, False),
    ],
)
def test_service_selects_by_pod_template_labels(
    selector: dict[str, str] | None, labels: dict[str, str], selects: bool
) -> None:
    service = {"kind": "Service", "spec": {"selector": selector}}
    workload = {"kind": "ReplicaSet", "spec": {"template": {"metadata": {"labels": labels}}}}
    assert service_selects(service, workload) is selects


def _rs(name: str, labels: dict[str, str], notes: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": "n", "uid": f"uid-{name}", "annotations": notes or {}, **meta},
        "spec": {
            "replicas": 2,
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"image": "i:1"}]}},
        },
    }


def test_build_relates_pods_services_ingresses_and_deployments() -> None:
    deployment = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "n", "uid": "uid-dep"}}
    owner = [{"kind": "Deployment", "name": "web", "uid": "uid-dep"}]
    objects = {
        "Deployment": [deployment],
        "ReplicaSet": [
            _rs("web-1", {"app": "web"}, ownerReferences=owner),
            _rs("old-v001", {"app": "gone"}, {"traffic.spinnaker.io/load-balancers": '["service web"]'}),
        ],
        "DaemonSet": [{"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "n", "uid": "uid-ds"},
                       "spec": {}, "status": {"desiredNumberScheduled": 3}}],
        "Pod": [
            {**_pod("Running", True), "metadata": {"name": "web-1-a", "namespace": "n", "uid": "pa",
                                                   "ownerReferences": [{"kind": "ReplicaSet", "uid": "uid-web-1"}]}},
            {**_pod("Running", True), "metadata": {"name": "stray", "namespace": "n", "uid": "ps"}},
        ],
        "Service": [{"kind": "Service", "metadata": {"name": "web", "namespace": "n"},
                     "spec": {"selector": {"app": "web"}, "type": "NodePort"}},
                    {"kind": "Service", "metadata": {"name": "web", "namespace": "other"},
                     "spec": {"selector": {"app": "web"}}}],
        "Ingress": [{"kind": "Ingress", "metadata": {"name": "edge", "namespace": "n"},
                     "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": "web"}}}]}}]}}],
    }  # fmt: skip
    out = build("acct", objects)
    groups = {g["name"]: g for g in out["serverGroups"]}
    web = groups["replicaSet web-1"]
    assert [i["humanReadableName"] for i in web["instances"]] == ["pod web-1-a"]
    assert web["instances"][0]["id"] == "pa" and web["instanceCounts"]["up"] == 1
    assert web["loadBalancers"] == ["service web"] and web["isDisabled"] is False
    assert web["serverGroupManagers"] == [{"account": "acct", "location": "n", "name": "web"}]
    assert web["capacity"] == {"desired": 2} and web["buildInfo"] == {"images": ["i:1"]}
    old = groups["replicaSet old-v001"]
    assert old["isDisabled"] is True and old["loadBalancers"] == ["service web"]  # named, no longer selected
    assert groups["daemonSet agent"]["capacity"] == {"desired": 3}
    [manager] = out["serverGroupManagers"]
    assert manager["name"] == "deployment web" and [g["name"] for g in manager["serverGroups"]] == ["replicaSet web-1"]
    lbs = {(lb["region"], lb["name"]): lb for lb in out["loadBalancers"]}
    service = lbs[("n", "service web")]
    assert service["loadBalancerType"] == "NodePort"
    assert [g["name"] for g in service["serverGroups"]] == ["replicaSet web-1"]
    assert service["serverGroups"][0]["instances"][0]["health"]["state"] == "Up"
    assert lbs[("other", "service web")]["serverGroups"] == []  # another namespace's workloads are not its own
    ingress = lbs[("n", "ingress edge")]
    assert ingress["services"] == ["service web"] and [g["name"] for g in ingress["serverGroups"]] == [
        "replicaSet web-1"
    ]


def test_schedules_cover_kubernetes_accounts(tmp_path: Path) -> None:
    from api.cloud_cache import cached_accounts
    from core.settings import Settings

    settings = Settings(state_dir=tmp_path, accounts=[{"name": "k", "type": "kubernetes", "kubeconfigFile": "/x"}])
    assert cached_accounts(settings) == [("kubernetes", "k")]


# --- against the API server, through Gate -------------------------------------------------------------------------


def _apply(cloud: KubernetesCloud, manifest: dict[str, Any]) -> dict[str, Any]:
    return cloud.apply(OPEN, manifest)


def _workload(kind: str, name: str, ns: str, labels: dict[str, str], notes: dict[str, str], **meta: Any) -> Any:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": f"{name}:1"}]}},
    }
    if kind != "DaemonSet":
        spec["replicas"] = 2
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "annotations": notes, "labels": dict(MANAGED), **meta},
        "spec": spec,
    }


def _owner(obj: dict[str, Any]) -> list[dict[str, Any]]:
    meta = obj["metadata"]
    return [{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"], "uid": meta["uid"]}]


def _seed(cloud: KubernetesCloud, api: Any, ns: str) -> None:
    """A Deployment with its ReplicaSet and two Pods (one ready, one not), a disabled ReplicaSet, a StatefulSet
    nobody annotated, two Services and an Ingress (the test server runs no controllers: the test plays them)."""
    from kubernetes import client

    web_notes = {**SHOP, "moniker.spinnaker.io/cluster": "deployment web"}
    deployment = _apply(cloud, _workload("Deployment", "web", ns, {"app": "web"}, web_notes))
    rs = _apply(cloud, _workload("ReplicaSet", "web-5f7d", ns, {"app": "web", "pod-template-hash": "5f7d"},
                                 {**web_notes, "deployment.kubernetes.io/revision": "3"},
                                 ownerReferences=_owner(deployment)))  # fmt: skip
    _apply(cloud, _workload("ReplicaSet", "api-v002", ns, {"app": "api-old"},
                            {**SHOP, "moniker.spinnaker.io/cluster": "replicaSet api",
                             "moniker.spinnaker.io/sequence": "2",
                             "traffic.spinnaker.io/load-balancers": json.dumps(["service api"])}))  # fmt: skip
    db = _workload("StatefulSet", "db", ns, {"app": "db"}, {})
    db["metadata"]["labels"] = {}
    _apply(cloud, db)
    core = client.CoreV1Api(api)
    for pod, ready in (("web-5f7d-a", True), ("web-5f7d-b", False)):
        _apply(cloud, {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": pod, "namespace": ns, "labels": {"app": "web"},
                                    "ownerReferences": _owner(rs)},
                       "spec": {"containers": [{"name": "c", "image": "web:1"}]}})  # fmt: skip
        core.patch_namespaced_pod_status(pod, ns, {"status": {"phase": "Running", "containerStatuses": [
            {"name": "c", "image": "web:1", "imageID": "", "ready": ready, "restartCount": 0}]}})  # fmt: skip
    for name, selector in (("web", {"app": "web"}), ("api", {"app": "api"})):
        _apply(cloud, {"apiVersion": "v1", "kind": "Service",
                       "metadata": {"name": name, "namespace": ns, "annotations": SHOP},
                       "spec": {"selector": selector, "ports": [{"port": 80, "protocol": "TCP"}]}})  # fmt: skip
    _apply(cloud, {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                   "metadata": {"name": "edge", "namespace": ns, "annotations": SHOP},
                   "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}})  # fmt: skip


class Gate:
    def __init__(self, http: httpx.AsyncClient, ns: str, cache: CloudCacheActivities) -> None:
        self.http, self.ns, self.cache = http, ns, cache

    async def get(self, role: str, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params or None, headers={"X-Test-As": role})

    async def json(self, role: str, path: str, **params: Any) -> Any:
        answer = await self.get(role, path, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def seeded(kube_cluster: Any, k8s_namespace: str, k8s_api: Any) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    kubeconfig = str(kube_cluster.kubeconfig_path)
    accounts: list[dict[str, Any]] = [
        {"name": OPEN, "type": "kubernetes", "kubeconfigFile": kubeconfig, "namespaces": [k8s_namespace],
         "permissions": {"READ": ["readers", "writers"], "WRITE": ["writers"]}},
        {"name": VAULT, "type": "kubernetes", "kubeconfigFile": kubeconfig, "namespaces": [k8s_namespace],
         "onlySpinnakerManaged": True, "permissions": {"READ": ["admins"], "WRITE": ["admins"]}},
    ]  # fmt: skip
    # one client for every account of the test (the fixture closes it), not one kept per account and namespace
    cloud = KubernetesCloud([KubernetesAccount.model_validate(a) for a in accounts], factory=lambda _: k8s_api)
    _seed(cloud, k8s_api, k8s_namespace)
    yield k8s_namespace, accounts


@pytest.fixture
async def gate(seeded: tuple[str, list[dict[str, Any]]], k8s_api: Any, tmp_path: Path) -> AsyncIterator[Gate]:
    from api.deps import get_principal
    from api.main import create_app
    from core.settings import Settings
    from core.settings.auth import AuthSettings
    from core.store import Store

    ns, accounts = seeded
    settings = Settings(state_dir=tmp_path, accounts=accounts, auth=AuthSettings(enabled=True, admin_roles=["admins"]))
    store = Store(settings.store_url)
    store.migrate()
    for name in ("shop", "db"):
        store.applications.save({"name": name, "email": "a@b.c"}, "setup")
    cloud = KubernetesCloud([KubernetesAccount.model_validate(a) for a in accounts], factory=lambda _: k8s_api)
    cache = CloudCacheActivities({}, store, kubernetes=cloud)
    app = create_app(settings, temporal=object(), store=store)
    app.dependency_overrides[get_principal] = principal_from_header
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
        yield Gate(http, ns, cache)
    store.close()


async def test_kubernetes_clusters_server_groups_and_search_through_gate(gate: Gate) -> None:
    ns = gate.ns
    before = await gate.get("reader", "/applications/shop/clusters")
    assert before.json() == {} and before.headers["X-Gennaker-Cache-Refreshed-At"] == "never"
    counts = gate.cache.refresh(RefreshCloudCacheInput("kubernetes", OPEN))
    assert counts == {"serverGroups": 3, "serverGroupManagers": 1, "loadBalancers": 3}
    assert gate.cache.refresh(RefreshCloudCacheInput("kubernetes", VAULT))["serverGroups"] == 2  # no "db"

    # /applications/{app}/clusters: {account: [cluster names]}, Fiat leaving out what the reader may not READ
    clusters = await gate.get("reader", "/applications/shop/clusters")
    assert {k: sorted(v) for k, v in clusters.json().items()} == {OPEN: ["deployment web", "replicaSet api"]}
    assert float(clusters.headers["X-Gennaker-Cache-Age-Seconds"]) < 60
    assert int(clusters.headers["X-Gennaker-Cache-Refreshed-At"]) > 0
    assert set(await gate.json("admin", "/applications/shop/clusters")) == {OPEN, VAULT}
    assert await gate.json("reader", "/applications/db/clusters") == {OPEN: ["db"]}  # named by Frigga

    [cluster] = await gate.json("reader", f"/applications/shop/clusters/{OPEN}/deployment web")
    assert cluster["type"] == "kubernetes" and cluster["moniker"] == {"app": "shop", "cluster": "deployment web"}
    [group] = cluster["serverGroups"]
    assert group["name"] == "replicaSet web-5f7d" and group["region"] == ns and group["kind"] == "replicaSet"
    assert group["moniker"]["sequence"] == 3 and group["capacity"] == {"desired": 2}
    assert group["serverGroupManagers"] == [{"account": OPEN, "location": ns, "name": "web"}]
    assert group["loadBalancers"] == ["service web"] and group["isDisabled"] is False
    assert group["buildInfo"] == {"images": ["web-5f7d:1"]}
    health = {i["humanReadableName"]: i["healthState"] for i in group["instances"]}
    assert health == {"pod web-5f7d-a": "Up", "pod web-5f7d-b": "Down"}
    pod = next(i for i in group["instances"] if i["displayName"] == "web-5f7d-a")
    assert [(h["type"], h["state"]) for h in pod["health"]] == [
        ("kubernetes/pod", "Up"),
        ("kubernetes/container", "Up"),
    ]
    assert group["instanceCounts"]["up"] == 1 and group["instanceCounts"]["down"] == 1
    assert cluster["loadBalancers"] == ["service web"]

    summaries = await gate.json("reader", f"/applications/shop/clusters/{OPEN}")
    assert {c["name"]: c["serverGroups"] for c in summaries} == {
        "deployment web": ["replicaSet web-5f7d"],
        "replicaSet api": ["replicaSet api-v002"],
    }

    # server group reads
    shown = await gate.json("reader", f"/applications/shop/serverGroups/{OPEN}/{ns}/{quote('replicaSet api-v002')}")
    assert shown["isDisabled"] is True and shown["loadBalancers"] == ["service api"]  # out of its service
    everything = await gate.json("reader", "/applications/shop/serverGroups")
    assert {(g["account"], g["name"]) for g in everything} == {
        (OPEN, "replicaSet web-5f7d"),
        (OPEN, "replicaSet api-v002"),
    }
    listed = await gate.json("reader", "/serverGroups", applications="shop,db", cloudProvider="kubernetes")
    assert sorted(g["name"] for g in listed) == ["replicaSet api-v002", "replicaSet web-5f7d", "statefulSet db"]
    vault = await gate.get("reader", f"/applications/shop/serverGroups/{VAULT}/{ns}/{quote('replicaSet web-5f7d')}")
    assert vault.status_code == 403
    assert (await gate.get("admin", f"/applications/shop/clusters/{VAULT}/deployment web")).status_code == 200
    target = await gate.json(
        "reader", f"/applications/shop/clusters/{OPEN}/replicaSet api/kubernetes/{ns}/serverGroups/target/current_asg"
    )
    assert target["name"] == "replicaSet api-v002"
    [manager] = await gate.json("reader", "/applications/shop/serverGroupManagers")
    assert manager["name"] == "deployment web" and manager["serverGroups"][0]["name"] == "replicaSet web-5f7d"

    # instances, by uid or by "pod name"
    by_name = await gate.json("reader", f"/instances/{OPEN}/{ns}/{quote('pod web-5f7d-a')}")
    assert by_name["serverGroup"] == "replicaSet web-5f7d" and by_name["cluster"] == "deployment web"
    assert (await gate.json("reader", f"/instances/{OPEN}/{ns}/{pod['id']}"))["displayName"] == "web-5f7d-a"

    # load balancers: Services and Ingresses with the server groups behind them
    lbs = {lb["name"]: lb for lb in await gate.json("reader", "/loadBalancers", provider="kubernetes")}
    assert set(lbs) == {"service web", "service api", "ingress edge"}
    assert [g["name"] for g in lbs["service web"]["serverGroups"]] == ["replicaSet web-5f7d"]
    assert lbs["service api"]["serverGroups"] == []
    assert [g["name"] for g in lbs["ingress edge"]["serverGroups"]] == ["replicaSet web-5f7d"]

    # /search: a Kubernetes result set; the reader's hides the vault account
    async def search(role: str, q: str, kind: str) -> list[dict[str, Any]]:
        sets = await gate.json(role, "/search", q=q, type=kind)
        [found] = [s for s in sets if s["platform"] == "kubernetes"]
        return found["results"]  # type: ignore[no-any-return]

    groups = await search("reader", "web-5f", "serverGroups")
    assert [(r["serverGroup"], r["account"], r["region"], r["application"]) for r in groups] == [
        ("replicaSet web-5f7d", OPEN, ns, "shop")
    ]
    assert {r["account"] for r in await search("admin", "web-5f", "serverGroups")} == {OPEN, VAULT}
    assert [r["cluster"] for r in await search("reader", "deployment", "clusters")] == ["deployment web"]
    assert [r["instanceId"] for r in await search("reader", "web-5f7d-a", "instances")] == ["pod web-5f7d-a"]
    assert sorted(r["loadBalancer"] for r in await search("reader", "e", "loadBalancers")) == [
        "ingress edge",
        "service api",
        "service web",
    ]
    assert sorted(r["application"] for r in await search("reader", "", "applications")) == ["db", "shop"]
    only = await gate.json("reader", "/search", q="web", type="serverGroups", platform="kubernetes")
    assert len(only) == 1 and only[0]["platform"] == "kubernetes" and only[0]["totalMatches"] == 1


async def test_a_failed_refresh_keeps_the_copy_and_says_so(gate: Gate) -> None:
    gate.cache.refresh(RefreshCloudCacheInput("kubernetes", OPEN))

    class Down(KubernetesCloud):
        def list(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            raise TransientCloudError("list ReplicaSet in k8s-cache: 503 the API server is away")

    assert gate.cache.kubernetes is not None
    gate.cache.kubernetes = Down(list(gate.cache.kubernetes.accounts.values()), factory=gate.cache.kubernetes._factory)
    assert gate.cache.refresh(RefreshCloudCacheInput("kubernetes", OPEN)) == {}
    answer = await gate.get("reader", "/applications/shop/clusters")
    assert set(answer.json()[OPEN]) == {"deployment web", "replicaSet api"}  # the previous copy
    assert "kubernetes/k8s-cache: list ReplicaSet in k8s-cache: 503" in answer.headers["X-Gennaker-Cache-Error"]
    assert gate.cache.refresh(RefreshCloudCacheInput("kubernetes", f"nope-{uuid.uuid4().hex[:6]}")) == {}


@pytest.mark.temporal
async def test_the_cache_workflow_refreshes_a_kubernetes_account(
    client: Any, seeded: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """The worker as worker.py builds it (accounts from the settings) runs RefreshCloudCache for Kubernetes."""
    from core.settings import Settings
    from core.store import Store
    from tests.conftest import build_worker_with

    ns, accounts = seeded
    settings = Settings(state_dir=tmp_path, task_queue=f"k8s-cache-{uuid.uuid4()}", accounts=accounts[:1])
    store = Store(settings.store_url)
    store.migrate()
    try:
        async with build_worker_with(client, settings, store):
            counts = await client.execute_workflow(
                "RefreshCloudCache",
                RefreshCloudCacheInput("kubernetes", OPEN),
                id=f"refresh-{uuid.uuid4()}",
                task_queue=settings.task_queue,
            )
        assert counts == {"serverGroups": 3, "serverGroupManagers": 1, "loadBalancers": 3}
        names = {g["name"] for g in store.cloud_cache.items("serverGroups", provider="kubernetes", region=ns)}
        assert names == {"replicaSet web-5f7d", "replicaSet api-v002", "statefulSet db"}
    finally:
        store.close()
