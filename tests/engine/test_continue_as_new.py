"""Long-lived loops keep their histories bounded: the pipeline and a polling stage continue as new
(the operator's controls keep working across it), and judgment reminders live in their own workflow."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from core.ids import new_ulid
from tests.conftest import Engine, stage_named
from tests.engine.conftest import Hook
from workflows import operations
from workflows.launch import WORKFLOW_TYPE, pipeline_start
from workflows.stages import _REGISTRY, resolve
from workflows.stages.base import JSON, StageDefinition, SyntheticStage, TaskSpec

pytestmark = pytest.mark.temporal


async def start_limited(engine: Engine, config: dict[str, Any], events: int) -> str:
    """Start a pipeline whose workflows continue as new after ``events`` history events."""
    execution_id = new_ulid()
    start = pipeline_start(execution_id, config)
    start.input.continue_after_events = events
    await engine.client.start_workflow(
        WORKFLOW_TYPE,
        start.input,
        id=execution_id,
        task_queue=engine.task_queue,
        search_attributes=start.search_attributes,
    )
    return execution_id


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.1)


async def continued(client: Client, workflow_id: str) -> bool:
    """Is the workflow's current run a continuation of an earlier one?"""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return bool(history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id)


async def events_of(client: Client, workflow_id: str, kind: int) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(1 for e in history.events if e.event_type == kind)


def chain(*stages: dict[str, Any]) -> dict[str, Any]:
    linked = [{"refId": str(i), "requisiteStageRefIds": [str(i - 1)] if i else [], **s} for i, s in enumerate(stages)]
    return {"application": "loops", "name": "chain", "stages": linked}


def wait(name: str, seconds: int = 0) -> dict[str, Any]:
    return {"type": "wait", "name": name, "waitTime": seconds}


async def test_pipeline_continues_as_new_and_keeps_answering(engine: Engine, client: Client) -> None:
    config = chain(*(wait(f"w{i}") for i in range(6)), {"type": "manualJudgment", "name": "mj"}, wait("after"))
    execution_id = await start_limited(engine, config, 30)
    running = await engine.wait_until(execution_id, lambda e: bool(stage_named(e, "mj").get("tasks")))
    assert await continued(client, execution_id)
    assert [s["status"] for s in running["stages"][:6]] == ["SUCCEEDED"] * 6  # carried over, and in the store

    await operations.pause_execution(client, execution_id, user="ops")
    await engine.wait_until(execution_id, lambda e: e["status"] == "PAUSED" and e["paused"]["pausedBy"] == "ops")
    await operations.resume_execution(client, execution_id, user="ops")
    await engine.wait_until(execution_id, lambda e: e["status"] == "RUNNING" and e["paused"].get("resumedBy"))
    judged = await operations.patch_stage(
        client, execution_id, stage_named(running, "mj")["id"], {"judgmentStatus": "continue"}, user="lead"
    )
    assert judged["context"]["judgmentStatus"] == "continue"
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id, store=engine.store), 60)
    assert done["status"] == "SUCCEEDED"
    assert [s["status"] for s in done["stages"]] == ["SUCCEEDED"] * 8
    assert stage_named(done, "mj")["context"]["lastModifiedBy"] == "lead"
    assert (await events_of(client, execution_id, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)) == 1


async def test_a_continued_pipeline_can_be_canceled(engine: Engine, client: Client) -> None:
    execution_id = await start_limited(engine, chain(*(wait(f"w{i}") for i in range(5)), wait("long", 600)), 30)
    await engine.wait_until(execution_id, lambda e: stage_named(e, "long")["status"] == "RUNNING")
    assert await continued(client, execution_id)
    await operations.cancel_execution(client, execution_id, user="ops", reason="enough")
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id, store=engine.store), 30)
    assert done["status"] == "CANCELED" and done["canceledBy"] == "ops" and done["cancellationReason"] == "enough"
    assert stage_named(done, "long")["status"] == "CANCELED"


async def test_a_polling_stage_continues_as_new_and_takes_signals_after(
    engine: Engine, client: Client, hook: Hook
) -> None:
    webhook = {
        "type": "webhook",
        "name": "hook",
        "url": f"{hook.base}/job",
        "method": "POST",
        "waitForCompletion": True,
        "statusUrlResolution": "getMethod",
        "statusJsonPath": "$.state",
        "successStatuses": "DONE",
    }
    execution_id = await start_limited(engine, chain(webhook, wait("after")), 30)
    stage_workflow = f"{execution_id}.stage-0"
    await eventually(lambda: _exists_and(client, stage_workflow, continued))
    await operations.pause_execution(client, execution_id, user="ops")
    await engine.wait_until(execution_id, lambda e: stage_named(e, "hook")["status"] == "PAUSED")
    await operations.resume_execution(client, execution_id, user="ops")
    await engine.wait_until(execution_id, lambda e: stage_named(e, "hook")["status"] == "RUNNING")
    hook.state = "DONE"
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id, store=engine.store), 60)
    assert done["status"] == "SUCCEEDED"
    stage = stage_named(done, "hook")
    assert [(t["name"], t["status"]) for t in stage["tasks"]] == [
        ("createWebhook", "SUCCEEDED"),
        ("monitorWebhook", "SUCCEEDED"),
    ]
    assert [c for c in hook.calls if c[0] == "POST"] == [("POST", "/job")]  # created once, across runs
    assert stage["context"]["webhook"]["monitor"]["body"]["state"] == "DONE"


