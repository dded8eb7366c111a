"""Gate's GET /manifests/{account}/{location}/{name} against the real API server; names checked before any call;
/credentials never shows a kubeconfig."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings
from providers.kubernetes import KubernetesCloud
from providers.kubernetes_accounts import KubernetesAccount


@pytest.fixture
async def gate(kube_cluster: Any, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    from api.main import create_app
    from core.store import Store

    settings = Settings(
        state_dir=tmp_path,
        accounts=[
            {"name": "k8s", "type": "kubernetes", "kubeconfigFile": str(kube_cluster.kubeconfig_path),
             "permissions": {"READ": ["dev"], "WRITE": ["ops"]}},
            {"name": "k8s-inline", "type": "kubernetes",
             "kubeconfigContents": kube_cluster.kubeconfig_path.read_text()},
        ],
    )  # fmt: skip
    store = Store(settings.store_url)
    store.migrate()
    app = create_app(settings, temporal=object(), store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
        yield http
    store.close()


async def test_manifest_in_clouddrivers_shape(gate: httpx.AsyncClient, kube_cluster: Any, k8s_namespace: str) -> None:
    cloud = KubernetesCloud([KubernetesAccount(name="k8s", kubeconfigFile=str(kube_cluster.kubeconfig_path))])
    cloud.apply("k8s", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": k8s_namespace,
                     "annotations": {"moniker.spinnaker.io/application": "shop",
                                     "moniker.spinnaker.io/cluster": "deployment web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    })  # fmt: skip
    answer = await gate.get(f"/manifests/k8s/{k8s_namespace}/deployment web")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {"account", "location", "name", "moniker", "manifest", "status", "artifacts", "events", "metrics"} <= set(
        body
    )
    assert body["name"] == "deployment web" and body["location"] == k8s_namespace
    assert body["moniker"] == {"app": "shop", "cluster": "deployment web"}
    assert body["status"]["stable"]["state"] is False  # no controller has reported on it
    assert set(body["status"]) == {"stable", "paused", "available", "failed"}
    assert "managedFields" not in body["manifest"]["metadata"]
    # read live, and it says so in the headers the cached reads use
    assert answer.headers["X-Gennaker-Read"] == "live"
    assert answer.headers["X-Gennaker-Cache-Age-Seconds"] == "0.0"
    assert abs(int(answer.headers["X-Gennaker-Cache-Refreshed-At"]) / 1000 - time.time()) < 60
    missing = await gate.get(f"/manifests/k8s/{k8s_namespace}/deployment nope")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/manifests/k8s/default/deployment ..", "name"),
        ("/manifests/k8s/Bad_NS/deployment web", "location"),
        ("/manifests/k8s/default/web", "name"),
        ("/manifests/k8s/default/no$kind web", "name"),
    ],
)
async def test_bad_names_are_400_naming_the_field(gate: httpx.AsyncClient, path: str, field: str) -> None:
    answer = await gate.get(path)
    assert answer.status_code == 400
    assert field in answer.text


async def test_unknown_account_and_credentials(gate: httpx.AsyncClient, kube_cluster: Any) -> None:
    assert (await gate.get("/manifests/nope/default/deployment web")).status_code == 404
    shown = (await gate.get("/credentials")).json()
    text = str(shown)
    assert [a["name"] for a in shown] == ["k8s", "k8s-inline"]
    assert shown[0]["permissions"] == {"READ": ["dev"], "WRITE": ["ops"]}
    assert str(kube_cluster.kubeconfig_path) not in text and kube_cluster.token not in text
