"""Account permissions inside the engine, on a real Temporal dev server.

The deploy family's cloud activities are replaced by recording stubs, so "no cloud call was made"
is a count of calls; everything else (the pipeline and stage workflows, judgments, child
pipelines) is the engine's own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.worker import Worker

from tests.conftest import Engine, Settings, stage_named
from workflows import operations
from workflows.authorization import authentication
from workflows.stages.base import TaskInput, TaskResult

pytestmark = pytest.mark.temporal

STUBBED = ("deploy_choose_names", "deploy_create_server_groups", "deploy_wait_for_up_instances", "cluster_operate")


class Cloud:
    """Records every cloud activity the engine calls: (activity, stage type, account)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def activities(self) -> list[Any]:
        def stub(name: str) -> Any:
            @activity.defn(name=name)
            def call(inp: TaskInput) -> TaskResult:
                ctx = inp.context
                clusters = ctx.get("clusters") or [ctx]
                account = ctx.get("credentials") or clusters[0].get("account") or ""
                self.calls.append((name, inp.stage_type, str(account)))
                return TaskResult.succeeded()

            return call

        return [stub(name) for name in STUBBED]


@pytest_asyncio.fixture(loop_scope="session")
async def world(client: Any) -> AsyncIterator[tuple[Engine, Cloud]]:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from workflows.all import WORKFLOWS, workflow_runner

    queue = f"authz-{uuid.uuid4()}"
    configs = MemoryConfigSource()
    cloud = Cloud()
    real = [
        fn
        for fn in build_activities(Settings(task_queue=queue), client, configs=configs)
        if activity._Definition.must_from_callable(fn).name not in STUBBED
    ]
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[*real, *cloud.activities()],
        activity_executor=ThreadPoolExecutor(max_workers=10),
        workflow_runner=workflow_runner(),
    ):
        yield Engine(client, queue, configs), cloud


def deploy(ref: str, account: str, *requisites: str, **extra: Any) -> dict[str, Any]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "deploy",
        "name": f"deploy {ref}",
        "clusters": [{"application": "demo", "account": account, "cloudProvider": "aws", "strategy": ""}],
        **extra,
    }


def judge(ref: str, *requisites: str, **extra: Any) -> dict[str, Any]:
    return {
        "refId": ref,
        "requisiteStageRefIds": list(requisites),
        "type": "manualJudgment",
        "name": f"judge {ref}",
        **extra,
    }


def pipeline(*stages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"application": "demo", "name": "p", "stages": list(stages), **extra}


def error(stage: dict[str, Any]) -> str:
    return str(stage["context"]["exception"]["details"]["error"])


async def test_a_deploy_to_an_account_not_allowed_ends_terminal_without_a_cloud_call(world):
    engine, cloud = world
    auth = authentication("ann", ["dev"], enforced=True)
    execution = await engine.run(pipeline(deploy("1", "prod")), authentication=auth)
    stage = stage_named(execution, "deploy 1")
    assert execution["status"] == "TERMINAL" and stage["status"] == "TERMINAL"
    assert error(stage) == "Access denied to account prod"
    assert stage["context"]["exception"]["exceptionType"] == "AccessDeniedException"
    assert stage["tasks"] == [] and cloud.calls == []
    assert execution["authentication"] == {"user": "ann", "allowedAccounts": ["dev"], "enforced": True}


async def test_the_account_is_checked_after_expressions(world):
    engine, cloud = world
    stage = deploy("1", "${parameters.where}")
    auth = authentication("ann", ["dev"], enforced=True)
    denied = await engine.run(pipeline(stage), {"parameters": {"where": "prod"}}, authentication=auth)
    assert error(stage_named(denied, "deploy 1")) == "Access denied to account prod" and cloud.calls == []
    allowed = await engine.run(pipeline(stage), {"parameters": {"where": "DEV"}}, authentication=auth)
    assert allowed["status"] == "SUCCEEDED"  # account names compare case-insensitively
    assert [c[2] for c in cloud.calls] == ["DEV"] * 3


