"""Worker versioning on the real dev server: an execution started on build A finishes on a build-A worker while
build B is current; new executions start on B; a rollback to A strands nothing started on B."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import VersioningBehavior
from temporalio.service import RPCError, RPCStatusCode

from activities.notification_events import ReadNotificationsResult
from core.messages.events import DELIVER_EVENTS, DeliverEventsInput, DeliverEventsResult
from core.messages.notifications import READ_NOTIFICATIONS, DeliverNotificationsInput
from core.settings import Settings
from gennaker import versioning
from workflows import operations

from .procs import ROOT, Running, clean_env

pytestmark = [pytest.mark.temporal, pytest.mark.slow]


def test_settings_default_to_the_code_build_id_and_refuse_bad_names() -> None:
    settings = Settings()
    assert settings.deployment.build_id == versioning.BUILD_ID
    assert settings.deployment.versioning and settings.deployment.promote == "if-none"
    config = versioning.deployment_config(settings)
    assert config is not None and config.version.build_id == versioning.BUILD_ID
    assert config.default_versioning_behavior == VersioningBehavior.PINNED
    assert versioning.deployment_config(Settings(deployment={"versioning": False})) is None  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="deployment.build_id"):
        Settings(deployment={"build_id": "a b"})  # type: ignore[arg-type]


def start_worker(tmp_path: Path, env: dict[str, str], build: str, promote: str) -> Running:
    return Running(
        [sys.executable, str(ROOT / "worker.py")],
        {**env, "GENNAKER_DEPLOYMENT__BUILD_ID": build, "GENNAKER_DEPLOYMENT__PROMOTE": promote},
        tmp_path,
        name=f"worker {build}",
    )


async def runners(client: Client, task_queue: str, root_id: str) -> list[tuple[datetime, str]]:
    """(time, worker pid) of every workflow and activity task of an execution and its stage workflows."""
    found = []
    async for wf in client.list_workflows(f'TaskQueue="{task_queue}"'):
        if wf.root_id != root_id and wf.id != root_id:
            continue
        async for event in client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history_events():
            for field in ("workflow_task_completed_event_attributes", "activity_task_started_event_attributes"):
                if event.HasField(field):
                    identity = getattr(event, field).identity
                    found.append((event.event_time.ToDatetime(tzinfo=UTC), identity.split("@")[0]))
    return found


async def finished(client: Client, execution_id: str) -> None:
    handle = client.get_workflow_handle(execution_id)
    for _ in range(600):
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            break
        await asyncio.sleep(0.1)
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def pinned_to(client: Client, execution_id: str) -> tuple[str, int]:
    described = await client.get_workflow_handle(execution_id).describe()
    versioning_info = described.raw_description.workflow_execution_info.versioning_info
    return versioning_info.deployment_version.build_id, versioning_info.behavior


async def test_an_execution_started_on_build_a_finishes_on_a_while_b_is_current(client: Client, tmp_path: Path) -> None:
    address = client.service_client.config.target_host
    deployment = f"ops-{uuid.uuid4().hex[:8]}"
    task_queue = f"versioned-{uuid.uuid4().hex[:8]}"
    env = clean_env(
        GENNAKER_TEMPORAL__ADDRESS=address,
        GENNAKER_TASK_QUEUE=task_queue,
        GENNAKER_DEPLOYMENT__NAME=deployment,
        GENNAKER_STATE_DIR=str(tmp_path / "state"),
        GENNAKER_DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}",
    )
    config: dict[str, Any] = {
        "application": "versions",
        "name": "slow",
        "stages": [
            {"refId": "1", "type": "wait", "name": "first", "waitTime": 6},
            {"refId": "2", "type": "wait", "name": "second", "waitTime": 0, "requisiteStageRefIds": ["1"]},
        ],
    }
    worker_a = start_worker(tmp_path, env, "a", "if-none")  # the first install: A becomes current by itself
    worker_b = None
    try:
        await asyncio.to_thread(worker_a.wait_for, f"worker ready on {task_queue}")
        for _ in range(300):
            if await versioning.current_build(client, deployment) == "a":
                break
            await asyncio.sleep(0.1)
        assert await versioning.current_build(client, deployment) == "a", worker_a.output
        worker_b = start_worker(tmp_path, env, "b", "never")  # rolled out beside A, not yet current
        await asyncio.to_thread(worker_b.wait_for, f"worker ready on {task_queue}")
        assert await versioning.current_build(client, deployment) == "a"

        on_a = await operations.start_pipeline(client, config, task_queue=task_queue)
        for _ in range(300):  # pinned once its first workflow task completed on A
            if (await pinned_to(client, on_a))[0] == "a":
                break
            await asyncio.sleep(0.05)
        await versioning.set_current(client, deployment, "b")  # the operator promotes B
        switched = datetime.now(UTC)
        on_b = await operations.start_pipeline(client, config, task_queue=task_queue)
        await finished(client, on_a)
        await finished(client, on_b)

        pid_a, pid_b = str(worker_a.process.pid), str(worker_b.process.pid)
        ran_a = await runners(client, task_queue, on_a)
        assert {pid for _, pid in ran_a} == {pid_a}, (ran_a, pid_a, pid_b)
        assert any(when > switched for when, _ in ran_a), "nothing of the A execution ran after the switch"
        assert {pid for _, pid in await runners(client, task_queue, on_b)} == {pid_b}
        assert await pinned_to(client, on_a) == ("a", VersioningBehavior.PINNED.value)
        assert await pinned_to(client, on_b) == ("b", VersioningBehavior.PINNED.value)

        # Rollback: A is current again; an execution started on B before it still finishes on B.
        on_b_again = await operations.start_pipeline(client, config, task_queue=task_queue)
        for _ in range(300):
            if (await pinned_to(client, on_b_again))[0] == "b":
                break
            await asyncio.sleep(0.05)
        await versioning.set_current(client, deployment, "a")
        assert await versioning.current_build(client, deployment) == "a"
        await finished(client, on_b_again)
        assert {pid for _, pid in await runners(client, task_queue, on_b_again)} == {pid_b}
    finally:
        worker_a.kill()
        if worker_b is not None:
            worker_b.kill()


async def test_a_deployment_that_lost_its_current_build_gets_it_back(client: Client) -> None:
    from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
    from temporalio.worker import Worker

    from workflows.all import WORKFLOWS, workflow_runner

    settings = Settings(
        task_queue=f"promoted-{uuid.uuid4().hex[:8]}",
        deployment={"name": f"ops-{uuid.uuid4().hex[:8]}", "build_id": "c"},  # type: ignore[arg-type]
    )
    deployment = settings.deployment.name
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        deployment_config=versioning.deployment_config(settings),
    )
    async with worker:
        keeping = asyncio.create_task(versioning.keep_promoted(client, settings, every=1.0))
        try:
            for _ in range(300):
                if await versioning.current_build(client, deployment) == "c":
                    break
                await asyncio.sleep(0.1)
            assert await versioning.current_build(client, deployment) == "c"
            for attempt in range(50):  # back to unversioned (the server limits requests per deployment)
                try:
                    await client.workflow_service.set_worker_deployment_current_version(
                        SetWorkerDeploymentCurrentVersionRequest(namespace=client.namespace, deployment_name=deployment)
                    )
                    break
                except RPCError as err:
                    if err.status != RPCStatusCode.RESOURCE_EXHAUSTED or attempt == 49:
                        raise
                    await asyncio.sleep(0.2)
            for _ in range(300):
                if await versioning.current_build(client, deployment) == "c":
                    break
                await asyncio.sleep(0.1)
            assert await versioning.current_build(client, deployment) == "c"
        finally:
            keeping.cancel()


async def _follows_the_current_build(
    client: Client, on: dict[str, Settings], workflow: type, activity_fn: Any, start: Any
) -> tuple[str, Any]:
    """Workers of builds a and b; ``start()`` starts a long-running reader while a is current, then b becomes
    current: the reader's next run (it continues as new every three turns) must start on b. Returns the reader's
    workflow id and its progress there."""
    from temporalio.worker import Worker

    from workflows.all import workflow_runner

    name = on["a"].deployment.name

    def worker(build: str) -> Worker:
        return Worker(
            client,
            task_queue=on[build].task_queue,
            workflows=[workflow],
            activities=[activity_fn],
            workflow_runner=workflow_runner(),
            deployment_config=versioning.deployment_config(on[build]),
        )

    async def pinned_to_build(wid: str, build: str) -> None:
        for _ in range(300):
            if (await pinned_to(client, wid))[0] == build:
                return
            await asyncio.sleep(0.05)
        assert (await pinned_to(client, wid))[0] == build

    async with worker("a"), worker("b"):
        await versioning.set_current(client, name, "a")
        wid = await start()
        await pinned_to_build(wid, "a")  # the current build when it started
        await versioning.set_current(client, name, "b")
        await pinned_to_build(wid, "b")  # its next run starts on the current build
        progress = await client.get_workflow_handle(wid).query("progress")
        await client.get_workflow_handle(wid).terminate("test over")
    return wid, progress


async def test_the_notifications_reader_moves_to_each_new_current_build(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from activities.notification_events import start_notifications
    from core.messages.notifications import workflow_id
    from core.store import Store
    from workflows import notification_delivery

    monkeypatch.setattr(notification_delivery, "TURNS_BEFORE_CONTINUE", 3)  # continue as new after three reads
    deployment = {"name": f"ops-{uuid.uuid4().hex[:8]}"}
    queue = f"reader-{uuid.uuid4().hex[:8]}"
    on = {b: Settings(task_queue=queue, deployment={**deployment, "build_id": b}) for b in ("a", "b")}  # type: ignore[arg-type]
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    wid, progress = await _follows_the_current_build(
        client,
        on,
        notification_delivery.DeliverNotificationsWorkflow,
        idle_read,
        lambda: start_notifications(client, on["a"], store),
    )
    assert wid == workflow_id(queue)
    assert progress["cursor"] >= 3 and progress["versioned"] is True  # the cursor came along
    store.close()


async def test_a_rest_listener_s_delivery_moves_to_each_new_current_build(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without continue-as-new with AUTO_UPGRADE its runs would stay on build a, the build it first ran on."""
    from activities.events import start_deliveries
    from core.messages.events import workflow_id
    from workflows import events

    monkeypatch.setattr(events, "TURNS_BEFORE_CONTINUE", 3)  # continue as new after three deliveries
    deployment = {"name": f"ops-{uuid.uuid4().hex[:8]}"}
    queue = f"listener-{uuid.uuid4().hex[:8]}"
    name = f"hec-{uuid.uuid4().hex[:8]}"
    listeners = {"endpoints": [{"name": name, "url": "http://127.0.0.1:9/x"}]}
    on = {
        b: Settings(task_queue=queue, deployment={**deployment, "build_id": b}, events=listeners)  # type: ignore[arg-type]
        for b in ("a", "b")
    }

    async def start() -> str:
        assert await start_deliveries(client, on["a"]) == [workflow_id(name)]
        return workflow_id(name)

    _, progress = await _follows_the_current_build(client, on, events.DeliverEchoEventsWorkflow, idle_delivery, start)
    assert progress["cursor"] >= 3 and progress["versioned"] is True  # the cursor came along


@activity.defn(name=DELIVER_EVENTS)
async def idle_delivery(req: DeliverEventsInput) -> DeliverEventsResult:
    """A delivery to an endpoint with nothing new to send."""
    await asyncio.sleep(0.2)
    return DeliverEventsResult(cursor=(req.cursor or 0) + 1)


@activity.defn(name=READ_NOTIFICATIONS)
async def idle_read(req: DeliverNotificationsInput) -> ReadNotificationsResult:
    """The reader's read on an outbox with nothing to send."""
    await asyncio.sleep(0.2)
    return ReadNotificationsResult(cursor=(req.cursor or 0) + 1)
