"""MPTv2 over HTTP against the real stack (the ``gate`` fixture: Gate on loopback, a worker, Temporal, the store):
the template routes and the digest rule, delete refused while used, plan, templated pipelines run through the API,
by a webhook and by cron, and a broken template reported rather than dropped."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from templates import digest
from tests.conftest import Gate

pytestmark = pytest.mark.temporal
BASE = "/v2/pipelineTemplates"
DONE = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED"}


def template(tid: str, **more: Any) -> dict[str, Any]:
    return {
        "schema": "v2",
        "id": tid,
        "metadata": {"name": "Wait then judge", "description": "a test template", "owner": "me", "scopes": ["global"]},
        "variables": [
            {"name": "waitTime", "type": "int", "defaultValue": 0},
            {"name": "region", "type": "string"},
        ],
        "pipeline": {
            "triggers": [],
            "stages": [
                {"refId": "wait1", "type": "wait", "name": "first wait", "waitTime": "${ templateVariables.waitTime }"},
                {"refId": "wait2", "type": "wait", "name": "in ${templateVariables.region}", "waitTime": 0,
                 "requisiteStageRefIds": ["wait1"]},
            ],
        },
        **more,
    }  # fmt: skip


def config(app: str, tid: str, **more: Any) -> dict[str, Any]:
    return {
        "schema": "v2",
        "type": "templatedPipeline",
        "application": app,
        "name": f"tp-{uuid.uuid4().hex[:6]}",
        "template": {"artifactAccount": "front50ArtifactCredentials", "type": "front50/pipelineTemplate",
                     "reference": f"spinnaker://{tid}"},
        "variables": {"region": "eu-west-1"},
        **more,
    }  # fmt: skip


def new_id() -> str:
    return f"tpl-{uuid.uuid4().hex[:8]}"


def test_create_get_by_tag_and_digest_list_versions(gate: Gate) -> None:
    url, tid = gate.url, new_id()
    created = httpx.post(f"{url}{BASE}/create", json=template(tid))
    assert created.status_code == 200, created.text
    first = created.json()["digest"]
    again = httpx.post(f"{url}{BASE}/create", json=template(tid))
    assert (
        again.status_code == 409 and f"A pipeline template with the id {tid} already exists" in again.json()["message"]
    )

    latest = httpx.get(f"{url}{BASE}/{tid}", params={"tag": "latest"}).json()
    assert "tag" not in latest and "digest" not in latest  # Front50 hides its bookkeeping
    by_digest = httpx.get(f"{url}{BASE}/{tid}", params={"digest": first}).json()
    assert by_digest["metadata"] == template(tid)["metadata"]
    # the digest rule: sorted keys, whitespace gone, no digest/lastModified(By); the object says tag latest then
    assert digest({**by_digest, "tag": "latest"}) == first

    changed = template(tid, metadata={**template(tid)["metadata"], "description": "another one"})
    updated = httpx.post(f"{url}{BASE}/update/{tid}", json=changed)
    assert updated.status_code == 200, updated.text
    second = updated.json()["digest"]
    assert second != first
    assert (
        httpx.get(f"{url}{BASE}/{tid}", params={"digest": first}).json()["metadata"]["description"] == "a test template"
    )
    assert httpx.get(f"{url}{BASE}/{tid}").json()["metadata"]["description"] == "another one"

    stable = httpx.post(f"{url}{BASE}/create", params={"tag": "stable"}, json=template(tid))
    assert stable.status_code == 200, stable.text
    assert (
        httpx.get(f"{url}{BASE}/{tid}", params={"tag": "stable"}).json()["metadata"]["description"] == "a test template"
    )
    assert (
        httpx.get(f"{url}{BASE}/{tid}", params={"tag": "latest"}).json()["metadata"]["description"] == "a test template"
    )
    bad_tag = httpx.post(f"{url}{BASE}/create", params={"tag": "prod"}, json=template(new_id()))
    assert bad_tag.status_code == 400 and "The provided tag prod is not supported" in bad_tag.json()["message"]
    both = httpx.get(f"{url}{BASE}/{tid}", params={"tag": "stable", "digest": first})
    assert both.status_code == 400 and "simultaneously" in both.json()["message"]
    assert httpx.get(f"{url}{BASE}/{tid}", params={"tag": "canary"}).status_code == 404

    listed = httpx.get(f"{url}{BASE}", params={"scopes": "global"}).json()
    assert {d["id"] for d in listed} >= {tid}
    assert not [d for d in httpx.get(f"{url}{BASE}", params={"scopes": "elsewhere"}).json() if d["id"] == tid]
    versions = httpx.get(f"{url}{BASE}/versions").json()[tid]
    # id, id:latest, id:stable and the two digests
    assert len(versions) == 5
    assert {v.get("digest") for v in versions} >= {first, second}


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        ({"id": "a.b"}, "Pipeline Template IDs cannot have dots", "id"),
        ({"metadata": {"name": "n"}}, "Missing required fields: metadata.description,metadata.scopes", None),
        ({"schema": "v1"}, "Invalid schema version: v1", "schema"),
        ({"variables": [{"name": "no-dash"}]}, "Illegal variable names: no-dash.", "variables"),
    ],
)
def test_template_validation_names_the_field(gate: Gate, change: dict[str, Any], message: str, field: Any) -> None:
    answer = httpx.post(f"{gate.url}{BASE}/create", json={**template(new_id()), **change})
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith(message)
    if field:
        assert answer.json()["field"] == field


def test_delete_is_refused_while_pipelines_depend_on_it(gate: Gate) -> None:
    url, tid = gate.url, new_id()
    assert httpx.post(f"{url}{BASE}/create", params={"tag": "stable"}, json=template(tid)).status_code == 200
    saved = httpx.post(f"{url}/pipelines", json=config("tplapp", f"{tid}:stable"))
    assert saved.status_code == 200, saved.text
    pipeline = saved.json()
    assert "templateError" not in pipeline
    assert httpx.get(f"{url}{BASE}/{tid}/dependents").json() == [
        {"application": "tplapp", "id": pipeline["id"], "name": pipeline["name"]}
    ]
    refused = httpx.delete(f"{url}{BASE}/{tid}", params={"tag": "stable"})
    assert refused.status_code == 409
    assert refused.json()["message"] == f"The following pipeline configs depend on this template: {pipeline['id']}"
    assert httpx.get(f"{url}{BASE}/{tid}", params={"tag": "stable"}).status_code == 200  # nothing deleted
    assert httpx.delete(f"{url}/pipelines/tplapp/{pipeline['name']}").status_code == 200
    assert httpx.delete(f"{url}{BASE}/{tid}", params={"tag": "stable"}).status_code == 202
    assert httpx.get(f"{url}{BASE}/{tid}", params={"tag": "stable"}).status_code == 404
    assert httpx.get(f"{url}{BASE}/{tid}/dependents").json() == []


def test_plan_renders_without_running(gate: Gate) -> None:
    url, tid = gate.url, new_id()
    httpx.post(f"{url}{BASE}/create", json=template(tid)).raise_for_status()
    body = config("tplapp", tid, stages=[{"refId": "judge", "type": "manualJudgment", "inject": {"first": True}}])
    planned = httpx.post(f"{url}{BASE}/plan", json=body)
    assert planned.status_code == 200, planned.text
    plan = planned.json()
    assert [(s["refId"], s["requisiteStageRefIds"]) for s in plan["stages"]] == [
        ("judge", []),
        ("wait1", ["judge"]),
        ("wait2", ["wait1"]),
    ]
    assert plan["stages"][2]["name"] == "in eu-west-1" and plan["stages"][1]["waitTime"] == 0
    assert plan["templateVariables"] == {"region": "eu-west-1", "waitTime": 0}
    assert plan["source"] == {"type": "templatedPipeline", "version": "v2"}
    missing = httpx.post(f"{url}{BASE}/plan", json={**body, "variables": {}})
    assert missing.status_code == 400
    assert missing.json()["message"] == "Missing variable values for: region"
    assert missing.json()["field"] == "variables.region"
    typed = httpx.post(f"{url}{BASE}/plan", json={**body, "variables": {"region": "x", "waitTime": "soon"}})
    assert (
        typed.json()["message"] == "Incorrectly defined variable(s): waitTime (expected type 'int' found type 'String')"
    )
    gone = httpx.post(f"{url}{BASE}/plan", json=config("tplapp", "no-such-template"))
    assert gone.status_code == 400 and gone.json()["field"] == "template.reference"


def test_a_templated_config_with_a_bad_reference_is_refused_on_save(gate: Gate) -> None:
    body = config("tplapp", "x")
    body["template"]["reference"] = "front50://x"
    answer = httpx.post(f"{gate.url}/pipelines", json=body)
    assert answer.status_code == 400 and answer.json()["field"] == "template.reference"


async def finished(http: httpx.AsyncClient, ref: str) -> dict[str, Any]:
    while True:  # the test's timeout bounds this; each read follows the execution's progress
        execution: dict[str, Any] = (await http.get(ref)).json()
        if execution.get("status") in DONE:
            return execution
        await asyncio.sleep(0.1)


async def test_templated_pipeline_runs_with_template_variables(gate: Gate, temporal_env: Any) -> None:
    tid = new_id()
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        (await http.post(f"{BASE}/create", json=template(tid))).raise_for_status()
        body = config("tplapp", tid, variables={"region": "us-east-1", "waitTime": 1.0})
        body["stages"] = [{"refId": "last", "type": "wait", "waitTime": 0, "inject": {"last": True}}]
        saved = (await http.post("/pipelines", json=body)).json()
        started = await http.post(f"/pipelines/tplapp/{saved['name']}", json={})
        assert started.status_code == 202, started.text
        execution = await finished(http, started.json()["ref"])
    assert execution["status"] == "SUCCEEDED"
    assert execution["templateVariables"] == {"region": "us-east-1", "waitTime": 1.0}
    stages = {s["refId"]: s for s in execution["stages"]}
    assert set(stages) == {"wait1", "wait2", "last"}
    assert stages["wait1"]["context"]["waitTime"] == 1.0
    assert stages["wait2"]["name"] == "in us-east-1"
    assert stages["last"]["requisiteStageRefIds"] == ["wait2"]
    assert execution["pipelineConfigId"] == saved["id"]


async def test_webhook_trigger_inherited_from_the_template_fires(gate: Gate, temporal_env: Any) -> None:
    tid, source = new_id(), f"src-{uuid.uuid4().hex[:8]}"
    tpl = template(tid)
    tpl["pipeline"]["triggers"] = [{"type": "webhook", "source": source, "enabled": True}]
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        (await http.post(f"{BASE}/create", json=tpl)).raise_for_status()
        saved = (await http.post("/pipelines", json=config("tplapp", tid))).json()
        assert "triggers" not in saved  # the config itself has none: they come from the template
        answer = (await http.post(f"/webhooks/webhook/{source}", json={"x": 1})).json()
        assert [e["pipelineId"] for e in answer["executions"]] == [saved["id"]], answer
        assert answer["executions"][0]["started"] is True
        execution = await finished(http, f"/pipelines/{answer['executions'][0]['executionId']}")
    assert execution["status"] == "SUCCEEDED"
    assert execution["trigger"]["type"] == "webhook" and execution["trigger"]["source"] == source
    assert execution["templateVariables"]["region"] == "eu-west-1"


async def test_a_broken_template_is_reported_not_dropped(gate: Gate, temporal_env: Any) -> None:
    tid, source = new_id(), f"src-{uuid.uuid4().hex[:8]}"
    tpl = template(tid)
    tpl["pipeline"]["triggers"] = [{"type": "webhook", "source": source, "enabled": True}]
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        (await http.post(f"{BASE}/create", json=tpl)).raise_for_status()
        saved = (await http.post("/pipelines", json=config("tplapp", tid, variables={}))).json()
        assert saved["templateError"] == {"message": "Missing variable values for: region", "field": "variables.region"}
        answer = (await http.post(f"/webhooks/webhook/{source}", json={})).json()
        reason = f"pipeline '{saved['name']}' cannot be rendered: Missing variable values for: region"
        [refused] = answer["executions"]
        assert refused["pipelineId"] == saved["id"] and refused["started"] is False and refused["error"] == reason
        # the pipeline's history shows the refused start, with the reason as a system notification
        execution = (await http.get(f"/pipelines/{refused['executionId']}")).json()
        assert execution["status"] == "TERMINAL" and execution["pipelineConfigId"] == saved["id"]
        assert [n["message"] for n in execution["systemNotifications"]] == [reason]
        assert execution["trigger"]["source"] == source
        redelivered = (await http.post(f"/webhooks/webhook/{source}", json={})).json()
        assert redelivered["executions"][0]["executionId"] == refused["executionId"]  # the same event: one record
        another = (await http.post(f"/webhooks/webhook/{source}", json={"n": 2})).json()
        assert another["executions"][0]["executionId"] != refused["executionId"]
        manual = await http.post(f"/pipelines/tplapp/{saved['name']}", json={})
        assert manual.status_code == 400 and manual.json()["field"] == "variables.region"
        listed = (await http.get("/applications/tplapp/pipelines", params={"limit": 10})).json()
        assert sorted(e["status"] for e in listed if e.get("pipelineConfigId") == saved["id"]) == ["TERMINAL"] * 2


async def test_cron_trigger_inherited_from_the_template_fires(gate: Gate, temporal_env: Any) -> None:
    from integrations.triggers.schedules import schedule_id

    tid = new_id()
    tpl = template(tid)
    tpl["pipeline"]["triggers"] = [{"type": "cron", "cronExpression": "0 0 3 1 1 ? 2099", "enabled": True}]
    client = temporal_env.client
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        (await http.post(f"{BASE}/create", json=tpl)).raise_for_status()
        saved = (await http.post("/pipelines", json=config("tplcron", tid))).json()
        planned = (await http.post(f"{BASE}/plan", json=saved)).json()
        [cron] = [t for t in planned["triggers"] if t["type"] == "cron"]
        assert cron["inherited"] is True and cron["id"]
        sid = schedule_id(saved["id"], cron["id"])
        while True:  # the Schedule is put right after the save's answer
            try:
                await client.get_schedule_handle(sid).describe()
                break
            except Exception:  # noqa: BLE001 - not there yet
                await asyncio.sleep(0.1)
        await client.get_schedule_handle(sid).trigger()
        while True:
            listed = (await http.get("/applications/tplcron/pipelines", params={"limit": 5})).json()
            ours = [e for e in listed if e.get("pipelineConfigId") == saved["id"]]
            if ours and ours[0]["status"] in DONE:
                break
            await asyncio.sleep(0.1)
        await client.get_schedule_handle(sid).delete()
    assert ours[0]["status"] == "SUCCEEDED"
    assert ours[0]["trigger"]["type"] == "cron"
    assert ours[0]["templateVariables"] == {"region": "eu-west-1", "waitTime": 0}


async def test_pipeline_trigger_inherited_from_the_template_fires(gate: Gate, temporal_env: Any) -> None:
    tid = new_id()
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        upstream = (
            await http.post(
                "/pipelines",
                json={
                    "application": "tplup",
                    "name": f"up-{tid}",
                    "stages": [{"refId": "1", "type": "wait", "waitTime": 0}],
                },
            )
        ).json()
        tpl = template(tid)
        tpl["pipeline"]["triggers"] = [
            {
                "type": "pipeline",
                "application": "tplup",
                "pipeline": upstream["id"],
                "status": ["successful"],
                "enabled": True,
            }
        ]
        (await http.post(f"{BASE}/create", json=tpl)).raise_for_status()
        downstream = (await http.post("/pipelines", json=config("tpldown", tid))).json()
        started = (await http.post(f"/pipelines/tplup/{upstream['name']}", json={})).json()
        assert (await finished(http, started["ref"]))["status"] == "SUCCEEDED"
        while True:  # the upstream's end starts the downstream
            listed = (await http.get("/applications/tpldown/pipelines", params={"limit": 5})).json()
            ours = [e for e in listed if e.get("pipelineConfigId") == downstream["id"]]
            if ours and ours[0]["status"] in DONE:
                break
            await asyncio.sleep(0.1)
    assert ours[0]["status"] == "SUCCEEDED"
    assert ours[0]["trigger"]["type"] == "pipeline"
    assert ours[0]["templateVariables"] == {"region": "eu-west-1", "waitTime": 0}  # spinnaker/spinnaker#4658


async def test_a_template_change_reschedules_its_dependents(gate: Gate, temporal_env: Any) -> None:
    from integrations.triggers.schedules import schedule_id

    tid = new_id()
    client = temporal_env.client
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        (await http.post(f"{BASE}/create", json=template(tid))).raise_for_status()
        saved = (await http.post("/pipelines", json=config("tplres", tid))).json()
        tpl = template(tid)
        tpl["pipeline"]["triggers"] = [{"type": "cron", "cronExpression": "0 0 4 1 1 ? 2099", "enabled": True}]
        (await http.post(f"{BASE}/update/{tid}", json=tpl)).raise_for_status()
        [cron] = [t for t in (await http.post(f"{BASE}/plan", json=saved)).json()["triggers"] if t["type"] == "cron"]
        handle = client.get_schedule_handle(schedule_id(saved["id"], cron["id"]))
        while True:  # put by the update, after its answer
            try:
                described = await handle.describe()
                break
            except Exception:  # noqa: BLE001 - not there yet
                await asyncio.sleep(0.1)
        assert described.schedule.state.paused is False
        await handle.delete()


async def test_an_ad_hoc_templated_pipeline_runs(gate: Gate, temporal_env: Any) -> None:
    tid = new_id()
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        (await http.post(f"{BASE}/create", json=template(tid))).raise_for_status()
        body = {**config("tpladhoc", tid), "trigger": {"parameters": {"x": "1"}}}
        started = await http.post("/pipelines/start", json=body)
        assert started.status_code == 202, started.text
        execution = await finished(http, started.json()["ref"])
        broken = await http.post("/pipelines/start", json={**body, "variables": {}})
    assert execution["status"] == "SUCCEEDED"
    assert execution["trigger"]["parameters"] == {"x": "1"}
    assert [s["name"] for s in execution["stages"]] == ["first wait", "in eu-west-1"]
    assert broken.status_code == 400 and broken.json()["field"] == "variables.region"


async def test_a_pipeline_stage_runs_a_templated_child(gate: Gate, temporal_env: Any) -> None:
    tid = new_id()
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        (await http.post(f"{BASE}/create", json=template(tid))).raise_for_status()
        child = (await http.post("/pipelines", json=config("tplchild", tid))).json()
        stage = {"refId": "1", "type": "pipeline", "application": "tplchild", "pipeline": child["id"]}
        parent = (
            await http.post("/pipelines", json={"application": "tplchild", "name": "parent", "stages": [stage]})
        ).json()
        started = (await http.post(f"/pipelines/tplchild/{parent['name']}", json={})).json()
        execution = await finished(http, started["ref"])
        child_id = execution["stages"][0]["context"]["executionId"]
        child_run = await finished(http, f"/pipelines/{child_id}")
    assert execution["status"] == "SUCCEEDED"
    assert child_run["status"] == "SUCCEEDED" and child_run["templateVariables"]["region"] == "eu-west-1"
    assert [s["name"] for s in child_run["stages"]] == ["first wait", "in eu-west-1"]


async def test_a_config_printed_by_use_without_a_type_runs(gate: Gate, temporal_env: Any) -> None:
    tid = new_id()
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        (await http.post(f"{BASE}/create", json=template(tid))).raise_for_status()
        body = {k: v for k, v in config("tpluse", tid).items() if k != "type"}
        saved = (await http.post("/pipelines", json=body)).json()
        assert [d["id"] for d in (await http.get(f"{BASE}/{tid}/dependents")).json()] == [saved["id"]]
        started = (await http.post(f"/pipelines/tpluse/{saved['name']}", json={})).json()
        execution = await finished(http, started["ref"])
    assert execution["status"] == "SUCCEEDED" and execution["templateVariables"]["region"] == "eu-west-1"


def test_an_update_lists_the_dependents_it_breaks(gate: Gate) -> None:
    url, tid = gate.url, new_id()
    httpx.post(f"{url}{BASE}/create", json=template(tid)).raise_for_status()
    saved = httpx.post(f"{url}/pipelines", json=config("tplbreak", tid)).json()
    fine = httpx.post(f"{url}{BASE}/update/{tid}", json=template(tid)).json()
    assert fine["dependentErrors"] == []
    breaking = template(tid)
    breaking["variables"].append({"name": "owner", "type": "string"})  # required, no default
    answer = httpx.post(f"{url}{BASE}/update/{tid}", json=breaking)
    assert answer.status_code == 200  # saved, as Orca saves it
    assert answer.json()["dependentErrors"] == [
        {
            "application": "tplbreak",
            "id": saved["id"],
            "name": saved["name"],
            "message": "Missing variable values for: owner",
            "field": "variables.owner",
        }
    ]
    skipped = httpx.post(f"{url}{BASE}/update/{tid}", params={"skipPlanDependents": "true"}, json=breaking)
    assert "dependentErrors" not in skipped.json()
