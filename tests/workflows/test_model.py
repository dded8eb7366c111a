"""Pipeline config parsing, the stage graph and the status rules: pure tables, no server."""

from __future__ import annotations

import json

import pytest

from core.ids import is_ulid, new_ulid, ulid
from core.status import COMPLETED, pipeline_trigger_status
from core.status import ExecutionStatus as S
from tests.conftest import FIXTURES
from workflows.config import PipelineConfig
from workflows.errors import InvalidPipelineError, UnknownStageTypeError
from workflows.execution import ExecutionState, StageState, TaskState
from workflows.graph import StageGraph
from workflows.rules import pipeline_status
from workflows.stages import known_types, resolve

CONFIG_FILES = sorted((FIXTURES / "deck").glob("*pipelineConfigs.json")) + sorted(
    (FIXTURES / "deck").glob("*Simple_Wait_Pipeline.json")
)


def _pipelines(path):
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else [data]


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_every_fixture_config_round_trips_unchanged(path):
    for raw in _pipelines(path):
        original = json.loads(json.dumps(raw))
        config = PipelineConfig.parse(raw)
        assert config.to_json() == original
        assert json.loads(json.dumps(config.to_json())) == original
        StageGraph.build(config.stages)  # and their graphs are valid


def test_fixture_files_exist():
    assert len(CONFIG_FILES) >= 4


def test_unknown_keys_at_every_level_round_trip():
    raw = {
        "application": "a",
        "name": "p",
        "futureTopLevel": {"x": [1, 2]},
        "triggers": [{"type": "cron", "enabled": True, "pluginField": 7}],
        "notifications": [{"type": "slack", "when": ["pipeline.failed"], "extra": True}],
        "stages": [{"refId": 1, "requisiteStageRefIds": [], "type": "wait", "waitTime": 1, "pluginKey": "v"}],
    }
    config = PipelineConfig.parse(json.loads(json.dumps(raw)))
    assert config.to_json() == raw
    assert config.stages[0].ref_id == "1"  # numbers are seen as strings ...
    assert config.to_json()["stages"][0]["refId"] == 1  # ... and echoed as written


@pytest.mark.parametrize(
    "raw, field",
    [
        ([], None),
        ({"stages": {}}, "stages"),
        ({"stages": ["wait"]}, "stages[0]"),
        ({"stages": [{"name": "x"}]}, "stages[0].type"),
        ({"stages": [{"type": "wait", "refId": [1]}]}, "stages[0].refId"),
        ({"stages": [{"type": "wait", "refId": "1", "requisiteStageRefIds": "0"}]}, "stages[0].requisiteStageRefIds"),
        (
            {"stages": [{"type": "wait", "refId": "1", "requisiteStageRefIds": [None]}]},
            "stages[0].requisiteStageRefIds[0]",
        ),
        ({"stages": [{"type": "wait", "failPipeline": "maybe"}]}, "stages[0].failPipeline"),
        ({"stages": [{"type": "wait", "stageTimeoutMs": "soon"}]}, "stages[0].stageTimeoutMs"),
        ({"stages": [{"type": "wait", "stageEnabled": "true"}]}, "stages[0].stageEnabled"),
        ({"triggers": {}}, "triggers"),
        ({"limitConcurrent": "yes"}, "limitConcurrent"),
        ({"maxConcurrentExecutions": -1}, "maxConcurrentExecutions"),
        ({"application": 5}, "application"),
    ],
)
def test_bad_configs_name_the_field(raw, field):
    with pytest.raises(InvalidPipelineError) as err:
        PipelineConfig.parse(raw)
    assert err.value.field == field
    if field:
        assert field in str(err.value)


def _graph(*stages):
    return StageGraph.build(PipelineConfig.parse({"stages": list(stages)}).stages)


def test_no_refids_is_a_straight_line():
    g = _graph({"type": "wait"}, {"type": "wait"}, {"type": "wait"})
    assert g.order == ["0", "1", "2"]
    assert g.nodes["2"].requisites == ("1",)
    assert g.roots() == ["0"]


