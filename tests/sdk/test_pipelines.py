"""gennaker.pipelines: the builders write Deck's JSON, which the engine accepts as is."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest

from gennaker.pipelines import (
    WEEKDAYS,
    WEEKEND,
    CheckPreconditions,
    CronTrigger,
    Day,
    EvaluateVariables,
    ExecutionWindow,
    ExpressionPrecondition,
    FailureOption,
    GitTrigger,
    JenkinsTrigger,
    Jitter,
    KayentaCanary,
    ManualJudgment,
    Notification,
    Parallel,
    Parameter,
    Pipeline,
    PipelineBuildError,
    PipelineTrigger,
    Precondition,
    RunPipeline,
    Stage,
    StageStatusPrecondition,
    TimeWindow,
    Trigger,
    Variable,
    Wait,
    Webhook,
    WebhookTrigger,
    expr,
)
from gennaker.pipelines import infrastructure as infra
from gennaker.pipelines.ci import Bake, GitHubActions, GitLabCi, Jenkins, Script, Travis
from gennaker.pipelines.deploy import (
    CloneServerGroup,
    Cluster,
    ClusterSizePrecondition,
    CreateServerGroup,
    CustomStrategy,
    Deploy,
    DestroyServerGroup,
    DisableCluster,
    DisableServerGroup,
    EnableServerGroup,
    FindAmi,
    FindImage,
    FindImageFromTags,
    Highlander,
    RedBlack,
    ResizeServerGroup,
    RollbackCluster,
    RollbackServerGroup,
    ScaleDownCluster,
    ShrinkCluster,
)
from gennaker.pipelines.jobs import RunJobManifest
from gennaker.pipelines.manifests import (
    DeleteManifest,
    DeployManifest,
    PatchManifest,
    ScaleManifest,
    Traffic,
    UndoRolloutManifest,
)
from gennaker.pipelines.terraform import Terraform
from workflows.config import PipelineConfig
from workflows.errors import UnknownStageTypeError
from workflows.graph import StageGraph
from workflows.operations import validate_for_start
from workflows.stages import known_types
from workflows.windows import ExecutionWindow as EngineWindow

ROOT = Path(__file__).resolve().parents[2]


def engine_accepts(doc: dict[str, Any]) -> StageGraph:
    """(a) parses, (b) builds a graph, (c) passes the start checks; and survives a JSON round trip."""
    assert json.loads(json.dumps(doc)) == doc
    config = PipelineConfig.parse(doc)
    graph = StageGraph.build(config.stages)
    validate_for_start(doc)
    for stage in config.stages:
        EngineWindow.parse(stage.raw, f"stages[{stage.index}]")
    return graph


def one(stage: Stage) -> dict[str, Any]:
    """The JSON of a single stage, after checking the engine accepts it in a pipeline."""
    doc = Pipeline("p", application="app", stages=[stage]).to_json()
    engine_accepts(doc)
    return doc["stages"][0]


# --------------------------------------------------------------------------------------------
# whole pipelines


def hello_in_python() -> Pipeline:
    return Pipeline(
        "hello",
        application="demo",
        id="hello-pipeline",
        parameters=[Parameter("who", default="world")],
        stages=[
            EvaluateVariables({"greeting": "Hello, " + expr("parameters.who") + "!"}, name="Greeting"),
            Parallel(
                Wait(3, name="Think it over"),
                CheckPreconditions([ExpressionPrecondition("greeting.startsWith('Hello')")], name="Sane?"),
            ),
            ManualJudgment(
                "Ship it?", instructions="${greeting} Continue to finish the pipeline.", inputs=["ship", "hold"]
            ),
            Wait(expr("#judgment('Ship it?') == 'ship' ? 1 : 5"), name="Done"),
        ],
    )


def test_hello_json_reproduced_exactly() -> None:
    want = json.loads((ROOT / "examples" / "hello.json").read_text())
    got = hello_in_python().to_json(omit_empty=True)
    assert got == want
    assert json.dumps(got) == json.dumps(want)  # same key order too
    engine_accepts(got)


def test_docs_worked_example_is_hello_json(capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "docs" / "sdk-pipelines.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(blocks[0], namespace)  # noqa: S102 - our own documentation
    want = json.loads((ROOT / "examples" / "hello.json").read_text())
    assert namespace["pipeline"].to_json(omit_empty=True) == want
    assert json.loads(capsys.readouterr().out) == want
    for block in blocks[1:]:  # the other snippets run too
        exec(block, dict(namespace))  # noqa: S102


def test_brief_example_defaults_as_deck() -> None:
    p = Pipeline(
        "deploy",
        application="demo",
        parameters=[Parameter("env", default="staging", options=["staging", "prod"], required=True)],
        triggers=[CronTrigger("0 0 12 ? * MON-FRI")],
        stages=[
            Wait(30, name="Settle"),
            ManualJudgment("Approve", instructions="...", inputs=["ship", "hold"], roles=["release"]),
        ],
    )
    assert p.to_json() == {
        "application": "demo",
        "name": "deploy",
        "limitConcurrent": True,
        "keepWaitingPipelines": False,
        "spelEvaluator": "v4",
        "parameterConfig": [
            {
                "name": "env",
                "default": "staging",
                "required": True,
                "hasOptions": True,
                "options": [{"value": "staging"}, {"value": "prod"}],
            }
        ],
        "triggers": [{"type": "cron", "enabled": True, "cronExpression": "0 0 12 ? * MON-FRI"}],
        "notifications": [],
        "expectedArtifacts": [],
        "stages": [
            {"refId": "1", "requisiteStageRefIds": [], "type": "wait", "name": "Settle", "waitTime": 30},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "manualJudgment",
                "name": "Approve",
                "instructions": "...",
                "judgmentInputs": [{"value": "ship"}, {"value": "hold"}],
                "selectedStageRoles": ["release"],
            },
        ],
    }
    engine_accepts(p.to_json())


def test_minimal_skeleton_of_the_reference() -> None:
    p = Pipeline(
        "deploy",
        application="app",
        stages=[Wait(30), ManualJudgment("Approve", inputs=["ok"], fail=FailureOption.HALT_PIPELINE)],
    )
    got = p.to_json()
    assert got["stages"] == [
        {"refId": "1", "requisiteStageRefIds": [], "type": "wait", "name": "Wait", "waitTime": 30},
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "manualJudgment",
            "name": "Approve",
            "judgmentInputs": [{"value": "ok"}],
            "failPipeline": True,
            "continuePipeline": False,
            "completeOtherBranchesThenFail": False,
        },
    ]
    engine_accepts(got)


def test_to_json_is_deterministic_and_fresh() -> None:
    p = hello_in_python()
    first = p.to_json()
    first["stages"][0]["variables"].append({"key": "x", "value": "y"})
    assert p.to_json() != first
    assert json.dumps(p.to_json(), sort_keys=False) == json.dumps(hello_in_python().to_json(), sort_keys=False)


def test_empty_pipeline() -> None:
    doc = Pipeline("nothing", application="app").to_json()
    assert doc["stages"] == []
    engine_accepts(doc)


def test_top_level_options() -> None:
    doc = Pipeline(
        "p",
        application="app",
        id="abc",
        description="what it does",
        limit_concurrent=False,
        keep_waiting_pipelines=True,
        max_concurrent_executions=3,
        spel_evaluator="v3",
        disabled=True,
        expected_artifacts=[{"id": "a1", "displayName": "image", "matchArtifact": {"type": "docker/image"}}],
        extra={"roles": ["release"], "tags": [{"name": "team", "value": "core"}]},
        stages=[Wait(1)],
    ).to_json()
    assert {k: v for k, v in doc.items() if k not in ("stages", "parameterConfig", "triggers", "notifications")} == {
        "application": "app",
        "name": "p",
        "id": "abc",
        "description": "what it does",
        "limitConcurrent": False,
        "keepWaitingPipelines": True,
        "maxConcurrentExecutions": 3,
        "spelEvaluator": "v3",
        "disabled": True,
        "expectedArtifacts": [{"id": "a1", "displayName": "image", "matchArtifact": {"type": "docker/image"}}],
        "roles": ["release"],
        "tags": [{"name": "team", "value": "core"}],
    }
    config = PipelineConfig.parse(doc)
    assert (config.limit_concurrent, config.keep_waiting_pipelines, config.max_concurrent_executions) == (
        False,
        True,
        3,
    )
    assert config.disabled


# --------------------------------------------------------------------------------------------
# every builder: engine accepts it, and the JSON is as written by hand

BUILDERS: list[tuple[Stage, dict[str, Any]]] = [
    (Wait(timedelta(minutes=2)), {"type": "wait", "name": "Wait", "waitTime": 120}),
    (Wait("90", skip_wait_text="skip?"), {"type": "wait", "name": "Wait", "waitTime": "90", "skipWaitText": "skip?"}),
    (Wait(1.5), {"type": "wait", "name": "Wait", "waitTime": 1.5}),
    (Wait(0), {"type": "wait", "name": "Wait", "waitTime": 0}),
    (
        ManualJudgment(propagate_authentication=True),
        {
            "type": "manualJudgment",
            "name": "Manual Judgment",
            "judgmentInputs": [],
            "propagateAuthenticationContext": True,
        },
    ),
    (
        EvaluateVariables([Variable("region", "us-east-1", "where"), Variable("env", "${region + '-prod'}")]),
        {
            "type": "evaluateVariables",
            "name": "Evaluate Variables",
            "variables": [
                {"key": "region", "value": "us-east-1", "description": "where"},
                {"key": "env", "value": "${region + '-prod'}"},
            ],
        },
    ),
    (
        CheckPreconditions(
            [
                ExpressionPrecondition("parameters.env == 'prod'", "not prod", fail_pipeline=False),
                StageStatusPrecondition("Bake", "succeeded"),
                Precondition("clusterSize", {"cluster": "app-main", "expected": 2, "comparison": "=="}, True),
            ]
        ),
        {
            "type": "checkPreconditions",
            "name": "Check Preconditions",
            "preconditions": [
                {
                    "type": "expression",
                    "context": {"expression": "parameters.env == 'prod'", "failureMessage": "not prod"},
                    "failPipeline": False,
                },
                {"type": "stageStatus", "context": {"stageName": "Bake", "stageStatus": "SUCCEEDED"}},
                {
                    "type": "clusterSize",
                    "context": {"cluster": "app-main", "expected": 2, "comparison": "=="},
                    "failPipeline": True,
                },
            ],
        },
    ),
    (
        RunPipeline("other", "3c1e0b9a-child", parameters={"env": "${parameters.env}"}, name="Deploy child"),
        {
            "type": "pipeline",
            "name": "Deploy child",
            "application": "other",
            "pipeline": "3c1e0b9a-child",
            "pipelineParameters": {"env": "${parameters.env}"},
            "waitForCompletion": True,
        },
    ),
    (
        RunPipeline("other", Pipeline("child", application="other", id="child-id"), wait_for_completion=False),
        {
            "type": "pipeline",
            "name": "Pipeline",
            "application": "other",
            "pipeline": "child-id",
            "pipelineParameters": {},
            "waitForCompletion": False,
        },
    ),
    (
        Webhook("https://hooks.example.com/notify", payload={"text": "hi"}),
        {
            "type": "webhook",
            "name": "Webhook",
            "url": "https://hooks.example.com/notify",
            "method": "POST",
            "payload": {"text": "hi"},
            "waitForCompletion": False,
        },
    ),
    (
        Webhook(
            "https://ci.example.com/jobs",
            method="put",
            headers={"Authorization": "Bearer ${parameters.token}", "Accept": ["application/json"]},
            fail_fast_status_codes=[],
            webhook_retry_status_codes=[409],
            wait_for_completion=True,
            status_url_resolution="webhookResponse",
            status_url_json_path="$.links.status",
            status_json_path="$.state",
            progress_json_path="$.progress",
            success_statuses=["SUCCESS", "DONE"],
            canceled_statuses="CANCELED",
            terminal_statuses="FAILED, ERROR",
            retry_status_codes=[404],
            retries={503: 5},
            wait_before_monitor=timedelta(seconds=10),
            cancel_endpoint="https://ci.example.com/jobs/cancel",
            cancel_payload={"why": "canceled"},
        ),
        {
            "type": "webhook",
            "name": "Webhook",
            "url": "https://ci.example.com/jobs",
            "method": "PUT",
            "customHeaders": {"Authorization": "Bearer ${parameters.token}", "Accept": ["application/json"]},
            "failFastStatusCodes": [],
            "webhookRetryStatusCodes": [409],
            "waitForCompletion": True,
            "statusUrlResolution": "webhookResponse",
            "statusUrlJsonPath": "$.links.status",
            "statusJsonPath": "$.state",
            "progressJsonPath": "$.progress",
            "successStatuses": "SUCCESS,DONE",
            "canceledStatuses": "CANCELED",
            "terminalStatuses": "FAILED,ERROR",
            "retryStatusCodes": [404],
            "retries": {"503": {"maxAttempts": 5}},
            "waitBeforeMonitor": 10,
            "cancelEndpoint": "https://ci.example.com/jobs/cancel",
            "cancelMethod": "POST",
            "cancelPayload": {"why": "canceled"},
        },
    ),
    (
        Webhook("${parameters.url}", method="GET", wait_for_completion=True, monitor_only=True),
        {
            "type": "webhook",
            "name": "Webhook",
            "url": "${parameters.url}",
            "method": "GET",
            "waitForCompletion": True,
            "statusUrlResolution": "getMethod",
            "monitorOnly": True,
        },
    ),
    (
        Stage("wait", name="Raw", waitTime=5, skipWaitText="x"),
        {"type": "wait", "name": "Raw", "waitTime": 5, "skipWaitText": "x"},
    ),
    (
        Deploy(
            [
                Cluster(
                    "myapp",
                    "prod",
                    account="prod",
                    regions={"us-east-1": ["us-east-1a"]},
                    capacity=(1, 3, 2),
                    target_groups=["web"],
                    strategy=RedBlack(
                        max_remaining=2,
                        scale_down=True,
                        delay_before_disable=timedelta(seconds=30),
                        rollback_on_failure=True,
                    ),
                )
            ]
        ),
        {
            "type": "deploy",
            "name": "Deploy",
            "clusters": [
                {
                    "application": "myapp",
                    "stack": "prod",
                    "freeFormDetails": "",
                    "account": "prod",
                    "cloudProvider": "aws",
                    "capacity": {"min": 1, "max": 3, "desired": 2},
                    "availabilityZones": {"us-east-1": ["us-east-1a"]},
                    "targetGroups": ["web"],
                    "strategy": "redblack",
                    "scaleDown": True,
                    "maxRemainingAsgs": 2,
                    "delayBeforeDisableSec": 30,
                    "rollback": {"onFailure": True},
                }
            ],
        },
    ),
    (
        CreateServerGroup(
            Cluster("myapp", account="prod", regions=["us-east-1"], capacity=2, image_id="ami-1", strategy=Highlander())
        ),
        {
            "type": "createServerGroup",
            "name": "Create Server Group",
            "application": "myapp",
            "stack": "",
            "freeFormDetails": "",
            "account": "prod",
            "cloudProvider": "aws",
            "capacity": {"min": 2, "max": 2, "desired": 2},
            "availabilityZones": {"us-east-1": []},
            "imageId": "ami-1",
            "strategy": "highlander",
        },
    ),
    (
        CloneServerGroup(
            Cluster(
                "myapp",
                account="prod",
                regions=["us-east-1"],
                source={"account": "prod", "region": "us-east-1", "asgName": "myapp-v001"},
                use_source_capacity=True,
                strategy=CustomStrategy("myapp", "s-1", {"k": "v"}),
            )
        ),
        {
            "type": "cloneServerGroup",
            "name": "Clone Server Group",
            "application": "myapp",
            "stack": "",
            "freeFormDetails": "",
            "account": "prod",
            "cloudProvider": "aws",
            "capacity": {"min": 1, "max": 1, "desired": 1},
            "availabilityZones": {"us-east-1": []},
            "strategy": "custom",
            "strategyApplication": "myapp",
            "strategyPipeline": "s-1",
            "pipelineParameters": {"k": "v"},
            "source": {"account": "prod", "region": "us-east-1", "asgName": "myapp-v001"},
            "useSourceCapacity": True,
        },
    ),
    (
        DisableServerGroup("myapp-prod", account="prod", regions=["us-east-1"], target="ancestor_asg_dynamic"),
        {
            "type": "disableServerGroup",
            "name": "Disable Server Group",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "target": "ancestor_asg_dynamic",
        },
    ),
    (
        EnableServerGroup("myapp-prod", account="prod", regions=["us-east-1"], server_group="myapp-prod-v003"),
        {
            "type": "enableServerGroup",
            "name": "Enable Server Group",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "serverGroupName": "myapp-prod-v003",
        },
    ),
    (
        DestroyServerGroup("myapp-prod", account="prod", regions=["us-east-1"], target="oldest_asg_dynamic"),
        {
            "type": "destroyServerGroup",
            "name": "Destroy Server Group",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "target": "oldest_asg_dynamic",
        },
    ),
    (
        ResizeServerGroup("myapp-prod", account="prod", regions=["us-east-1"], scale_pct=50, down=True),
        {
            "type": "resizeServerGroup",
            "name": "Resize Server Group",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "target": "current_asg_dynamic",
            "action": "scale_down",
            "scalePct": 50,
        },
    ),
    (
        DisableCluster("myapp-prod", account="prod", regions=["us-east-1"], remaining=2),
        {
            "type": "disableCluster",
            "name": "Disable Cluster",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "remainingEnabledServerGroups": 2,
        },
    ),
    (
        ShrinkCluster("myapp-prod", account="prod", regions=["us-east-1"], shrink_to=2, allow_delete_active=True),
        {
            "type": "shrinkCluster",
            "name": "Shrink Cluster",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "shrinkToSize": 2,
            "allowDeleteActive": True,
        },
    ),
    (
        ScaleDownCluster("myapp-prod", account="prod", regions=["us-east-1"]),
        {
            "type": "scaleDownCluster",
            "name": "Scale Down Cluster",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "remainingFullSizeServerGroups": 1,
            "allowScaleDownActive": False,
        },
    ),
    (
        RollbackServerGroup("myapp-prod-v002", account="prod", region="us-east-1"),
        {
            "type": "rollbackServerGroup",
            "name": "Rollback Server Group",
            "rollbackType": "EXPLICIT",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "rollbackContext": {"rollbackServerGroupName": "myapp-prod-v002"},
        },
    ),
    (
        RollbackCluster("myapp-prod", account="prod", regions=["us-east-1"]),
        {
            "type": "rollbackCluster",
            "name": "Rollback Cluster",
            "cloudProvider": "aws",
            "credentials": "prod",
            "moniker": {"app": "myapp", "cluster": "myapp-prod", "stack": "prod"},
            "regions": ["us-east-1"],
        },
    ),
    (
        FindImageFromTags("myapp", {"appversion": "1.0"}, regions=["us-east-1"], account="prod"),
        {
            "type": "findImageFromTags",
            "name": "Find Image from Tags",
            "packageName": "myapp",
            "tags": {"appversion": "1.0"},
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "credentials": "prod",
        },
    ),
    (
        FindImage("myapp-prod", account="prod", regions=["us-east-1"]),
        {
            "type": "findImage",
            "name": "Find Image from Cluster",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "onlyEnabled": True,
            "selectionStrategy": "NEWEST",
        },
    ),
    (
        Bake("myapp", "noble", ["us-east-1"], extended_attributes={"k": "v"}, rebake=True),
        {
            "type": "bake",
            "name": "Bake",
            "package": "myapp",
            "baseOs": "noble",
            "regions": ["us-east-1"],
            "baseLabel": "release",
            "cloudProviderType": "aws",
            "vmType": "hvm",
            "storeType": "ebs",
            "rebake": True,
            "extendedAttributes": {"k": "v"},
        },
    ),
    (
        Jenkins("ci", "build-app", {"BRANCH": "main"}, property_file="build.properties"),
        {
            "type": "jenkins",
            "name": "Jenkins",
            "master": "ci",
            "job": "build-app",
            "parameters": {"BRANCH": "main"},
            "markUnstableAsSuccessful": False,
            "waitForCompletion": True,
            "propertyFile": "build.properties",
        },
    ),
    (
        Travis("travis", "org/app/main", {"TARGET": "release"}, property_file="travis"),
        {
            "type": "travis",
            "name": "Travis",
            "master": "travis",
            "job": "org/app/main",
            "parameters": {"TARGET": "release"},
            "waitForCompletion": True,
            "propertyFile": "travis",
        },
    ),
    (
        GitHubActions("gha", "org/app/deploy.yml", {"version": "${version}"}, ref="v2.0", wait_for_completion=False),
        {
            "type": "github-actions",
            "name": "GitHub Actions",
            "master": "gha",
            "job": "org/app/deploy.yml",
            "parameters": {"version": "${version}"},
            "waitForCompletion": False,
            "ref": "v2.0",
        },
    ),
    (
        GitLabCi("gitlab", "group/app", {"STAGE": "prod"}, property_file="build.properties"),
        {
            "type": "gitlab-ci",
            "name": "GitLab CI",
            "master": "gitlab",
            "job": "group/app",
            "parameters": {"STAGE": "prod"},
            "waitForCompletion": True,
            "propertyFile": "build.properties",
        },
    ),
    (
        Script("deploy.sh", "--fast", repo_url="git@x:y.git"),
        {
            "type": "script",
            "name": "Script",
            "scriptPath": "deploy.sh",
            "command": "--fast",
            "waitForCompletion": True,
            "repoUrl": "git@x:y.git",
        },
    ),
    (
        FindAmi("myapp-prod", account="prod", regions=["us-east-1"], only_enabled=False),
        {
            "type": "findAmi",
            "name": "Find Image from Cluster",
            "cluster": "myapp-prod",
            "credentials": "prod",
            "regions": ["us-east-1"],
            "cloudProvider": "aws",
            "onlyEnabled": False,
            "selectionStrategy": "NEWEST",
        },
    ),
    (
        RunJobManifest("k8s", {"apiVersion": "batch/v1", "kind": "Job"}, property_file="main"),
        {
            "type": "runJobManifest",
            "name": "Run Job (Manifest)",
            "account": "k8s",
            "credentials": "k8s",
            "cloudProvider": "kubernetes",
            "source": "text",
            "manifest": {"apiVersion": "batch/v1", "kind": "Job"},
            "propertyFile": "main",
            "consumeArtifactSource": "none",
            "skipExpressionEvaluation": False,
            "waitForCompletion": True,
        },
    ),
    (
        DeployManifest("k8s", [{"kind": "ReplicaSet"}], traffic=Traffic(["service web"], strategy="highlander")),
        {
            "type": "deployManifest",
            "name": "Deploy (Manifest)",
            "account": "k8s",
            "credentials": "k8s",
            "cloudProvider": "kubernetes",
            "source": "text",
            "manifests": [{"kind": "ReplicaSet"}],
            "trafficManagement": {
                "enabled": True,
                "options": {"services": ["service web"], "strategy": "highlander", "enableTraffic": True},
            },
            "skipExpressionEvaluation": False,
        },
    ),
    (
        DeleteManifest("k8s", "prod", cluster="replicaSet web", criteria="oldest", grace_period_seconds=0),
        {
            "type": "deleteManifest",
            "name": "Delete (Manifest)",
            "account": "k8s",
            "credentials": "k8s",
            "cloudProvider": "kubernetes",
            "location": "prod",
            "cluster": "replicaSet web",
            "criteria": "oldest",
            "options": {"cascading": True, "gracePeriodSeconds": 0},
        },
    ),
    (
        ScaleManifest("k8s", "prod", "replicaSet web-v001", replicas=3),
        {
            "type": "scaleManifest",
            "name": "Scale (Manifest)",
            "account": "k8s",
            "credentials": "k8s",
            "cloudProvider": "kubernetes",
            "location": "prod",
            "manifestName": "replicaSet web-v001",
            "replicas": 3,
        },
    ),
    (
        PatchManifest("k8s", "prod", "deployment api", {"spec": {"paused": False}}, merge_strategy="merge"),
        {
            "type": "patchManifest",
            "name": "Patch (Manifest)",
            "account": "k8s",
            "credentials": "k8s",
            "cloudProvider": "kubernetes",
            "location": "prod",
            "manifestName": "deployment api",
            "source": "text",
            "patchBody": [{"spec": {"paused": False}}],
            "options": {"mergeStrategy": "merge", "record": True},
        },
    ),
    (
        UndoRolloutManifest("k8s", "prod", "deployment api", revisions_back=2),
        {
            "type": "undoRolloutManifest",
            "name": "Undo Rollout (Manifest)",
            "account": "k8s",
            "credentials": "k8s",
            "cloudProvider": "kubernetes",
            "location": "prod",
            "manifestName": "deployment api",
            "revisionsBack": 2,
        },
    ),
    (
        Terraform("output", repo="https://git.example.com/infra.git", workspace="prod"),
        {
            "type": "terraform",
            "name": "Terraform",
            "action": "output",
            "artifacts": [
                {"type": "git/repo", "reference": "https://git.example.com/infra.git", "version": "refs/heads/master"}
            ],
            "workspace": "prod",
        },
    ),
    (
        KayentaCanary(
            "shop-errors",
            control_scope="baseline",
            experiment_scope="canary",
            lifetime=timedelta(hours=1),
            interval=timedelta(minutes=15),
        ),
        {
            "type": "kayentaCanary",
            "name": "Canary Analysis",
            "analysisType": "realTime",
            "canaryConfig": {
                "scopes": [
                    {
                        "scopeName": "default",
                        "controlScope": "baseline",
                        "experimentScope": "canary",
                        "controlLocation": "",
                        "experimentLocation": "",
                        "step": 60,
                        "extendedScopeParams": {},
                    }
                ],
                "scoreThresholds": {"pass": 75, "marginal": 50},
                "canaryConfigName": "shop-errors",
                "lifetimeDuration": "PT1H",
                "canaryAnalysisIntervalMins": 15,
            },
        },
    ),
    # the infrastructure builders (gennaker/pipelines/infrastructure.py; more in tests/infrastructure/test_sdk.py)
    *[
        (stage, {"name": stage.display_name, **stage._render()})
        for stage in (
            infra.UpsertSecurityGroup("myapp-elb", account="prod", regions=["us-east-1"]),
            infra.DeleteSecurityGroup("myapp-elb", account="prod", regions=["us-east-1"]),
            infra.UpsertLoadBalancer("lb", account="prod", regions=["us-east-1"], listeners=[{"externalPort": 80}]),
            infra.DeleteLoadBalancer("myapp-lb", account="prod", regions=["us-east-1"]),
            infra.UpsertScalingPolicy("myapp-v000", account="prod", region="us-east-1", simple={"cooldown": 60}),
            infra.DeleteScalingPolicy("myapp-v000", account="prod", region="us-east-1", policy_name="p"),
            infra.UpsertAsgScheduledActions([{"asgName": "a", "region": "r"}], account="p", scheduled_actions=[]),
            infra.DeleteAsgScheduledActions([{"asgName": "a", "region": "r"}], account="prod"),
            infra.UpsertImageTags(["myapp-1.0"], account="prod", regions=["us-east-1"], tags={"a": "b"}),
            infra.UpdateLaunchTemplate("myapp-v000", account="prod", region="us-east-1", instance_type="t3.large"),
        )
    ],
]


@pytest.mark.parametrize(("stage", "want"), BUILDERS, ids=lambda x: getattr(x, "stage_type", ""))
def test_builder_output(stage: Stage, want: dict[str, Any]) -> None:
    assert one(stage) == {"refId": "1", "requisiteStageRefIds": [], **want}


def test_every_engine_type_but_synthetic_has_a_builder() -> None:
    built = {s.stage_type for s, _ in BUILDERS}
    # added by the engine, never written: the execution window's, a failed jenkins stage's, rolling red/black's pin,
    # and the kayentaCanary stage's intervals and canary deployments
    assert set(known_types()) - built == {
        "restrictExecutionDuringTimeWindow",
        "getProperties",
        "getCiProperties",
        "pinServerGroup",
        "runCanary",
        "deployCanaryServerGroups",
    }


def test_generic_stage_for_a_type_the_engine_lacks() -> None:
    stage = Stage(
        "rollingRestartManifest", name="Deploy", account="k8s", cloudProvider="kubernetes", manifests=[{"a": 1}]
    )
    doc = Pipeline("p", application="app", stages=[stage]).to_json()
    assert doc["stages"][0] == {
        "refId": "1",
        "requisiteStageRefIds": [],
        "type": "rollingRestartManifest",
        "name": "Deploy",
        "account": "k8s",
        "cloudProvider": "kubernetes",
        "manifests": [{"a": 1}],
    }
    StageGraph.build(PipelineConfig.parse(doc).stages)
    with pytest.raises(UnknownStageTypeError, match="rollingRestartManifest"):
        validate_for_start(doc)
    assert one(Stage("wait", waitTime=1))["name"] == "wait"


def test_extra_merged_last() -> None:
    got = one(Wait(5, comments="why", extra={"waitTime": "${parameters.t}", "alias": "wait", "isNew": True}))
    assert got == {
        "refId": "1",
        "requisiteStageRefIds": [],
        "type": "wait",
        "name": "Wait",
        "waitTime": "${parameters.t}",
        "comments": "why",
        "alias": "wait",
        "isNew": True,
    }


# --------------------------------------------------------------------------------------------
# common fields


@pytest.mark.parametrize(
    ("option", "flags", "engine"),
    [
        (FailureOption.HALT_PIPELINE, (True, False, False), (True, False, False)),
        (FailureOption.HALT_BRANCH, (False, False, False), (False, False, False)),
        (FailureOption.HALT_BRANCH_FAIL_PIPELINE, (False, False, True), (False, False, True)),
        (FailureOption.IGNORE, (False, True, False), (False, True, False)),
    ],
)
def test_failure_options_table(option: FailureOption, flags: tuple[bool, bool, bool], engine: tuple) -> None:
    got = one(Wait(1, fail=option))
    assert (got["failPipeline"], got["continuePipeline"], got["completeOtherBranchesThenFail"]) == flags
    stage = PipelineConfig.parse(Pipeline("p", application="a", stages=[Wait(1, fail=option)]).to_json()).stages[0]
    assert (stage.fail_pipeline, stage.continue_pipeline, stage.complete_other_branches_then_fail) == engine


def test_no_failure_option_writes_nothing_and_means_halt() -> None:
    got = one(Wait(1))
    assert not {"failPipeline", "continuePipeline", "completeOtherBranchesThenFail"} & set(got)
    assert PipelineConfig.parse(Pipeline("p", application="a", stages=[Wait(1)]).to_json()).stages[0].fail_pipeline


def test_enabled_if_and_timeout() -> None:
    stage = Wait(1, enabled_if="parameters.env == 'prod'", timeout=timedelta(minutes=30, milliseconds=5))
    got = one(stage)
    assert got["stageEnabled"] == {"type": "expression", "expression": "parameters.env == 'prod'"}
    assert got["stageTimeoutMs"] == 1_800_005
    assert got["overrideTimeout"] is True
    parsed = PipelineConfig.parse(Pipeline("p", application="a", stages=[stage]).to_json()).stages[0]
    assert parsed.stage_enabled_expression == "parameters.env == 'prod'"
    assert parsed.stage_timeout == timedelta(minutes=30, milliseconds=5)


def test_execution_window() -> None:
    window = ExecutionWindow(
        windows=[TimeWindow("09:00", "17:30"), TimeWindow(time(22, 0), 5)],
        days=[Day.FRIDAY, *WEEKDAYS],
        jitter=Jitter(min_delay=timedelta(seconds=30), max_delay=600, skip_manual=True),
        skip_window_text="Ask first.",
    )
    got = one(Wait(1, window=window))
    assert got["restrictExecutionDuringTimeWindow"] is True
    assert got["restrictedExecutionWindow"] == {
        "whitelist": [
            {"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 30},
            {"startHour": 22, "startMin": 0, "endHour": 5, "endMin": 0},
        ],
        "days": [2, 3, 4, 5, 6],
        "jitter": {"enabled": True, "minDelay": 30, "maxDelay": 600, "skipManual": True},
    }
    assert got["skipWindowText"] == "Ask first."
    parsed = EngineWindow.parse(got)
    assert parsed.days == frozenset({2, 3, 4, 5, 6})
    assert parsed.jitter.active and parsed.jitter.skip_manual
    assert [w.crosses_midnight for w in parsed.whitelist] == [False, True]
    assert (
        PipelineConfig.parse(Pipeline("p", application="a", stages=[Wait(1, window=window)]).to_json())
        .stages[0]
        .restrict_execution_window
    )


def test_window_days_only_and_numbering() -> None:
    got = one(Wait(1, window=ExecutionWindow(days=WEEKEND)))
    assert got["restrictedExecutionWindow"] == {"whitelist": [], "days": [1, 7]}
    assert Day.SUNDAY == 1 and Day.SATURDAY == 7


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ExecutionWindow(days=[0]), r"ExecutionWindow.days\[0\]: must be a day 1-7"),
        (lambda: ExecutionWindow(days=[True]), r"days\[0\]"),
        (lambda: ExecutionWindow(), "restricts nothing"),
        (lambda: TimeWindow("9", "17:00"), "TimeWindow.start: must be 'HH:MM'"),
        (lambda: TimeWindow("09:00", "24:00"), "TimeWindow.end: must be a time between"),
        (lambda: TimeWindow(time(9, 0, 30), "10:00"), "whole minute"),
        (lambda: Jitter(min_delay=10, max_delay=5), "Jitter.min_delay: must not exceed max_delay"),
        (lambda: Jitter(max_delay=-1), "Jitter.max_delay: must not be negative"),
        (lambda: ExecutionWindow(windows=TimeWindow("09:00", "10:00")), "single TimeWindow"),  # type: ignore[arg-type]
    ],
)
def test_window_errors(build: Any, message: str) -> None:
    with pytest.raises(PipelineBuildError, match=message):
        build()


# --------------------------------------------------------------------------------------------
# triggers


@pytest.mark.parametrize(
    ("trigger", "want"),
    [
        (
            CronTrigger("0 0 0 1W 1/1 ? *", id="cron-1", run_as_user="svc@managed-service-account"),
            {
                "type": "cron",
                "enabled": True,
                "cronExpression": "0 0 0 1W 1/1 ? *",
                "id": "cron-1",
                "runAsUser": "svc@managed-service-account",
            },
        ),
        (
            WebhookTrigger("deploy-hook", payload_constraints={"env": "prod|staging"}, expected_artifact_ids=["a1"]),
            {
                "type": "webhook",
                "enabled": True,
                "source": "deploy-hook",
                "payloadConstraints": {"env": "prod|staging"},
                "expectedArtifactIds": ["a1"],
            },
        ),
        (
            PipelineTrigger("upstream", "upstream-id", status=["successful", "failed"], enabled=False),
            {
                "type": "pipeline",
                "enabled": False,
                "application": "upstream",
                "pipeline": "upstream-id",
                "status": ["successful", "failed"],
            },
        ),
        (
            PipelineTrigger("upstream", Pipeline("build", application="upstream", id="build-id")),
            {
                "type": "pipeline",
                "enabled": True,
                "application": "upstream",
                "pipeline": "build-id",
                "status": ["successful"],
            },
        ),
        (
            GitTrigger("github", "acme", "shop", branch="main|release-.*", secret="s3cret"),
            {
                "type": "git",
                "enabled": True,
                "source": "github",
                "project": "acme",
                "slug": "shop",
                "branch": "main|release-.*",
                "secret": "s3cret",
            },
        ),
        (
            JenkinsTrigger("ci", "shop-build", property_file="build.properties", description="builds"),
            {
                "type": "jenkins",
                "enabled": True,
                "master": "ci",
                "job": "shop-build",
                "propertyFile": "build.properties",
                "description": "builds",
            },
        ),
        (
            Trigger("docker", account="gcr", organization="acme", repository="acme/shop", tag="v.*"),
            {
                "type": "docker",
                "enabled": True,
                "account": "gcr",
                "organization": "acme",
                "repository": "acme/shop",
                "tag": "v.*",
            },
        ),
        (
            Trigger("pubsub", pubsubSystem="google", subscriptionName="builds", extra={"payloadConstraints": {}}),
            {
                "type": "pubsub",
                "enabled": True,
                "pubsubSystem": "google",
                "subscriptionName": "builds",
                "payloadConstraints": {},
            },
        ),
    ],
    ids=lambda x: getattr(x, "trigger_type", ""),
)
def test_trigger_shapes(trigger: Trigger, want: dict[str, Any]) -> None:
    doc = Pipeline("p", application="app", triggers=[trigger], stages=[Wait(1)]).to_json()
    assert doc["triggers"] == [want]
    engine_accepts(doc)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CronTrigger("0 12 * * 1-5"), "cron_expression: must have 6 or 7 fields.*Quartz"),
        (lambda: CronTrigger("0 0 12 * * MON-FRI"), "exactly one of day-of-month and day-of-week must be '\\?'"),
        (lambda: PipelineTrigger("a", "b", status=["succeeded"]), r"status\[0\]: must be one of"),
        (lambda: PipelineTrigger("a", Pipeline("up", application="a")), "has no id"),
        (lambda: GitTrigger("svn", "a", "b"), "source: must be one of"),
        (lambda: GitTrigger("github", "a", "b", branch="("), "branch: is not a valid regex"),
        (lambda: WebhookTrigger("a/b"), "one URL path segment"),
        (lambda: JenkinsTrigger("ci", ""), "JenkinsTrigger\\('jenkins'\\).job: must be a non-empty string"),
        (lambda: Trigger("cron", enabled="yes"), "enabled: must be True or False"),  # type: ignore[arg-type]
        (lambda: Trigger("x", extra={"type": "y"}), "cannot be overridden"),
    ],
)
def test_trigger_errors(build: Any, message: str) -> None:
    with pytest.raises(PipelineBuildError, match=message):
        build()


# --------------------------------------------------------------------------------------------
# notifications


def test_pipeline_and_stage_notifications() -> None:
    slack = Notification(
        "slack",
        "#deploys",
        ["pipeline.starting", "pipeline.failed"],
        message={"pipeline.failed": "${execution.name} failed"},
    )
    email = Notification("email", "team@example.com", ["stage.failed"], cc="boss@example.com")
    judge = Notification("slack", "#approvers", ["manualJudgment", "manualJudgmentContinue", "stage.complete"])
    doc = Pipeline(
        "p",
        application="app",
        notifications=[slack],
        stages=[Wait(1, notifications=[email]), ManualJudgment("Go?", notifications=[judge])],
    ).to_json()
    engine_accepts(doc)
    assert doc["notifications"] == [
        {
            "type": "slack",
            "address": "#deploys",
            "level": "pipeline",
            "when": ["pipeline.starting", "pipeline.failed"],
            "message": {"pipeline.failed": {"text": "${execution.name} failed"}},
        }
    ]
    wait, judgment = doc["stages"]
    assert wait["notifications"] == [
        {
            "type": "email",
            "address": "team@example.com",
            "level": "stage",
            "when": ["stage.failed"],
            "cc": "boss@example.com",
        }
    ]
    assert wait["sendNotifications"] is True
    assert judgment["notifications"][0]["when"] == ["manualJudgment", "manualJudgmentContinue", "stage.complete"]
    assert judgment["sendNotifications"] is True


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Pipeline(
                "p", application="a", notifications=[Notification("slack", "#c", ["stage.failed"])]
            ).to_json(),
            r"Pipeline.notifications\[0\]: Notification.when\[0\]: 'stage.failed' is not a pipeline-level event",
        ),
        (
            lambda: Wait(1, notifications=[Notification("slack", "#c", ["manualJudgment"])]),
            r"Wait\('Wait'\).notifications\[0\]: .*'manualJudgment' is not a stage-level event",
        ),
        (lambda: Notification("slack", "#c", []), "needs at least one event"),
        (lambda: Notification("slack", "#c", "pipeline.failed"), "must be a list of strings"),
        (
            lambda: Pipeline(
                "p",
                application="a",
                notifications=[Notification("slack", "#c", ["pipeline.failed"], message={"pipeline.complete": "x"})],
            ),
            "message.pipeline.complete: is not one of the events",
        ),
        (lambda: Wait(1, notifications=Notification("slack", "#c", ["stage.failed"])), "must be a list"),  # type: ignore[arg-type]
    ],
)
def test_notification_errors(build: Any, message: str) -> None:
    with pytest.raises(PipelineBuildError, match=message):
        build()


# --------------------------------------------------------------------------------------------
# layout


def requisites(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {s["name"]: s["requisiteStageRefIds"] for s in doc["stages"]}


def test_straight_line_by_default() -> None:
    doc = Pipeline("p", application="a", stages=[Wait(1, name="A"), Wait(1, name="B"), Wait(1, name="C")]).to_json()
    assert [s["refId"] for s in doc["stages"]] == ["1", "2", "3"]
    assert requisites(doc) == {"A": [], "B": ["1"], "C": ["2"]}
    graph = engine_accepts(doc)
    assert graph.roots() == ["1"]


def test_any_order_needs_explicit_roots() -> None:
    build = Wait(1, name="Build", after=[])
    test_a = Wait(2, name="Test A", after=[build])
    test_b = Wait(2, name="Test B", after=build)
    ship = ManualJudgment("Ship", after=[test_a, test_b, test_a])
    doc = Pipeline("fan-out", application="demo", stages=[ship, test_b, test_a, build]).to_json()
    assert [(s["refId"], s["name"], s["requisiteStageRefIds"]) for s in doc["stages"]] == [
        ("1", "Ship", ["3", "2"]),
        ("2", "Test B", ["4"]),
        ("3", "Test A", ["4"]),
        ("4", "Build", []),
    ]
    graph = engine_accepts(doc)
    assert graph.roots() == ["4"]
    assert sorted(graph.children["4"]) == ["2", "3"]


def test_forward_reference_and_stages_added_later() -> None:
    deploy = Wait(1, name="Deploy")
    verify = Wait(1, name="Verify", after=[deploy])  # refers to a stage not yet in any pipeline
    p = Pipeline("p", application="a", stages=[Wait(1, name="Start")])
    p.stages.append(verify)
    with pytest.raises(PipelineBuildError, match=r"Pipeline.stages\[1\].after: names Wait\('Deploy'\), which is not"):
        p.to_json()
    p.stages.append(deploy)  # default: after the previous entry (Verify)... which waits for Deploy: a cycle
    with pytest.raises(PipelineBuildError, match="cycle"):
        p.to_json()
    deploy.after = []
    assert requisites(p.to_json()) == {"Start": [], "Verify": ["3"], "Deploy": []}
    engine_accepts(p.to_json())


def test_mixing_defaults_and_after() -> None:
    a, b = Wait(1, name="A"), Wait(1, name="B")
    side = Wait(1, name="Side", after=[a])
    c = Wait(1, name="C")  # follows the previous entry, Side
    doc = Pipeline("p", application="x", stages=[a, b, side, c]).to_json()
    assert requisites(doc) == {"A": [], "B": ["1"], "Side": ["1"], "C": ["3"]}
    engine_accepts(doc)


def test_parallel_branches_and_chains() -> None:
    doc = Pipeline(
        "p",
        application="x",
        stages=[
            Wait(1, name="Start"),
            Parallel(Wait(1, name="A"), [Wait(1, name="B1"), Wait(1, name="B2")], [Parallel(Wait(1, name="C1"))]),
            Wait(1, name="Join"),
            Parallel(Wait(1, name="Tail")),
        ],
    ).to_json()
    assert requisites(doc) == {
        "Start": [],
        "A": ["1"],
        "B1": ["1"],
        "B2": ["3"],
        "C1": ["1"],
        "Join": ["2", "4", "5"],
        "Tail": ["6"],
    }
    engine_accepts(doc)


def test_parallel_at_the_start_makes_roots() -> None:
    doc = Pipeline("p", application="x", stages=[Parallel(Wait(1, name="A"), Wait(1, name="B")), Wait(1, name="C")])
    assert requisites(doc.to_json()) == {"A": [], "B": [], "C": ["1", "2"]}
    assert engine_accepts(doc.to_json()).roots() == ["1", "2"]


def test_duplicate_names_allowed() -> None:
    doc = Pipeline("p", application="x", stages=[Wait(1), Wait(2)]).to_json()
    assert [s["name"] for s in doc["stages"]] == ["Wait", "Wait"]
    engine_accepts(doc)


def test_stage_status_precondition_takes_a_stage() -> None:
    bake = Wait(1, name="Bake")
    check = CheckPreconditions([StageStatusPrecondition(bake, "SUCCEEDED")])
    doc = Pipeline("p", application="x", stages=[bake, check]).to_json()
    assert doc["stages"][1]["preconditions"][0]["context"] == {"stageName": "Bake", "stageStatus": "SUCCEEDED"}


# --------------------------------------------------------------------------------------------
# errors


def test_duplicate_stage_object() -> None:
    settle = Wait(1, name="Settle")
    p = Pipeline("p", application="a", stages=[settle, Wait(2), settle])
    with pytest.raises(
        PipelineBuildError,
        match=r"Pipeline.stages\[2\]: Wait\('Settle'\) is already in the pipeline at Pipeline.stages\[0\]",
    ):
        p.to_json()
    with pytest.raises(PipelineBuildError, match="already in the pipeline"):
        Pipeline("p", application="a", stages=[Parallel(settle, settle)]).to_json()


def test_cycle_errors() -> None:
    a = Wait(1, name="A")
    b = Wait(1, name="B", after=[a])
    a.after = [b]
    with pytest.raises(PipelineBuildError, match="the stages form a cycle: 'A' -> 'B' -> 'A'|'B' -> 'A' -> 'B'"):
        Pipeline("p", application="x", stages=[a, b]).to_json()
    selfish = Wait(1, name="Self")
    selfish.after = [selfish]
    with pytest.raises(PipelineBuildError, match="cycle: 'Self' -> 'Self'"):
        Pipeline("p", application="x", stages=[selfish]).validate()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Wait(-5, name="Settle"), r"Wait\('Settle'\).wait_time: must not be negative, got -5"),
        (lambda: Wait("-1"), "wait_time: must not be negative"),
        (lambda: Wait("soon"), "wait_time: must be seconds or an expression"),
        (lambda: Wait(True), "wait_time: must be seconds"),
        (lambda: Wait(timedelta(milliseconds=1500)), "wait_time: must be whole seconds"),
        (lambda: Wait(float("inf")), "wait_time: must not be negative"),
        (
            lambda: ManualJudgment("Approve", inputs=["ok", 3]),  # type: ignore[list-item]
            r"ManualJudgment\('Approve'\).inputs\[1\]: must be a non-empty string, got 3",
        ),
        (lambda: ManualJudgment("Approve", inputs="ok"), "inputs: must be a list of strings"),
        (lambda: ManualJudgment("Approve", inputs=["ok", "ok"]), "inputs: has duplicates"),
        (lambda: ManualJudgment("Approve", roles=[""]), r"roles\[0\]"),
        (lambda: ManualJudgment(""), r"ManualJudgment\(''\).name: must be a non-empty string"),
        (lambda: EvaluateVariables({}), "variables: needs at least one variable"),
        (lambda: EvaluateVariables([Variable("a", 1), Variable("a", 2)]), r"variables: duplicate keys: \['a'\]"),
        (lambda: EvaluateVariables({"a": object()}), r"variables: Variable\('a'\).value: must be JSON data"),
        (lambda: Variable("", "x"), "key: must be a non-empty string"),
        (lambda: CheckPreconditions([]), "needs at least one precondition"),
        (lambda: CheckPreconditions(["x == 1"]), r"preconditions\[0\]: must be a Precondition"),  # type: ignore[list-item]
        (lambda: ExpressionPrecondition(""), "expression: must be a non-empty string"),
        (lambda: StageStatusPrecondition("Bake", "DONE"), "status: must be one of"),
        (lambda: RunPipeline("app", Pipeline("child", application="app")), "has no id"),
        (lambda: RunPipeline("", "id"), "application: must be a non-empty string"),
        (lambda: Webhook("ftp://x"), "url: must be an http"),
        (lambda: Webhook("https://x", method="FETCH"), "method: must be one of"),
        (
            lambda: Webhook("https://x", status_json_path="$.s"),
            "status_json_path: only applies with wait_for_completion",
        ),
        (lambda: Webhook("https://x", monitor_only=True), "monitor_only: needs wait_for_completion"),
        (
            lambda: Webhook("https://x", wait_for_completion=True, status_url_resolution="webhookResponse"),
            "status_url_json_path",
        ),
        (lambda: Webhook("https://x", wait_for_completion=True, status_url_resolution="poll"), "status_url_resolution"),
        (lambda: Webhook("https://x", fail_fast_status_codes=[42]), r"fail_fast_status_codes\[0\]: must be an HTTP"),
        (lambda: Webhook("https://x", wait_for_completion=True, retries={503: 0}), "positive number of attempts"),
        (lambda: Webhook("https://x", cancel_method="DELETE"), "cancel_method: only applies with cancel_endpoint"),
        (lambda: Webhook("https://x", wait_for_completion=True, success_statuses=" , "), "at least one status"),
        (lambda: Wait(1, fail="ignore"), "fail: must be a FailureOption"),  # type: ignore[arg-type]
        (lambda: Wait(1, enabled_if=""), "enabled_if: must be a non-empty string"),
        (lambda: Wait(1, timeout=timedelta(0)), "timeout: must be a positive timedelta"),
        (lambda: Wait(1, timeout=30), "timeout: must be a positive timedelta"),  # type: ignore[arg-type]
        (lambda: Wait(1, window="9-5"), "window: must be an ExecutionWindow"),  # type: ignore[arg-type]
        (lambda: Wait(1, after=["A"]), r"after\[0\]: must be a stage object"),  # type: ignore[list-item]
        (lambda: Wait(1, extra={"refId": "9"}), "extra.refId: is set by the builder"),
        (lambda: Wait(1, extra={"when": {1, 2}}), "extra.when: must be JSON data"),
        (lambda: Wait(1, extra={"x": float("nan")}), "must be a finite number"),
        (lambda: Stage("wait", requisiteStageRefIds=["1"]), "requisiteStageRefIds: is set by the builder"),
        (lambda: Stage(""), "Stage.type: must be a non-empty string"),
        (
            lambda: Parameter("env", default="qa", options=["staging", "prod"]),
            "default: 'qa' is not one of the options",
        ),
        (lambda: Parameter("env", default=3), "default: must be a string"),  # type: ignore[arg-type]
        (lambda: Parameter("env", options=[]), "options: is empty"),
        (lambda: Parameter(""), "name: must be a non-empty string"),
        (
            lambda: Pipeline("p", application="a", parameters=[Parameter("x"), Parameter("x")]),
            r"Pipeline.parameters: duplicate names: \['x'\]",
        ),
        (lambda: Pipeline("p", application=""), "Pipeline.application: must be a non-empty string"),
        (
            lambda: Pipeline("p", application="a", max_concurrent_executions=2),
            "only applies with limit_concurrent=False",
        ),
        (lambda: Pipeline("p", application="a", spel_evaluator="v5"), "spel_evaluator: must be one of"),
        (lambda: Pipeline("p", application="a", triggers=[{"type": "cron"}]), r"triggers\[0\]: must be a Trigger"),  # type: ignore[list-item]
        (lambda: Pipeline("p", application="a", extra={"stages": []}).to_json(), "Pipeline.extra.stages"),
        (lambda: Pipeline("p", application="a", stages=["wait"]).to_json(), r"Pipeline.stages\[0\]: must be a stage"),  # type: ignore[list-item]
        (lambda: Pipeline("p", application="a", stages=[Parallel(Wait(1), [])]).to_json(), "empty branch"),
        (lambda: Parallel(), "needs at least one branch"),
        (lambda: expr("${x}"), "already contains"),
        (lambda: expr(""), "non-empty expression"),
    ],
)
def test_errors_name_the_field(build: Any, message: str) -> None:
    with pytest.raises(PipelineBuildError, match=message):
        build()


def test_errors_raised_late_name_the_stage_position() -> None:
    wait = Wait(1, name="Late")
    wait.wait_time = -1  # mutated after it was checked
    with pytest.raises(
        PipelineBuildError, match=r"Pipeline.stages\[1\]: Wait\('Late'\).wait_time: must not be negative"
    ):
        Pipeline("p", application="a", stages=[Wait(1), wait]).to_json()


def test_expr() -> None:
    assert expr("parameters.env") == "${parameters.env}"
    assert expr(" trigger['user'] ") == "${trigger['user']}"


def test_importable_without_temporal_or_workflows() -> None:
    code = (
        "import sys; sys.modules['temporalio'] = None; sys.modules['workflows'] = None\n"
        "import gennaker.pipelines as p\n"
        "print(p.Pipeline('x', application='a', stages=[p.Wait(1)]).to_json()['stages'][0]['type'])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "wait"


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Deploy([]), "Deploy('Deploy').clusters: must be a non-empty list of Cluster"),
        (
            lambda: Deploy([Cluster("a", account="p", regions=[], capacity=1)]),
            "clusters[0].regions: needs at least one region",
        ),
        (
            lambda: Deploy([Cluster("a", account="p", regions=["r"], capacity=(3, 1, 2))]),
            "clusters[0].capacity: needs min <= desired <= max",
        ),
        (
            lambda: Deploy([Cluster("a", account="p", regions=["r"], strategy="redblack")]),
            "clusters[0].strategy: must be RedBlack()",
        ),
        (lambda: DisableServerGroup("c", account="p", regions=["r"], target="newest"), ".target: must be one of"),
        (lambda: ResizeServerGroup("c", account="p", regions=["r"]), "give exactly one of capacity"),
        (lambda: ResizeServerGroup("c", account="p", regions=["r"], scale_num=1, scale_pct=5), "give exactly one"),
        (lambda: ClusterSizePrecondition("c", "p", ["r"], 1, "~="), "comparison: must be one of"),
    ],
)
def test_deploy_builders_name_the_mistake(build: Any, fragment: str) -> None:
    with pytest.raises(PipelineBuildError) as err:
        build()
    assert fragment in str(err.value)


def test_cluster_size_precondition_json() -> None:
    check = CheckPreconditions([ClusterSizePrecondition("app-web", "prod", ["us-east-1"], 2, ">=", only_enabled=True)])
    assert one(check)["preconditions"] == [
        {
            "type": "clusterSize",
            "context": {
                "cluster": "app-web",
                "credentials": "prod",
                "regions": ["us-east-1"],
                "expected": 2,
                "comparison": ">=",
                "onlyEnabledServerGroups": True,
                "cloudProvider": "aws",
            },
        }
    ]
