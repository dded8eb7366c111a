"""Pipelines on a real Temporal dev server: graph walking, failure options, operator controls."""

from __future__ import annotations

import asyncio

import pytest

from core.ids import is_ulid
from tests.conftest import stage_named
from workflows import operations, search
from workflows.errors import InvalidPipelineError, UnknownStageTypeError

pytestmark = pytest.mark.temporal


def wait(ref, seconds=0, *requisites, **extra):
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "wait",
        "name": f"w{ref}",
        "waitTime": seconds,
        **extra,
    }


def judge(ref, *requisites, **extra):
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "manualJudgment",
        "name": f"mj{ref}",
        "judgmentInputs": [{"value": "ship"}, {"value": "hold"}],
        **extra,
    }


def bad(ref, *requisites, **extra):
    """A stage that fails at once (waitTime is not a number)."""
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "wait",
        "name": f"bad{ref}",
        "waitTime": "soon",
        **extra,
    }


def pipeline(*stages, **extra):
    return {"application": "demo", "name": "p", "stages": list(stages), **extra}


def statuses(execution):
    return {s["name"]: s["status"] for s in execution["stages"]}


async def test_linear_pipeline_succeeds_with_gate_shaped_json(engine):
    config = pipeline(
        {"type": "wait", "name": "first", "waitTime": 0, "futureKey": {"a": 1}},
        {"type": "wait", "name": "second", "waitTime": "0"},
        id="cfg-1",
    )
    execution = await engine.run(config, {"type": "manual", "user": "ann", "parameters": {"x": "1"}})
    assert execution["status"] == "SUCCEEDED"
    assert is_ulid(execution["id"]) and execution["type"] == "PIPELINE"
    assert execution["pipelineConfigId"] == "cfg-1" and execution["application"] == "demo"
    assert execution["trigger"]["user"] == "ann" and execution["trigger"]["parameters"] == {"x": "1"}
    first, second = execution["stages"]
    assert [first["refId"], second["refId"]] == ["0", "1"] and second["requisiteStageRefIds"] == ["0"]
    assert first["context"]["futureKey"] == {"a": 1}  # the config map is the context
    assert first["tasks"][0]["name"] == "wait" and first["tasks"][0]["status"] == "SUCCEEDED"
    assert first["endTime"] <= second["startTime"]
    assert execution["startTime"] <= first["startTime"] and execution["endTime"] >= second["endTime"]
    assert all(is_ulid(s["id"]) for s in execution["stages"])
    assert "pipelineConfig" not in execution and "endTime" in execution


