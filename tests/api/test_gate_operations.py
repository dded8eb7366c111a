"""Gate's less common operations over HTTP: bulk save, expressions at a stage and Evaluate Variables dry
runs, forced cancel, delete, and the webhook and pipeline stages driven through the API."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus

from tests.api.conftest import serve_api
from tests.stubs import Reply, serve_stub
from workflows import operations

pytestmark = pytest.mark.temporal


@pytest_asyncio.fixture(loop_scope="session")
async def api(client, tmp_path):
    """The API, with the operator's opt-in for the webhook stub on loopback (a fresh install refuses it)."""
    async with serve_api(client, tmp_path, outbound={"allow_cidrs": ["127.0.0.0/8"]}) as served:
        yield served


def _id(response) -> str:
    return response.json()["ref"].removeprefix("/pipelines/")


async def test_bulksave_saves_the_good_and_reports_the_bad(api):
    good = [{"application": "bulk", "name": f"p{i}", "stages": []} for i in range(2)]
    nameless = {"application": "bulk", "stages": []}
    cyclic = {
        "application": "bulk",
        "name": "loop",
        "stages": [
            {"refId": "a", "type": "wait", "requisiteStageRefIds": ["b"]},
            {"refId": "b", "type": "wait", "requisiteStageRefIds": ["a"]},
        ],
    }
    response = await api.http.post("/pipelines/bulksave", json=[*good, nameless, cyclic, "nonsense"])
    assert response.status_code == 200
    body = response.json()
    assert body["successful_pipelines_count"] == 2 and body["successful_pipelines"] == ["p0", "p1"]
    assert body["failed_pipelines_count"] == 3
    reasons = [f["errorMsg"] for f in body["failed_pipelines"]]
    assert "name" in reasons[0] and "cycle" in reasons[1].lower() and "JSON object" in reasons[2]
    assert [c["name"] for c in (await api.http.get("/applications/bulk/pipelineConfigs")).json()] == ["p0", "p1"]
    refused = await api.http.post("/pipelines/bulksave", json={"not": "a list"})
    assert refused.status_code == 400


async def test_expressions_at_a_stage_and_evaluate_variables(api):
    pipeline = {
        "application": "expr",
        "name": "vars",
        "stages": [
            {
                "refId": "1",
                "type": "evaluateVariables",
                "variables": [{"key": "region", "value": "us-${trigger.parameters.side}-1"}],
            },
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "waitTime": 0, "label": "in ${region}"},
            {"refId": "3", "type": "wait", "waitTime": 0},
        ],
    }
    await api.http.post("/pipelines", json=pipeline)
    response = await api.http.post("/pipelines/expr/vars", json={"parameters": {"side": "east"}})
    done = await api.finished(_id(response))
    assert done["status"] == "SUCCEEDED"
    by_ref = {s["refId"]: s for s in done["stages"]}

    def at(stage, expression):
        return api.http.get(
            f"/pipelines/{done['id']}/{by_ref[stage]['id']}/evaluateExpression", params={"expression": expression}
        )

    assert (await at("2", "${region}/${label}")).json() == {"result": "us-east-1/in us-east-1"}
    unseen = (await at("3", "${region}")).json()  # stage 3 does not follow stage 1
    assert unseen["result"] == "${region}" and unseen["detail"]
    missing = await api.http.get(f"/pipelines/{done['id']}/nope/evaluateExpression", params={"expression": "x"})
    assert missing.status_code == 404 and "nope" in missing.json()["message"]

    variables = [{"key": "zone", "value": "${region}a"}, {"key": "both", "value": "${zone}+${trigger.user}"}]
    after_1 = await api.http.post(
        f"/pipelines/{done['id']}/evaluateVariables", params={"requisiteStageRefIds": "1"}, json=variables
    )
    assert after_1.json() == {
        "result": [{"key": "zone", "value": "us-east-1a"}, {"key": "both", "value": "us-east-1a+anonymous"}]
    }
    alone = (await api.http.post(f"/pipelines/{done['id']}/evaluateVariables", json=variables)).json()
    assert alone["result"][0]["value"] == "${region}a" and alone["detail"]
    bad_version = await api.http.post(
        f"/pipelines/{done['id']}/evaluateVariables", params={"spelVersion": "v9"}, json=variables
    )
    assert bad_version.status_code == 400 and "v9" in bad_version.json()["message"]
    keyless = await api.http.post(f"/pipelines/{done['id']}/evaluateVariables", json=[{"value": "1"}])
    assert keyless.status_code == 400 and "key" in keyless.json()["message"]


def judged(app: str, name: str) -> dict:
    return {
        "application": app,
        "name": name,
        "limitConcurrent": False,
        "stages": [{"refId": "1", "type": "manualJudgment", "name": "judge"}],
    }


