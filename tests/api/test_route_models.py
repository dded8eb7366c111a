"""The models of the newer routes (Clouddriver's reads, Kayenta, MPTv2 templates, terraform's state backend, Dinghy
and apply, Rosco, Igor, the payload codec): the OpenAPI document names each schema with its fields, Kayenta's and
MPTv2's documents round-trip typed, and the routes answer only the keys they set, keeping unknown ones."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.models.base import document
from api.models.canary import AdHocCanaryRequest, BacktestRequest, CanaryConfig, CanaryExecutionRequest
from api.models.dinghy import ApplyRequest, RenderRequest
from api.models.templates import PipelineTemplate
from api.models.terraform import LockInfo
from core.settings import Settings

CANARY_CONFIG: dict[str, Any] = {
    "name": "shop-errors",
    "applications": ["shop"],
    "configVersion": "1",
    "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
    "metrics": [
        {
            "name": "error rate",
            "query": {"type": "prometheus", "metricName": "shop_error_rate", "labelBindings": ['app="shop"']},
            "groups": ["errors"],
            "analysisConfigurations": {"canary": {"direction": "increase", "nanStrategy": "replace"}},
            "scopeName": "default",
        }
    ],
    "classifier": {"groupWeights": {"errors": 100}},
    "templates": {},
    "deckOnlyKey": {"kept": True},
}
EXECUTION_REQUEST: dict[str, Any] = {
    "scopes": {
        "default": {
            "controlScope": {"scope": "v1", "location": "", "start": "2024-01-01T00:00:00Z",
                             "end": "2024-01-01T00:10:00Z", "step": 60},
            "experimentScope": {"scope": "v2", "location": "", "start": "2024-01-01T00:00:00Z",
                                "end": "2024-01-01T00:10:00Z", "step": 60},
        }
    },
    "thresholds": {"pass": 75, "marginal": 50},
    "siteLocal": {"note": "anything"},
}  # fmt: skip
TEMPLATE: dict[str, Any] = {
    "schema": "v2",
    "id": "wait-then-judge",
    "protect": False,
    "metadata": {"name": "Wait then judge", "description": "a template", "owner": "me", "scopes": ["global"]},
    "variables": [{"name": "waitTime", "type": "int", "defaultValue": 0}, {"name": "region", "type": "string"}],
    "pipeline": {"stages": [{"refId": "w", "type": "wait", "waitTime": "${ templateVariables.waitTime }"}]},
}


@pytest.mark.parametrize(
    ("model", "sent"),
    [
        (CanaryConfig, CANARY_CONFIG),
        (CanaryExecutionRequest, EXECUTION_REQUEST),
        (AdHocCanaryRequest, {"canaryConfig": CANARY_CONFIG, "executionRequest": EXECUTION_REQUEST}),
        (BacktestRequest, {"canaryConfig": CANARY_CONFIG, "windows": [{"controlScope": "v1", "experimentScope": "v2",
                           "startTimeIso": "2024-01-01T00:00:00Z", "endTimeIso": "2024-01-01T01:00:00Z"}]}),
        (PipelineTemplate, TEMPLATE),
        (RenderRequest, {"dinghyfile": '{"application": "a"}', "modules": {"m": "{}"}, "rawData": {"ref": "x"}}),
        (ApplyRequest, {"pipelines": [{"application": "a", "name": "p", "stages": [], "unknown": 1}]}),
        (LockInfo, {"ID": "7f", "Operation": "OperationTypeApply", "Who": "me@host", "Version": "1.9.0",
                    "Created": "2024-01-01T00:00:00Z", "Path": "", "Info": ""}),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)  # fmt: skip
def test_documents_round_trip_typed(model: Any, sent: dict[str, Any]) -> None:
    _typed(model, copy.deepcopy(sent))


def test_typed_fields_are_read_by_their_python_names() -> None:
    config = CanaryConfig.model_validate(CANARY_CONFIG)
    assert config.metrics and config.metrics[0].analysis_configurations == {
        "canary": {"direction": "increase", "nanStrategy": "replace"}
    }
    assert config.config_version == "1" and config.model_extra == {"deckOnlyKey": {"kept": True}}
    lock = LockInfo.model_validate({"ID": "7f", "Who": "me"})
    assert (lock.id, lock.who) == ("7f", "me")
    assert PipelineTemplate.model_validate(TEMPLATE).schema_ == "v2"


# ---- the OpenAPI document ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    from api.main import create_app

    return create_app(Settings(state_dir=Path("/nonexistent"))).openapi()


def _schema_name(schema: dict[str, Any]) -> str:
    """The model a body schema names, through lists (``items``), maps (``additionalProperties``) and optional."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return _schema_name(next(s for s in schema["anyOf"] if s.get("type") != "null"))
    return _schema_name(schema.get("items") or schema["additionalProperties"])