async def test_search_attributes_find_an_applications_runs(engine, client):
    execution_id = await engine.start(pipeline(wait("1"), application="sa-demo", id="cfg-sa"))
    await operations.wait_for_execution(client, execution_id)
    query = "GennakerApplication = 'sa-demo' AND GennakerStatus = 'SUCCEEDED'"
    for _ in range(50):
        found = [w async for w in client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    assert [w.id for w in found] == [execution_id]
    attrs = found[0].typed_search_attributes
    assert attrs.get(search.PIPELINE_NAME) == "p" and attrs.get(search.PIPELINE_CONFIG_ID) == "cfg-sa"
    assert attrs.get(search.TRIGGER_TYPE) == "manual"


async def test_parallel_branches_run_concurrently_and_join_waits(engine):
    config = pipeline(wait("1"), wait("2", 1, "1"), wait("3", 1, "1"), wait("4", 0, "2", "3"))
    execution = await engine.run(config)
    assert execution["status"] == "SUCCEEDED"
    s = {x["refId"]: x for x in execution["stages"]}
    assert s["2"]["startTime"] < s["3"]["endTime"] and s["3"]["startTime"] < s["2"]["endTime"]  # overlapped
    assert s["4"]["startTime"] >= max(s["2"]["endTime"], s["3"]["endTime"])


async def test_halt_the_entire_pipeline(engine):
    execution = await engine.run(pipeline(bad("1"), wait("2", 0, "1"), wait("3", 30)))
    assert execution["status"] == "TERMINAL"
    assert statuses(execution) == {"bad1": "TERMINAL", "w2": "NOT_STARTED", "w3": "CANCELED"}
    error = stage_named(execution, "bad1")["context"]["exception"]["details"]["error"]
    assert "waitTime" in error


async def test_halt_this_branch_only(engine):
    execution = await engine.run(pipeline(bad("1", failPipeline=False), wait("2", 0, "1"), wait("3", 1)))
    assert execution["status"] == "SUCCEEDED"
    assert statuses(execution) == {"bad1": "STOPPED", "w2": "NOT_STARTED", "w3": "SUCCEEDED"}


async def test_halt_branch_then_fail_once_others_complete(engine):
    execution = await engine.run(
        pipeline(bad("1", failPipeline=False, completeOtherBranchesThenFail=True), wait("3", 1))
    )
    assert execution["status"] == "TERMINAL"
    assert statuses(execution) == {"bad1": "STOPPED", "w3": "SUCCEEDED"}


async def test_ignore_the_failure(engine):
    execution = await engine.run(pipeline(bad("1", failPipeline=False, continuePipeline=True), wait("2", 0, "1")))
    assert execution["status"] == "SUCCEEDED"
    assert statuses(execution) == {"bad1": "FAILED_CONTINUE", "w2": "SUCCEEDED"}


async def test_unknown_stage_type_is_refused_at_start_naming_stage_and_types(engine):
    with pytest.raises(UnknownStageTypeError) as err:
        await engine.start(pipeline(wait("1"), {"refId": "2", "type": "deployToMars", "name": "mars"}))
    assert "'mars'" in str(err.value) and "manualJudgment" in str(err.value)


async def test_invalid_graph_is_refused_at_start(engine):
    with pytest.raises(InvalidPipelineError) as err:
        await engine.start(pipeline(wait("1", 0, "2"), wait("2", 0, "1")))
    assert "cycle" in str(err.value)


async def test_stage_enabled_false_skips(engine):
    execution = await engine.run(
        pipeline(
            wait("1", stageEnabled={"type": "expression", "expression": "parameters.go == 'yes'"}), wait("2", 0, "1")
        ),
        {"parameters": {"go": "no"}},
    )
    assert statuses(execution) == {"w1": "SKIPPED", "w2": "SUCCEEDED"}
    assert execution["status"] == "SUCCEEDED"


async def test_manual_judgment_continue_case_insensitive(engine, client):
    execution_id = await engine.start(pipeline(judge("1"), wait("2", 0, "1")))
    running = await engine.wait_until(
        execution_id, lambda e: stage_named(e, "mj1")["status"] == "RUNNING" and stage_named(e, "mj1").get("tasks")
    )
    stage_id = stage_named(running, "mj1")["id"]
    body = await operations.patch_stage(
        client, execution_id, stage_id, {"judgmentStatus": "CONTINUE", "judgmentInput": "ship"}, user="bo"
    )
    assert body["context"]["judgmentStatus"] == "CONTINUE"
    execution = await operations.wait_for_execution(client, execution_id)
    mj = stage_named(execution, "mj1")
    assert execution["status"] == "SUCCEEDED" and mj["status"] == "SUCCEEDED"
    assert mj["context"]["judgmentStatus"] == "continue" and mj["context"]["judgmentInput"] == "ship"
    assert mj["context"]["lastModifiedBy"] == "bo" and mj["lastModified"]["user"] == "bo"


async def test_manual_judgment_stop_fails_and_bad_judgments_are_refused(engine, client):
    execution_id = await engine.start(pipeline(judge("1", selectedStageRoles=["release"]), wait("2", 0, "1")))
    running = await engine.wait_until(execution_id, lambda e: stage_named(e, "mj1").get("tasks"))
    stage_id = stage_named(running, "mj1")["id"]
    for patch, roles, words in [
        ({"judgmentStatus": "maybe"}, ["release"], "continue' or 'stop"),
        ({"judgmentStatus": "stop", "judgmentInput": "nope"}, ["release"], "judgmentInput must be one of"),
        ({"judgmentStatus": "stop"}, ["dev"], "requires one of the roles release"),
    ]:
        with pytest.raises(operations.OperationRefusedError) as err:
            await operations.patch_stage(client, execution_id, stage_id, patch, user="eve", roles=roles)
        assert words in str(err.value)
    await operations.patch_stage(
        client, execution_id, stage_id, {"judgmentStatus": "Stop"}, user="rel", roles=["release"]
    )
    execution = await operations.wait_for_execution(client, execution_id)
    assert execution["status"] == "TERMINAL"
    assert statuses(execution) == {"mj1": "TERMINAL", "w2": "NOT_STARTED"}
    assert "rel" in stage_named(execution, "mj1")["context"]["exception"]["details"]["error"]


async def test_skip_remaining_wait(engine, client):
    execution_id = await engine.start(pipeline(wait("1", 3600)))
    running = await engine.wait_until(execution_id, lambda e: stage_named(e, "w1").get("tasks"))
    await operations.patch_stage(client, execution_id, stage_named(running, "w1")["id"], {"skipRemainingWait": True})
    execution = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 20)
    assert execution["status"] == "SUCCEEDED"


