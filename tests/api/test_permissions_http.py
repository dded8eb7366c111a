"""Fiat over HTTP: what filtered reads show each caller, the authentication executions record, runAsUser,
managed service accounts, GET /authorize/{user}, bulk saves, and that nothing is checked with auth off."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from tests.api.permissions_world import WAIT, World, serve_world

pytestmark = pytest.mark.temporal
#: a one-stage pipeline of a zero-second wait closes in well under a second; the bound is for a very busy machine
FINISH_WITHIN_S = 60


async def _finished(world: World, execution_id: str) -> dict[str, Any]:
    """The execution as an admin reads it once its workflow has closed. Follows the event (Temporal's wait for the
    result) instead of polling the API: the engine records the execution before its workflow returns, so the store
    row is final then, however busy the machine is."""
    handle = world.app.state.temporal.get_workflow_handle(execution_id)
    try:
        await asyncio.wait_for(handle.result(), FINISH_WITHIN_S)
    except WorkflowFailureError:
        pass  # a failed pipeline is recorded all the same
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        # no workflow: the API ran it in the request and stored it before answering (an updateApplication task)
    response = await world.call("admin", "GET", f"/pipelines/{execution_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _authentication(world: World, execution_id: str) -> Any:
    """The execution's ``authentication``, as an admin reads it once the execution has finished."""
    execution = await _finished(world, execution_id)
    assert "authentication" in execution, execution
    return execution["authentication"]


async def _json(world: World, role: str, path: str) -> Any:
    response = await world.call(role, "GET", path)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("role", "apps", "accounts"),
    [
        ("anonymous", ["free"], ["open"]),
        ("reader", ["free", "locked"], ["open", "prod"]),
        ("service", ["free", "locked"], ["open", "prod"]),
        ("admin", ["free", "locked"], ["open", "prod", "vault"]),
    ],
)
async def test_lists_show_only_what_the_caller_may_read(
    role: str, apps: list[str], accounts: list[str], client: Any, tmp_path: Any
) -> None:
    async with serve_world(client, tmp_path) as w:
        assert [a["name"] for a in await _json(w, role, "/applications")] == apps
        assert sorted({p["application"] for p in await _json(w, role, "/pipelineConfigs")}) == apps
        ids = f"{w.ids['execution']},{w.ids['free_execution']}"
        listed = await _json(w, role, f"/executions?executionIds={ids}")
        assert sorted(e["application"] for e in listed) == apps
        assert sorted(a["name"] for a in await _json(w, role, "/credentials")) == accounts
        # cache entries: the account and the application must both be readable
        visible = sorted((g["account"], g["moniker"]["app"]) for g in await _json(w, role, "/serverGroups"))
        expected = [(acc, app) for acc, app in (("open", "free"), ("prod", "locked"), ("vault", "free"))]
        assert visible == [(acc, app) for acc, app in expected if acc in accounts and app in apps]
        lbs = sorted(lb["account"] for lb in await _json(w, role, "/loadBalancers"))
        assert lbs == [acc for acc, app in expected if acc in accounts and app in apps]
        found = (await _json(w, role, "/search?q=v000"))[0]["results"]
        assert sorted(r["account"] for r in found) == lbs
        clusters = await _json(w, role, "/applications/free/clusters")
        assert sorted(clusters) == sorted(a for a in ("open", "vault") if a in accounts)


async def test_a_refusal_names_the_permission_and_the_resource(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path) as w:
        response = await w.call("reader", "POST", "/pipelines/locked/deploy", {})
        assert response.status_code == 403
        body = response.json()
        assert body["message"] == "Access denied: rita does not have EXECUTE permission on application 'locked'"
        assert body["path"] == "/pipelines/locked/deploy"
        denied = await w.call(
            "writer", "POST", "/tasks", {"application": "free", "job": [{"type": "wait", "account": "vault"}]}
        )
        assert denied.status_code == 403
        assert denied.json()["message"] == "Access denied: wes does not have WRITE permission on account 'vault'"
        assert denied.json()["field"] == "job[0].account"


