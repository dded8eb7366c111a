"""Every Gate route × six callers (anonymous, reader, writer, executor, admin, a service account) with Fiat on:
the callers outside a route's set get Gate's 403 naming the permission; the others get past the check."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.permissions_world import LOCKED_PERMISSIONS, ROLES, WAIT, World, serve_world

pytestmark = pytest.mark.temporal

EVERYONE = frozenset(ROLES)
READERS = frozenset({"reader", "writer", "executor", "admin", "service"})
WRITERS = frozenset({"writer", "admin"})
EXECUTORS = frozenset({"executor", "admin", "service"})
ADMIN = frozenset({"admin"})


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    allowed: frozenset[str]
    body: Any = None
    #: makes what a destructive call uses up, once per caller: extra names for ``path``
    fresh: Callable[[World], dict[str, str]] | None = None


def _fresh_pipeline(w: World) -> dict[str, str]:
    return {"name": w.pipeline()["name"]}


def _fresh_execution(w: World) -> dict[str, str]:
    return {"fresh": w.finished_execution()}


def _fresh_app(w: World) -> dict[str, str]:
    name = f"gone-{uuid.uuid4().hex[:8]}"
    w.store.applications.save({"name": name, "email": "a@b.c", "permissions": LOCKED_PERMISSIONS}, "setup")
    return {"app": name}


def _fresh_bake(w: World) -> dict[str, str]:
    """A bake asked for by an execution of 'locked' (its log needs READ there)."""
    bake = f"bake-{uuid.uuid4().hex[:8]}"
    requester = f"{w.ids['execution']}/s1/0"
    doc = {"id": bake, "key": bake, "workflowId": f"wf-{bake}", "region": "us-east-1", "cloudProvider": "aws"}
    w.store.bakes.create({**doc, "requestedBy": [requester]})
    return {"bake": bake}


def _fresh_canary(w: World) -> dict[str, str]:
    """A canary config of 'locked', a finished run of it and the run's metric-set pair list."""

    canary = w.store.canary
    name = f"cfg-{uuid.uuid4().hex[:8]}"
    config = canary.create_config({"name": name, "applications": ["locked"], "metrics": [{"name": "m"}]})
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    canary.create_run({"id": run_id, "application": "locked", "status": "SUCCEEDED", "buildTimeMillis": 1})
    pairs = canary.save_metric_sets(run_id, "metricSetPairList", [])
    return {"canary_config": config["id"], "canary_run": run_id, "canary_pairs": pairs}


CANARY_REQUEST = {"scopes": {}, "thresholds": {"pass": 75, "marginal": 50}}


def _template_doc(tid: str) -> dict[str, Any]:
    return {"schema": "v2", "id": tid, "metadata": {"name": "t", "description": "d", "scopes": ["global"]}}


def _fresh_template(w: World) -> dict[str, str]:
    """A pipeline template used by a templated pipeline of 'locked' (changing it needs WRITE there)."""
    from templates.stored import TemplateStore

    tid = f"tpl-{uuid.uuid4().hex[:8]}"
    TemplateStore(w.store).save(_template_doc(tid), "setup")
    w.pipeline(schema="v2", type="templatedPipeline", template={"reference": f"spinnaker://{tid}"}, stages=[])
    return {"template": tid}