async def test_cancel_records_who_and_why_and_reaches_children(engine, client):
    execution_id = await engine.start(pipeline(wait("1", 3600), judge("2")))
    await engine.wait_until(execution_id, lambda e: all(s.get("tasks") for s in e["stages"]))
    await operations.cancel_execution(client, execution_id, user="ops", reason="bad build")
    execution = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 20)
    assert execution["status"] == "CANCELED" and execution["canceled"] is True
    assert execution["canceledBy"] == "ops" and execution["cancellationReason"] == "bad build"
    assert statuses(execution) == {"w1": "CANCELED", "mj2": "CANCELED"}
    children = [s["id"] for s in execution["stages"]]
    handle = client.get_workflow_handle(f"{execution_id}.stage-1")
    assert (await handle.describe()).status.name == "CANCELED" and len(children) == 2


async def test_pause_and_resume(engine, client):
    execution_id = await engine.start(pipeline(judge("1"), wait("2", 0, "1")))
    running = await engine.wait_until(execution_id, lambda e: stage_named(e, "mj1").get("tasks"))
    await operations.pause_execution(client, execution_id, user="pat")
    paused = await engine.wait_until(
        execution_id, lambda e: e["status"] == "PAUSED" and stage_named(e, "mj1")["status"] == "PAUSED"
    )
    assert paused["paused"]["pausedBy"] == "pat" and paused["paused"]["isPaused"] is True
    await operations.patch_stage(
        client, execution_id, stage_named(running, "mj1")["id"], {"judgmentStatus": "continue"}
    )
    await asyncio.sleep(0.5)
    still = await engine.get(execution_id)
    assert still["status"] == "PAUSED" and stage_named(still, "w2")["status"] == "NOT_STARTED"
    await operations.resume_execution(client, execution_id, user="pat")
    execution = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 20)
    assert execution["status"] == "SUCCEEDED"
    assert execution["paused"]["resumedBy"] == "pat" and execution["paused"]["pausedMs"] >= 400


async def test_restart_a_failed_stage_in_a_finished_execution(engine, client):
    execution_id = await engine.start(pipeline(judge("1"), wait("2", 0, "1")))
    running = await engine.wait_until(execution_id, lambda e: stage_named(e, "mj1").get("tasks"))
    stage_id = stage_named(running, "mj1")["id"]
    await operations.patch_stage(client, execution_id, stage_id, {"judgmentStatus": "stop"})
    failed = await operations.wait_for_execution(client, execution_id)
    assert failed["status"] == "TERMINAL"
    await operations.restart_stage(client, execution_id, stage_id, user="rita", task_queue=engine.task_queue)
    again = await engine.wait_until(
        execution_id, lambda e: stage_named(e, "mj1")["status"] == "RUNNING" and stage_named(e, "mj1").get("tasks")
    )
    details = stage_named(again, "mj1")["context"]["restartDetails"]
    assert details["restartedBy"] == "rita" and "Stopped" in details["previousException"]["details"]["error"]
    assert "judgmentStatus" not in stage_named(again, "mj1")["context"]
    assert again["status"] == "RUNNING" and stage_named(again, "w2")["status"] == "NOT_STARTED"
    await operations.patch_stage(client, execution_id, stage_id, {"judgmentStatus": "continue"})
    execution = await operations.wait_for_execution(client, execution_id)
    assert execution["status"] == "SUCCEEDED" and execution["id"] == execution_id


async def test_restart_in_a_running_execution(engine, client):
    execution_id = await engine.start(pipeline(bad("1", failPipeline=False), judge("2")))
    running = await engine.wait_until(
        execution_id, lambda e: stage_named(e, "bad1")["status"] == "STOPPED" and stage_named(e, "mj2").get("tasks")
    )
    with pytest.raises(operations.OperationRefusedError, match="only a finished stage"):
        await operations.restart_stage(
            client, execution_id, stage_named(running, "mj2")["id"], task_queue=engine.task_queue
        )
    await operations.restart_stage(
        client, execution_id, stage_named(running, "bad1")["id"], user="rob", task_queue=engine.task_queue
    )
    again = await engine.wait_until(
        execution_id,
        lambda e: (
            "restartDetails" in stage_named(e, "bad1")["context"] and stage_named(e, "bad1")["status"] == "STOPPED"
        ),
    )
    assert stage_named(again, "bad1")["context"]["restartDetails"]["restartedBy"] == "rob"


