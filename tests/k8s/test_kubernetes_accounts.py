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


def _kubeconfig(server: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )


def test_a_client_is_kept_for_the_settings_it_was_made_for() -> None:
    """An account given with other settings under a registered name gets its own client, and does not become the
    registered account's client (loading a kubeconfig contacts no server)."""
    registered = ka.KubernetesAccount(name="k-same", kubeconfigContents=_kubeconfig("https://registered.invalid"))
    other = ka.KubernetesAccount(name="k-same", kubeconfigContents=_kubeconfig("https://other.invalid"))
    ka.register_accounts([registered])
    by_name = ka.api_client_for("k-same")
    assert by_name.configuration.host == "https://registered.invalid"
    assert ka.api_client_for(other).configuration.host == "https://other.invalid"
    assert ka.api_client_for("k-same").configuration.host == "https://registered.invalid"
    assert ka.api_client_for(registered) is ka.api_client_for("k-same")


def test_unknown_account_and_unloadable_kubeconfig() -> None:
    with pytest.raises(LookupError):
        ka.api_client_for("no-such-account-anywhere")
    broken = ka.KubernetesAccount(name="k-broken", kubeconfigFile="/no/such/kubeconfig")
    with pytest.raises(ka.KubernetesAccountError, match="k-broken") as err:
        ka.api_client_for(broken)
    assert "/no/such" not in str(err.value)