async def test_executions_record_the_caller_and_its_writable_accounts(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path) as w:
        started = {}
        for role in ("anonymous", "writer", "admin"):
            response = await w.call(role, "POST", "/pipelines/free/deploy", {})
            assert response.status_code == 202, response.text
            started[role] = response.json()["ref"].rsplit("/", 1)[1]
        adhoc = await w.call("writer", "POST", "/pipelines/start", {"application": "free", "name": "x", "stages": WAIT})
        started["adhoc"] = adhoc.json()["ref"].rsplit("/", 1)[1]
        task = await w.call(
            "writer", "POST", "/tasks", {"application": "free", "job": [{"type": "wait", "waitTime": 0}]}
        )
        started["task"] = task.json()["ref"].rsplit("/", 1)[1]
        expected = {
            "anonymous": {"user": "anonymous", "allowedAccounts": ["open"], "enforced": True},
            "writer": {"user": "wes", "allowedAccounts": ["open", "prod"], "enforced": True},
            "admin": {"user": "ada", "allowedAccounts": ["open", "prod", "vault"], "enforced": True},
            "adhoc": {"user": "wes", "allowedAccounts": ["open", "prod"], "enforced": True},
            "task": {"user": "wes", "allowedAccounts": ["open", "prod"], "enforced": True},
        }
        grants = {
            "anonymous": {"admin": False, "applications": {"locked": []}, "buildServices": {}},
            "writer": {"admin": False, "applications": {"locked": ["READ", "WRITE"]}, "buildServices": {}},
            "admin": {"admin": True},
        }
        for key, execution_id in started.items():
            recorded = await _authentication(w, execution_id)
            # what the engine checks stages against besides accounts (docs/security-auth.md)
            assert recorded.pop("grants") == grants.get(key, grants["writer"]), key
            assert recorded == expected[key], key
        update = {"job": [{"type": "updateApplication", "application": {"name": "free", "description": "d"}}]}
        ref = (await w.call("writer", "POST", "/tasks", update)).json()["ref"].rsplit("/", 1)[1]
        recorded = await _authentication(w, ref)
        assert recorded.pop("grants") == grants["writer"]
        assert recorded == {"user": "wes", "allowedAccounts": ["open", "prod"], "enforced": True}


def _webhook_pipeline(run_as: str | None = None, **extra: Any) -> dict[str, Any]:
    trigger: dict[str, Any] = {"type": "webhook", "source": "ship-it", "enabled": True}
    if run_as:
        trigger["runAsUser"] = run_as
    return {"application": "free", "name": "shipped", "stages": WAIT, "triggers": [trigger], **extra}


async def test_run_as_user_must_be_a_service_account_the_saver_may_use(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path) as w:
        w.store.service_accounts.save({"name": "shipper", "memberOf": ["writers"]})
        refused = await w.call("reader", "POST", "/pipelines", _webhook_pipeline("shipper"))
        assert refused.status_code == 403
        assert refused.json()["field"] == "triggers[0].runAsUser"
        assert "triggers[0].runAsUser" in refused.json()["message"] and "shipper" in refused.json()["message"]
        unknown = await w.call("writer", "POST", "/pipelines", _webhook_pipeline("ghost"))
        assert unknown.status_code == 400 and unknown.json()["field"] == "triggers[0].runAsUser"
        # the service principal holds "deployers", the deployer account's only role
        ok = await w.call("service", "POST", "/pipelines", {**_webhook_pipeline("deployer"), "name": "by-sa"})
        assert ok.status_code == 200, ok.text
        admin = await w.call("admin", "POST", "/pipelines", {**_webhook_pipeline("shipper"), "name": "by-admin"})
        assert admin.status_code == 200, admin.text
        saved = await w.call("writer", "POST", "/pipelines", _webhook_pipeline("shipper"))
        assert saved.status_code == 200, saved.text
        # the event runs as the service account, with the accounts its roles may change
        fired = await w.call("anonymous", "POST", "/webhooks/webhook/ship-it", {"x": 1})
        assert fired.status_code == 200, fired.text
        runs = {e["pipelineName"]: e for e in fired.json()["executions"]}
        assert set(runs) == {"shipped", "by-sa", "by-admin"}
        auth = {}
        for name, entry in runs.items():
            auth[name] = await _authentication(w, entry["executionId"])
            assert isinstance(auth[name].pop("grants"), dict)  # checked in tests/security/test_authz_engine.py
        assert auth["shipped"] == {"user": "shipper", "allowedAccounts": ["open", "prod"], "enforced": True}
        assert auth["by-sa"] == {"user": "deployer", "allowedAccounts": ["open"], "enforced": True}
        # a service account deleted after the save: the trigger does not start the pipeline
        await asyncio.to_thread(w.store.service_accounts.delete, "shipper")
        again = await w.call("anonymous", "POST", "/webhooks/webhook/ship-it", {"x": 2})
        runs = {e["pipelineName"]: e for e in again.json()["executions"]}
        assert "runAsUser 'shipper' is not a service account" in runs["shipped"]["error"]
        assert runs["shipped"].get("started") is not True
        assert runs["by-sa"]["started"] is True


async def test_a_trigger_without_run_as_user_runs_as_anonymous(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path) as w:
        assert (await w.call("writer", "POST", "/pipelines", _webhook_pipeline())).status_code == 200
        fired = await w.call("anonymous", "POST", "/webhooks/webhook/ship-it", {"x": 1})
        (entry,) = fired.json()["executions"]
        assert {k: v for k, v in (await _authentication(w, entry["executionId"])).items() if k != "grants"} == {
            "user": "anonymous",
            "allowedAccounts": ["open"],
            "enforced": True,
        }


