"""worker.py, the composition root: workflows and activities split over task queues, served until stopped."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client

import worker
from core.settings import Settings


@activity.defn
def say(name: str) -> str:  # sync on purpose: the worker must give sync activities a thread pool
    return f"hello {name}"


@activity.defn(name="createBake")
async def create_bake(name: str) -> str:
    return f"baked {name} on {activity.info().task_queue}"


class Holder:
    @activity.defn(name="monitorBake")
    async def monitor_bake(self, name: str) -> str:
        return name


@workflow.defn(sandboxed=False)
class RoutedWorkflow:
    @workflow.run
    async def run(self, input: dict[str, str]) -> list[str]:
        timeout = timedelta(seconds=10)
        said = await workflow.execute_activity("say", "world", result_type=str, start_to_close_timeout=timeout)
        baked = await workflow.execute_activity(
            "createBake", "ami", task_queue=input["bake_queue"], result_type=str, start_to_close_timeout=timeout
        )
        return [said, baked]


def settings(main: str = "main", **queues: str) -> Settings:
    return Settings(task_queue=main, activity_queues=queues)


def test_activity_names() -> None:
    assert worker.activity_name(say) == "say"
    assert worker.activity_name(create_bake) == "createBake"
    assert worker.activity_name(Holder().monitor_bake) == "monitorBake"
    with pytest.raises(ValueError, match="not an @activity.defn"):
        worker.activity_name(print)


def test_plan_routes_activities_to_their_queues() -> None:
    plans = worker.plan_queues(
        settings(createBake="bake", monitorBake="bake", deployAws="aws"),
        [RoutedWorkflow],
        [say, create_bake, Holder().monitor_bake],
    )
    by_queue = {plan.task_queue: plan for plan in plans}
    assert list(by_queue) == ["main", "bake"]  # "aws" has nothing to run here, so no worker for it
    assert by_queue["main"].workflows == [RoutedWorkflow]
    assert [worker.activity_name(fn) for fn in by_queue["main"].activities] == ["say"]
    assert by_queue["bake"].workflows == []
    assert [worker.activity_name(fn) for fn in by_queue["bake"].activities] == ["createBake", "monitorBake"]


def test_plan_restricted_to_named_queues() -> None:
    plans = worker.plan_queues(settings(createBake="bake"), [RoutedWorkflow], [say, create_bake], ["bake"])
    assert [plan.task_queue for plan in plans] == ["bake"]
    with pytest.raises(worker.UnknownQueueError, match="unknown task queue.*typo.*this deployment has main, bake"):
        worker.plan_queues(settings(createBake="bake"), [], [say, create_bake], ["bake", "typo"])


def test_parse_args() -> None:
    assert worker.parse_args([]).queues is None
    assert worker.parse_args(["--queue", "a", "--queue", "b"]).queues == ["a", "b"]


@pytest.mark.temporal
async def test_run_worker_serves_every_queue_until_stopped(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gennaker.worker")
    main, bake = f"main-{uuid.uuid4()}", f"bake-{uuid.uuid4()}"
    stop = asyncio.Event()
    running = asyncio.create_task(
        worker.run_worker(
            settings(main, createBake=bake),
            client,
            stop=stop,
            workflows=[RoutedWorkflow],
            activities=[say, create_bake],
        )
    )
    try:
        result = await client.execute_workflow(
            RoutedWorkflow.run,
            {"bake_queue": bake},
            id=f"routed-{uuid.uuid4()}",
            task_queue=main,
            execution_timeout=timedelta(seconds=30),
        )
        assert result == ["hello world", f"baked ami on {bake}"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert f"worker ready on {main}, {bake}" in caplog.text
    assert "activity_queues key" not in caplog.text
    assert "worker stopped" in caplog.text


@pytest.mark.temporal
async def test_run_worker_idles_when_there_is_nothing_to_run(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    stop.set()
    await worker.run_worker(settings(createBake="bake"), client, stop=stop, workflows=[], activities=[])
    assert "no workflows or activities to run" in caplog.text
    assert "activity_queues key 'createBake' names no activity of this worker" in caplog.text


@pytest.mark.temporal
async def test_run_worker_defaults_to_the_engine_registry(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import activities.all
    import workflows.all

    caplog.set_level(logging.INFO, logger="gennaker.worker")
    seen = []

    def build(settings: object, client: object) -> list[object]:
        seen.append((settings, client))
        return [say]

    monkeypatch.setattr(workflows.all, "WORKFLOWS", [RoutedWorkflow])
    monkeypatch.setattr(activities.all, "build_activities", build)
    stop = asyncio.Event()
    queue = f"defaults-{uuid.uuid4()}"
    running = asyncio.create_task(worker.run_worker(settings(queue), client, stop=stop))
    try:
        for _ in range(200):
            if "worker ready" in caplog.text:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert seen and seen[0][1] is client
    assert f"worker running on task queue {queue}: 1 workflows, 1 activities" in caplog.text