def test_fan_out_and_join():
    g = _graph(
        {"refId": "1", "type": "wait"},
        {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait"},
        {"refId": "3", "requisiteStageRefIds": [1], "type": "wait"},
        {"refId": "4", "requisiteStageRefIds": ["2", "3"], "type": "wait"},
    )
    assert g.ready({}) == ["1"]
    assert g.ready({"1": S.SUCCEEDED}) == ["2", "3"]
    assert g.ready({"1": S.SUCCEEDED, "2": S.SUCCEEDED, "3": S.RUNNING}) == []
    assert g.ready({"1": S.SUCCEEDED, "2": S.SKIPPED, "3": S.FAILED_CONTINUE}) == ["4"]
    assert g.ready({"1": S.SUCCEEDED, "2": S.STOPPED, "3": S.SUCCEEDED}) == []
    assert g.downstream(["2"]) == ["2", "4"]
    assert g.upstream("4") == ["2", "3", "1"]
    assert g.blocked({"1": S.SUCCEEDED, "2": S.STOPPED}) == {"4"}


@pytest.mark.parametrize(
    "stages, field, text",
    [
        ([{"refId": "1", "type": "wait"}, {"refId": "1", "type": "wait"}], "stages[1].refId", "duplicates"),
        ([{"refId": "1", "type": "wait", "requisiteStageRefIds": ["9"]}], "stages[0].requisiteStageRefIds[0]", "'9'"),
        (
            [{"refId": "1", "type": "wait", "requisiteStageRefIds": ["1"]}],
            "stages[0].requisiteStageRefIds[0]",
            "itself",
        ),
        (
            [
                {"refId": "1", "type": "wait", "requisiteStageRefIds": ["2"]},
                {"refId": "2", "type": "wait", "requisiteStageRefIds": ["1"]},
            ],
            "stages[0].requisiteStageRefIds",
            "cycle",
        ),
        ([{"refId": "1", "type": "wait"}, {"type": "wait", "name": "lost"}], "stages[1].refId", "missing"),
    ],
)
def test_graph_errors_name_the_stage_and_field(stages, field, text):
    with pytest.raises(InvalidPipelineError) as err:
        _graph(*stages)
    assert err.value.field == field
    assert text in str(err.value)
    assert err.value.stage


def test_registry_keys_are_pinned():
    assert known_types() == [
        "bake",
        "checkPreconditions",
        "cloneServerGroup",
        "createServerGroup",
        "deleteAsgScheduledActions",
        "deleteLoadBalancer",
        "deleteManifest",
        "deleteScalingPolicy",
        "deleteSecurityGroup",
        "deploy",
        "deployCanaryServerGroups",
        "deployManifest",
        "destroyServerGroup",
        "disableCluster",
        "disableServerGroup",
        "enableServerGroup",
        "evaluateVariables",
        "findAmi",
        "findImage",
        "findImageFromTags",
        "getCiProperties",
        "getProperties",
        "github-actions",
        "gitlab-ci",
        "jenkins",
        "kayentaCanary",
        "manualJudgment",
        "patchManifest",
        "pinServerGroup",
        "pipeline",
        "resizeServerGroup",
        "restrictExecutionDuringTimeWindow",
        "rollbackCluster",
        "rollbackServerGroup",
        "runCanary",
        "runJobManifest",
        "scaleDownCluster",
        "scaleManifest",
        "script",
        "shrinkCluster",
        "terraform",
        "travis",
        "undoRolloutManifest",
        "updateLaunchTemplate",
        "upsertAsgScheduledActions",
        "upsertImageTags",
        "upsertLoadBalancer",
        "upsertScalingPolicy",
        "upsertSecurityGroup",
        "wait",
        "webhook",
    ]


def test_unknown_stage_type_lists_known_types():
    with pytest.raises(UnknownStageTypeError) as err:
        resolve("deployToMars", stage="#0 'x'")
    assert "deployToMars" in str(err.value) and "manualJudgment" in str(err.value)


def test_alias_is_used_when_type_is_unknown():
    assert resolve("runFancyWait", "wait").type == "wait"


def test_statuses_have_orcas_meaning():
    assert len(S) == 12
    assert {S.CANCELED, S.SUCCEEDED, S.STOPPED, S.SKIPPED, S.TERMINAL, S.FAILED_CONTINUE} == COMPLETED
    assert [s.value for s in S if s.is_halt] == ["TERMINAL", "CANCELED", "STOPPED"]
    assert S.SKIPPED.is_successful and S.STOPPED.is_failure and not S.RUNNING.is_complete
    assert f"{S.SUCCEEDED}" == "SUCCEEDED" and S.SUCCEEDED == "SUCCEEDED"
    assert [pipeline_trigger_status(s) for s in (S.CANCELED, S.SUSPENDED, S.SUCCEEDED, S.TERMINAL)] == [
        "canceled",
        "suspended",
        "successful",
        "failed",
    ]


def _stage(status, **ctx):
    return StageState("id", "1", "wait", "w", dict(ctx), status=status)


@pytest.mark.parametrize(
    "statuses, ctx, expected",
    [
        ([S.SUCCEEDED, S.SKIPPED, S.FAILED_CONTINUE], {}, S.SUCCEEDED),
        ([S.SUCCEEDED, S.TERMINAL, S.CANCELED], {}, S.TERMINAL),
        ([S.SUCCEEDED, S.CANCELED], {}, S.CANCELED),
        ([S.SUCCEEDED, S.STOPPED, S.NOT_STARTED], {}, S.SUCCEEDED),
        ([S.SUCCEEDED, S.STOPPED], {"completeOtherBranchesThenFail": True}, S.TERMINAL),
    ],
)
def test_pipeline_final_status(statuses, ctx, expected):
    stages = [_stage(s, **(ctx if s == S.STOPPED else {})) for s in statuses]
    assert pipeline_status(stages) == expected


@pytest.mark.parametrize(
    "ctx, expected",
    [
        ({}, S.TERMINAL),
        ({"failPipeline": True}, S.TERMINAL),
        ({"failPipeline": False}, S.STOPPED),
        ({"failPipeline": False, "completeOtherBranchesThenFail": True}, S.STOPPED),
        ({"failPipeline": False, "continuePipeline": True}, S.FAILED_CONTINUE),
        ({"continuePipeline": "true"}, S.FAILED_CONTINUE),
    ],
)
def test_failure_matrix(ctx, expected):
    assert _stage(S.RUNNING, **ctx).failure_status() == expected


def test_execution_json_is_gates_shape():
    ex = ExecutionState(
        "01D4NH3V9D1RK8GX4036M8BAXV",
        "PIPELINE",
        "compute",
        "Simple Wait Pipeline",
        status=S.RUNNING,
        build_time=1,
        start_time=2,
        pipeline_config_id="cfg",
        trigger={"type": "manual"},
        authentication={"user": "anonymous", "allowedAccounts": []},
    )
    ex.stages.append(
        StageState(
            "s1",
            "1",
            "wait",
            "Wait",
            {"waitTime": 5, "group": "g"},
            status=S.RUNNING,
            start_time=3,
            tasks=[TaskState("1", "wait", "x", S.RUNNING, 3)],
        )
    )
    body = ex.to_json()
    assert body["type"] == "PIPELINE" and body["status"] == "RUNNING" and body["canceled"] is False
    assert "endTime" not in body and "description" not in body  # nulls omitted
    stage = body["stages"][0]
    assert stage["context"] == {"waitTime": 5, "group": "g"} and stage["tasks"][0]["status"] == "RUNNING"
    assert "parentStageId" not in stage and "workflow_id" not in stage
    assert "pipelineConfig" not in body and "pipeline_config" not in body
    lean = ex.to_json(expand=False)["stages"][0]
    assert lean["context"] == {"group": "g"} and lean["tasks"] == [] and lean["outputs"] == {}
    fixture = json.loads(
        (FIXTURES / "deck" / "core_manual_execution_01E1ZG0473QSGSNNMEB3P04C1A.running.json").read_text()
    )
    assert set(body) - set(fixture) <= {"maxConcurrentExecutions"}


def test_ulids():
    assert ulid(0, 0) == "0" * 26
    value = new_ulid()
    assert is_ulid(value) and len(value) == 26
    assert ulid(1551205788975, 1) < ulid(1551205788976, 0)  # sortable by time