async def test_an_allowed_account_runs(world):
    engine, cloud = world
    resize = {
        "refId": "2",
        "requisiteStageRefIds": ["1"],
        "type": "disableCluster",
        "name": "disable",
        "credentials": "prod",
        "cloudProvider": "aws",
        "cluster": "demo",
        "regions": ["us-east-1"],
    }
    auth = authentication("ann", ["prod", "dev"], enforced=True)
    execution = await engine.run(pipeline(deploy("1", "prod"), resize), authentication=auth)
    assert execution["status"] == "SUCCEEDED"
    assert [c[0] for c in cloud.calls] == [*STUBBED[:3], "cluster_operate"]


async def test_with_auth_off_nothing_is_checked(world):
    engine, cloud = world
    unenforced = await engine.run(
        pipeline(deploy("1", "prod")), authentication=authentication("ann", [], enforced=False)
    )
    default = await engine.run(pipeline(deploy("1", "prod")))  # as every execution started before
    assert unenforced["status"] == default["status"] == "SUCCEEDED"
    assert "enforced" not in unenforced["authentication"] and len(cloud.calls) == 6


async def test_a_denied_stage_fails_the_pipeline_as_its_failure_options_say(world):
    engine, cloud = world
    auth = authentication("ann", ["dev"], enforced=True)
    config = pipeline(
        deploy("1", "prod", continuePipeline=True), deploy("2", "dev", "1"), deploy("3", "staging", failPipeline=False)
    )
    execution = await engine.run(config, authentication=auth)
    assert {s["name"]: s["status"] for s in execution["stages"]} == {
        "deploy 1": "FAILED_CONTINUE",
        "deploy 2": "SUCCEEDED",
        "deploy 3": "STOPPED",
    }
    assert {c[2] for c in cloud.calls} == {"dev"}


async def _judgment(engine: Engine, execution_id: str, name: str) -> str:
    running = await engine.wait_until(execution_id, lambda e: bool(stage_named(e, name).get("tasks")))
    return str(stage_named(running, name)["id"])


async def test_a_judge_without_the_stages_roles_is_refused_and_nothing_is_recorded(world):
    engine, cloud = world
    auth = authentication("ann", ["prod"], enforced=True)
    execution_id = await engine.start(pipeline(judge("1", selectedStageRoles=["release"])), authentication=auth)
    stage_id = await _judgment(engine, execution_id, "judge 1")
    with pytest.raises(operations.OperationRefusedError, match="requires one of the roles release"):
        await operations.patch_stage(
            engine.client, execution_id, stage_id, {"judgmentStatus": "continue"}, user="eve", roles=["dev"]
        )
    running = await engine.get(execution_id)
    stage = stage_named(running, "judge 1")
    assert stage["status"] == "RUNNING" and "judgmentStatus" not in stage["context"] and "lastModified" not in stage
    # an admin may judge whatever the roles
    await operations.patch_stage(
        engine.client, execution_id, stage_id, {"judgmentStatus": "continue"}, user="root", admin=True
    )
    execution = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id), 30)
    assert execution["status"] == "SUCCEEDED"
    assert stage_named(execution, "judge 1")["lastModified"]["user"] == "root"


async def test_propagate_authentication_context_runs_later_stages_as_the_judge(world):
    engine, cloud = world
    auth = authentication("ann", ["dev"], enforced=True)
    config = pipeline(
        judge("1", propagateAuthenticationContext=True),
        deploy("2", "prod", "1"),
        deploy("3", "dev"),  # not downstream of the judgment: runs as ann
        deploy("4", "dev", "2"),  # downstream: runs as the judge, who may not use dev
    )
    execution_id = await engine.start(config, authentication=auth)
    stage_id = await _judgment(engine, execution_id, "judge 1")
    await operations.patch_stage(
        engine.client, execution_id, stage_id, {"judgmentStatus": "continue"}, user="rel", allowed_accounts=["prod"]
    )
    execution = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id), 30)
    assert stage_named(execution, "judge 1")["lastModified"]["allowedAccounts"] == ["prod"]
    assert stage_named(execution, "deploy 2")["status"] == "SUCCEEDED"
    assert stage_named(execution, "deploy 3")["status"] == "SUCCEEDED"
    assert error(stage_named(execution, "deploy 4")) == "Access denied to account dev"
    assert execution["authentication"]["user"] == "ann"  # the execution's own is unchanged
    assert sorted({c[2] for c in cloud.calls if c[0] == "deploy_create_server_groups"}) == ["dev", "prod"]


