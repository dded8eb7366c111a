"""Attacks that go through executions (auth on), over HTTP against the API, a worker and Temporal: a stage
using what its user may not (a child pipeline's application, a Jenkins master), a trigger body posing as
someone else, webhook header secrets in Temporal's history."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings
from core.settings.auth import AuthSettings
from tests.api.permissions_world import ACCOUNTS, World, populate, principal_from_header
from tests.stubs import Reply, serve_stub

pytestmark = pytest.mark.temporal
DONE = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE"}


@contextlib.asynccontextmanager
async def world(client: Any, tmp_path: Path, auth: dict[str, Any] | None = None, **extra: Any) -> AsyncIterator[World]:
    """permissions_world's Gate (six callers by ``X-Test-As``), with settings a test adds."""
    from api.deps import get_principal
    from api.main import create_app
    from core.store import Store
    from tests.conftest import build_worker_with

    settings = Settings(
        state_dir=tmp_path,
        task_queue=f"authz-{uuid.uuid4()}",
        accounts=ACCOUNTS,
        auth=AuthSettings(**{"enabled": True, "admin_roles": ["admins"], **(auth or {})}),
        **extra,
    )
    store = Store(settings.store_url)
    store.migrate()
    async with build_worker_with(client, settings, store):
        app = create_app(settings, temporal=client, store=store)
        app.dependency_overrides[get_principal] = principal_from_header
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
            built = World(http, store, settings, app)
            populate(built)
            yield built
    store.close()


async def finished(w: World, execution_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        answer = await w.call("admin", "GET", f"/pipelines/{execution_id}")
        if answer.status_code == 200:
            body = answer.json()
            if body.get("status") in DONE:
                return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"execution did not finish: {body}")


async def trigger(w: World, role: str, application: str, name: str, body: Any = None) -> str:
    answer = await w.call(role, "POST", f"/pipelines/{application}/{name}", body or {})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["ref"].rsplit("/", 1)[-1])


def _stage_error(execution: dict[str, Any], stage_type: str) -> str:
    stage = next(s for s in execution["stages"] if s["type"] == stage_type)
    return str(((stage.get("context") or {}).get("exception") or {}).get("details", {}).get("error"))


async def test_a_pipeline_stage_needs_execute_on_the_childs_application(client: Any, tmp_path: Path) -> None:
    async with world(client, tmp_path) as w:
        child = {"refId": "1", "type": "pipeline", "name": "run locked", "application": "locked"}
        w.pipeline("free", name="launcher", stages=[{**child, "pipeline": w.ids["pipeline"]}])
        # the writer may start the open application's pipeline, but may not EXECUTE in 'locked'
        denied = await finished(w, await trigger(w, "writer", "free", "launcher"))
        assert denied["status"] == "TERMINAL"
        expected = "Access denied: wes does not have EXECUTE permission on application 'locked'"
        assert _stage_error(denied, "pipeline") == expected
        assert not [e for e in w.store.executions.query(application="locked") if e["trigger"].get("type") == "pipeline"]
        # the executor may
        allowed = await finished(w, await trigger(w, "executor", "free", "launcher"))
        assert allowed["status"] == "SUCCEEDED", allowed


async def test_a_jenkins_stage_needs_write_on_the_master(client: Any, tmp_path: Path) -> None:
    services = {"ci": {"READ": ["executors", "admins"], "WRITE": ["admins"]}}
    masters = {
        "masters": [
            {"name": "ci", "address": "http://127.0.0.1:9/"},
            {"name": "open-ci", "address": "http://127.0.0.1:9/"},
        ]
    }
    async with world(client, tmp_path, {"build_services": services}, jenkins=masters) as w:
        jenkins = {"refId": "1", "type": "jenkins", "name": "b", "master": "CI", "job": "j"}
        w.pipeline("free", name="build", stages=[jenkins])
        denied = await finished(w, await trigger(w, "executor", "free", "build"))
        assert denied["status"] == "TERMINAL"
        expected = "Access denied: eve does not have WRITE permission on build service 'CI'"
        assert _stage_error(denied, "jenkins") == expected
        # an admin gets past the check (and meets the master Gennaker was not given)
        other = await finished(w, await trigger(w, "admin", "free", "build"))
        assert "permission" not in _stage_error(other, "jenkins")
        # reads of the master need READ on it, and the list shows only the masters one may read
        refused = await w.call("writer", "GET", "/v3/builds/ci/jobs")
        assert refused.status_code == 403
        assert refused.json()["message"] == "Access denied: wes does not have READ permission on build service 'ci'"
        assert (await w.call("executor", "GET", "/v3/builds/ci/jobs")).status_code != 403
        assert (await w.call("writer", "GET", "/v2/builds")).json() == ["open-ci"]
        assert sorted((await w.call("executor", "GET", "/v2/builds")).json()) == ["ci", "open-ci"]