async def test_stage_timeout_fails_the_stage(engine):
    execution = await engine.run(pipeline(wait("1", 3600, stageTimeoutMs=1500)))
    stage = execution["stages"][0]
    assert execution["status"] == "TERMINAL" and stage["status"] == "TERMINAL"
    assert "timed out" in stage["context"]["exception"]["details"]["error"]
    assert 1400 <= stage["endTime"] - stage["startTime"] < 10_000


async def test_execution_window_suspends_and_can_be_skipped(engine, client):
    # a window that is closed for the next several hours whatever the time of day now
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    start = (now + dt.timedelta(hours=3)).hour
    window = {"whitelist": [{"startHour": start, "startMin": 0, "endHour": start, "endMin": 30}], "days": []}
    execution_id = await engine.start(
        pipeline(wait("1", 0, restrictExecutionDuringTimeWindow=True, restrictedExecutionWindow=window)),
        window_timezone="UTC",
    )
    suspended = await engine.wait_until(
        execution_id,
        lambda e: any(
            s["type"] == "restrictExecutionDuringTimeWindow" and s["status"] == "SUSPENDED" for s in e["stages"]
        ),
    )
    win = next(s for s in suspended["stages"] if s["type"] == "restrictExecutionDuringTimeWindow")
    parent = stage_named(suspended, "w1")
    assert win["parentStageId"] == parent["id"] and win["syntheticStageOwner"] == "STAGE_BEFORE"
    assert win["refId"] == "1<1" and win["scheduledTime"] > now.timestamp() * 1000
    await operations.patch_stage(client, execution_id, win["id"], {"skipRemainingWait": True})
    execution = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 20)
    assert execution["status"] == "SUCCEEDED"
    assert [s["status"] for s in execution["stages"]] == ["SUCCEEDED", "SUCCEEDED"]


async def test_operations_on_unknown_or_finished_executions(engine, client):
    with pytest.raises(operations.ExecutionNotFoundError):
        await operations.get_execution(client, "01NOSUCHEXECUTION000000000")
    execution = await engine.run(pipeline(wait("1")))
    with pytest.raises(operations.OperationRefusedError, match="not running"):
        await operations.cancel_execution(client, execution["id"])


async def test_temporal_cli_lists_an_applications_runs(engine, client):
    import json
    import subprocess

    from tests.conftest import venv_bin

    execution_id = await engine.start(pipeline(wait("1"), application="cli-demo"))
    await operations.wait_for_execution(client, execution_id)
    address = client.service_client.config.target_host
    for _ in range(50):
        out = subprocess.run(
            [
                venv_bin("temporal"),
                "workflow",
                "list",
                "--address",
                address,
                "--query",
                "GennakerApplication='cli-demo'",
                "--output",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        rows = json.loads(out) if out.strip() else []
        if rows:
            break
        await asyncio.sleep(0.1)
    assert [r["execution"]["workflowId"] for r in rows] == [execution_id]
    assert rows[0]["type"]["name"] == "Pipeline"


async def test_paused_time_does_not_count_toward_the_stage_timeout(engine, client):
    # 4 s of waiting with a 3 s budget only fits because 2 s of it are spent paused
    execution_id = await engine.start(pipeline(wait("1", 4, stageTimeoutMs=3000)))
    await engine.wait_until(execution_id, lambda e: e["stages"][0].get("tasks"))
    await asyncio.sleep(0.5)
    await operations.pause_execution(client, execution_id)
    await asyncio.sleep(2)
    await operations.resume_execution(client, execution_id)
    execution = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 20)
    assert execution["status"] == "SUCCEEDED", execution["stages"][0]["context"].get("exception")
    assert execution["paused"]["pausedMs"] >= 1900


async def test_restart_is_refused_while_a_downstream_stage_runs(engine, client):
    execution_id = await engine.start(pipeline(wait("1"), judge("2", "1")))
    running = await engine.wait_until(execution_id, lambda e: stage_named(e, "mj2").get("tasks"))
    with pytest.raises(operations.OperationRefusedError, match="downstream of 'w1', is still running"):
        await operations.restart_stage(
            client, execution_id, stage_named(running, "w1")["id"], task_queue=engine.task_queue
        )
    await operations.cancel_execution(client, execution_id)
