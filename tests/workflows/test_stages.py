"""Core stages end to end: evaluateVariables, checkPreconditions, pipeline (child executions), expressions."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import stage_named
from tests.workflows.test_pipeline import judge, pipeline, statuses, wait
from workflows import operations

pytestmark = pytest.mark.temporal


async def test_evaluate_variables_feed_later_stages(engine):
    config = pipeline(
        {
            "refId": "1",
            "type": "evaluateVariables",
            "name": "vars",
            "variables": [
                {"key": "region", "value": "${parameters.region}"},
                {"key": "target", "value": "${region + '-prod'}"},  # uses the variable above
                {"key": "count", "value": "${2 * 3}"},
            ],
        },
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "wait",
            "name": "use",
            "waitTime": "${count - 6}",
            "note": "deploy to ${target}",
        },
    )
    execution = await engine.run(config, {"parameters": {"region": "eu"}})
    assert execution["status"] == "SUCCEEDED"
    variables = stage_named(execution, "vars")
    assert variables["outputs"] == {"region": "eu", "target": "eu-prod", "count": 6}
    use = stage_named(execution, "use")
    assert use["context"]["note"] == "deploy to eu-prod" and use["context"]["waitTime"] == 0


async def test_failed_expressions_keep_text_and_are_summarised(engine):
    execution = await engine.run(pipeline(wait("1", note="${nosuchthing.field}")))
    stage = execution["stages"][0]
    assert execution["status"] == "SUCCEEDED"
    assert stage["context"]["note"] == "${nosuchthing.field}"
    summary = stage["context"]["expressionEvaluationSummary"]
    assert list(summary) == ["${nosuchthing.field}"] and summary["${nosuchthing.field}"][0]["level"] == "ERROR"


async def test_fail_on_failed_expressions(engine):
    execution = await engine.run(pipeline(wait("1", note="${nosuchthing}", failOnFailedExpressions=True)))
    assert execution["status"] == "TERMINAL"
    assert "Failed to evaluate" in execution["stages"][0]["context"]["exception"]["details"]["error"]


async def test_type_references_are_refused_in_stage_context(engine):
    execution = await engine.run(pipeline(wait("1", note="${T(java.lang.Runtime).getRuntime().exec('id')}")))
    stage = execution["stages"][0]
    assert stage["context"]["note"].startswith("${T(")  # never evaluated
    [entry] = stage["context"]["expressionEvaluationSummary"].values()
    assert "not allowed" in entry[0]["description"]


async def test_check_preconditions(engine):
    config = pipeline(
        wait("1"),
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "checkPreconditions",
            "name": "pre",
            "preconditions": [
                {"type": "expression", "context": {"expression": "parameters.env == 'prod'"}},
                {"type": "stageStatus", "context": {"stageName": "w1", "stageStatus": "succeeded"}},
            ],
        },
        wait("3", 0, "2"),
    )
    ok = await engine.run(config, {"parameters": {"env": "prod"}})
    assert ok["status"] == "SUCCEEDED"
    synthetic = [s for s in ok["stages"] if s.get("parentStageId") == stage_named(ok, "pre")["id"]]
    assert len(synthetic) == 2 and {s["syntheticStageOwner"] for s in synthetic} == {"STAGE_BEFORE"}
    assert all(s["status"] == "SUCCEEDED" for s in synthetic)
    assert synthetic[0]["context"]["expressionResult"] == "true"

    failed = await engine.run(config, {"parameters": {"env": "dev"}})
    assert failed["status"] == "TERMINAL"
    assert stage_named(failed, "pre")["status"] == "TERMINAL" and stage_named(failed, "w3")["status"] == "NOT_STARTED"
    assert "evaluated to false" in stage_named(failed, "pre")["context"]["exception"]["details"]["error"]


async def test_precondition_that_does_not_fail_the_pipeline(engine):
    config = pipeline(
        {
            "refId": "1",
            "type": "checkPreconditions",
            "name": "pre",
            "preconditions": [
                {
                    "type": "expression",
                    "failPipeline": False,
                    "context": {"expression": "false", "failureMessage": "not today"},
                }
            ],
        },
        wait("2", 0, "1"),
    )
    execution = await engine.run(config)
    assert execution["status"] == "SUCCEEDED"
    assert statuses(execution)["pre"] == "STOPPED" and statuses(execution)["w2"] == "NOT_STARTED"


def child_config(**extra):
    return {
        "application": "kid",
        "name": "child",
        "id": "child-id",
        "parameterConfig": [{"name": "size", "default": "small"}, {"name": "color", "default": "red"}],
        "stages": [
            {
                "refId": "1",
                "type": "wait",
                "name": "cw",
                "waitTime": 0,
                "note": "${parameters.size}-${parameters.color}",
            }
        ],
        **extra,
    }


async def test_child_pipeline_runs_with_parameters_and_reports_back(engine):
    engine.configs.configs.append(child_config())
    execution = await engine.run(
        pipeline(
            {
                "refId": "1",
                "type": "pipeline",
                "name": "run child",
                "application": "kid",
                "pipeline": "child-id",
                "pipelineParameters": {"size": "large"},
            }
        )
    )
    assert execution["status"] == "SUCCEEDED"
    stage = execution["stages"][0]
    child_id = stage["outputs"]["executionId"]
    assert stage["outputs"]["status"] == "SUCCEEDED" and stage["context"]["executionName"] == "child"
    child = await engine.get(child_id)
    assert child["application"] == "kid" and child["trigger"]["type"] == "pipeline"
    assert child["trigger"]["parentExecution"]["id"] == execution["id"]
    assert child["trigger"]["parentPipelineStageId"] == stage["id"]
    assert child["stages"][0]["context"]["note"] == "large-red"


async def test_child_pipeline_failure_and_missing_pipeline_fail_the_stage(engine):
    engine.configs.configs.append(
        child_config(
            id="bad-child", name="bad", stages=[{"refId": "1", "type": "wait", "name": "broken", "waitTime": "never"}]
        )
    )
    execution = await engine.run(
        pipeline({"refId": "1", "type": "pipeline", "name": "run bad", "application": "kid", "pipeline": "bad-child"})
    )
    assert execution["status"] == "TERMINAL"
    assert "waitTime" in execution["stages"][0]["context"]["exception"]["details"]["error"]
    missing = await engine.run(
        pipeline({"refId": "1", "type": "pipeline", "name": "nope", "application": "kid", "pipeline": "no-such"})
    )
    assert missing["status"] == "TERMINAL"
    assert "no pipeline 'no-such'" in missing["stages"][0]["context"]["exception"]["details"]["error"]


async def test_canceling_the_parent_cancels_the_child_pipeline(engine, client):
    engine.configs.configs.append(
        child_config(id="slow-child", stages=[{"refId": "1", "type": "wait", "name": "long", "waitTime": 3600}])
    )
    execution_id = await engine.start(
        pipeline({"refId": "1", "type": "pipeline", "name": "slow", "application": "kid", "pipeline": "slow-child"})
    )
    running = await engine.wait_until(execution_id, lambda e: e["stages"][0].get("outputs", {}).get("executionId"))
    child_id = running["stages"][0]["outputs"]["executionId"]
    await engine.wait_until(child_id, lambda e: e["stages"][0]["status"] == "RUNNING")
    await operations.cancel_execution(client, execution_id, user="ops")
    parent = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 20)
    child = await asyncio.wait_for(operations.wait_for_execution(client, child_id), 20)
    assert parent["status"] == "CANCELED" and child["status"] == "CANCELED"


async def test_fire_and_forget_child_pipeline(engine):
    engine.configs.configs.append(
        child_config(id="async-child", stages=[{"refId": "1", "type": "manualJudgment", "name": "later"}])
    )
    execution = await engine.run(
        pipeline(
            {
                "refId": "1",
                "type": "pipeline",
                "name": "async",
                "application": "kid",
                "pipeline": "async-child",
                "waitForCompletion": False,
            }
        )
    )
    assert execution["status"] == "SUCCEEDED"
    child = await engine.get(execution["stages"][0]["outputs"]["executionId"])
    assert child["status"] == "RUNNING"  # it lives on after the parent finished


def limited(config_id, **extra):
    return pipeline(judge("1"), id=config_id, limitConcurrent=True, **extra)


async def _judge_when_running(engine, client, execution_id):
    running = await engine.wait_until(execution_id, lambda e: e["status"] == "RUNNING" and e["stages"][0].get("tasks"))
    await operations.patch_stage(client, execution_id, running["stages"][0]["id"], {"judgmentStatus": "continue"})


async def test_limit_concurrent_keeps_only_the_newest_waiting(engine, client):
    first = await engine.start(limited("cfg-lc-1"))
    await engine.wait_until(first, lambda e: e["status"] == "RUNNING")
    second = await engine.start(limited("cfg-lc-1"))
    third = await engine.start(limited("cfg-lc-1"))
    await asyncio.sleep(1)
    assert (await engine.get(second))["status"] == "NOT_STARTED"
    assert (await engine.get(third))["status"] == "NOT_STARTED"
    await _judge_when_running(engine, client, first)
    superseded = await asyncio.wait_for(operations.wait_for_execution(client, second), 20)
    assert superseded["status"] == "CANCELED" and superseded["canceledBy"] == "system"
    assert third in superseded["cancellationReason"]
    await _judge_when_running(engine, client, third)
    assert (await asyncio.wait_for(operations.wait_for_execution(client, third), 20))["status"] == "SUCCEEDED"


async def _running_ones(engine, ids):
    return [i for i in ids if (await engine.get(i))["status"] == "RUNNING"]


async def test_keep_waiting_pipelines_run_one_at_a_time(engine, client):
    ids = [await engine.start(limited("cfg-lc-2", keepWaitingPipelines=True)) for _ in range(3)]
    finished = []
    while len(finished) < 3:
        await asyncio.sleep(0.3)
        running = await _running_ones(engine, ids)
        assert len(running) <= 1
        if running:
            await _judge_when_running(engine, client, running[0])
            done = await asyncio.wait_for(operations.wait_for_execution(client, running[0]), 20)
            assert done["status"] == "SUCCEEDED"
            finished.append(running[0])
    runs = sorted([await engine.get(i) for i in ids], key=lambda e: e["startTime"])
    assert runs[0]["endTime"] <= runs[1]["startTime"] and runs[1]["endTime"] <= runs[2]["startTime"]


async def test_max_concurrent_executions(engine, client):
    config = pipeline(judge("1"), id="cfg-max", maxConcurrentExecutions=2)
    ids = [await engine.start(config) for _ in range(3)]
    await asyncio.sleep(1.5)
    running = await _running_ones(engine, ids)
    assert len(running) == 2
    waiting = next(i for i in ids if i not in running)
    assert (await engine.get(waiting))["status"] == "NOT_STARTED"
    await _judge_when_running(engine, client, running[0])
    await engine.wait_until(waiting, lambda e: e["status"] == "RUNNING")
    for execution_id in (running[1], waiting):
        await _judge_when_running(engine, client, execution_id)
    for execution_id in ids:
        assert (await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 20))[
            "status"
        ] == "SUCCEEDED"


async def test_canceling_a_waiting_execution_frees_nothing_and_ends_it(engine, client):
    first = await engine.start(limited("cfg-lc-3", keepWaitingPipelines=True))
    await engine.wait_until(first, lambda e: e["status"] == "RUNNING")
    second = await engine.start(limited("cfg-lc-3", keepWaitingPipelines=True))
    await asyncio.sleep(0.5)
    await operations.cancel_execution(client, second, user="me", reason="not needed")
    canceled = await asyncio.wait_for(operations.wait_for_execution(client, second), 20)
    assert canceled["status"] == "CANCELED" and canceled["stages"][0]["status"] == "NOT_STARTED"
    third = await engine.start(limited("cfg-lc-3", keepWaitingPipelines=True))
    await _judge_when_running(engine, client, first)
    await _judge_when_running(engine, client, third)
    assert (await asyncio.wait_for(operations.wait_for_execution(client, third), 20))["status"] == "SUCCEEDED"


def test_wait_time_parsing():
    from workflows.stages.wait import wait_seconds

    assert wait_seconds(5) == 5 and wait_seconds("2.5") == 2.5 and wait_seconds(None) == 0
    for bad in ("soon", -1, True, [1]):
        with pytest.raises(ValueError, match="waitTime"):
            wait_seconds(bad)


def test_parameters_defaults_then_given_and_required():
    from core.parameters import missing_required, with_defaults

    assert with_defaults(child_config(), {"size": "L"}) == {"size": "L", "color": "red"}
    assert with_defaults({}, None) == {}
    config = {
        "parameterConfig": [
            {"name": "a", "required": True},
            {"name": "b", "required": True, "default": "x"},
            {"name": "c"},
        ]
    }
    assert missing_required(config, with_defaults(config, {})) == ["a"]
    assert missing_required(config, with_defaults(config, {"a": "1"})) == []


async def test_manual_skip_of_a_child_pipeline_stage(engine, client):
    engine.configs.configs.append(
        child_config(id="skip-child", stages=[{"refId": "1", "type": "manualJudgment", "name": "forever"}])
    )
    execution_id = await engine.start(
        pipeline(
            {"refId": "1", "type": "pipeline", "name": "skippable", "application": "kid", "pipeline": "skip-child"},
            wait("2", 0, "1"),
            judge("3"),
        )
    )
    running = await engine.wait_until(
        execution_id,
        lambda e: (
            len(stage_named(e, "skippable").get("tasks", [])) == 2
            and stage_named(e, "skippable")["tasks"][1]["status"] == "RUNNING"
            and stage_named(e, "mj3").get("tasks")
        ),
    )
    assert stage_named(running, "skippable")["context"]["canManuallySkip"] is True
    with pytest.raises(operations.OperationRefusedError, match="cannot be skipped manually"):
        await operations.patch_stage(client, execution_id, stage_named(running, "mj3")["id"], {"manualSkip": True})
    await operations.patch_stage(
        client, execution_id, stage_named(running, "skippable")["id"], {"manualSkip": True}, user="impatient"
    )
    after = await engine.wait_until(execution_id, lambda e: stage_named(e, "w2")["status"] == "SUCCEEDED")
    assert stage_named(after, "skippable")["status"] == "SKIPPED"
    await operations.patch_stage(client, execution_id, stage_named(after, "mj3")["id"], {"judgmentStatus": "continue"})
    assert (await operations.wait_for_execution(client, execution_id))["status"] == "SUCCEEDED"


async def test_webhook_through_the_engine_and_its_cancel_endpoint(engine, client):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    calls: list[tuple[str, str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            calls.append((self.command, self.path, body))
            data = json.dumps({"state": "WORKING", "id": 7}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _answer  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        execution_id = await engine.start(
            pipeline(
                {
                    "refId": "1",
                    "type": "webhook",
                    "name": "hook",
                    "url": f"{base}/start",
                    "method": "POST",
                    "payload": {"version": "${parameters.version}"},
                    "waitForCompletion": True,
                    "statusUrlResolution": "getMethod",
                    "statusJsonPath": "$.state",
                    "successStatuses": "DONE",
                    "cancelEndpoint": f"{base}/cancel",
                    "cancelMethod": "PUT",
                    "cancelPayload": {"why": "canceled"},
                }
            ),
            {"parameters": {"version": "1.2.3"}},
        )
        running = await engine.wait_until(execution_id, lambda e: sum(c[0] == "GET" for c in calls) >= 2)
        hook = stage_named(running, "hook")
        assert hook["context"]["webhook"]["statusCodeValue"] == 200
        await operations.cancel_execution(client, execution_id, user="ops")
        done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 20)
        assert done["status"] == "CANCELED"
        assert [c for c in calls if c[0] == "POST"] == [("POST", "/start", {"version": "1.2.3"})]
        assert [c for c in calls if c[0] == "PUT"] == [("PUT", "/cancel", {"why": "canceled"})]
    finally:
        server.shutdown()
        server.server_close()


async def test_start_time_expiry_cancels_an_execution_that_cannot_start(engine, client):
    import time

    first = await engine.start(limited("cfg-expiry"))
    await engine.wait_until(first, lambda e: e["status"] == "RUNNING")
    late = await engine.start(limited("cfg-expiry", startTimeExpiry=int(time.time() * 1000) + 1500))
    expired = await asyncio.wait_for(operations.wait_for_execution(client, late), 20)
    assert expired["status"] == "CANCELED" and expired["canceledBy"] == "system"
    assert "start time expiry" in expired["cancellationReason"] and expired["startTimeExpiry"] > 0
    already = await engine.run(pipeline(wait("1"), startTimeExpiry=1))
    assert already["status"] == "CANCELED" and already["stages"][0]["status"] == "NOT_STARTED"
    await _judge_when_running(engine, client, first)


async def test_orchestrations_are_executions_too(engine):
    execution = await engine.run(
        {
            "application": "demo",
            "description": "Tidy up: demo",
            "stages": [{"type": "wait", "name": "tidy", "waitTime": 0}],
        },
        type="ORCHESTRATION",
    )
    assert execution["type"] == "ORCHESTRATION" and execution["description"] == "Tidy up: demo"
    assert "name" not in execution and execution["status"] == "SUCCEEDED"


async def test_a_terminated_holder_does_not_keep_its_slot(engine, client, monkeypatch):
    from datetime import timedelta

    from workflows import concurrency

    monkeypatch.setattr(concurrency, "SWEEP_INTERVAL", timedelta(milliseconds=500))
    first = await engine.start(limited("cfg-gone"))
    await engine.wait_until(first, lambda e: e["status"] == "RUNNING")
    second = await engine.start(limited("cfg-gone"))
    await asyncio.sleep(0.5)
    assert (await engine.get(second))["status"] == "NOT_STARTED"
    await client.get_workflow_handle(first).terminate("operator pulled the plug")  # no chance to release
    await engine.wait_until(second, lambda e: e["status"] == "RUNNING", timeout=20)
    await _judge_when_running(engine, client, second)


async def test_url_functions_run_in_an_activity_behind_the_allow_list(client):
    import json
    import threading
    import uuid
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from activities.engine import MemoryConfigSource
    from tests.conftest import Engine, build_worker

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            data = json.dumps({"version": "2.0.1"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    allowed = f"http://127.0.0.1:{server.server_address[1]}/allowed/"
    queue = f"test-{uuid.uuid4()}"
    try:
        async with build_worker(client, queue, MemoryConfigSource(), allow_list=[allowed]):
            engine = Engine(client, queue, MemoryConfigSource())
            execution = await engine.run(
                pipeline(
                    wait(
                        "1",
                        version=f"${{#jsonFromUrl('{allowed}build.json').version}}",
                        other=f"${{#fromUrl('http://127.0.0.1:{server.server_address[1]}/secret')}}",
                    )
                )
            )
    finally:
        server.shutdown()
        server.server_close()
    context = execution["stages"][0]["context"]
    assert context["version"] == "2.0.1"
    assert context["other"].startswith("${#fromUrl(")  # not on the allow-list: left as written
    [entry] = context["expressionEvaluationSummary"].values()
    assert "not allowed" in entry[0]["description"] or "allow" in entry[0]["description"]