async def test_a_trigger_body_cannot_choose_its_user_or_type(client: Any, tmp_path: Path) -> None:
    async with world(client, tmp_path) as w:
        for body, field in (({"user": "ada"}, "user"), ({"type": "pipeline", "parentExecution": {}}, "type")):
            refused = await w.call("executor", "POST", "/pipelines/locked/deploy", body)
            assert refused.status_code == 400 and refused.json()["field"] == field, refused.text
            refused = await w.call("executor", "POST", "/pipelines/v2/locked/deploy", body)
            assert refused.status_code == 400 and refused.json()["field"] == field, refused.text
        task = {"job": [{"type": "wait", "waitTime": 0}], "trigger": {"user": "ada", "type": "manual"}}
        refused = await w.call("executor", "POST", "/applications/locked/tasks", task)
        assert refused.status_code == 400 and refused.json()["field"] == "trigger.user", refused.text
        adhoc = {"application": "locked", "name": "x", "stages": [], "trigger": {"type": "cron"}}
        refused = await w.call("executor", "POST", "/pipelines/start", adhoc)
        assert refused.status_code == 400 and refused.json()["field"] == "type", refused.text
        # naming oneself is fine, and the trigger is the API's
        own = {"user": "EVE", "type": "manual"}
        execution = await finished(w, await trigger(w, "executor", "locked", "deploy", own))
        assert execution["trigger"]["user"] == "eve" and execution["trigger"]["type"] == "manual"
        assert execution["authentication"]["user"] == "eve"


async def test_a_webhook_payload_cannot_choose_the_triggers_user_or_type(client: Any, tmp_path: Path) -> None:
    async with world(client, tmp_path) as w:
        w.pipeline("free", name="hooked", triggers=[{"type": "webhook", "source": "deploy-hook", "enabled": True}])
        answer = await w.http.post(
            "/webhooks/webhook/deploy-hook", json={"user": "ada", "type": "manual", "runAsUser": "deployer"}
        )
        assert answer.status_code == 200 and answer.json()["eventProcessed"] is True, answer.text
        execution = await finished(w, answer.json()["executions"][0]["executionId"])
        assert execution["trigger"]["type"] == "webhook" and execution["trigger"]["user"] == "anonymous"
        assert execution["authentication"]["user"] == "anonymous"


async def test_webhook_header_secrets_stay_out_of_temporals_history(client: Any, tmp_path: Path) -> None:
    with serve_stub() as stub:
        # the worker keeps its HTTP pool open past the test: the stub closes each connection itself
        stub.on("POST", "/hook", Reply(200, {"ok": True}, headers={"Connection": "close"}))
        async with world(client, tmp_path, outbound={"allow_cidrs": ["127.0.0.0/8"]}) as w:
            stage = {
                "refId": "1",
                "type": "webhook",
                "name": "call",
                "url": stub.url("/hook"),
                "method": "POST",
                "payload": {"a": 1},
                "customHeaders": {"Authorization": "Bearer hunter2-secret"},
            }
            config = {"application": "free", "name": "call", "stages": [stage]}
            saved = await w.call("admin", "POST", "/pipelines", config)
            assert saved.status_code == 200, saved.text
            execution_id = await trigger(w, "executor", "free", "call")
            done = await finished(w, execution_id)
            assert done["status"] == "SUCCEEDED", done
            # the request carried the clear value ...
            assert stub.calls and stub.calls[0].header("authorization") == ["Bearer hunter2-secret"]
            # ... which no workflow of the execution holds in its history, nor the execution's reads
            histories = []
            async for info in client.list_workflows(f'TaskQueue = "{w.settings.task_queue}"'):
                history = await client.get_workflow_handle(info.id, run_id=info.run_id).fetch_history()
                histories.append(b"".join(e.SerializeToString() for e in history.events))  # payloads raw
            assert any(b"/hook" in h for h in histories)  # the stage's context is there to be searched ...
            assert not any(b"hunter2" in h for h in histories)  # ... without the header's value
            assert "hunter2" not in (await w.call("admin", "GET", f"/pipelines/{execution_id}")).text
