"""``pipeline`` triggers: an execution completes, and the pipelines waiting on it start."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.status import ExecutionStatus
from integrations.triggers.events import (
    TriggerError,
    make_event,
    match_event,
    pipeline_trigger_matches,
    trigger_status,
)


def execution(status: str = "SUCCEEDED", **fields: Any) -> dict[str, Any]:
    return {
        "id": "01HZX3M4QK5W8J7V6T2R9N0ABC",
        "type": "PIPELINE",
        "application": "upstream-app",
        "name": "build",
        "pipelineConfigId": "cfg-build",
        "status": status,
        "startTime": 1714550400000,
        "trigger": {"type": "manual", "user": "alice@example.invalid", "artifacts": []},
        "stages": [],
    } | fields


def downstream(pid: str = "cfg-deploy", statuses: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    trigger = {
        "type": "pipeline",
        "enabled": True,
        "application": "upstream-app",
        "pipeline": "cfg-build",
        "status": ["successful"] if statuses is None else statuses,
    }
    return {"id": pid, "application": "downstream-app", "name": "deploy", "triggers": [trigger]} | fields


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (ExecutionStatus.SUCCEEDED, "successful"),
        (ExecutionStatus.TERMINAL, "failed"),
        (ExecutionStatus.CANCELED, "canceled"),
        (ExecutionStatus.STOPPED, "failed"),
        (ExecutionStatus.FAILED_CONTINUE, "failed"),
        (ExecutionStatus.SKIPPED, "failed"),
        (ExecutionStatus.SUSPENDED, "suspended"),
    ],
)
def test_status_names(status: ExecutionStatus, name: str) -> None:
    assert trigger_status(status) == name
    statuses = ["successful", "failed", "canceled", "suspended"]
    [match] = pipeline_trigger_matches(execution(status.value), [downstream(statuses=[name])])
    assert match.trigger["parentStatus"] == status.value
    others = [s for s in statuses if s != name]
    assert pipeline_trigger_matches(execution(status.value), [downstream(statuses=others)]) == []


@pytest.mark.parametrize("status", ["NOT_STARTED", "RUNNING", "PAUSED", "BUFFERED"])
def test_an_unfinished_execution_starts_nothing(status: str) -> None:
    with pytest.raises(TriggerError, match=rf"^status: the execution is {status}, not complete"):
        pipeline_trigger_matches(execution(status), [downstream()])


@pytest.mark.parametrize("status", [None, "DONE", 3])
def test_an_unknown_status_is_an_error(status: Any) -> None:
    with pytest.raises(TriggerError, match=r"^status: "):
        pipeline_trigger_matches(execution(status), [downstream()])


def test_the_status_is_read_in_any_case() -> None:
    assert pipeline_trigger_matches(execution("succeeded"), [downstream()])


def test_the_trigger_a_dependent_execution_gets() -> None:
    parent = execution(
        trigger={"type": "manual", "user": "alice@example.invalid", "artifacts": [{"type": "git/repo", "name": "t"}]},
        stages=[
            {"id": "s2", "refId": "2", "requisiteStageRefIds": ["1"], "outputs": {"artifacts": [{"name": "b"}]}},
            {"id": "s1", "refId": "1", "requisiteStageRefIds": [], "outputs": {"artifacts": [{"name": "a"}]}},
            {"id": "s3", "refId": "3", "parentStageId": "s1", "outputs": {"artifacts": [{"name": "synthetic"}]}},
        ],
    )
    config = downstream(
        parameterConfig=[{"name": "region", "default": "eu-west-1"}, {"name": "dry"}],
        expectedArtifacts=[
            {"id": "ea-b", "matchArtifact": {"name": "b"}},
            {"id": "ea-z", "matchArtifact": {"name": "z"}},
        ],
    )
    config["triggers"][0]["expectedArtifactIds"] = ["ea-own"]
    [match] = pipeline_trigger_matches(parent, [config])
    assert match.pipeline is config and match.config_trigger is config["triggers"][0]
    assert match.trigger == {
        "type": "pipeline",
        "user": "alice@example.invalid",
        "parentExecution": parent,
        "parentPipelineId": "01HZX3M4QK5W8J7V6T2R9N0ABC",
        "parentPipelineName": "build",
        "parentPipelineApplication": "upstream-app",
        "parentStatus": "SUCCEEDED",
        "isPipeline": True,
        "parameters": {"region": "eu-west-1", "dry": None},
        "strategy": False,
        "correlationId": "01HZX3M4QK5W8J7V6T2R9N0ABC_null_cfg-deploy_1714550400000",
        # later stages first, then the parent trigger's own; synthetic stages are skipped
        "artifacts": [{"name": "b"}, {"name": "a"}, {"type": "git/repo", "name": "t"}],
        "expectedArtifactIds": ["ea-own", "ea-b"],
        "notifications": [],
        "rebake": False,
        "dryRun": False,
    }
    assert match.trigger["parentExecution"] is not parent  # a copy: the parent may go on changing


def test_run_as_user_and_dry_run() -> None:
    config = downstream()
    config["triggers"][0]["runAsUser"] = " svc-deploy "
    parent = execution(trigger={"type": "manual", "user": "alice", "dryRun": True})
    [match] = pipeline_trigger_matches(parent, [config])
    assert (match.trigger["user"], match.trigger["dryRun"], match.run_as_user) == ("svc-deploy", True, "svc-deploy")


def test_without_any_user_the_trigger_is_anonymous() -> None:
    [match] = pipeline_trigger_matches(execution(trigger={}, startTime=None), [downstream()])
    assert match.trigger["user"] == "[anonymous]"
    assert match.trigger["correlationId"].endswith("_null")


@pytest.mark.parametrize(
    ("change", "fires"),
    [
        ({}, True),
        ({"pipeline": "cfg-other"}, False),
        ({"application": "another-app"}, True),  # Orca compares only the upstream config id
        ({"enabled": False}, False),
        ({"enabled": "false"}, False),
        ({"enabled": "true"}, True),
        ({"status": None}, False),
        ({"status": "successful"}, False),  # a list is required
        ({"status": ["SUCCESSFUL"]}, False),  # names are lower case
        ({"type": "webhook"}, False),
    ],
)
def test_trigger_config(change: dict[str, Any], fires: bool) -> None:
    config = downstream()
    config["triggers"][0].update(change)
    assert len(pipeline_trigger_matches(execution(), [config])) == int(fires)


@pytest.mark.parametrize("disabled", [True, "true"])
def test_a_disabled_pipeline_does_not_start(disabled: Any) -> None:
    assert pipeline_trigger_matches(execution(), [downstream(disabled=disabled)]) == []


def test_each_pipeline_starts_once_and_every_waiting_pipeline_starts() -> None:
    twice = downstream("cfg-a")
    twice["triggers"].append(dict(twice["triggers"][0], status=["successful", "failed"]))
    matches = pipeline_trigger_matches(execution(), [twice, downstream("cfg-b"), downstream("cfg-c", ["failed"])])
    assert [m.pipeline["id"] for m in matches] == ["cfg-a", "cfg-b"]


def test_orchestrations_and_executions_without_config_start_nothing() -> None:
    assert pipeline_trigger_matches(execution(type="ORCHESTRATION"), [downstream()]) == []
    assert pipeline_trigger_matches(execution(pipelineConfigId=None), [downstream()]) == []


def test_a_broken_stage_graph_keeps_every_artifact() -> None:
    stages = [
        {"refId": "1", "requisiteStageRefIds": ["2"], "outputs": {"artifacts": [{"name": "a"}]}},
        {"refId": "2", "requisiteStageRefIds": ["1"], "outputs": {"artifacts": [{"name": "b"}]}},
        {"refId": 3, "outputs": {"artifacts": [{"name": "c"}]}},
        {"refId": "4", "requisiteStageRefIds": [3], "outputs": {}},
    ]
    [match] = pipeline_trigger_matches(execution(stages=stages, trigger={}), [downstream()])
    assert [a["name"] for a in match.trigger["artifacts"]] == ["b", "a", "c"]


def test_match_event_takes_pipeline_events() -> None:
    event = make_event("pipeline", "orca", json.dumps(execution("TERMINAL")).encode(), {})
    result = match_event(event, [downstream(statuses=["failed"])])
    assert [m.pipeline["id"] for m in result.matches] == ["cfg-deploy"] and result.event_processed
