"""Echo end to end over HTTP: webhooks, git pushes, pipeline triggers, cron Schedules and notifications,
against the real Temporal dev server, worker and store."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest

from tests.api.conftest import serve_api
from tests.integrations.notify.slack_standin import serve_slack

pytestmark = pytest.mark.temporal
PAYLOADS = Path(__file__).resolve().parents[1] / "integrations" / "triggers" / "payloads"


def _wait_stage(app: str, name: str, **extra) -> dict:
    return {"application": app, "name": name, "stages": [{"refId": "1", "type": "wait", "waitTime": 0}], **extra}


async def _executions(api, app: str) -> list[dict]:
    return (await api.http.get(f"/applications/{app}/pipelines", params={"limit": 50, "expand": "true"})).json()


async def _eventually(check, timeout: float = 20):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_webhook_triggers_start_matching_pipelines_once(api):
    trigger = {"type": "webhook", "enabled": True, "source": "ci", "payloadConstraints": {"branch": "main"}}
    await api.http.post(
        "/pipelines",
        json=_wait_stage(
            "hooks", "on-main", triggers=[trigger], parameterConfig=[{"name": "tag", "default": "latest"}]
        ),
    )
    await api.http.post("/pipelines", json=_wait_stage("hooks", "off", disabled=True, triggers=[trigger]))
    body = {"branch": "main", "parameters": {"tag": "v7"}, "artifacts": [{"type": "docker/image", "name": "app"}]}
    first = await api.http.post("/webhooks/webhook/ci", json=body)
    assert first.status_code == 200
    answer = first.json()
    assert answer["eventProcessed"] is True and answer["eventId"]
    [started] = answer["executions"]
    assert started["pipelineName"] == "on-main" and started["started"] is True
    done = await api.finished(started["executionId"])
    assert done["status"] == "SUCCEEDED"
    assert done["trigger"]["type"] == "webhook" and done["trigger"]["payload"] == body
    assert done["trigger"]["parameters"] == {"tag": "v7"} and done["trigger"]["artifacts"] == body["artifacts"]

    again = (await api.http.post("/webhooks/webhook/ci", json=body)).json()  # a replayed delivery
    assert again["executions"] == [{**started, "started": False}]
    other = (await api.http.post("/webhooks/webhook/ci", json={"branch": "dev"})).json()
    assert other["executions"] == []
    assert len(await _executions(api, "hooks")) == 1
    bad = await api.http.post(
        "/webhooks/webhook/ci", content=b"[not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and "body" in bad.json()["message"]


async def test_github_push_with_signature(api):
    payload = (PAYLOADS / "github_push.json").read_bytes()
    push = json.loads(payload)
    trigger = {
        "type": "git",
        "enabled": True,
        "source": "github",
        "project": push["repository"]["owner"]["name"],
        "slug": push["repository"]["name"],
        "branch": "ma.*",
        "secret": "s3cret",
    }
    await api.http.post("/pipelines", json=_wait_stage("gitapp", "push", triggers=[trigger]))

    def signed(secret: str, delivery: str) -> dict:
        digest = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        return {
            "content-type": "application/json",
            "x-github-event": "push",
            "x-github-delivery": delivery,
            "x-hub-signature-256": f"sha256={digest}",
        }

    forged = (await api.http.post("/webhooks/git/github", content=payload, headers=signed("guess", "d-1"))).json()
    assert forged["executions"] == [] and "signature" in forged["refused"][0]["reason"]
    assert "s3cret" not in json.dumps(forged)
    good = (await api.http.post("/webhooks/git/github", content=payload, headers=signed("s3cret", "d-2"))).json()
    [started] = good["executions"]
    done = await api.finished(started["executionId"])
    assert done["trigger"]["type"] == "git" and done["trigger"]["hash"] == push["after"]
    assert "secret" not in done["trigger"]
    redelivered = (await api.http.post("/webhooks/git/github", content=payload, headers=signed("s3cret", "d-2"))).json()
    assert redelivered["executions"][0]["started"] is False
    ping = {"zen": "hi", "hook_id": 1, "hook": {}}
    ignored = (await api.http.post("/webhooks/git/github", json=ping, headers={"x-github-event": "ping"})).json()
    assert ignored["eventProcessed"] is False


async def test_pipeline_triggers_start_dependents_once(api):
    upstream = (await api.http.post("/pipelines", json=_wait_stage("deps", "build"))).json()
    trigger = {"type": "pipeline", "enabled": True, "application": "deps", "pipeline": upstream["id"]}
    await api.http.post(
        "/pipelines", json=_wait_stage("deps", "deploy", triggers=[{**trigger, "status": ["successful"]}])
    )
    await api.http.post(
        "/pipelines", json=_wait_stage("deps", "rollback", triggers=[{**trigger, "status": ["failed"]}])
    )
    parent = await api.finished((await api.http.post("/pipelines/deps/build", json={})).json()["ref"].split("/")[-1])

    async def children():
        return [e for e in await _executions(api, "deps") if e["name"] != "build"]

    [child] = await _eventually(children)
    assert child["name"] == "deploy"
    assert child["trigger"]["parentExecution"]["id"] == parent["id"] and child["trigger"]["parentStatus"] == "SUCCEEDED"
    await api.finished(child["id"])
    await asyncio.sleep(0.5)
    assert len(await children()) == 1  # the failed-status dependent never started


async def test_cron_triggers_are_schedules(api, client):
    from integrations.triggers.schedules import schedule_id

    bad = _wait_stage("crons", "bad", triggers=[{"type": "cron", "enabled": True, "cronExpression": "0 0 12 ? * 9"}])
    refused = await api.http.post("/pipelines", json=bad)
    assert refused.status_code == 400 and refused.json()["field"] == "triggers[0].cronExpression"
    cron = {"type": "cron", "enabled": True, "cronExpression": "0 0 12 ? * 5#3"}
    saved = (await api.http.post("/pipelines", json=_wait_stage("crons", "nightly", triggers=[cron]))).json()
    trigger_id = saved["triggers"][0]["id"]
    handle = client.get_schedule_handle(schedule_id(saved["id"], trigger_id))
    described = await handle.describe()
    assert not described.schedule.state.paused
    assert described.schedule.spec.time_zone_name == "America/Los_Angeles"
    for when in described.info.next_action_times[:3]:
        local = when.astimezone(__import__("zoneinfo").ZoneInfo("America/Los_Angeles"))
        assert local.weekday() == 3 and 15 <= local.day <= 21 and local.hour == 12  # the third Thursday

    await handle.trigger()  # "run now": what the Schedule does at noon

    async def runs():
        return await _executions(api, "crons")

    [run] = await _eventually(runs)
    assert run["trigger"]["type"] == "cron" and run["trigger"]["id"] == trigger_id
    assert run["trigger"]["cronExpression"] == "0 0 12 ? * 5#3"

    await api.http.post("/pipelines", json={**saved, "disabled": True})
    assert (await handle.describe()).schedule.state.paused
    await api.http.delete("/pipelines/crons/nightly")
    gone = await _eventually(lambda: _missing(handle))
    assert gone


async def _missing(handle) -> bool:
    from temporalio.service import RPCError

    try:
        await handle.describe()
    except RPCError:
        return True
    return False


async def test_cron_validate_answers_as_gate(api):
    ok = (await api.http.get("/cron/validate", params={"expression": "0 0 0 1W 1/1 ? *"})).json()
    assert ok["valid"] is True and ok["description"] and len(ok["nextRuns"]) == 3
    bad = await api.http.get("/cron/validate", params={"expression": "0 0 12 ? * 9"})
    assert bad.status_code == 200  # Gate answers invalid expressions with a 200 too
    assert bad.json()["valid"] is False and "day-of-week" in bad.json()["message"]


async def test_notifications_reach_slack_and_failures_show(client, tmp_path):
    token = f"xoxb-{uuid.uuid4().hex}"
    with serve_slack(token) as slack:
        notifications = {"slack": {"bot_token": token, "base_url": slack.base_url}}
        async with serve_api(client, tmp_path, notifications=notifications) as api:
            pipeline = {
                "application": "loud",
                "name": "told",
                "notifications": [
                    {
                        "type": "slack",
                        "address": "#deploys",
                        "level": "pipeline",
                        "when": ["pipeline.starting", "pipeline.complete"],
                        "message": {"pipeline.complete": {"text": "done: ${execution.name} for ${trigger.user}"}},
                    },
                    {"type": "slack", "address": "#nowhere", "when": ["pipeline.complete"]},
                ],
                "stages": [
                    {
                        "refId": "1",
                        "type": "wait",
                        "waitTime": 0,
                        "sendNotifications": True,
                        "notifications": [{"type": "slack", "address": "general", "when": ["stage.complete"]}],
                    }
                ],
            }
            await api.http.post("/pipelines", json=pipeline)
            app_level = {"slack": [{"address": "general", "level": "application", "when": ["pipeline.starting"]}]}
            assert (await api.http.post("/notifications/application/loud", json=app_level)).status_code == 200
            shown = (await api.http.get("/notifications/application/loud")).json()
            assert shown["application"] == "loud" and shown["slack"][0]["address"] == "general"
            assert (await api.http.get("/notifications/nonsense/loud")).status_code == 404
            execution_id = (await api.http.post("/pipelines/loud/told", json={})).json()["ref"].split("/")[-1]
            done = await api.finished(execution_id)
            assert done["status"] == "SUCCEEDED"  # a failing channel changes nothing
            # the notifications' reader sends them from the events, after the transitions were recorded

            async def all_sent():
                return len(slack.messages) >= 4

            assert await _eventually(all_sent)
            texts = [(m.channel_id, json.dumps(m.args)) for m in slack.messages]
            assert sorted(c for c, _ in texts) == ["C0DEPLOYS", "C0DEPLOYS", "C0GENERAL", "C0GENERAL"]
            assert any("done: told for anonymous" in t for _, t in texts)
            stored = await _eventually(lambda: _stored_failure(api, execution_id))
            assert "channel_not_found" in stored["message"] and token not in json.dumps(stored)


async def _stored_failure(api, execution_id):
    execution = (await api.http.get(f"/pipelines/{execution_id}")).json()
    found = [n for n in execution.get("systemNotifications", []) if n.get("group") == "notification"]
    return found[0] if found else None


async def test_judgment_notifications_remind_and_link_to_the_judgment(client, tmp_path):
    token = f"xoxb-{uuid.uuid4().hex}"
    with serve_slack(token) as slack:
        settings = {"slack": {"bot_token": token, "base_url": slack.base_url}, "base_url": "https://spin.example"}
        async with serve_api(client, tmp_path, notifications=settings) as api:
            entry = {
                "type": "slack",
                "address": "#deploys",
                "when": ["manualJudgment", "manualJudgmentContinue"],
                "notifyEveryMs": 2000,
            }
            pipeline = {
                "application": "judged",
                "name": "gate",
                "stages": [{"refId": "j", "type": "manualJudgment", "name": "Approve", "notifications": [entry]}],
            }
            await api.http.post("/pipelines", json=pipeline)
            execution_id = (await api.http.post("/pipelines/judged/gate", json={})).json()["ref"].split("/")[-1]
            running = await api.wait_for(execution_id, lambda e: e["stages"][0].get("tasks"))

            async def reminded():
                return len(slack.messages) >= 3  # the first message and two reminders

            assert await _eventually(reminded, timeout=15)
            first = json.dumps(slack.messages[0].args)
            assert "awaiting manual judgment" in first
            assert f"https://spin.example/#/applications/judged/executions/details/{execution_id}?refId=j" in first
            stage_id = running["stages"][0]["id"]
            await api.http.patch(f"/pipelines/{execution_id}/stages/{stage_id}", json={"judgmentStatus": "continue"})
            await api.finished(execution_id)

            async def judged():
                return any("judged to" in json.dumps(m.args) for m in slack.messages)

            assert await _eventually(judged)
            count = len(slack.messages)
            await asyncio.sleep(2.5)
            assert len(slack.messages) == count  # no reminders once judged


async def test_reconciliation_makes_schedules_match_the_store(api, client):
    """What the API runs when it starts: missing Schedules created, orphans deleted, changes applied."""
    from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleSpec, ScheduleState

    from api.main import reconcile_schedules
    from integrations.triggers.schedules import schedule_id

    ghost = schedule_id("no-such-pipeline", "t-1")
    await client.create_schedule(
        ghost,
        Schedule(
            action=ScheduleActionStartWorkflow("CronTrigger", id=ghost, task_queue="nobody"),
            spec=ScheduleSpec(cron_expressions=["0 0 * * *"]),
            state=ScheduleState(paused=True),
        ),
    )
    cron = {"type": "cron", "id": "t-2", "enabled": True, "cronExpression": "0 0 6 * * ?"}
    saved = api.store.pipelines.save(_wait_stage("drift", "made-while-down", triggers=[cron]), "bob")  # no API call
    wanted = client.get_schedule_handle(schedule_id(saved["id"], saved["triggers"][0]["id"]))  # ids given on save
    assert await _missing(wanted)
    await reconcile_schedules(client, api.settings, api.store)
    assert not (await wanted.describe()).schedule.state.paused
    assert await _eventually(lambda: _missing(client.get_schedule_handle(ghost)))
    await api.http.delete("/pipelines/drift/made-while-down")
    assert await _eventually(lambda: _missing(wanted))
