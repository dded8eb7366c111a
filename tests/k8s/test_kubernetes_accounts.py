"""Kubernetes accounts from settings: errors naming the field, secrets never shown, clients reaching the server."""

from __future__ import annotations

from typing import Any

import kubernetes
import pytest

from providers import kubernetes_accounts as ka
from providers.registry import build_clouds


def test_accounts_keep_permissions_and_namespaces() -> None:
    entries: list[dict[str, Any]] = [
        {"name": "aws1", "type": "aws"},
        {
            "name": "k1",
            "type": "kubernetes",
            "kubeconfigFile": "/nowhere",
            "context": "c",
            "namespaces": ["a", "b", "a"],
            "permissions": {"READ": ["dev"], "WRITE": []},
        },
    ]
    (account,) = ka.kubernetes_accounts(entries)
    assert account.namespaces == ["a", "b"]
    assert account.permissions == {"READ": ["dev"], "WRITE": []}
    assert account.allows("a") and not account.allows("c")
    assert "/nowhere" not in repr(account)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"namespaces": ["Bad_NS"]}, "namespaces"),
        ({"kubeconfigContents": "- just a list"}, "kubeconfigContents"),
        ({"kubeconfigFile": "/a", "kubeconfigContents": "clusters: [{}]"}, "kubeconfigContents"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_entries_name_the_field(entry: dict[str, Any], field: str) -> None:
    with pytest.raises(ka.KubernetesAccountError, match=field) as err:
        ka.kubernetes_accounts([{"name": "k", "type": "kubernetes", **entry}])
    assert "just a list" not in str(err.value)


def test_api_client_for_reaches_the_server(kube_cluster: Any) -> None:
    build_clouds([{"name": "k-file", "type": "kubernetes", "kubeconfigFile": str(kube_cluster.kubeconfig_path)}])
    api = ka.api_client_for("k-file")
    assert api is ka.api_client_for("k-file")  # kept
    version = kubernetes.client.VersionApi(api).get_code()
    assert version.major == "1"
    inline = ka.KubernetesAccount(name="k-inline", kubeconfigContents=kube_cluster.kubeconfig_path.read_text())
    names = kubernetes.client.CoreV1Api(ka.api_client_for(inline)).list_namespace().items
    assert "default" in [n.metadata.name for n in names]


def test_unknown_account_and_unloadable_kubeconfig() -> None:
    with pytest.raises(LookupError):
        ka.api_client_for("no-such-account-anywhere")
    broken = ka.KubernetesAccount(name="k-broken", kubeconfigFile="/no/such/kubeconfig")
    with pytest.raises(ka.KubernetesAccountError, match="k-broken") as err:
        ka.api_client_for(broken)
    assert "/no/such" not in str(err.value)
