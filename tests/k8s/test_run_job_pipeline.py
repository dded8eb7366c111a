"""runJobManifest through the engine (a real Temporal dev server) against the real API server, the test playing
the Job controller and the kubelet (tests/k8s/kubelet_standin.py): properties from the job's log feeding a later
stage's expression, a failing job, a canceled job (deleted), and a create whose result is lost (still one Job)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from kubernetes import client as k8s
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.run_job import RunJobActivities, activities_of
from tests.conftest import stage_named
from tests.k8s.kubelet_standin import KubeletStandIn, create_job_pod, finish_job
from workflows import operations
from workflows.stages.base import TaskInput, TaskResult
from workflows.stages.run_job_manifest import ACTIVITY_NAMES, RUN_KUBERNETES_JOB

pytestmark = pytest.mark.temporal


@pytest.fixture(scope="module")
def kubelet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeletStandIn]:
    standin = KubeletStandIn(tmp_path_factory.mktemp("kubelet"))
    try:
        yield standin
    finally:
        standin.close()


@dataclass
class Engine:
    client: Client
    queue: str
    api: Any
    namespace: str
    kubelet: KubeletStandIn

    async def start(self, *stages: dict[str, Any]) -> str:
        config = {"application": "app", "name": "jobs", "limitConcurrent": False, "stages": list(stages)}
        return await operations.start_pipeline(self.client, config, task_queue=self.queue)

    async def wait(self, execution_id: str) -> dict[str, Any]:
        return await asyncio.wait_for(operations.wait_for_execution(self.client, execution_id), 60)

    def jobs(self) -> list[dict[str, Any]]:
        found = k8s.BatchV1Api(self.api).list_namespaced_job(self.namespace).items
        return [self.api.sanitize_for_serialization(j) for j in found]

    async def job_created(self) -> dict[str, Any]:
        for _ in range(400):
            jobs = await asyncio.to_thread(self.jobs)
            if jobs:
                return jobs[0]
            await asyncio.sleep(0.05)
        raise AssertionError("the stage created no Job")

    async def run_pod(self, job: dict[str, Any], log: str, *, succeeded: bool = True, exit_code: int = 0) -> str:
        """Play the Job controller and the kubelet: a pod for the job, its log, then both finished."""
        node = await asyncio.to_thread(self.kubelet.register_node, self.api)
        pod = await asyncio.to_thread(create_job_pod, self.api, self.namespace, job, node)
        container = job["spec"]["template"]["spec"]["containers"][0]["name"]
        self.kubelet.logs[(self.namespace, pod, container)] = log
        await asyncio.to_thread(
            finish_job, self.api, self.namespace, job["metadata"]["name"], pod, succeeded=succeeded, exit_code=exit_code
        )
        return pod


def worker(client: Client, queue: str, run_job: list[Callable[..., Any]]) -> Worker:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    engine = build_activities(Settings(task_queue=queue), client, configs=MemoryConfigSource())
    return Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[a for a in engine if getattr(a, "__name__", None) not in ACTIVITY_NAMES] + run_job,
        activity_executor=ThreadPoolExecutor(max_workers=10),
        workflow_runner=workflow_runner(),
    )


@pytest.fixture
def acts(k8s_api: Any) -> RunJobActivities:
    def api_client_for(account: str) -> Any:
        if account != "k8s":
            raise LookupError(account)
        return k8s_api

    return RunJobActivities(
        api_client_for, poll_interval=timedelta(milliseconds=50), property_retry=timedelta(milliseconds=50)
    )


@pytest_asyncio.fixture(loop_scope="session")
async def engine(
    client: Client, acts: RunJobActivities, k8s_api: Any, k8s_namespace: str, kubelet: KubeletStandIn
) -> AsyncIterator[Engine]:
    queue = f"runjob-{uuid.uuid4()}"
    async with worker(client, queue, activities_of(acts)):
        yield Engine(client, queue, k8s_api, k8s_namespace, kubelet)


def run_job_stage(namespace: str, name: str = "Run job", **fields: Any) -> dict[str, Any]:
    manifest = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "calc-", "namespace": namespace, "labels": {"app": "calc"}},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}},
        },
    }
    return {
        "refId": "run",
        "name": name,
        "type": "runJobManifest",
        "account": "k8s",
        "cloudProvider": "kubernetes",
        "source": "text",
        "manifest": manifest,
        **fields,
    }


def reader(*variables: tuple[str, str]) -> dict[str, Any]:
    return {
        "refId": "read",
        "requisiteStageRefIds": ["run"],
        "name": "Read",
        "type": "evaluateVariables",
        "variables": [{"key": k, "value": v} for k, v in variables],
    }


async def test_job_properties_feed_a_later_stage(engine: Engine) -> None:
    log = (
        "starting\n"
        "SPINNAKER_PROPERTY_COLOR=blue\n"
        'SPINNAKER_CONFIG_JSON={"version": "1.2.3", "artifacts": [{"type": "docker/image", "reference": "r/a:1"}]}\n'
    )
    execution_id = await engine.start(
        run_job_stage(engine.namespace, propertyFile="main", consumeArtifactSource="propertyFile"),
        reader(
            ("color", "${#stage('Run job')['outputs']['color']}"),
            ("version", "${#stage('Run job')['context']['version']}"),
        ),
    )
    job = await engine.job_created()
    assert job["metadata"]["name"].startswith("calc-") and len(job["metadata"]["name"]) == len("calc-") + 5
    await engine.run_pod(job, log)
    execution = await engine.wait(execution_id)
    assert execution["status"] == "SUCCEEDED", execution
    run = stage_named(execution, "Run job")
    assert [t["name"] for t in run["tasks"]] == ["runJob", "waitOnJobCompletion", "consumeArtifact"]
    assert run["context"]["deploy.jobs"] == {engine.namespace: [f"job {job['metadata']['name']}"]}
    assert run["context"]["jobStatus"]["jobState"] == "Succeeded"
    assert run["outputs"]["propertyFileContents"] == {
        "color": "blue",
        "version": "1.2.3",
        "artifacts": [{"type": "docker/image", "reference": "r/a:1"}],
    }
    assert run["outputs"]["artifacts"] == [{"type": "docker/image", "reference": "r/a:1"}]
    assert stage_named(execution, "Read")["outputs"] == {"color": "blue", "version": "1.2.3"}
    assert len(engine.jobs()) == 1


async def test_a_job_without_its_properties_fails_with_orcas_message(engine: Engine) -> None:
    execution_id = await engine.start(run_job_stage(engine.namespace, propertyFile="main"))
    await engine.run_pod(await engine.job_created(), "no properties here\n")
    execution = await engine.wait(execution_id)
    assert execution["status"] == "TERMINAL"
    errors = stage_named(execution, "Run job")["context"]["exception"]["details"]["errors"]
    assert "Expected properties file main but it was either missing, empty or contained invalid syntax" in errors[0]


async def test_a_failing_job_fails_the_stage_with_its_message(engine: Engine) -> None:
    execution_id = await engine.start(run_job_stage(engine.namespace, propertyFile="main"))
    await engine.run_pod(await engine.job_created(), "boom\n", succeeded=False, exit_code=3)
    execution = await engine.wait(execution_id)
    assert execution["status"] == "TERMINAL"
    run = stage_named(execution, "Run job")
    assert run["status"] == "TERMINAL"
    assert run["context"]["jobStatus"]["jobState"] == "Failed"
    assert run["context"]["completionDetails"]["exitCode"] == "3"
    error = run["context"]["exception"]["details"]["errors"][0]
    assert "BackoffLimitExceeded" in error and "exit code 3" in error


async def test_canceling_deletes_the_job(engine: Engine) -> None:
    execution_id = await engine.start(run_job_stage(engine.namespace))
    job = await engine.job_created()
    await operations.cancel_execution(engine.client, execution_id, user="ops")
    execution = await engine.wait(execution_id)
    assert execution["status"] == "CANCELED"
    assert await asyncio.to_thread(engine.jobs) == []
    assert job["metadata"]["annotations"]["gennaker.io/stage-id"] == stage_named(execution, "Run job")["id"]


async def test_bad_input_names_the_field(engine: Engine) -> None:
    bad = run_job_stage(engine.namespace)
    bad["manifest"] = {**bad["manifest"], "kind": "Deployment"}
    execution = await engine.wait(await engine.start(bad))
    assert execution["status"] == "TERMINAL"
    assert stage_named(execution, "Run job")["context"]["exception"]["details"]["errors"] == [
        "manifest: only kind Job can be run, got 'Deployment'"
    ]
    unknown = await engine.wait(await engine.start(run_job_stage(engine.namespace, account="nope")))
    assert stage_named(unknown, "Run job")["context"]["exception"]["details"]["errors"] == [
        "account: no Kubernetes account named 'nope'"
    ]
    assert engine.jobs() == []


class DyingRun:
    """runJob, except that the first call that created the Job "dies" before reporting."""

    def __init__(self, acts: RunJobActivities) -> None:
        self.acts, self.died = acts, False

    @activity.defn(name=RUN_KUBERNETES_JOB)
    def run_kubernetes_job(self, inp: TaskInput) -> TaskResult:
        result = self.acts.run_kubernetes_job(inp)
        if "deploy.jobs" in result.context and not self.died:
            self.died = True
            raise ApplicationError(
                "the worker died before reporting (simulated)", next_retry_delay=timedelta(milliseconds=50)
            )
        return result


async def test_a_lost_create_result_still_makes_one_job(
    client: Client, acts: RunJobActivities, k8s_api: Any, k8s_namespace: str, kubelet: KubeletStandIn
) -> None:
    dying = DyingRun(acts)
    run_job = [a for a in activities_of(acts) if a.__name__ != RUN_KUBERNETES_JOB] + [dying.run_kubernetes_job]
    queue = f"runjob-dying-{uuid.uuid4()}"
    async with worker(client, queue, run_job):
        engine = Engine(client, queue, k8s_api, k8s_namespace, kubelet)
        execution_id = await engine.start(run_job_stage(k8s_namespace, propertyFile="main"))
        job = await engine.job_created()
        await engine.run_pod(job, "SPINNAKER_PROPERTY_DONE=yes\n")
        execution = await engine.wait(execution_id)
    assert dying.died
    assert execution["status"] == "SUCCEEDED", execution
    assert [j["metadata"]["name"] for j in engine.jobs()] == [job["metadata"]["name"]]
    assert stage_named(execution, "Run job")["outputs"]["done"] == "yes"