async def test_without_propagation_later_stages_keep_the_executions_accounts(world):
    engine, cloud = world
    auth = authentication("ann", ["dev"], enforced=True)
    execution_id = await engine.start(pipeline(judge("1"), deploy("2", "prod", "1")), authentication=auth)
    stage_id = await _judgment(engine, execution_id, "judge 1")
    await operations.patch_stage(
        engine.client, execution_id, stage_id, {"judgmentStatus": "continue"}, user="rel", allowed_accounts=["prod"]
    )
    execution = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id), 30)
    assert error(stage_named(execution, "deploy 2")) == "Access denied to account prod" and cloud.calls == []


def child(name: str, account: str) -> dict[str, Any]:
    return {"application": "kid", "id": f"{name}-id", "name": name, "stages": [deploy("1", account)]}


def run_child(name: str, *requisites: str) -> dict[str, Any]:
    return {
        "refId": f"run-{name}",
        "requisiteStageRefIds": list(requisites),
        "type": "pipeline",
        "name": f"run {name}",
        "application": "kid",
        "pipeline": f"{name}-id",
    }


async def test_a_child_pipeline_inherits_the_parents_authentication(world):
    engine, cloud = world
    engine.configs.configs.extend([child("to-dev", "dev"), child("to-prod", "prod")])
    auth = authentication("ann", ["dev"], enforced=True)
    execution = await engine.run(pipeline(run_child("to-dev"), run_child("to-prod", "run-to-dev")), authentication=auth)
    ok, refused = stage_named(execution, "run to-dev"), stage_named(execution, "run to-prod")
    assert ok["status"] == "SUCCEEDED" and refused["status"] == "TERMINAL"
    assert "Access denied to account prod" in error(refused)
    kids = [await engine.get(s["context"]["executionId"]) for s in (ok, refused)]
    assert [k["authentication"] for k in kids] == [auth, auth]
    assert {c[2] for c in cloud.calls} == {"dev"}


async def test_a_child_pipeline_after_a_propagating_judgment_runs_as_the_judge(world):
    engine, cloud = world
    engine.configs.configs.append(child("to-prod", "prod"))
    auth = authentication("ann", ["dev"], enforced=True)
    config = pipeline(judge("1", propagateAuthenticationContext=True), run_child("to-prod", "1"))
    execution_id = await engine.start(config, authentication=auth)
    stage_id = await _judgment(engine, execution_id, "judge 1")
    await operations.patch_stage(
        engine.client, execution_id, stage_id, {"judgmentStatus": "continue"}, user="rel", allowed_accounts=["prod"]
    )
    execution = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id), 30)
    assert execution["status"] == "SUCCEEDED"
    kid = await engine.get(stage_named(execution, "run to-prod")["context"]["executionId"])
    assert kid["authentication"] == {"user": "rel", "allowedAccounts": ["prod"], "enforced": True}


async def test_a_pipeline_triggered_by_an_enforced_execution_keeps_its_checks(world):
    from integrations.triggers.dependent import build_pipeline_trigger

    engine, cloud = world
    auth = authentication("ann", ["dev"], enforced=True)
    upstream = await engine.run(pipeline(deploy("1", "dev"), id="up-id"), authentication=auth)
    downstream = pipeline(deploy("1", "prod"), id="down-id", triggers=[{"type": "pipeline", "pipeline": "up-id"}])
    trigger = build_pipeline_trigger(upstream, downstream, downstream["triggers"][0], [])
    # as the trigger launcher starts it: the trigger's user, no accounts, no flag
    execution = await engine.run(downstream, trigger, authentication={"user": "ann", "allowedAccounts": []})
    assert execution["authentication"] == auth
    assert error(stage_named(execution, "deploy 1")) == "Access denied to account prod"
    assert {c[2] for c in cloud.calls} == {"dev"}
