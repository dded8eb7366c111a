"""Restart is exact: never dropped while the pipeline finishes, settings kept, possible after retention."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from tests.conftest import Engine, stage_named
from workflows import operations
from workflows.messages import RunPipelineInput

pytestmark = pytest.mark.temporal

QUEUES = {"monitor_webhook": "a-queue-this-pipeline-never-uses"}


def two_waits(**extra: Any) -> dict[str, Any]:
    stages = [
        {"refId": "1", "type": "wait", "name": "first", "waitTime": 0},
        {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "second", "waitTime": 0},
    ]
    return {"application": "again", "name": "twice", "stages": stages, **extra}


async def started_with(client: Client, execution_id: str) -> RunPipelineInput:
    async for event in client.get_workflow_handle(execution_id).fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [inp] = await client.data_converter.decode(payloads, [RunPipelineInput])
        return inp  # type: ignore[no-any-return]
    raise AssertionError("no history")


async def finish(engine: Engine, execution_id: str) -> dict[str, Any]:
    return await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id, store=engine.store), 60)


async def gone(client: Client, workflow_id: str) -> None:
    for _ in range(800):  # Temporal deletes asynchronously, slower on a busy machine
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} is still there")


async def test_restart_keeps_the_settings_the_execution_ran_with(engine: Engine, client: Client) -> None:
    execution_id = await engine.start(two_waits(), window_timezone="Europe/Paris", activity_queues=QUEUES)
    done = await finish(engine, execution_id)
    second = stage_named(done, "second")
    await operations.restart_stage(client, execution_id, second["id"], user="ops", task_queue=engine.task_queue)
    again = await finish(engine, execution_id)
    assert again["status"] == "SUCCEEDED" and stage_named(again, "second")["context"]["restartDetails"]["restartedBy"]
    inp = await started_with(client, execution_id)
    assert inp.restart_stage_id == second["id"]
    assert (inp.window_timezone, inp.activity_queues) == ("Europe/Paris", QUEUES)


async def test_restart_after_temporal_forgot_the_execution_reads_the_store(engine: Engine, client: Client) -> None:
    execution_id = await engine.start(two_waits(), window_timezone="Asia/Tokyo", activity_queues=QUEUES)
    done = await finish(engine, execution_id)
    first, second = stage_named(done, "first"), stage_named(done, "second")
    await operations.delete_workflows(client, execution_id)
    await gone(client, execution_id)
    with pytest.raises(operations.ExecutionNotFoundError):  # without the store there is nothing to restart
        await operations.restart_stage(client, execution_id, second["id"], task_queue=engine.task_queue)
    await operations.restart_stage(
        client, execution_id, second["id"], user="ops", task_queue=engine.task_queue, store=engine.store
    )
    again = await finish(engine, execution_id)
    assert again["status"] == "SUCCEEDED"
    restarted = stage_named(again, "second")
    assert restarted["context"]["restartDetails"]["restartedBy"] == "ops" and restarted["startTime"] > second["endTime"]
    assert stage_named(again, "first")["startTime"] == first["startTime"]  # upstream of the restart: untouched
    inp = await started_with(client, execution_id)
    assert (inp.window_timezone, inp.activity_queues) == ("Asia/Tokyo", QUEUES)
    assert inp.resume is not None and inp.resume.pipeline_config["name"] == "twice"


async def test_a_restart_while_the_pipeline_finishes_is_run_not_dropped(
    engine: Engine, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = engine.projection()
    write = store.executions.apply_update
    ending = threading.Event()

    def slow_end(update: dict[str, Any]) -> Any:  # the store takes 3 s to write the end: the workflow is finishing
        header = update.get("execution") or {}
        if header.get("name") == "slow end" and header.get("status") == "SUCCEEDED" and not ending.is_set():
            ending.set()
            time.sleep(3)
        return write(update)

    monkeypatch.setattr(store.executions, "apply_update", slow_end)
    execution_id = await engine.start(two_waits(name="slow end"))
    handle = client.get_workflow_handle(execution_id)
    await asyncio.wait_for(asyncio.to_thread(ending.wait), 30)
    finishing = await engine.wait_until(execution_id, lambda e: stage_named(e, "second")["status"] == "SUCCEEDED")
    second = stage_named(finishing, "second")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # still recording its end
    await operations.restart_stage(client, execution_id, second["id"], user="late", task_queue=engine.task_queue)
    again = await finish(engine, execution_id)
    assert again["status"] == "SUCCEEDED"
    assert stage_named(again, "second")["context"]["restartDetails"]["restartedBy"] == "late"
    assert (await started_with(client, execution_id)).restart_stage_id == second["id"]