#: MPTv2 (templates are global: reading is open, changing one needs an authenticated caller with WRITE on the
#: applications whose pipelines use it; plan needs READ on the config's application)
TEMPLATE_CASES = {
    "pipeline templates": Case("GET", "/v2/pipelineTemplates", EVERYONE),
    "pipeline template versions": Case("GET", "/v2/pipelineTemplates/versions", EVERYONE),
    "a pipeline template": Case("GET", "/v2/pipelineTemplates/{template}", EVERYONE, fresh=_fresh_template),
    "create a pipeline template": Case(
        "POST", "/v2/pipelineTemplates/create", EVERYONE - {"anonymous"}, _template_doc("new-{role}")
    ),
    "create a pipeline template (Front50)": Case(
        "POST", "/v2/pipelineTemplates", EVERYONE - {"anonymous"}, _template_doc("f50-{role}")
    ),
    "update a pipeline template": Case(
        "POST", "/v2/pipelineTemplates/update/{template}", WRITERS, _template_doc("{template}"), fresh=_fresh_template
    ),
    "update a pipeline template (Front50)": Case(
        "PUT", "/v2/pipelineTemplates/{template}", WRITERS, _template_doc("{template}"), fresh=_fresh_template
    ),
    "delete a pipeline template": Case("DELETE", "/v2/pipelineTemplates/{template}", WRITERS, fresh=_fresh_template),
    "a pipeline template's dependents": Case(
        "GET", "/v2/pipelineTemplates/{template}/dependents", EVERYONE, fresh=_fresh_template
    ),
    "a pipeline template's dependent pipelines": Case(
        "GET", "/v2/pipelineTemplates/{template}/dependentPipelines", EVERYONE, fresh=_fresh_template
    ),
    "plan a templated pipeline": Case(
        "POST",
        "/v2/pipelineTemplates/plan",
        READERS,
        {"schema": "v2", "application": "locked", "name": "x", "template": {"reference": "spinnaker://none"}},
    ),
}


#: Igor's build-service permissions: reading 'locked-ci' is for the application's readers
BUILD_SERVICES = {"locked-ci": {"READ": LOCKED_PERMISSIONS["READ"], "WRITE": ["writers"]}}


def _new(suffix: str = "") -> dict[str, Any]:
    return {"application": "locked", "name": f"new-{uuid.uuid4().hex[:8]}{suffix}", "stages": WAIT}