async def _exists_and(client: Client, workflow_id: str, check: Callable[[Client, str], Awaitable[bool]]) -> bool:
    from temporalio.service import RPCError

    try:
        return await check(client, workflow_id)
    except RPCError:
        return False


async def test_judgment_reminders_run_in_their_own_workflow(engine: Engine, client: Client, hook: Hook) -> None:
    entry = {"type": "webhook", "address": f"{hook.base}/notify", "when": ["manualJudgment"], "notifyEveryMs": 2000}
    config = chain({"type": "manualJudgment", "name": "mj", "notifications": [entry]})
    await engine.start_notifications()  # the first one comes from the judgment's start event
    execution_id = await engine.start(config)
    running = await engine.wait_until(execution_id, lambda e: bool(e["stages"][0].get("tasks")))

    async def reminded() -> bool:
        return sum(1 for c in hook.calls if c == ("POST", "/notify")) >= 3  # the first one and two reminders

    await eventually(reminded, timeout=20)
    reminders = f"{execution_id}.stage-0.reminders"
    assert await events_of(client, reminders, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) >= 2
    assert await events_of(client, execution_id, EventType.EVENT_TYPE_TIMER_STARTED) == 0
    stage_workflow = f"{execution_id}.stage-0"
    assert await events_of(client, stage_workflow, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 0
    await operations.patch_stage(client, execution_id, running["stages"][0]["id"], {"judgmentStatus": "continue"})
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id, store=engine.store), 30)
    assert done["status"] == "SUCCEEDED"

    async def stopped() -> bool:
        return (await client.get_workflow_handle(reminders).describe()).status != WorkflowExecutionStatus.RUNNING

    await eventually(stopped)


class _HookAround(StageDefinition):
    """A test stage whose webhook runs as a synthetic stage before it, then a wait of its own."""

    type = "testHookAround"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return resolve("wait").tasks({"waitTime": 0})

    def before_stages(self, context: JSON) -> list[SyntheticStage]:
        return [SyntheticStage(type="webhook", name="inner hook", context=dict(context["hook"]))]

    def after_stages(self, context: JSON) -> list[SyntheticStage]:
        return [SyntheticStage(type="wait", name="after inner", context={"waitTime": 0}, owner="STAGE_AFTER")]


@pytest.fixture
def hook_around() -> Iterator[str]:
    _REGISTRY[_HookAround.type] = _HookAround()
    yield _HookAround.type
    _REGISTRY.pop(_HookAround.type, None)


async def test_a_synthetic_stage_polling_continues_as_new(
    engine: Engine, client: Client, hook: Hook, hook_around: str
) -> None:
    inner = {
        "url": f"{hook.base}/job",
        "method": "POST",
        "waitForCompletion": True,
        "statusUrlResolution": "getMethod",
        "statusJsonPath": "$.state",
        "successStatuses": "DONE",
    }
    execution_id = await start_limited(engine, chain({"type": hook_around, "name": "outer", "hook": inner}), 30)
    stage_workflow = f"{execution_id}.stage-0"
    await eventually(lambda: _exists_and(client, stage_workflow, continued))
    await operations.pause_execution(client, execution_id, user="ops")
    await engine.wait_until(execution_id, lambda e: stage_named(e, "inner hook")["status"] == "PAUSED")
    await operations.resume_execution(client, execution_id, user="ops")
    await engine.wait_until(execution_id, lambda e: stage_named(e, "inner hook")["status"] == "RUNNING")
    hook.state = "DONE"
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id, store=engine.store), 60)
    assert done["status"] == "SUCCEEDED", done
    assert [(s["name"], s["refId"], s["status"]) for s in done["stages"]] == [
        ("outer", "0", "SUCCEEDED"),
        ("inner hook", "0<1", "SUCCEEDED"),
        ("after inner", "0>1", "SUCCEEDED"),
    ]
    assert [c for c in hook.calls if c[0] == "POST"] == [("POST", "/job")]  # created once, across runs
    assert [t["status"] for t in stage_named(done, "inner hook")["tasks"]] == ["SUCCEEDED", "SUCCEEDED"]
