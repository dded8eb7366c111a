"""Gate's API end to end over HTTP: configs saved and read back, pipelines triggered, judged, canceled,
restarted, listed; errors in Gate's shape."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.temporal

SET_BY_STORE = {"id", "lastModified", "updateTs", "lastModifiedBy", "createTs"}


def judge_pipeline(app="demo", name="judged", **extra):
    return {
        "application": app,
        "name": name,
        "limitConcurrent": False,
        "parameterConfig": [
            {"name": "env", "required": True, "hasOptions": True, "options": [{"value": "staging"}, {"value": "prod"}]},
            {"name": "size", "default": "small"},
        ],
        "stages": [
            {"refId": "1", "type": "wait", "name": "first", "waitTime": 0, "note": "${parameters.env}"},
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "manualJudgment", "name": "judge"},
        ],
        **extra,
    }


async def test_misc_endpoints(api):
    assert (await api.http.get("/health")).json() == {"status": "UP"}
    assert "version" in (await api.http.get("/version")).json()
    anonymous = json.loads((FIXTURES / "deck" / "default_auth.user.anonymous.json").read_text())
    user = (await api.http.get("/auth/user")).json()
    assert set(anonymous) <= set(user) and user["username"] == "anonymous"
    accounts = (await api.http.get("/credentials")).json()
    assert accounts == [{"name": "prod", "type": "aws", "regions": ["us-east-1"]}]  # no secrets
    functions = {f["name"] for f in (await api.http.get("/capabilities/expressions")).json()["functions"]}
    assert {"stage", "judgment", "toJson", "fromUrl"} <= functions


@pytest.mark.parametrize("path", sorted((FIXTURES / "deck").glob("*pipelineConfigs.json")), ids=lambda p: p.name)
async def test_fixture_configs_save_and_read_back_unchanged(api, path):
    for config in json.loads(path.read_text()):
        response = await api.http.post("/pipelines", json=config)
        assert response.status_code == 200, response.text
        got = (await api.http.get(f"/applications/{config['application']}/pipelineConfigs/{config['name']}")).json()
        assert {k: v for k, v in got.items() if k not in SET_BY_STORE | {"triggers"}} == {
            k: v for k, v in config.items() if k not in SET_BY_STORE | {"triggers"}
        }
        for mine, theirs in zip(got.get("triggers", []), config.get("triggers", []), strict=True):
            assert {k: v for k, v in mine.items() if k != "id"} == {k: v for k, v in theirs.items() if k != "id"}
    listed = (await api.http.get(f"/applications/{config['application']}/pipelineConfigs")).json()
    assert {c["name"] for c in listed} >= {c["name"] for c in json.loads(path.read_text())}


async def test_saving_is_validated_and_stale_saves_refused(api):
    saved = (await api.http.post("/pipelines", json=judge_pipeline(name="v1"))).json()
    assert saved["id"] and saved["lastModified"]
    duplicate = await api.http.post("/pipelines", json=judge_pipeline(name="V1"))
    assert duplicate.status_code in (400, 409) and "v1" in duplicate.json()["message"].lower()
    cycle = await api.http.post(
        "/pipelines",
        json={
            "application": "demo",
            "name": "loop",
            "stages": [
                {"refId": "1", "requisiteStageRefIds": ["2"], "type": "wait"},
                {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait"},
            ],
        },
    )
    assert cycle.status_code == 400 and "cycle" in cycle.json()["message"]
    unknown_type = await api.http.post(
        "/pipelines", json={"application": "demo", "name": "future", "stages": [{"refId": "1", "type": "deployToMars"}]}
    )
    assert unknown_type.status_code == 200  # kept, as Front50 does: it is refused when it would start
    again = (await api.http.put(f"/pipelines/{saved['id']}", json={**saved, "description": "edited"})).json()
    stale = await api.http.post("/pipelines?staleCheck=true", json={**saved, "description": "old copy"})
    assert stale.status_code == 409 and "stale" in stale.json()["message"].lower()
    history = (await api.http.get(f"/pipelineConfigs/{saved['id']}/history")).json()
    assert [h.get("description") for h in history][:2] == ["edited", None] and again["description"] == "edited"
    deleted = await api.http.delete("/pipelines/demo/v1")
    assert deleted.status_code == 200
    assert (await api.http.get("/applications/demo/pipelineConfigs/v1")).status_code == 404


async def test_trigger_judge_and_list(api):
    await api.http.post("/pipelines", json=judge_pipeline())
    missing = await api.http.post("/pipelines/demo/judged", json={"type": "manual"})
    assert missing.status_code == 400 and missing.json()["message"] == "Required parameter env is missing"
    wrong = await api.http.post("/pipelines/demo/judged", json={"parameters": {"env": "moon"}})
    assert wrong.status_code == 400 and "must be one of staging, prod" in wrong.json()["message"]
    response = await api.http.post("/pipelines/demo/judged", json={"parameters": {"env": "prod"}})
    assert response.status_code == 202
    execution_id = response.json()["ref"].removeprefix("/pipelines/")
    running = await api.wait_for(execution_id, lambda e: e["stages"][1].get("tasks"))
    assert running["trigger"]["parameters"] == {"env": "prod", "size": "small"}
    assert running["stages"][0]["context"]["note"] == "prod"
    listed = (await api.http.get("/applications/demo/pipelines?expand=false")).json()
    mine = next(e for e in listed if e["id"] == execution_id)
    assert mine["status"] == "RUNNING" and mine["stages"][0]["context"] == {} and mine["stages"][1]["tasks"] == []
    bad = await api.http.patch(
        f"/pipelines/{execution_id}/stages/{running['stages'][1]['id']}", json={"judgmentStatus": "perhaps"}
    )
    assert bad.status_code == 409 and "continue' or 'stop" in bad.json()["message"]
    judged = await api.http.patch(
        f"/pipelines/{execution_id}/stages/{running['stages'][1]['id']}",
        json={"judgmentStatus": "continue", "judgmentInput": "ship"},
    )
    assert judged.status_code == 200 and judged.json()["id"] == execution_id
    done = await api.finished(execution_id)
    assert done["status"] == "SUCCEEDED"
    stored = api.store.executions.get(execution_id)  # the workflow wrote its final state to the store
    assert stored["status"] == "SUCCEEDED" and stored["stages"][1]["context"]["judgmentStatus"] == "continue"
    by_id = (await api.http.get(f"/executions?executionIds={execution_id}&expand=true")).json()
    assert [e["id"] for e in by_id] == [execution_id] and by_id[0]["stages"][0]["tasks"]
    config_id = done["pipelineConfigId"]
    by_config = (await api.http.get(f"/executions?pipelineConfigIds={config_id}&statuses=SUCCEEDED")).json()
    assert [e["id"] for e in by_config] == [execution_id]
    result = (
        await api.http.get(
            f"/pipelines/{execution_id}/evaluateExpression",
            params={"expression": "${trigger.parameters.env}-${#judgment('judge')}"},
        )
    ).json()
    assert result == {"result": "prod-ship"}


async def test_v2_trigger_cancel_restart_and_delete(api):
    await api.http.post("/pipelines", json=judge_pipeline(name="ops"))
    response = await api.http.post("/pipelines/v2/demo/ops", json={"parameters": {"env": "staging"}})
    assert response.status_code == 202 and response.json()["eventId"]
    execution_id = response.json()["ref"].removeprefix("/pipelines/")
    running = await api.wait_for(execution_id, lambda e: e["stages"][1].get("tasks"))
    assert running["trigger"]["eventId"] == response.json()["eventId"]
    refused = await api.http.delete(f"/pipelines/{execution_id}")
    assert refused.status_code == 409
    stage_id = running["stages"][1]["id"]
    await api.http.patch(f"/pipelines/{execution_id}/stages/{stage_id}", json={"judgmentStatus": "stop"})
    assert (await api.finished(execution_id))["status"] == "TERMINAL"
    restarted = await api.http.put(f"/pipelines/{execution_id}/stages/{stage_id}/restart", json={})
    assert restarted.status_code == 200
    await api.wait_for(execution_id, lambda e: e["status"] == "RUNNING" and e["stages"][1].get("tasks"))
    canceled = await api.http.put(f"/pipelines/{execution_id}/cancel", params={"reason": "enough"})
    assert canceled.status_code == 200
    done = await api.finished(execution_id)
    assert done["status"] == "CANCELED" and done["cancellationReason"] == "enough"
    assert (await api.http.delete(f"/pipelines/{execution_id}")).status_code == 200


async def test_adhoc_start_and_errors_in_gates_shape(api):
    response = await api.http.post(
        "/pipelines/start", json={"application": "demo", "name": "adhoc", "stages": [{"type": "wait", "waitTime": 0}]}
    )
    assert response.status_code == 202
    done = await api.finished(response.json()["ref"].removeprefix("/pipelines/"))
    assert done["status"] == "SUCCEEDED"
    for method, path, body, status in [
        ("post", "/pipelines/demo/nosuch", {}, 404),
        ("get", "/pipelines/01NOSUCHEXECUTION000000000", None, 404),
        ("post", "/pipelines", [1, 2], 400),
        ("post", "/pipelines/start", {"application": "demo", "stages": [{"refId": "1", "type": "nope"}]}, 400),
        ("get", "/applications/demo/pipelines?statuses=WHATEVER", None, 400),
        ("get", "/executions", None, 400),
    ]:
        response = await api.http.request(method.upper(), path, json=body)
        assert response.status_code == status, (path, response.text)
        error = response.json()
        assert error["status"] == status and error["message"] and error["path"] == path.split("?")[0]
    malformed = await api.http.post("/pipelines", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"] == "Bad Request"


async def test_applications_through_tasks(api):
    fixture = json.loads((FIXTURES / "deck" / "core_create_application_create_testapp1.success.json").read_text())
    job = fixture["execution"]["stages"][0]["context"]["application"]
    response = await api.http.post(
        "/tasks",
        json={
            "application": "testapp1",
            "description": "Create Application: testapp1",
            "job": [{"type": "createApplication", "application": job, "user": "[anonymous]"}],
        },
    )
    assert response.status_code == 200
    task = (await api.http.get(response.json()["ref"])).json()
    assert task["status"] == "SUCCEEDED" and task["name"] == "Create Application: testapp1"
    assert set(fixture) <= set(task)
    assert task["execution"]["type"] == "ORCHESTRATION" and task["steps"][0]["name"] == "createApplication"
    assert {"key": "application", "value": job} in task["variables"]
    app = (await api.http.get("/applications/testapp1")).json()
    assert app["name"] == "testapp1" and app["attributes"]["email"] == job["email"]
    assert app["attributes"]["providerSettings"] == job["providerSettings"] and app["attributes"]["createTs"]
    assert "testapp1" in {a["name"] for a in (await api.http.get("/applications")).json()}
    tasks = (await api.http.get("/applications/testapp1/tasks")).json()
    assert [t["id"] for t in tasks] == [task["id"]]
    update = await api.http.post(
        "/applications/testapp1/tasks",
        json={"job": [{"type": "updateApplication", "application": {"name": "testapp1", "email": "new@example.com"}}]},
    )
    assert (await api.http.get(update.json()["ref"])).json()["status"] == "SUCCEEDED"
    assert (await api.http.get("/applications/testapp1")).json()["attributes"]["email"] == "new@example.com"
    delete = await api.http.post(
        "/tasks", json={"job": [{"type": "deleteApplication", "application": {"name": "testapp1"}}]}
    )
    assert delete.status_code == 200
    assert (await api.http.get("/applications/testapp1")).status_code == 404
    bad = await api.http.post("/tasks", json={"application": "x", "job": []})
    assert bad.status_code == 400 and bad.json()["field"] == "job"


async def test_orchestration_of_stages_through_tasks(api):
    response = await api.http.post(
        "/tasks", json={"application": "demo", "description": "just wait", "job": [{"type": "wait", "waitTime": 0}]}
    )
    task_id = response.json()["ref"].removeprefix("/tasks/")
    done = await api.finished(task_id)
    assert done["type"] == "ORCHESTRATION" and done["status"] == "SUCCEEDED"
    view = (await api.http.get(f"/tasks/{task_id}")).json()
    assert view["name"] == "just wait" and view["steps"][0]["name"] == "wait"


async def test_projects_and_search(api):
    await api.http.post("/pipelines", json=judge_pipeline(name="searchable", limitConcurrent=False))
    saved = (await api.http.get("/applications/demo/pipelineConfigs/searchable")).json()
    ids = []
    for env in ("staging", "prod"):
        ref = (await api.http.post("/pipelines/v2/demo/searchable", json={"parameters": {"env": env}})).json()
        ids.append(ref["ref"].removeprefix("/pipelines/"))
    for execution_id in ids:
        await api.wait_for(execution_id, lambda e: e["stages"][1].get("tasks"))
        await api.http.put(f"/pipelines/{execution_id}/cancel")
        await api.finished(execution_id)
    found = (
        await api.http.get(
            "/applications/demo/executions/search", params={"pipelineName": "searchable", "statuses": "CANCELED"}
        )
    ).json()
    assert [e["id"] for e in found] == ids[::-1]  # newest first
    oldest = (
        await api.http.get(
            "/applications/demo/executions/search", params={"pipelineName": "searchable", "reverse": "true", "size": 1}
        )
    ).json()
    assert [e["id"] for e in oldest] == ids[:1]
    task = await api.http.post(
        "/tasks",
        json={
            "job": [
                {
                    "type": "upsertProject",
                    "project": {
                        "name": "launch",
                        "email": "a@b.c",
                        "config": {
                            "applications": ["demo"],
                            "pipelineConfigs": [{"application": "demo", "pipelineConfigId": saved["id"]}],
                        },
                    },
                }
            ]
        },
    )
    assert (await api.http.get(task.json()["ref"])).json()["status"] == "SUCCEEDED"
    project = (await api.http.get("/projects/launch")).json()
    assert project["config"]["applications"] == ["demo"]
    assert "launch" in {p["name"] for p in (await api.http.get("/projects")).json()}
    runs = (await api.http.get("/projects/launch/pipelines", params={"limit": 5})).json()
    assert {e["id"] for e in runs} == set(ids)
    assert (await api.http.get("/projects/nope")).status_code == 404


async def test_executions_outlive_temporals_retention(api):
    """Executions Temporal no longer has (its retention ended) are served from the store."""
    from core.ids import new_ulid

    response = await api.http.post(
        "/pipelines/start", json={"application": "kept", "name": "short", "stages": [{"type": "wait", "waitTime": 0}]}
    )
    done = await api.finished(response.json()["ref"].removeprefix("/pipelines/"))
    forgotten = {**done, "id": new_ulid()}  # as the store keeps it, with no workflow behind it any more
    stuck = {**done, "id": new_ulid(), "status": "RUNNING"}  # its last stored state said RUNNING
    api.store.executions.save(forgotten)
    api.store.executions.save(stuck)
    assert (await api.http.get(f"/pipelines/{forgotten['id']}")).json() == forgotten
    assert (await api.http.get(f"/pipelines/{stuck['id']}")).json() == stuck
    listed = (await api.http.get("/applications/kept/pipelines", params={"expand": "true", "limit": 10})).json()
    assert {e["id"] for e in listed} == {done["id"], forgotten["id"], stuck["id"]}


async def test_execution_shapes_match_spinnakers(api):
    """The fixture's Simple Wait Pipeline, run here: every key Gate returned is there, with the same JSON types."""
    config = json.loads((FIXTURES / "deck" / "core_manual_execution_Simple_Wait_Pipeline.json").read_text())
    [theirs] = json.loads((FIXTURES / "deck" / "core_manual_execution_pipelines.succeeded.json").read_text())
    await api.http.post("/pipelines", json={**config, "limitConcurrent": False})
    response = await api.http.post(f"/pipelines/v2/{config['application']}/{config['name']}", json={})
    ours = await api.finished(response.json()["ref"].removeprefix("/pipelines/"))
    assert ours["status"] == "SUCCEEDED"

    def same_shape(mine: dict, fixture: dict, where: str) -> None:
        for key, value in fixture.items():
            assert key in mine, f"{where}.{key} missing"
            assert type(mine[key]) is type(value) or value is None, f"{where}.{key}: {mine[key]!r} vs {value!r}"

    same_shape(ours, {k: v for k, v in theirs.items() if k != "stages"}, "execution")
    same_shape(ours["trigger"], {k: v for k, v in theirs["trigger"].items() if k != "enabled"}, "trigger")
    same_shape(ours["authentication"], theirs["authentication"], "authentication")
    same_shape(ours["stages"][0], theirs["stages"][0], "stage")
    listed = (await api.http.get(f"/applications/{config['application']}/pipelines")).json()
    same_shape(next(e for e in listed if e["id"] == ours["id"]), {k: v for k, v in theirs.items()}, "listed")


@pytest.mark.parametrize(
    ("flags", "stage_status", "pipeline_status"),
    [
        ({}, "TERMINAL", "TERMINAL"),
        ({"failPipeline": False}, "STOPPED", "SUCCEEDED"),
        ({"failPipeline": False, "completeOtherBranchesThenFail": True}, "STOPPED", "TERMINAL"),
        ({"failPipeline": False, "continuePipeline": True}, "FAILED_CONTINUE", "SUCCEEDED"),
    ],
)
async def test_failure_options_through_the_api(api, flags, stage_status, pipeline_status):
    name = "fails-" + "-".join(sorted(flags)) if flags else "fails"
    await api.http.post(
        "/pipelines",
        json={
            "application": "demo",
            "name": name,
            "limitConcurrent": False,
            "stages": [
                {"refId": "1", "type": "wait", "name": "broken", "waitTime": "soon", **flags},
                {"refId": "2", "type": "wait", "name": "other", "waitTime": 0},
            ],
        },
    )
    response = await api.http.post(f"/pipelines/demo/{name}", json={})
    done = await api.finished(response.json()["ref"].removeprefix("/pipelines/"))
    assert done["status"] == pipeline_status
    assert {s["name"]: s["status"] for s in done["stages"]}["broken"] == stage_status
