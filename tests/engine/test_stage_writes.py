"""Who writes a stage's rows: the pipeline its RUNNING row as the child starts, the stage its progress.

The stage's first workflow task holds no store write (that write would hold back its first task). A short stage
hands its end row to the pipeline in its result, which writes it with the next stage's start (or at once, when the
next stage could read the store as it starts); a longer one writes its progress after
``projection.FIRST_WRITE_AFTER``, and then its end itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from core.status import ExecutionStatus as S
from tests.conftest import Engine, stage_named
from workflows import operations, projection
from workflows.execution import StageState, TaskState
from workflows.pipeline import stage_workflow_id, starts_without_store
from workflows.stages import resolve

pytestmark = pytest.mark.temporal


def wait_stage(ref: str, seconds: int, after: list[str] | None = None) -> dict[str, Any]:
    return {"refId": ref, "requisiteStageRefIds": after or [], "type": "wait", "name": ref, "waitTime": seconds}


async def store_writes(client: Client, workflow_id: str) -> int:
    """How many local activities (store writes and reads) a workflow ran: their markers in its history."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED)


async def test_a_short_stage_hands_its_end_row_to_the_pipeline(engine: Engine, client: Client) -> None:
    execution = await engine.run(
        {"application": "writes", "name": "short", "stages": [wait_stage("a", 0), wait_stage("b", 0, ["a"])]}
    )
    assert execution["status"] == "SUCCEEDED"
    for ref in ("a", "b"):  # the pipeline wrote each stage's start and end
        assert await store_writes(client, stage_workflow_id(execution["id"], ref, 0)) == 0
    stored = engine.projection().executions.get(execution["id"])
    assert [(s["refId"], s["status"], [t["status"] for t in s["tasks"]]) for s in stored["stages"]] == [
        ("a", "SUCCEEDED", ["SUCCEEDED"]),
        ("b", "SUCCEEDED", ["SUCCEEDED"]),
    ]
    a = stage_named(stored, "a")
    assert a["context"]["waitTime"] == 0 and a["tasks"][0]["startTime"] and a["endTime"] >= a["startTime"]
    # first record (RUNNING already), a's start, a's end with b's start, b's end, the end: one write per stage
    assert await store_writes(client, execution["id"]) == 5
    assert stored["startTime"] and stored["status"] == "SUCCEEDED"


async def write_and_start_order(client: Client, execution_id: str, ref: str) -> list[str]:
    """The pipeline's history from stage ``ref``'s start on, reduced to store writes and child workflow events."""
    history = await client.get_workflow_handle(execution_id).fetch_history()
    child = stage_workflow_id(execution_id, ref, 0)
    kinds: list[str] = []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            if e.start_child_workflow_execution_initiated_event_attributes.workflow_id == child:
                kinds.append("start")
        elif e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            if e.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id == child:
                kinds.append("started")
        elif e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and kinds:
            kinds.append("write")
    return kinds


async def test_the_end_row_rides_with_the_next_start_unless_the_next_stage_reads_the_store(
    engine: Engine, client: Client
) -> None:
    # b evaluates an expression reading a's row: a's end row is in the store before b starts
    reads = {"variables": [{"key": "y", "value": "${#stage('a')['status']}"}]}
    execution = await engine.run(
        {
            "application": "writes",
            "name": "reads",
            "stages": [
                wait_stage("a", 0),
                {"refId": "b", "requisiteStageRefIds": ["a"], "type": "evaluateVariables", "name": "b", **reads},
                wait_stage("c", 0, ["b"]),
            ],
        }
    )
    assert execution["status"] == "SUCCEEDED"
    stored = engine.projection().executions.get(execution["id"])
    assert stage_named(stored, "b")["outputs"] == {"y": "SUCCEEDED"}  # b handed back its outputs too
    for ref in ("a", "b", "c"):
        assert await store_writes(client, stage_workflow_id(execution["id"], ref, 0)) == (ref == "b")  # b's read
    # a's end is written in the workflow task that starts b (its commands leave once the write landed: the marker
    # sorts after the start in history); b's end in a later one, after c's child started (c reads nothing)
    assert (await write_and_start_order(client, execution["id"], "b"))[:3] == ["start", "write", "started"]
    assert (await write_and_start_order(client, execution["id"], "c"))[:3] == ["start", "started", "write"]