async def test_managed_service_accounts_follow_the_pipelines_roles(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path) as w:
        config = _webhook_pipeline(roles=["Writers"])
        config["triggers"].append({"type": "manual", "enabled": True})
        # the free application is open, but the pipeline's roles are the reader's to give only if it holds them
        refused = await w.call("reader", "POST", "/pipelines", config)
        assert refused.status_code == 403 and refused.json()["field"] == "roles"
        assert "writers" in refused.json()["message"]
        saved = await w.call("writer", "POST", "/pipelines", config)
        assert saved.status_code == 200, saved.text
        doc = saved.json()
        name = f"{doc['id']}@managed-service-account"
        assert doc["triggers"][0]["runAsUser"] == name
        assert "runAsUser" not in doc["triggers"][1]  # manual triggers run as whoever starts them
        account = await asyncio.to_thread(w.store.service_accounts.get, name)
        assert account["memberOf"] == ["writers"]
        # only holders of the stored roles may change it; an admin may
        reader_edit = await w.call("reader", "POST", "/pipelines", {**doc, "roles": []})
        assert reader_edit.status_code == 403 and reader_edit.json()["field"] == "roles"
        widened = await w.call("admin", "POST", "/pipelines", {**doc, "roles": ["writers", "ops"]})
        assert widened.status_code == 200, widened.text
        account = await asyncio.to_thread(w.store.service_accounts.get, name)
        assert account["memberOf"] == ["ops", "writers"]
        writer_edit = await w.call("writer", "POST", "/pipelines", {**widened.json(), "description": "x"})
        assert writer_edit.status_code == 403 and "ops" in writer_edit.json()["message"]
        # the event runs as the managed account
        fired = await w.call("anonymous", "POST", "/webhooks/webhook/ship-it", {"x": 1})
        (entry,) = fired.json()["executions"]
        assert {k: v for k, v in (await _authentication(w, entry["executionId"])).items() if k != "grants"} == {
            "user": name,
            "allowedAccounts": ["open", "prod"],
            "enforced": True,
        }


async def test_authorize_shows_a_users_permissions_to_itself_and_admins(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path) as w:
        mine = await _json(w, "reader", "/authorize/rita")
        assert mine["name"] == "rita" and mine["admin"] is False
        assert {"name": "locked", "authorizations": ["READ"]} in mine["applications"]
        assert [a["name"] for a in mine["accounts"]] == ["open", "prod"]
        assert mine["roles"] == [{"name": "readers", "source": "token"}]
        other = await w.call("reader", "GET", "/authorize/wes")
        assert other.status_code == 403 and "only read its own" in other.json()["message"]
        sa = await _json(w, "admin", "/authorize/deployer")
        assert {"name": "locked", "authorizations": ["READ", "EXECUTE"]} in sa["applications"]
        assert sa["roles"] == [{"name": "deployers", "source": "service_account"}]
        assert [s["name"] for s in (await _json(w, "service", "/authorize/deployer"))["serviceAccounts"]] == [
            "deployer"
        ]


async def test_bulksave_refuses_configs_of_applications_the_caller_may_not_write(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path) as w:
        configs = [
            {"application": "locked", "name": "a", "stages": WAIT},
            {"application": "free", "name": "b", "stages": WAIT},
        ]
        response = await w.call("reader", "POST", "/pipelines/bulksave", configs)
        assert response.status_code == 200
        body = response.json()
        assert body["successful_pipelines"] == ["b"]
        assert body["failed_pipelines_count"] == 1
        assert "WRITE permission on application 'locked'" in body["failed_pipelines"][0]["errorMsg"]


async def test_with_auth_off_nothing_is_checked(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path, enabled=False) as w:
        assert [a["name"] for a in await _json(w, "anonymous", "/applications")] == ["free", "locked"]
        assert (await w.call("anonymous", "GET", "/applications/locked")).status_code == 200
        assert len(await _json(w, "anonymous", "/credentials")) == 3
        saved = await w.call("anonymous", "POST", "/pipelines", _webhook_pipeline("nobody-at-all", roles=["x"]))
        assert saved.status_code == 200, saved.text
        assert saved.json()["triggers"][0]["runAsUser"] == "nobody-at-all"
        ref = (await w.call("anonymous", "POST", "/pipelines/locked/deploy", {})).json()["ref"].rsplit("/", 1)[1]
        assert await _authentication(w, ref) == {"user": "anonymous", "allowedAccounts": []}


async def test_the_engine_refuses_a_stage_on_an_account_the_caller_may_not_write(client: Any, tmp_path: Any) -> None:
    """The API marks what it starts as enforced: a writer's execution may not destroy in an admins' account."""
    async with serve_world(client, tmp_path) as w:
        stage = {
            "refId": "1",
            "type": "destroyServerGroup",
            "name": "Destroy",
            "credentials": "vault",
            "cloudProvider": "aws",
            "cluster": "free",
            "regions": ["us-east-1"],
            "target": "current_asg_dynamic",
        }
        config = {"application": "free", "name": "destroy", "stages": [stage]}
        response = await w.call("writer", "POST", "/pipelines/start", config)
        assert response.status_code == 202, response.text
        execution_id = response.json()["ref"].rsplit("/", 1)[1]
        execution = await _finished(w, execution_id)
        assert execution["status"] == "TERMINAL", execution
        assert "Access denied to account vault" in str(execution["stages"][0]["context"])
