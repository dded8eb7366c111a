"""The worker's activity interceptor on a real worker: a retried activity counts in task retries, a cloud
operation's final answer counts by provider and result (a RUNNING poll does not; an error does), and a bake's
final status observes its duration from the stage's start."""

from __future__ import annotations

import contextlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from core.observability import metrics
from core.observability.worker import ObservabilityInterceptor
from core.status import ExecutionStatus
from core.tasks import TaskInput, TaskResult


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@activity.defn(name="server_group_resize")
def resize(task: TaskInput) -> TaskResult:
    if activity.info().attempt == 1:
        raise RuntimeError("the cloud hiccuped")  # retried by Temporal
    return TaskResult.succeeded()


@activity.defn(name="server_group_destroy")
def destroy(task: TaskInput) -> TaskResult:
    raise ApplicationError("no such group", non_retryable=True)


@activity.defn(name="monitor_bake")
def monitor(task: TaskInput) -> TaskResult:
    if task.poll == 0:
        return TaskResult.running()
    return TaskResult(ExecutionStatus.SUCCEEDED)


@workflow.defn(name="ObservedTasks")
class ObservedTasks:
    @workflow.run
    async def run(self, task: TaskInput) -> None:
        quick = RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=3)
        timeout = timedelta(seconds=20)
        await workflow.execute_activity(resize, task, start_to_close_timeout=timeout, retry_policy=quick)
        with contextlib.suppress(ActivityError):  # the failure is what is counted
            await workflow.execute_activity(destroy, task, start_to_close_timeout=timeout, retry_policy=quick)
        bake = replace(task, context={"cloudProviderType": "gce"}, stage_type="bake")
        await workflow.execute_activity(monitor, bake, start_to_close_timeout=timeout, retry_policy=quick)
        await workflow.execute_activity(
            monitor, replace(bake, poll=1), start_to_close_timeout=timeout, retry_policy=quick
        )


async def test_retries_cloud_operations_and_bakes_are_counted(client: Client) -> None:
    before = {
        "retries": sample("gennaker_task_retries_total", task="server_group_resize"),
        "resized": sample(
            "gennaker_deploy_operations_total", provider="gce", operation="server_group_resize", result="succeeded"
        ),
        "destroyed": sample(
            "gennaker_deploy_operations_total", provider="gce", operation="server_group_destroy", result="error"
        ),
        "bakes": sample("gennaker_bake_duration_seconds_count", provider="gce", result="succeeded"),
    }
    queue = f"tasks-{uuid.uuid4()}"
    task = TaskInput(
        execution_id="01TASKS",
        application="taskapp",
        stage_id="01STAGE",
        stage_ref_id="1",
        stage_type="resizeServerGroup",
        task_name="resize",
        context={"cloudProvider": "gce"},
        stage_start_time_ms=int(time.time() * 1000) - 3_000,
        task_start_time_ms=0,
    )
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ObservedTasks],
        activities=[resize, destroy, monitor],
        activity_executor=ThreadPoolExecutor(max_workers=2),
        workflow_runner=UnsandboxedWorkflowRunner(),
        interceptors=[ObservabilityInterceptor()],
    ):
        await client.execute_workflow(ObservedTasks.run, task, id=f"tasks-{uuid.uuid4()}", task_queue=queue)

    assert sample("gennaker_task_retries_total", task="server_group_resize") == before["retries"] + 1
    resized = sample(
        "gennaker_deploy_operations_total", provider="gce", operation="server_group_resize", result="succeeded"
    )
    assert resized == before["resized"] + 1
    destroyed = sample(
        "gennaker_deploy_operations_total", provider="gce", operation="server_group_destroy", result="error"
    )
    assert destroyed == before["destroyed"] + 1
    assert sample("gennaker_bake_duration_seconds_count", provider="gce", result="succeeded") == before["bakes"] + 1
    assert sample("gennaker_bake_duration_seconds_sum", provider="gce", result="succeeded") >= 3.0
