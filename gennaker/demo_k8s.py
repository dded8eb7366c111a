"""The Kubernetes part of ``make demo``: a local etcd + kube-apiserver as the account ``k8s-local`` (only where the
apiserver binary has been built: ``bash scripts/kube-apiserver.sh``), and a manifest pipeline run against it."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

ACCOUNT = "k8s-local"
NAMESPACE = "default"


def start_local_cluster(workdir: Path, stack: ExitStack) -> dict[str, Any] | None:
    """The ``k8s-local`` account entry of a cluster started here (stopped with ``stack``), or None without one."""
    try:
        from tests.k8s.cluster import ClusterError, MissingBinary, start_cluster
    except ImportError:  # an installed package without the repository's tests/
        return None
    try:
        cluster = start_cluster(workdir)
    except (MissingBinary, ClusterError) as err:
        print(f"no k8s-local account: {str(err).splitlines()[0]}")
        return None
    stack.callback(cluster.stop)
    print(f"kube-apiserver (k8s-local): {cluster.api_url}")
    return {"name": ACCOUNT, "type": "kubernetes", "kubeconfigFile": str(cluster.kubeconfig_path)}


def pipeline(application: str) -> dict[str, Any]:
    """deployManifest (a versioned ConfigMap and a Service) → patchManifest the Service → delete the ConfigMap."""
    on = {"account": ACCOUNT, "cloudProvider": "kubernetes", "location": NAMESPACE}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo-config"},
                  "data": {"greeting": "hello from gennaker"}}  # fmt: skip
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "demo"},
               "spec": {"selector": {"app": "demo"}, "ports": [{"port": 80, "protocol": "TCP"}]}}  # fmt: skip
    return {
        "application": application,
        "name": "k8s release",
        "stages": [
            {"refId": "1", "type": "deployManifest", "name": "Deploy manifests", "account": ACCOUNT,
             "cloudProvider": "kubernetes", "source": "text", "namespaceOverride": NAMESPACE,
             "manifests": [config_map, service]},
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "patchManifest", "name": "Label the service",
             **on, "manifestName": "service demo", "patchBody": [{"metadata": {"labels": {"tier": "web"}}}],
             "options": {"mergeStrategy": "strategic"}},
            {"refId": "3", "requisiteStageRefIds": ["2"], "type": "deleteManifest", "name": "Delete the config",
             **on, "cluster": "configMap demo-config", "criteria": "oldest"},
        ],
    }  # fmt: skip
