"""The engine's history grows with the work, not with its square; stages carry references, not copies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.conftest import Engine, stage_named
from workflows.messages import RunStageInput

pytestmark = pytest.mark.temporal


def waits(count: int) -> dict[str, Any]:
    stages = [
        {
            "refId": str(i),
            "requisiteStageRefIds": [str(i - 1)] if i else [],
            "type": "wait",
            "name": f"w{i}",
            "waitTime": 0,
        }
        for i in range(count)
    ]
    return {"application": "linear", "name": f"waits-{count}", "stages": stages}


async def history_bytes(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(event.ByteSize() for event in history.events)


async def test_pipeline_history_bytes_per_stage_stay_flat(engine: Engine, client: Client) -> None:
    per_stage = {}
    for count in (10, 200):
        execution = await engine.run(waits(count))
        assert execution["status"] == "SUCCEEDED" and len(execution["stages"]) == count
        assert all(s["status"] == "SUCCEEDED" for s in execution["stages"])
        per_stage[count] = await history_bytes(client, execution["id"]) / count
    print(f"pipeline history bytes per stage: 10 stages {per_stage[10]:.0f}, 200 stages {per_stage[200]:.0f}")
    # with the execution copied into every stage's input, 200 stages cost ~20x per stage what 10 do
    assert per_stage[200] <= per_stage[10] * 1.2


async def first_input(client: Client, workflow_id: str) -> tuple[RunStageInput, bytes]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    payloads = started.workflow_execution_started_event_attributes.input.payloads
    [inp] = await client.data_converter.decode(payloads, [RunStageInput])
    return inp, b"".join(p.SerializeToString() for p in payloads)


async def test_a_stage_input_carries_no_execution_copy(engine: Engine, client: Client) -> None:
    config = {
        "application": "linear",
        "name": "refs",
        "stages": [
            {
                "refId": "1",
                "type": "evaluateVariables",
                "name": "vars",
                "variables": [{"key": "color", "value": "blue-sky-unique"}],
            },
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "middle", "waitTime": 0},
            {
                "refId": "3",
                "requisiteStageRefIds": ["2"],
                "type": "wait",
                "name": "last",
                "waitTime": 0,
                "note": "${color}",
            },
        ],
    }
    execution = await engine.run(config)
    assert execution["status"] == "SUCCEEDED"
    assert stage_named(execution, "last")["context"]["note"] == "blue-sky-unique"  # read from the store's view
    inp, raw = await first_input(client, f"{execution['id']}.stage-3")
    assert inp.execution == {} and inp.ancestor_outputs == []
    assert inp.stage.context["note"] == "${color}" and inp.stage.outputs == {}
    assert b"blue-sky-unique" not in raw  # nothing of the ancestors' outputs
    assert inp.trigger["type"] == "manual" and inp.pipeline_name == "refs"


async def test_expressions_read_stage_execution_ancestors_and_parent(engine: Engine) -> None:
    engine.configs.configs.append(
        {
            "application": "kid",
            "name": "child",
            "id": "linear-child",
            "stages": [
                {
                    "refId": "1",
                    "type": "wait",
                    "name": "cw",
                    "waitTime": 0,
                    "fromParent": "${trigger.parentExecution.stages[0].outputs.color}",
                    "parentName": "${trigger.parentExecution.name}",
                    "parentStatus": "${trigger.parentExecution.status}",
                }
            ],
        }
    )
    config = {
        "application": "linear",
        "name": "reader",
        "stages": [
            {
                "refId": "1",
                "type": "evaluateVariables",
                "name": "vars",
                "variables": [{"key": "color", "value": "teal"}],
            },
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "wait",
                "name": "reads",
                "waitTime": 0,
                "bare": "${color}",
                "byStage": "${#stage('vars')['outputs']['color']}",
                "statusOfVars": "${#stage('vars').status}",
                "name_": "${execution.name}",
                "stageCount": "${execution.stages.size()}",
                "enabledSeen": "yes",
                "stageEnabled": {"type": "expression", "expression": "${color == 'teal'}"},
            },
            {"refId": "3", "requisiteStageRefIds": ["2"], "type": "pipeline", "name": "child", **_child()},
        ],
    }
    execution = await engine.run(config)
    assert execution["status"] == "SUCCEEDED", json.dumps(execution)[:2000]
    reads = stage_named(execution, "reads")
    assert reads["status"] == "SUCCEEDED"  # stageEnabled read the ancestor's output
    ctx = reads["context"]
    assert (ctx["bare"], ctx["byStage"], ctx["statusOfVars"], ctx["name_"]) == ("teal", "teal", "SUCCEEDED", "reader")
    assert ctx["stageCount"] == 3
    child_id = stage_named(execution, "child")["outputs"]["executionId"]
    child = await engine.get(child_id)
    parent_ref = child["trigger"]["parentExecution"]
    assert parent_ref["id"] == execution["id"] and "stages" not in parent_ref  # a reference, not a copy
    cw = child["stages"][0]["context"]
    assert (cw["fromParent"], cw["parentName"], cw["parentStatus"]) == ("teal", "reader", "RUNNING")


def _child() -> dict[str, Any]:
    return {"application": "kid", "pipeline": "linear-child"}