EXPR = "expression=%24%7B1%2B1%7D"
CASES: dict[str, Case] = {
    # open to every caller
    "health": Case("GET", "/health", EVERYONE),
    "version": Case("GET", "/version", EVERYONE),
    "expression capabilities": Case("GET", "/capabilities/expressions", EVERYONE),
    "stage types": Case("GET", "/stageTypes", EVERYONE),
    "cron validate": Case("GET", "/cron/validate?expression=0+0+12+*+*+%3F", EVERYONE),
    "bakery options": Case("GET", "/bakery/options", EVERYONE),
    "jenkins masters (filtered)": Case("GET", "/v2/builds", EVERYONE),
    "bake options for a cloud": Case("GET", "/bakery/options/aws", EVERYONE),
    "auth user": Case("GET", "/auth/user", EVERYONE),
    "list applications (filtered)": Case("GET", "/applications", EVERYONE),
    "all pipeline configs (filtered)": Case("GET", "/pipelineConfigs", EVERYONE),
    "executions by id (filtered)": Case("GET", "/executions?executionIds={execution}", EVERYONE),
    "credentials (filtered)": Case("GET", "/credentials", EVERYONE),
    "server groups (filtered)": Case("GET", "/serverGroups", EVERYONE),
    "load balancers (filtered)": Case("GET", "/loadBalancers", EVERYONE),
    "search (filtered)": Case("GET", "/search?q=v000", EVERYONE),
    "images (filtered)": Case("GET", "/images/find?q=x", EVERYONE),
    "projects": Case("GET", "/projects", EVERYONE),
    "a project": Case("GET", "/projects/nothing-here", EVERYONE),
    "project executions (filtered)": Case("GET", "/projects/nothing-here/pipelines", EVERYONE),
    # Fiat's CREATE: admins (and auth.create_application_roles, none here)
    "create an application": Case(
        "POST", "/tasks", ADMIN, {"job": [{"type": "createApplication", "application": {"name": "x-{role}"}}]}
    ),
    # webhooks authenticate by their secrets, never by the caller
    "webhook": Case("POST", "/webhooks/webhook/nobody-listens", EVERYONE, {"a": 1}),
    "git webhook": Case("POST", "/webhooks/git/github", EVERYONE, {"zen": "ping"}),
    # READ on the application (and the account)
    "an application": Case("GET", "/applications/locked", READERS),
    "application tasks": Case("GET", "/applications/locked/tasks", READERS),
    "pipeline configs": Case("GET", "/applications/locked/pipelineConfigs", READERS),
    "a pipeline config": Case("GET", "/applications/locked/pipelineConfigs/deploy", READERS),
    "strategy configs": Case("GET", "/applications/locked/strategyConfigs", READERS),
    "a strategy config": Case("GET", "/applications/locked/strategyConfigs/none", READERS),
    "pipeline history": Case("GET", "/pipelineConfigs/{pipeline}/history", READERS),
    "application executions": Case("GET", "/applications/locked/pipelines", READERS),
    "execution search": Case("GET", "/applications/locked/executions/search", READERS),
    "an execution": Case("GET", "/pipelines/{execution}", READERS),
    "a task": Case("GET", "/tasks/{execution}", READERS),
    "evaluate (GET)": Case("GET", "/pipelines/{execution}/evaluateExpression?" + EXPR, READERS),
    "evaluate (POST)": Case("POST", "/pipelines/{execution}/evaluateExpression", READERS, {"expression": "${1}"}),
    "evaluate at a stage": Case("GET", "/pipelines/{execution}/s1/evaluateExpression?" + EXPR, READERS),
    "evaluate variables": Case("POST", "/pipelines/{execution}/evaluateVariables", READERS, []),
    "notifications": Case("GET", "/notifications/application/locked", READERS),
    "application clusters": Case("GET", "/applications/locked/clusters", READERS),
    "account clusters": Case("GET", "/applications/locked/clusters/prod", READERS),
    "a cluster": Case("GET", "/applications/locked/clusters/prod/locked", READERS),
    "cluster server groups": Case("GET", "/applications/locked/clusters/prod/locked/serverGroups", READERS),
    "cluster server group": Case("GET", "/applications/locked/clusters/prod/locked/serverGroups/locked-v000", READERS),
    "target server group": Case(
        "GET",
        "/applications/locked/clusters/prod/locked/aws/us-east-1/serverGroups/target/current_asg_dynamic",
        READERS,
    ),
    "application server groups": Case("GET", "/applications/locked/serverGroups", READERS),
    "a server group": Case("GET", "/applications/locked/serverGroups/prod/us-east-1/locked-v000", READERS),
    "a kubernetes manifest": Case("GET", "/manifests/prod/default/deployment%20web", READERS),
    "application load balancers": Case("GET", "/applications/locked/loadBalancers", READERS),
    "an instance": Case("GET", "/instances/prod/us-east-1/i-locked-prod", READERS),
    # reads that proxy a Jenkins master's credentials: READ on the master (auth.build_services)
    "jenkins jobs": Case("GET", "/v3/builds/locked-ci/jobs", READERS),
    "jenkins job config": Case("GET", "/v3/builds/locked-ci/jobConfig?job=j", READERS),
    "jenkins builds": Case("GET", "/v3/builds/locked-ci/builds?job=j", READERS),
    "jenkins build": Case("GET", "/v3/builds/locked-ci/build/1?job=j", READERS),
    # a bake's log (packer's output with the bakery's credentials): READ on a requesting execution's application
    "bake logs": Case("GET", "/bakery/logs/us-east-1/{bake}", READERS, fresh=_fresh_bake),
    # READ on an account only admins may see
    "clusters in a hidden account": Case("GET", "/applications/free/clusters/vault", ADMIN),
    "server group in a hidden account": Case("GET", "/applications/free/serverGroups/vault/us-east-1/free-v000", ADMIN),
    "load balancer in a hidden account": Case("GET", "/loadBalancers/vault/us-east-1/free-lb", ADMIN),
    "instance in a hidden account": Case("GET", "/instances/vault/us-east-1/i-free-vault", ADMIN),
    "images of a hidden account": Case("GET", "/images/find?account=vault", ADMIN),
    "manifest in a readable account": Case("GET", "/manifests/prod/default/deployment%20web", READERS),
    "manifest in a hidden account": Case("GET", "/manifests/vault/default/deployment%20web", ADMIN),
    # infrastructure reads (routes/credentials.py, networks.py, firewalls.py)
    "credentials of a readable account": Case("GET", "/credentials/prod", READERS),
    "credentials of a hidden account": Case("GET", "/credentials/vault", ADMIN),
    "networks (filtered)": Case("GET", "/networks", EVERYONE),
    "networks of a cloud (filtered)": Case("GET", "/networks/aws", EVERYONE),
    "subnets (filtered)": Case("GET", "/subnets/aws", EVERYONE),
    "instance types (filtered)": Case("GET", "/instanceTypes", EVERYONE),
    "key pairs (filtered)": Case("GET", "/keyPairs", EVERYONE),
    "security groups (filtered)": Case("GET", "/securityGroups", EVERYONE),
    "security groups of a hidden account": Case("GET", "/securityGroups/vault", ADMIN),
    "a security group in a hidden account": Case("GET", "/securityGroups/vault/aws/free?region=us-east-1", ADMIN),
    "application security groups": Case("GET", "/applications/locked/securityGroups", READERS),
    "firewalls (filtered)": Case("GET", "/firewalls", EVERYONE),
    "firewalls of a hidden account": Case("GET", "/firewalls/vault", ADMIN),
    "a firewall in a hidden account": Case("GET", "/firewalls/vault/aws/free?region=us-east-1", ADMIN),
    "application firewalls": Case("GET", "/applications/locked/firewalls", READERS),
    # WRITE on the application
    "save a pipeline": Case("POST", "/pipelines", WRITERS, _new()),
    "update a pipeline": Case(
        "PUT", "/pipelines/{pipeline}", WRITERS, {"application": "locked", "name": "deploy", "stages": WAIT}
    ),
    "delete a pipeline": Case("DELETE", "/pipelines/locked/{name}", WRITERS, fresh=_fresh_pipeline),
    "save a strategy": Case("POST", "/strategies", WRITERS, _new("-s")),
    "delete a strategy": Case("DELETE", "/strategies/locked/none", WRITERS),
    "reorder pipelines": Case(
        "POST", "/actions/pipelines/reorder", WRITERS, {"application": "locked", "idsToIndices": {}}
    ),
    "save notifications": Case("POST", "/notifications/application/locked", WRITERS, {"slack": []}),
    "delete notifications": Case("DELETE", "/notifications/application/locked", WRITERS),
    "update an application": Case(
        "POST",
        "/tasks",
        WRITERS,
        {"job": [{"type": "updateApplication", "application": {"name": "locked", "description": "{role}"}}]},
    ),
    "delete an application": Case(
        "POST",
        "/tasks",
        WRITERS,
        {"job": [{"type": "deleteApplication", "application": {"name": "{app}"}}]},
        _fresh_app,
    ),
    "upsert a project": Case(
        "POST",
        "/tasks",
        WRITERS,
        {"job": [{"type": "upsertProject", "project": {"name": "p-{role}", "config": {"applications": ["locked"]}}}]},
    ),
    # WRITE on the account an orchestration changes
    "orchestration on an account": Case(
        "POST", "/tasks", WRITERS, {"application": "free", "job": [{"type": "wait", "waitTime": 0, "account": "prod"}]}
    ),
    # EXECUTE on the application
    "trigger": Case("POST", "/pipelines/locked/deploy", EXECUTORS, {}),
    "trigger v2": Case("POST", "/pipelines/v2/locked/deploy", EXECUTORS, {}),
    "ad-hoc pipeline": Case("POST", "/pipelines/start", EXECUTORS, _new("-adhoc")),
    "orchestration": Case("POST", "/applications/locked/tasks", EXECUTORS, {"job": [{"type": "wait", "waitTime": 0}]}),
    "cancel": Case("PUT", "/pipelines/{execution}/cancel", EXECUTORS),
    "cancel (legacy path)": Case("PUT", "/applications/locked/pipelines/{execution}/cancel", EXECUTORS),
    "cancel a task": Case("PUT", "/tasks/{execution}/cancel", EXECUTORS),
    "pause": Case("PUT", "/pipelines/{execution}/pause", EXECUTORS),
    "resume": Case("PUT", "/pipelines/{execution}/resume", EXECUTORS),
    "judge (patch a stage)": Case(
        "PATCH", "/pipelines/{execution}/stages/s1", EXECUTORS, {"judgmentStatus": "continue"}
    ),
    "restart a stage": Case("PUT", "/pipelines/{execution}/stages/s1/restart", EXECUTORS, {}),
    "delete an execution": Case("DELETE", "/pipelines/{fresh}", EXECUTORS, fresh=_fresh_execution),
    # Kayenta behind Gate: configs and runs by their application (READ, WRITE on every one, EXECUTE)
    "canary configs (filtered)": Case("GET", "/v2/canaryConfig", EVERYONE, fresh=_fresh_canary),
    "canary configs of an application": Case("GET", "/v2/canaryConfig?application=locked", READERS),
    "a canary config": Case("GET", "/v2/canaryConfig/{canary_config}", READERS, fresh=_fresh_canary),
    "create a canary config": Case(
        "POST", "/v2/canaryConfig", WRITERS, {"name": "cfg-{role}", "applications": ["locked"], "metrics": []}
    ),
    "update a canary config": Case(
        "PUT",
        "/v2/canaryConfig/{canary_config}",
        WRITERS,
        {"name": "cfg-{role}-2", "applications": ["locked"]},
        fresh=_fresh_canary,
    ),
    "delete a canary config": Case("DELETE", "/v2/canaryConfig/{canary_config}", WRITERS, fresh=_fresh_canary),
    "canary accounts": Case("GET", "/v2/canaries/credentials", EVERYONE),
    "canary judges": Case("GET", "/v2/canaries/judges", EVERYONE),
    "canary metric names": Case("GET", "/v2/canaries/metadata/metricsService", EVERYONE),
    "run a canary config": Case(
        "POST",
        "/v2/canaries/canary/{canary_config}?application=locked",
        EXECUTORS,
        CANARY_REQUEST,
        fresh=_fresh_canary,
    ),
    "run an ad hoc canary": Case(
        "POST",
        "/v2/canaries/canary?application=locked",
        EXECUTORS,
        {"canaryConfig": {"name": "adhoc", "metrics": [{"name": "m"}]}, "executionRequest": CANARY_REQUEST},
    ),
    "a canary run": Case("GET", "/v2/canaries/canary/{canary_run}", READERS, fresh=_fresh_canary),
    "a canary run (config in the path)": Case(
        "GET", "/v2/canaries/canary/{canary_config}/{canary_run}", READERS, fresh=_fresh_canary
    ),
    "canary runs of an application": Case("GET", "/v2/canaries/locked/executions", READERS),
    "a canary metric set pair list": Case(
        "GET", "/v2/canaries/metricSetPairList/{canary_pairs}", READERS, fresh=_fresh_canary
    ),
    "backtest a canary config": Case(
        "POST",
        "/v2/canaries/backtest",
        EXECUTORS,
        {
            "canaryConfigId": "{canary_config}",
            "windows": [
                {
                    "controlScope": "a",
                    "experimentScope": "b",
                    "startTimeIso": "2025-01-01T00:00:00Z",
                    "endTimeIso": "2025-01-01T01:00:00Z",
                }
            ],
        },
        fresh=_fresh_canary,
    ),
    "a canary run's report": Case("GET", "/v2/canaries/canary/{canary_run}/report", READERS, fresh=_fresh_canary),
    "a terraform state": Case("GET", "/terraform/state/locked/default", READERS),
    "write a terraform state": Case(
        "POST",
        "/terraform/state/locked/w-{role}",
        WRITERS,
        {"version": 4, "serial": 1, "lineage": "l", "resources": []},
    ),
    "delete a terraform state": Case("DELETE", "/terraform/state/locked/d-{role}", WRITERS),
    "lock a terraform state": Case("LOCK", "/terraform/state/locked/l-{role}", WRITERS, {"ID": "lock-{role}"}),
    "unlock a terraform state": Case("UNLOCK", "/terraform/state/locked/u-{role}", WRITERS, {"ID": "lock-{role}"}),
    "a terraform state's lock": Case("GET", "/terraform/state/locked/default/lock", READERS),
    "force-unlock a terraform state": Case(
        "POST", "/terraform/state/locked/f-{role}/force-unlock", WRITERS, {"id": "lock-{role}"}
    ),
    "a terraform state's versions": Case("GET", "/terraform/state/locked/default/versions", READERS),
    "a version of a terraform state": Case("GET", "/terraform/state/locked/default/versions/1", READERS),
    "a terraform state's outputs": Case("GET", "/terraform/state/locked/default/outputs", READERS),
    "dinghy sources": Case("GET", "/dinghy/sources", READERS),
    "dinghy syncs": Case("GET", "/dinghy/syncs", READERS),
    "a dinghy sync": Case("GET", "/dinghy/syncs/dinghy-none-0", READERS),
    "sync a dinghy source now": Case("POST", "/dinghy/sources/none/sync", ADMIN),
    "render a dinghyfile": Case(
        "POST", "/dinghy/render", READERS, {"dinghyfile": '{"application": "a", "pipelines": []}'}
    ),
    "plan an apply": Case("POST", "/apply/plan", READERS, {"pipelines": [{"application": "locked", "name": "x"}]}),
    **TEMPLATE_CASES,
}


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize("name", list(CASES))
async def test_route_by_caller(name: str, client: Any, tmp_path: Any) -> None:
    case = CASES[name]
    wrong: list[str] = []
    async with serve_world(client, tmp_path, build_services=BUILD_SERVICES) as world:
        for role in ROLES:
            names = {**world.ids, "role": role, **(case.fresh(world) if case.fresh else {})}
            response = await world.call(role, case.method, _fill(case.path, names), _fill(case.body, names))
            status = response.status_code
            if role in case.allowed:
                if status in (401, 403) or status >= 500:
                    wrong.append(f"{role}: expected to pass, got {status} {response.text[:200]}")
            elif status != 403:
                wrong.append(f"{role}: expected 403, got {status} {response.text[:200]}")
            else:
                body = response.json()
                assert body["status"] == 403 and body["error"] == "Forbidden", body
                assert "permission" in body["message"] or "may not" in body["message"], body
    assert not wrong, "\n".join(wrong)


def test_every_route_is_in_the_matrix() -> None:
    """A new route must say who may call it: every served path appears in CASES (or is listed here)."""
    from api.main import create_app

    elsewhere = {
        # the auth routes (authentication's own tests) and Fiat's authorize route (test_permissions_http)
        "/auth/user/serviceAccounts",
        "/serviceAccounts",
        "/serviceAccounts/{name}",
        "/audit",
        "/roles/{user}",
        "/auth/tokens",
        "/auth/tokens/{token_id}",
        "/authorize/{user}",
        "/pipelines/bulksave",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/swagger-ui.html",
        "/v2/api-docs",
    }
    import re

    patterns = [re.sub(r"\{[^}]+\}", "[^/]+", c.path.split("?")[0]) for c in CASES.values()]
    app = create_app()
    missing = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path or path in elsewhere:
            continue
        probe = re.sub(r"\{[^}]+\}", "x", path)
        if not any(re.fullmatch(p, probe) for p in patterns):
            missing.append(path)
    assert not missing, f"routes without a row in the permission matrix: {missing}"
