"""runJobManifest's activities one call at a time against the real API server: the property file read again while
the log is not there yet, API faults as retryable errors, cancel before the create was reported, the accounts
reader, and the stage's plan (waitForCompletion, restart)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.run_job import RunJobActivities
from core.status import ExecutionStatus
from tests.k8s.cluster import KubeCluster
from tests.k8s.kubelet_standin import KubeletStandIn, create_job_pod, finish_job
from workflows.stages import resolve
from workflows.stages.base import TaskInput


@pytest.fixture(scope="module")
def kubelet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeletStandIn]:
    standin = KubeletStandIn(tmp_path_factory.mktemp("kubelet"))
    try:
        yield standin
    finally:
        standin.close()


def task(context: dict[str, Any], name: str = "runJob") -> TaskInput:
    return TaskInput("exec-1", "app", "stage-1", "1", "runJobManifest", name, context, 0, 0)


def stage_context(namespace: str, **extra: Any) -> dict[str, Any]:
    return {
        "account": "k8s",
        "manifest": {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "calc", "namespace": namespace},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "x"}]}}},
        },
        **extra,
    }


def acts_for(api: Any) -> RunJobActivities:
    return RunJobActivities(lambda account: api, poll_interval=timedelta(milliseconds=20))


def create(acts: RunJobActivities, context: dict[str, Any]) -> dict[str, Any]:
    env = ActivityEnvironment()
    first = env.run(acts.run_kubernetes_job, task(context))
    assert first.status == ExecutionStatus.RUNNING and first.context["jobName"].startswith("calc-")
    context = {**context, **first.context}
    second = env.run(acts.run_kubernetes_job, task(context))
    assert second.status == ExecutionStatus.SUCCEEDED, second.error
    return {**context, **second.context}


def test_properties_are_read_again_until_the_log_is_there(
    kubelet: KubeletStandIn, k8s_api: Any, k8s_namespace: str
) -> None:
    acts, env = acts_for(k8s_api), ActivityEnvironment()
    context = create(acts, stage_context(k8s_namespace, propertyFile="main"))
    job = k8s_api.sanitize_for_serialization(
        k8s.BatchV1Api(k8s_api).read_namespaced_job(context["jobName"], k8s_namespace)
    )
    pod = create_job_pod(k8s_api, k8s_namespace, job, kubelet.register_node(k8s_api))
    running = env.run(acts.wait_on_kubernetes_job, task(context, "waitOnJobCompletion"))
    assert running.status == ExecutionStatus.RUNNING and running.context["jobStatus"]["jobState"] == "Running"
    finish_job(k8s_api, k8s_namespace, context["jobName"], pod, succeeded=True)
    no_log = env.run(acts.wait_on_kubernetes_job, task(context, "waitOnJobCompletion"))
    assert no_log.status == ExecutionStatus.RUNNING and no_log.context["propertyFileAttempts"] == 1
    kubelet.logs[(k8s_namespace, pod, "main")] = "SPINNAKER_PROPERTY_OK=1\n"
    done = env.run(acts.wait_on_kubernetes_job, task({**context, **no_log.context}, "waitOnJobCompletion"))
    assert done.status == ExecutionStatus.SUCCEEDED
    assert done.outputs["ok"] == "1" and done.outputs["propertyFileContents"] == {"ok": "1"}


def test_the_last_property_attempt_fails_with_orcas_message(k8s_api: Any, k8s_namespace: str) -> None:
    acts = acts_for(k8s_api)
    context = create(acts, stage_context(k8s_namespace, propertyFile="main", propertyFileAttempts=5))
    k8s.BatchV1Api(k8s_api).patch_namespaced_job_status(context["jobName"], k8s_namespace, {"status": {"succeeded": 1}})
    failed = ActivityEnvironment().run(acts.wait_on_kubernetes_job, task(context, "waitOnJobCompletion"))
    assert failed.status == ExecutionStatus.TERMINAL
    assert failed.error == (
        "Expected properties file main but it was either missing, empty or contained invalid syntax "
        "(the job has no pods)"
    )


def test_cancel_before_the_create_was_reported_deletes_the_job(k8s_api: Any, k8s_namespace: str) -> None:
    acts, env = acts_for(k8s_api), ActivityEnvironment()
    context = create(acts, stage_context(k8s_namespace))
    unreported = {k: v for k, v in context.items() if k != "deploy.jobs"}
    assert env.run(acts.delete_kubernetes_job, task(unreported)).context == {"jobDeleted": True}
    assert k8s.BatchV1Api(k8s_api).list_namespaced_job(k8s_namespace).items == []
    assert env.run(acts.delete_kubernetes_job, task(context)).context == {"jobDeleted": False}
    assert env.run(acts.delete_kubernetes_job, task(stage_context(k8s_namespace))).context == {"jobDeleted": False}


def test_an_unreachable_api_server_is_retryable(k8s_namespace: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = k8s.Configuration(host=f"https://127.0.0.1:{port}")
    config.retries = 0
    with k8s.ApiClient(config) as api:
        acts = acts_for(api)
        context = {**stage_context(k8s_namespace), "jobName": "calc-abcde"}
        with pytest.raises(ApplicationError) as caught:
            ActivityEnvironment().run(acts.run_kubernetes_job, task(context))
    assert caught.value.type == "KubernetesRetryable" and "unreachable" in str(caught.value)


def test_a_refused_manifest_is_terminal_with_the_servers_message(k8s_api: Any, k8s_namespace: str) -> None:
    context = {**stage_context(k8s_namespace), "jobName": "calc-abcde"}
    context["manifest"]["spec"]["template"]["spec"]["restartPolicy"] = "Always"  # Jobs refuse it
    result = ActivityEnvironment().run(acts_for(k8s_api).run_kubernetes_job, task(context))
    assert result.status == ExecutionStatus.TERMINAL
    assert result.error is not None and result.error.startswith(f"creating Job calc-abcde in {k8s_namespace} (k8s): ")
    assert "Kubernetes API 422" in result.error and "restartPolicy" in result.error


def test_build_uses_the_kubernetes_accounts_and_their_namespaces(kube_cluster: KubeCluster, k8s_namespace: str) -> None:
    from activities.run_job import build
    from providers.kubernetes_accounts import kubernetes_accounts, register_accounts

    entry = {
        "name": "runjob-k8s",
        "type": "kubernetes",
        "kubeconfigFile": str(kube_cluster.kubeconfig_path),
        "namespaces": [k8s_namespace],
    }
    register_accounts(kubernetes_accounts([entry]))
    run, env = build(object())[0], ActivityEnvironment()
    allowed = env.run(run, task({**stage_context(k8s_namespace), "account": "runjob-k8s"}))
    assert allowed.status == ExecutionStatus.RUNNING and "jobName" in allowed.context
    refused = env.run(run, task({**stage_context("elsewhere"), "account": "runjob-k8s"}))
    assert refused.error == "namespace: account runjob-k8s may not use namespace 'elsewhere'"


def test_the_stage_plan_and_restart() -> None:
    stage = resolve("runJobManifest")
    assert [t.name for t in stage.tasks({})] == ["runJob", "waitOnJobCompletion"]
    assert [t.name for t in stage.tasks({"waitForCompletion": False})] == ["runJob"]
    assert [t.name for t in stage.tasks({"consumeArtifactSource": "propertyFile"})][-1] == "consumeArtifact"
    assert {t.on_cancel for t in stage.tasks({}) if t.activity} == {"delete_kubernetes_job"}
    wait = stage.tasks({})[1]
    assert (wait.backoff, wait.timeout) == (timedelta(seconds=10), timedelta(hours=2))
    context = {"jobName": "x", "deploy.jobs": {"ns": ["job x"]}, "jobStatus": {}, "manifest": {}}
    stage.prepare_for_restart(context)
    assert context == {"manifest": {}}
    assert stage.mutates_accounts({"account": "k8s"}) == ["k8s"]


def test_a_job_from_a_bound_base64_artifact(k8s_api: Any, k8s_namespace: str) -> None:
    import base64

    manifest = stage_context(k8s_namespace)["manifest"]
    reference = base64.b64encode(yaml.safe_dump(manifest).encode()).decode()
    trigger = {
        "resolvedExpectedArtifacts": [
            {"id": "m1", "boundArtifact": {"type": "embedded/base64", "reference": reference}}
        ]
    }
    context = {"account": "k8s", "source": "artifact", "manifestArtifactId": "m1"}
    acts, env = acts_for(k8s_api), ActivityEnvironment()
    first = env.run(
        acts.run_kubernetes_job,
        TaskInput("e", "app", "s", "1", "runJobManifest", "runJob", context, 0, 0, trigger=trigger),
    )
    context = {**context, **first.context}
    second = env.run(
        acts.run_kubernetes_job,
        TaskInput("e", "app", "s", "1", "runJobManifest", "runJob", context, 0, 0, trigger=trigger),
    )
    assert second.context["deploy.jobs"] == {k8s_namespace: [f"job {context['jobName']}"]}
    jobs = k8s_api.sanitize_for_serialization(k8s.BatchV1Api(k8s_api).list_namespaced_job(k8s_namespace))
    assert [j["metadata"]["name"] for j in jobs["items"]] == [context["jobName"]]
