"""The kubelet stand-in behind the real API server: pod logs read through the API (read_namespaced_pod_log), and
the Job calls of runJobManifest (create exactly once, state, logs → properties, delete) against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from providers import kubernetes_jobs as kj
from tests.k8s.kubelet_standin import KubeletStandIn, create_job_pod, finish_job


@pytest.fixture(scope="module")
def kubelet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeletStandIn]:
    standin = KubeletStandIn(tmp_path_factory.mktemp("kubelet"))
    try:
        yield standin
    finally:
        standin.close()


def job_body(name: str, container: str = "main") -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": {kj.STAGE_ANNOTATION: "stage-1"}},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": container, "image": "busybox"}]}},
        },
    }


def test_pod_logs_come_through_the_api_server_from_the_standin(
    kubelet: KubeletStandIn, k8s_api: Any, k8s_namespace: str
) -> None:
    node = kubelet.register_node(k8s_api)
    jobs = kj.KubernetesJobs(k8s_api)
    made = jobs.create(k8s_namespace, job_body("pi-abcde"), "stage-1")
    job = jobs.read(k8s_namespace, "pi-abcde")
    assert job is not None and made.uid == job["metadata"]["uid"] and not made.adopted
    pod = create_job_pod(k8s_api, k8s_namespace, job, node)
    kubelet.logs[(k8s_namespace, pod, "main")] = "hello\nSPINNAKER_PROPERTY_COLOR=blue\n"
    assert [p["metadata"]["name"] for p in jobs.pods(k8s_namespace, job)] == [pod]
    assert jobs.log(k8s_namespace, pod, "main") == "hello\nSPINNAKER_PROPERTY_COLOR=blue\n"
    assert any(r.startswith(f"/containerLogs/{k8s_namespace}/{pod}/main") for r in kubelet.requests)
    assert kj.job_state(job) == kj.RUNNING


def test_create_adopts_its_own_job_and_refuses_anothers(k8s_api: Any, k8s_namespace: str) -> None:
    jobs = kj.KubernetesJobs(k8s_api)
    first = jobs.create(k8s_namespace, job_body("once-abcde"), "stage-1")
    again = jobs.create(k8s_namespace, job_body("once-abcde"), "stage-1")
    assert again.adopted and again.uid == first.uid
    with pytest.raises(kj.JobManifestError, match="already exists"):
        jobs.create(k8s_namespace, job_body("once-abcde"), "stage-2")
    assert len(client.BatchV1Api(k8s_api).list_namespaced_job(k8s_namespace).items) == 1


def test_finished_jobs_states_and_delete(kubelet: KubeletStandIn, k8s_api: Any, k8s_namespace: str) -> None:
    node = kubelet.register_node(k8s_api)
    jobs = kj.KubernetesJobs(k8s_api)
    for name, ok in (("good-abcde", True), ("bad-abcde", False)):
        jobs.create(k8s_namespace, job_body(name), "stage-1")
        job = jobs.read(k8s_namespace, name)
        assert job is not None
        pod = create_job_pod(k8s_api, k8s_namespace, job, node)
        finish_job(k8s_api, k8s_namespace, name, pod, succeeded=ok, exit_code=0 if ok else 3)
        job = jobs.read(k8s_namespace, name)
        assert job is not None
        assert kj.job_state(job) == (kj.SUCCEEDED if ok else kj.FAILED)
        details = kj.completion_details(job, jobs.pods(k8s_namespace, job))
        assert details["exitCode"] == ("0" if ok else "3")
    assert jobs.delete(k8s_namespace, "bad-abcde") is True
    assert jobs.read(k8s_namespace, "bad-abcde") is None
    assert jobs.delete(k8s_namespace, "bad-abcde") is False


def test_standin_answers_404_for_an_unknown_log(kubelet: KubeletStandIn, k8s_api: Any, k8s_namespace: str) -> None:
    from kubernetes.client.exceptions import ApiException

    node = kubelet.register_node(k8s_api)
    jobs = kj.KubernetesJobs(k8s_api)
    jobs.create(k8s_namespace, job_body("quiet-abcde"), "stage-1")
    job = jobs.read(k8s_namespace, "quiet-abcde")
    assert job is not None
    pod = create_job_pod(k8s_api, k8s_namespace, job, node)
    with pytest.raises(ApiException):
        jobs.log(k8s_namespace, pod, "main")
