"""``stageTimeoutMs`` as Orca: synthetic stages honour theirs, expiry runs the stage's cancel path, and a
longer stage timeout extends the tasks Orca lets it extend (judgment, webhook and Jenkins monitors)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType

from tests.conftest import Engine, stage_named
from tests.engine.conftest import Hook
from workflows import operations
from workflows.stages import _REGISTRY, resolve
from workflows.stages.base import JSON, StageDefinition, SyntheticStage, TaskSpec

pytestmark = pytest.mark.temporal

DAY_MS = 86_400_000


class _SlowBefore(StageDefinition):
    """A test stage whose one synthetic stage waits a minute under a one-second timeout of its own."""

    type = "testSlowSynthetic"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return []

    def before_stages(self, context: JSON) -> list[SyntheticStage]:
        return [SyntheticStage(type="wait", name="slow", context={"waitTime": 60, "stageTimeoutMs": 1000})]


@pytest.fixture
def slow_synthetic() -> Iterator[str]:
    _REGISTRY[_SlowBefore.type] = _SlowBefore()
    yield _SlowBefore.type
    _REGISTRY.pop(_SlowBefore.type, None)


async def test_a_synthetic_stage_honours_its_own_timeout(engine: Engine, slow_synthetic: str) -> None:
    config = {"application": "slow", "name": "s", "stages": [{"refId": "1", "type": slow_synthetic, "name": "p"}]}
    execution = await engine.run(config)
    assert execution["status"] == "TERMINAL"
    slow = stage_named(execution, "slow")
    assert slow["status"] == "TERMINAL" and "timed out after 1s" in slow["context"]["exception"]["details"]["error"]
    assert [t["status"] for t in slow["tasks"]] == ["CANCELED"]
    assert slow["endTime"] - slow["startTime"] < 30_000  # not the minute it asked for
    assert stage_named(execution, "p")["status"] == "TERMINAL"


async def test_a_stage_timeout_runs_the_stage_cancel_path(engine: Engine, hook: Hook) -> None:
    webhook = {
        "refId": "1",
        "type": "webhook",
        "name": "hook",
        "url": f"{hook.base}/job",
        "method": "POST",
        "waitForCompletion": True,
        "statusUrlResolution": "getMethod",
        "statusJsonPath": "$.state",
        "successStatuses": "DONE",
        "cancelEndpoint": f"{hook.base}/cancel",
        "cancelMethod": "POST",
        "stageTimeoutMs": 2500,
    }
    execution = await asyncio.wait_for(engine.run({"application": "slow", "name": "t", "stages": [webhook]}), 60)
    assert execution["status"] == "TERMINAL"
    stage = stage_named(execution, "hook")
    assert "Stage timed out" in stage["context"]["exception"]["details"]["error"]
    assert [(t["name"], t["status"]) for t in stage["tasks"]] == [
        ("createWebhook", "SUCCEEDED"),
        ("monitorWebhook", "CANCELED"),
    ]
    assert [c for c in hook.calls if c[1] == "/cancel"] == [("POST", "/cancel")]  # the webhook's cancel endpoint
    # the cancel hook beats while it calls (core/tasks.py): it is scheduled with the heartbeat timeout too
    from core.tasks import SIDE_HEARTBEAT_S
    from workflows.pipeline import stage_workflow_id

    history = engine.client.get_workflow_handle(stage_workflow_id(execution["id"], "1", 0)).fetch_history_events()
    hooks = [
        e.activity_task_scheduled_event_attributes.heartbeat_timeout.ToTimedelta().total_seconds()
        async for e in history
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "cancel_webhook"
    ]
    assert hooks == [SIDE_HEARTBEAT_S]


@pytest.mark.parametrize(
    ("stage_type", "context", "task"),
    [
        ("manualJudgment", {}, "waitForJudgment"),
        (
            "webhook",
            {"url": "http://x", "waitForCompletion": True, "statusUrlResolution": "getMethod"},
            "monitorWebhook",
        ),
        ("jenkins", {"master": "m", "job": "j"}, "monitorJenkinsJob"),
    ],
)
def test_a_longer_stage_timeout_extends_overridable_tasks(stage_type: str, context: dict[str, Any], task: str) -> None:
    specs = {s.name: s for s in resolve(stage_type).tasks(context)}
    spec = specs[task]
    assert spec.timeout is not None
    longer = spec.timeout + timedelta(days=4)
    assert spec.timeout_in({**context, "stageTimeoutMs": longer.total_seconds() * 1000}) == longer
    assert spec.timeout_in({**context, "stageTimeoutMs": 1000}) == spec.timeout  # the stage timeout fires first
    others = [s for s in specs.values() if not s.overridable_timeout and s.timeout is not None]
    for other in others:  # the tasks Orca does not let it extend keep theirs
        assert other.timeout_in({**context, "stageTimeoutMs": 10 * DAY_MS}) == other.timeout


async def test_a_judgment_waits_as_long_as_its_stage_timeout_allows(engine: Engine) -> None:
    judgment = {"refId": "1", "type": "manualJudgment", "name": "mj", "stageTimeoutMs": 5 * DAY_MS}
    execution_id = await engine.start({"application": "slow", "name": "j", "stages": [judgment]})
    running = await engine.wait_until(execution_id, lambda e: bool(e["stages"][0].get("tasks")))
    history = await engine.client.get_workflow_handle(f"{execution_id}.stage-1").fetch_history()
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    # the judgment waits as long as the stage may run (the stage's watch also has a 5-day timer), not 3 days
    assert timedelta(days=5) in timers and timedelta(days=3) not in timers
    await operations.patch_stage(engine.client, execution_id, running["stages"][0]["id"], {"judgmentStatus": "stop"})
    done = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id, store=engine.store), 30)
    assert done["status"] == "TERMINAL"