def _body(openapi: dict[str, Any], method: str, path: str, where: str) -> dict[str, Any]:
    operation = openapi["paths"][path][method]
    if where == "request":
        return operation["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]
    status = "202" if method == "delete" else "200"
    return operation["responses"][status]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("method", "path", "where", "name", "fields"),
    [
        ("get", "/applications/{application}/serverGroups", "response", "ServerGroup",
         {"name", "account", "region", "cluster", "capacity", "instances", "isDisabled", "launchConfig"}),
        ("get", "/applications/{application}/clusters/{account}", "response", "ClusterSummary",
         {"name", "accountName", "serverGroups", "loadBalancers", "moniker"}),
        ("get", "/applications/{application}/clusters/{account}/{cluster}", "response", "Cluster", {"serverGroups"}),
        ("get", "/loadBalancers", "response", "LoadBalancer", {"name", "listeners", "targetGroups", "dnsname"}),
        ("get", "/images/find", "response", "Image", {"imageId", "imageName", "creationDate"}),
        ("get", "/instances/{account}/{region}/{instance_id}", "response", "Instance",
         {"id", "healthState", "serverGroup", "cluster"}),
        ("get", "/search", "response", "SearchResults", {"pageNumber", "pageSize", "results", "totalMatches"}),
        ("get", "/subnets/{cloudProvider}", "response", "Network", {"name", "account", "region"}),
        ("get", "/securityGroups/{account}/{provider}/{name}", "response", "SecurityGroup",
         {"name", "vpcId", "inboundRules"}),
        ("get", "/firewalls/{account}", "response", "SecurityGroupSummary", {"name", "id", "vpcId"}),
        ("get", "/credentials/{account}", "response", "AccountDetails",
         {"name", "type", "regions", "permissions", "authorized"}),
        ("get", "/manifests/{account}/{location}/{name}", "response", "Manifest",
         {"account", "location", "moniker", "manifest", "status", "artifacts"}),
        ("get", "/bakery/options", "response", "BakeOptions", {"cloudProvider", "baseImages"}),
        ("get", "/v3/builds/{master}/jobConfig", "response", "JobConfig",
         {"parameterDefinitionList", "buildable", "concurrentBuild"}),
        ("get", "/v3/builds/{master}/builds", "response", "BuildSummary", {"number", "result", "testResults"}),
        ("get", "/v3/builds/{master}/build/{number}", "response", "Build", {"number", "artifacts", "scm"}),
        ("post", "/v2/canaryConfig", "request", "CanaryConfig",
         {"name", "applications", "metrics", "judge", "classifier"}),
        ("post", "/v2/canaryConfig", "response", "CanaryConfigSaved", {"canaryConfigId"}),
        ("get", "/v2/canaryConfig", "response", "CanaryConfigSummary", {"id", "name", "updatedTimestamp"}),
        ("post", "/v2/canaries/canary/{config_id}", "request", "CanaryExecutionRequest",
         {"scopes", "thresholds", "siteLocal"}),
        ("post", "/v2/canaries/canary", "request", "AdHocCanaryRequest", {"canaryConfig", "executionRequest"}),
        ("post", "/v2/canaries/canary", "response", "CanaryRunStarted", {"canaryExecutionId"}),
        ("get", "/v2/canaries/canary/{run_id}", "response", "CanaryExecutionStatus",
         {"complete", "status", "metricSetPairListId", "result"}),
        ("get", "/v2/canaries/credentials", "response", "KayentaAccount", {"name", "type", "supportedTypes"}),
        ("get", "/v2/canaries/judges", "response", "Judge", {"name", "visible"}),
        ("get", "/v2/canaries/metricSetPairList/{list_id}", "response", "MetricSetPair", {"name", "values"}),
        ("post", "/v2/canaries/backtest", "request", "BacktestRequest",
         {"canaryConfigId", "canaryConfig", "windows", "pipelineConfigId", "executionIds", "thresholds"}),
        ("post", "/v2/canaries/backtest", "response", "BacktestResult", {"windows", "summary", "thresholds"}),
        ("post", "/v2/pipelineTemplates/create", "request", "PipelineTemplate",
         {"schema", "id", "metadata", "variables", "pipeline"}),
        ("post", "/v2/pipelineTemplates/update/{template_id}", "response", "SavedTemplate",
         {"digest", "dependentErrors"}),
        ("get", "/v2/pipelineTemplates/{template_id}/dependents", "response", "Dependent", {"application", "id"}),
        ("delete", "/v2/pipelineTemplates/{template_id}", "response", "TemplateDeleted", {"deleted"}),
        ("post", "/v2/pipelineTemplates/plan", "response", "PipelineConfig", {"stages", "triggers"}),
        ("get", "/terraform/state/{application}/{workspace}/lock", "response", "LockState", {"locked", "lock"}),
        ("post", "/terraform/state/{application}/{workspace}/force-unlock", "request", "ForceUnlock", {"id"}),
        ("post", "/terraform/state/{application}/{workspace}/force-unlock", "response", "Released", {"released"}),
        ("get", "/terraform/state/{application}/{workspace}/versions", "response", "StateVersion",
         {"version", "serial", "executionId", "writtenBy"}),
        ("get", "/terraform/state/{application}/{workspace}/outputs", "response", "Output", {"value", "sensitive"}),
        ("get", "/dinghy/sources", "response", "DinghySource", {"name", "url", "pollIntervalSeconds", "signed"}),
        ("get", "/dinghy/syncs/{sync_id}", "response", "DinghySync", {"source", "commit", "state", "files"}),
        ("post", "/dinghy/sources/{name}/sync", "response", "SyncStarted", {"commit", "syncId"}),
        ("post", "/dinghy/render", "request", "RenderRequest", {"dinghyfile", "modules", "localModules", "rawData"}),
        ("post", "/dinghy/render", "response", "Rendered", {"document", "modules", "localModules"}),
        ("post", "/apply/plan", "request", "ApplyRequest", {"pipelines"}),
        ("post", "/apply/plan", "response", "ApplyPlan", {"changed", "counts", "changes", "unchanged"}),
        ("post", "/payloads/codec/decode", "request", "Payloads", {"payloads"}),
        ("post", "/payloads/codec/encode", "response", "Payloads", {"payloads"}),
    ],
)  # fmt: skip
def test_the_document_names_each_schema_with_its_fields(
    openapi: dict[str, Any], method: str, path: str, where: str, name: str, fields: set[str]
) -> None:
    assert _schema_name(_body(openapi, method, path, where)) == name
    schema = openapi["components"]["schemas"][name]
    assert fields <= set(schema["properties"]), sorted(schema["properties"])
    assert schema.get("additionalProperties", True) is True  # unknown keys are part of the contract