async def test_forced_cancel_terminates_and_records_canceled(api, client):
    await api.http.post("/pipelines", json=judged("force", "stuck"))
    execution_id = _id(await api.http.post("/pipelines/force/stuck", json={}))
    await api.wait_for(execution_id, lambda e: e["stages"][0].get("tasks"))
    response = await api.http.put(f"/pipelines/{execution_id}/cancel", params={"force": "true", "reason": "now"})
    assert response.status_code == 200
    assert (await client.get_workflow_handle(execution_id).describe()).status == WorkflowExecutionStatus.TERMINATED
    shown = (await api.http.get(f"/pipelines/{execution_id}")).json()
    assert shown["status"] == "CANCELED" and shown["canceled"] is True
    assert shown["canceledBy"] == "anonymous" and shown["cancellationReason"] == "now"
    assert shown["stages"][0]["status"] == "CANCELED" and shown["endTime"]
    again = await api.http.put(f"/pipelines/{execution_id}/cancel", params={"force": "true"})
    assert again.status_code == 409  # not running any more


async def test_forced_cancel_without_a_worker(api, client):
    """A workflow no worker serves (the worker is gone): force still stops it."""
    execution_id = await operations.start_pipeline(
        client, judged("force", "orphan"), task_queue=f"nobody-{uuid.uuid4()}"
    )
    response = await api.http.put(f"/applications/force/pipelines/{execution_id}/cancel", params={"force": "true"})
    assert response.status_code == 200
    assert (await client.get_workflow_handle(execution_id).describe()).status == WorkflowExecutionStatus.TERMINATED
    shown = (await api.http.get(f"/pipelines/{execution_id}")).json()  # from its start input: no stage ran
    assert shown["status"] == "CANCELED" and shown["name"] == "orphan" and shown["application"] == "force"
    assert shown["canceledBy"] == "anonymous" and shown["stages"] == []


async def test_deleted_executions_are_gone_at_once(api, client):
    response = await api.http.post(
        "/pipelines/start", json={"application": "gone", "name": "brief", "stages": [{"type": "wait", "waitTime": 0}]}
    )
    execution_id = _id(response)
    done = await api.finished(execution_id)
    assert (await api.http.delete(f"/pipelines/{execution_id}")).status_code == 200
    assert (await api.http.get(f"/pipelines/{execution_id}")).status_code == 404
    assert (await api.http.get("/applications/gone/pipelines")).json() == []
    restart = await api.http.put(f"/pipelines/{execution_id}/stages/{done['stages'][0]['id']}/restart", json={})
    assert restart.status_code == 404
    assert (await api.http.delete(f"/pipelines/{execution_id}")).status_code == 404
    api.store.executions.save(done)  # a late write from the engine does not bring it back
    assert (await api.http.get(f"/pipelines/{execution_id}")).status_code == 404


async def test_delete_workflows_asks_temporal_for_the_pipeline_and_its_stages(api, client):
    response = await api.http.post(
        "/pipelines/start", json={"application": "gone", "name": "two", "stages": [{"type": "wait", "waitTime": 0}]}
    )
    execution_id = _id(response)
    await api.finished(execution_id)
    deleted = 0
    for _ in range(100):  # visibility lists the stage workflow a moment after it closes
        found = [w.id async for w in client.list_workflows(f'WorkflowId STARTS_WITH "{execution_id}."')]
        if found:
            break
        await asyncio.sleep(0.1)
    deleted = await operations.delete_workflows(client, execution_id)
    assert deleted == 2
    assert await operations.delete_workflows(client, 'x" OR WorkflowId != "') <= 1  # never spliced into a query


async def test_webhook_and_child_pipeline_stages_through_the_api(api):
    with serve_stub() as stub:
        # the worker keeps its HTTP client for its lifetime; this one ends with the test, so no keep-alive
        stub.on("POST", "/deploy", Reply(200, {"ok": True, "build": 7}, headers={"Connection": "close"}))
        child = {
            "application": "family",
            "name": "child",
            "parameterConfig": [{"name": "who"}],
            "stages": [
                {
                    "refId": "1",
                    "type": "webhook",
                    "url": stub.url("/deploy"),
                    "method": "POST",
                    "payload": {"who": "${parameters.who}"},
                }
            ],
        }
        saved = (await api.http.post("/pipelines", json=child)).json()
        parent = {
            "application": "family",
            "name": "parent",
            "stages": [
                {
                    "refId": "1",
                    "type": "pipeline",
                    "application": "family",
                    "pipeline": saved["id"],
                    "pipelineParameters": {"who": "parent"},
                    "waitForCompletion": True,
                }
            ],
        }
        await api.http.post("/pipelines", json=parent)
        done = await api.finished(_id(await api.http.post("/pipelines/family/parent", json={})))
        assert done["status"] == "SUCCEEDED", done
        assert stub.calls[0].json() == {"who": "parent"}
        child_id = done["stages"][0]["context"]["executionId"]
        child_run = (await api.http.get(f"/pipelines/{child_id}")).json()
        assert (
            child_run["trigger"]["type"] == "pipeline" and child_run["trigger"]["parentExecution"]["id"] == done["id"]
        )
        webhook = child_run["stages"][0]["context"]["webhook"]
        assert webhook["statusCode"] == "OK" and webhook["body"] == {"ok": True, "build": 7}
        listed = (await api.http.get("/applications/family/pipelines", params={"limit": 5})).json()
        assert {e["name"] for e in listed} == {"parent", "child"}
