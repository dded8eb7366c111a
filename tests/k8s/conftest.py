"""Fixtures: one real etcd + kube-apiserver per test session, and a fresh namespace per test.

The kube-apiserver binary comes from `bash scripts/kube-apiserver.sh` (built once from Debian's `kubernetes`
source package and cached); when it is missing the fixture fails and says so, it does not skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.k8s.cluster import ClusterError, KubeCluster, MissingBinary, start_cluster


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("kube"))
    except (MissingBinary, ClusterError) as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem:  # outside the except block, so the failure shows the message alone
        pytest.fail(f"no Kubernetes API server for the tests: {problem}", pytrace=False)
    with cluster:
        yield cluster


@pytest.fixture
def k8s_namespace(kube_cluster: KubeCluster) -> Iterator[str]:
    """A namespace of its own for one test, deleted (and finalized) afterwards."""
    with kube_cluster.namespace(prefix="t") as name:
        yield name


@pytest.fixture
def k8s_api(kube_cluster: KubeCluster) -> Iterator[Any]:
    """A `kubernetes.client.ApiClient` for one test, closed afterwards."""
    with kube_cluster.new_api_client() as api:
        yield api