def test_spinnakers_camel_case_and_terraforms_go_names_are_the_wire_names(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    assert {"ID", "Operation", "Who", "Created"} <= set(schemas["LockInfo"]["properties"])
    locked = openapi["paths"]["/terraform/state/{application}/{workspace}"]["post"]["responses"]["423"]
    assert locked["content"]["application/json"]["schema"]["$ref"].endswith("/LockInfo")  # the holder's lock
    assert "analysisConfigurations" in schemas["CanaryMetricConfig"]["properties"]
    assert {"name", "applications"} <= set(schemas["CanaryConfig"]["required"])
    assert schemas["RenderRequest"]["required"] == ["dinghyfile"]


@pytest.mark.parametrize("path", ["/serverGroups", "/subnets/{cloudProvider}", "/firewalls/{account}"])
def test_cached_reads_declare_their_freshness_headers(openapi: dict[str, Any], path: str) -> None:
    headers = openapi["paths"][path]["get"]["responses"]["200"]["headers"]
    assert {"X-Gennaker-Cache-Refreshed-At", "X-Gennaker-Cache-Age-Seconds", "X-Gennaker-Cache-Error"} <= set(headers)


def test_text_answers_say_so_and_keep_gates_json_errors(openapi: dict[str, Any]) -> None:
    logs = openapi["paths"]["/bakery/logs/{region}/{status_id}"]["get"]["responses"]
    assert logs["200"]["content"]["text/plain"]["schema"] == {"type": "string"}
    assert logs["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    render = openapi["paths"]["/dinghy/render"]["post"]["responses"]  # its 422 (file, line, column) is declared
    assert render["4XX"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


# ---- what the routes answer ----------------------------------------------------------------------------------------


@pytest.fixture
async def gate(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process on a SQLite store; these routes need no Temporal."""
    from api.main import create_app
    from core.store import Store

    settings = Settings(state_dir=tmp_path)
    store = Store(settings.store_url)
    store.migrate()
    app = create_app(settings, temporal=object(), store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
        yield http
    store.close()


async def test_a_canary_config_is_stored_as_sent_and_answered_without_invented_keys(gate: httpx.AsyncClient) -> None:
    saved = await gate.post("/v2/canaryConfig", json=CANARY_CONFIG)
    assert saved.status_code == 200, saved.text
    config_id = saved.json()["canaryConfigId"]
    answer = (await gate.get(f"/v2/canaryConfig/{config_id}")).json()
    assert answer["deckOnlyKey"] == {"kept": True} and answer["metrics"] == CANARY_CONFIG["metrics"]
    assert "description" not in answer  # a declared field the client never sent stays out (not null)
    listed = (await gate.get("/v2/canaryConfig")).json()
    assert [c["id"] for c in listed] == [config_id]


@pytest.mark.parametrize(
    ("path", "sent", "named"),
    [
        ("/v2/canaryConfig", ["not", "an", "object"], "body"),
        ("/dinghy/render", "a dinghyfile as a string", "body"),
        ("/apply/plan", 5, "body"),
        ("/v2/pipelineTemplates/create", [TEMPLATE], "body"),
    ],
)
async def test_a_body_that_is_not_an_object_is_a_400_naming_it(
    gate: httpx.AsyncClient, path: str, sent: Any, named: str
) -> None:
    answer = await gate.post(path, json=sent)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith(f"{named}: must be a JSON object")


async def test_the_terraform_lock_answers_terraforms_names(gate: httpx.AsyncClient) -> None:
    path = "/terraform/state/shop/default"
    info = {"ID": "7f", "Operation": "OperationTypeApply", "Who": "me@host", "Version": "1.9.0", "Path": ""}
    assert (await gate.get(f"{path}/lock")).json() == {"locked": False, "lock": None}
    assert (await gate.request("LOCK", path, json=info)).status_code == 200
    assert (await gate.get(f"{path}/lock")).json() == {"locked": True, "lock": info}
    released = await gate.post(f"{path}/force-unlock", json={"id": "7f"})
    assert released.json() == {"released": info}


# ---- the models fit what the code behind the routes builds ---------------------------------------------------------


def _kept_aside(value: Any, where: str = "") -> list[str]:
    """Where a document inside ``value`` did not fit its model (it is then held whole as extra keys)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        if not value.model_fields_set and value.model_extra:
            return [where or "the document"]
        return [
            p for name in value.model_fields_set for p in _kept_aside(getattr(value, name, None), f"{where}.{name}")
        ]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _kept_aside(item, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _kept_aside(item, f"{where}.{key}")]
    return []


def _typed(model: Any, built: Any) -> None:
    """``built`` validates as ``model`` typed all the way down, and dumps back to itself."""
    parsed = model.model_validate(built)
    assert _kept_aside(parsed) == []
    assert document(parsed) == built


def test_clouddrivers_shapes_fit_the_infrastructure_models() -> None:
    from api.models import infrastructure as m
    from api.routes.credentials import account_details
    from api.routes.manifests import manifest_view
    from providers.base import Capacity, Image, Instance, ServerGroup

    instance = Instance("i-1", "us-east-1a", "Up", launch_time_ms=1_700_000_000_000, private_ip="10.0.0.1")
    group = ServerGroup("shop-prod-v003", "prod", "us-east-1", "aws", 1_700_000_000_000, Capacity(1, 3, 2),
                        instances=[instance], zones=["us-east-1a"], image_id="ami-1", image_name="shop-1",
                        instance_type="t3.micro", load_balancers=["shop-prod"], tags={"team": "shop"},
                        launch_config={"launchTemplateName": "shop-prod-v003"})  # fmt: skip
    _typed(m.ServerGroup, group.to_json())
    _typed(m.Image, Image("ami-1", "shop-1", "us-east-1", 1_700_000_000_000, {"app": "shop"}).to_json())

    class Everyone:
        def account_allows(self, account: str, authorization: str) -> bool:
            return True

    entry = {"name": "prod", "type": "aws", "secretKey": "hush", "regions": ["us-east-1"], "accountId": "1"}
    details = account_details(entry, Everyone())  # type: ignore[arg-type]
    _typed(m.AccountDetails, details)
    assert "secretKey" not in details
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "status": {"observedGeneration": 1},
                  "metadata": {"name": "shop", "namespace": "prod", "generation": 1,
                               "annotations": {"moniker.spinnaker.io/application": "shop",
                                               "moniker.spinnaker.io/cluster": "deployment shop"}}}  # fmt: skip
    _typed(m.Manifest, manifest_view("k8s", deployment))


def test_kayentas_igors_and_roscos_shapes_fit_their_models() -> None:
    from api.models.bakery import BakeOptions
    from api.models.builds import Build, BuildService, BuildSummary, JobConfig
    from api.models.canary import CanaryExecutionStatus
    from canary.request import status_response
    from integrations.jenkins.builds import build_info, build_summary, job_config

    run = {"id": "r1", "application": "shop", "status": "SUCCEEDED", "stageStatus": {"judge": "succeeded"},
           "config": CANARY_CONFIG, "canaryExecutionRequest": EXECUTION_REQUEST, "metricSetPairListId": "m1",
           "startTimeMillis": 1_700_000_000_000, "startTimeIso": "2023-11-14T22:13:20Z",
           "result": {"score": {"score": 100.0, "classification": "Pass"}}}  # fmt: skip
    _typed(CanaryExecutionStatus, status_response(run))
    jenkins_build = {
        "number": 7,
        "building": False,
        "result": "SUCCESS",
        "timestamp": 1_700_000_000_000,
        "duration": 1200,
        "url": "http://jenkins/job/app/7/",
        "fullDisplayName": "app #7",
        "actions": [{"failCount": 0, "skipCount": 1, "totalCount": 9, "urlName": "testReport"}],
    }
    _typed(BuildSummary, build_summary(jenkins_build))
    _typed(Build, build_info("app", jenkins_build))
    job = {
        "name": "app",
        "displayName": "app",
        "buildable": True,
        "color": "blue",
        "url": "http://jenkins/job/app/",
        "property": [
            {
                "parameterDefinitions": [
                    {
                        "name": "ENV",
                        "type": "ChoiceParameterDefinition",
                        "choices": ["dev", "prod"],
                        "defaultParameterValue": {"name": "ENV", "value": "dev"},
                    }
                ]
            }
        ],
    }
    _typed(JobConfig, job_config(job))
    _typed(BuildService, {"name": "ci", "buildServiceProvider": "JENKINS", "permissions": {"READ": ["dev"]}})
    options = {"cloudProvider": "aws", "baseImages": [{"id": "jammy", "shortDescription": "22.04",
                                                      "packageType": "DEB", "osType": "linux"}]}  # fmt: skip
    _typed(BakeOptions, options)


def test_dinghys_applys_and_terraforms_shapes_fit_their_models() -> None:
    from api.models.dinghy import ApplyPlan, DinghySync
    from api.models.terraform import Output
    from gennaker.apply import Change, Plan
    from integrations.dinghy.sync import SyncResult
    from integrations.terraform.plans import outputs

    sync = SyncResult("dinghy-shop-abc", "shop", "abc", "main", "live", "failed", errors=["bad"], message="1 error")
    sync.files.append({"path": "dinghyfile", "state": "failed", "error": "bad", "pipelines": []})
    _typed(DinghySync, {**sync.to_json(), "startedAt": 1, "finishedAt": 2})
    plan = Plan(
        [
            Change("create", "shop", "deploy"),
            Change("update", "shop", "bake", id="p1", diff=[{"path": "a", "old": 1, "new": 2}]),
        ],
        ["x"],
    )
    _typed(ApplyPlan, plan.to_json())
    shown = outputs({"url": {"value": "http://x", "type": "string"}, "key": {"value": "s", "sensitive": True}})
    for output in shown.values():
        _typed(Output, output)