def test_which_stages_start_without_reading_the_store() -> None:
    def stage(type_: str, **context: Any) -> StageState:
        return StageState(id="s", ref_id="1", type=type_, name="s", context={"type": type_, **context})

    assert starts_without_store(stage("wait", waitTime=3))
    assert not starts_without_store(stage("wait", waitTime="${trigger.parameters.t}"))
    assert not starts_without_store(stage("wait", waitTime=3, stageEnabled={"expression": "true", "type": "e"}))
    assert not starts_without_store(stage("evaluateVariables", variables=[{"key": "k", "value": 1}]))
    assert not starts_without_store(stage("pipeline", application="app", pipeline="p"))
    assert not starts_without_store(stage("noSuchStageType"))


def test_an_end_row_handed_back_is_the_row_the_stage_would_write() -> None:
    start = {"type": "wait", "waitTime": 1, "gone": True, "refId": "1"}
    stage = StageState(
        id="s",
        ref_id="1",
        type="wait",
        name="w",
        context={"type": "wait", "waitTime": 2, "refId": "1", "added": {"k": [1]}},
        status=S.SUCCEEDED,
        outputs={"o": 1},
        start_time=10,
        end_time=20,
        tasks=[TaskState("1", "wait", "W", status=S.SUCCEEDED, start_time=11, end_time=19)],
        last_modified={"user": "u"},
    )
    delta = projection.end_row_delta(start, stage)
    assert delta["removed"] == ["gone"] and set(delta["context"]) == {"waitTime", "added"}
    row = projection.end_row(start, projection.compact_stage(stage), delta, 300, 77)
    assert row == {"seq": 300, "stage": stage.to_json(), "version": 77}
    # a stage that changed nothing but its tasks hands back only them (the delta goes into two histories)
    plain = StageState(id="p", ref_id="2", type="wait", name="p", context=dict(start), status=S.SUCCEEDED, tasks=[])
    plain.tasks = list(stage.tasks)
    assert set(projection.end_row_delta(start, plain)) == {"tasks"}
    assert projection.end_row(start, plain, projection.end_row_delta(start, plain), 0, 1)["stage"] == plain.to_json()
    # tasks as the definition plans them travel as statuses and times only
    [spec] = resolve("wait").tasks(start)
    plain.tasks = [TaskState("1", spec.name, spec.implementing_class, S.SUCCEEDED, 5, 6, True, True)]
    delta = projection.end_row_delta(start, plain)
    assert delta["tasks"] == [["SUCCEEDED", 5, 6]]
    assert projection.end_row(start, plain, delta, 0, 1)["stage"] == plain.to_json()


async def test_a_longer_stage_shows_running_then_its_tasks_then_its_end(engine: Engine) -> None:
    execution_id = await engine.start({"application": "writes", "name": "long", "stages": [wait_stage("w", 4)]})
    store = engine.projection()

    async def stored_stage(check: Any) -> dict[str, Any]:
        for _ in range(400):
            try:
                stage = stage_named(store.executions.get(execution_id), "w")
            except Exception:  # noqa: BLE001 - not in the store yet
                stage = {}
            if stage and check(stage):
                return stage
            await asyncio.sleep(0.02)
        raise AssertionError(f"stage never reached the state; last: {stage}")

    # the pipeline's row: RUNNING with its start time, before the stage workflow wrote anything
    running = await stored_stage(lambda s: s["status"] == "RUNNING")
    assert running["startTime"] > 0
    # the stage's own row, within FIRST_WRITE_AFTER of its start: its task RUNNING
    progress = await stored_stage(lambda s: [t["status"] for t in s.get("tasks") or []] == ["RUNNING"])
    assert progress["status"] == "RUNNING" and progress["startTime"] >= running["startTime"]
    finished = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id, store=store), 30)
    assert finished["status"] == "SUCCEEDED"
    assert stage_named(store.executions.get(execution_id), "w")["tasks"][0]["status"] == "SUCCEEDED"


def test_a_stage_end_is_never_replaced_by_its_own_later_written_start() -> None:
    """A short stage can end (its end row handed to the pipeline) before the pipeline wrote its start row (the start
    write waited on a worker restart): the batch written keeps the end, the later version, for that stage."""
    from workflows.projection import latest_rows

    start = {"id": "s6", "status": "RUNNING", "version": 10}
    end = {"id": "s6", "status": "SUCCEEDED", "version": 12}
    other = {"id": "s7", "status": "RUNNING", "version": 13}
    assert latest_rows({"s6": end}, {"s6": start, "s7": other}) == {"s6": end, "s7": other}
    restarted = {"id": "s6", "status": "RUNNING", "version": 15}  # a restart's new start is later than an old end
    assert latest_rows({"s6": end}, {"s6": restarted}) == {"s6": restarted}
