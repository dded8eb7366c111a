"""GitLab CI through the engine on the real Temporal dev server, against the REST API v4 stand-in driven by
python-gitlab: the ``gitlab-ci`` stage (variables, properties from a job artifact feeding a later stage,
failed and canceled pipelines, cancel canceling the remote pipeline once, a lost start creating exactly one
pipeline) and the ``gitlab-ci`` trigger (each successful pipeline fires once, by project path or id, with
``buildInfo`` and properties; nothing on first sight; a restarted worker fires nothing twice)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.ci import CiActivities, activities_of
from core.messages.ci import START_CI_JOB
from core.messages.ci_poll import PollBuildServiceInput
from core.settings import Settings
from core.store import Store
from integrations.ci.schedules import schedule_id, sync_ci_schedules
from integrations.ci.services import BuildServices
from tests.conftest import build_worker_with, stage_named
from tests.integrations.ci.conftest import gitlab_settings
from tests.integrations.ci.gitlab_standin import GitLabStandIn
from tests.integrations.ci.test_pipelines import DyingStart, task_statuses, worker
from workflows import operations

pytestmark = pytest.mark.temporal


# ---- the stage -----------------------------------------------------------------------------------


@pytest.fixture
def gitlab_acts(gitlab_standin: GitLabStandIn) -> Iterator[CiActivities]:
    gitlab_standin.add_project("group/app", branches={"main", "v2.0"})
    services = BuildServices([gitlab_settings(gitlab_standin)])
    yield CiActivities(
        services,
        poll_interval=timedelta(milliseconds=50),
        retry_delay=timedelta(milliseconds=100),
        properties_retry_delay=timedelta(milliseconds=50),  # a missing property file is retried 4 times, not 2 s apart
    )
    services.close()


@pytest_asyncio.fixture(loop_scope="session")
async def queue(client: Client, gitlab_acts: CiActivities) -> AsyncIterator[str]:
    name = f"gitlab-{uuid.uuid4()}"
    async with worker(client, name, activities_of(gitlab_acts)):
        yield name


def gitlab_stage(name: str, **fields: Any) -> dict[str, Any]:
    return {"refId": name, "name": name, "type": "gitlab-ci", "master": "gitlab", "job": "group/app", **fields}


async def start(client: Client, queue: str, *stages: dict[str, Any], **parameters: Any) -> str:
    config = {"application": "app", "name": "gl", "limitConcurrent": False, "stages": list(stages)}
    trigger = {"type": "manual", "parameters": parameters}
    return await operations.start_pipeline(client, config, trigger, task_queue=queue)


async def run(client: Client, queue: str, *stages: dict[str, Any], **parameters: Any) -> dict[str, Any]:
    execution_id = await start(client, queue, *stages, **parameters)
    return await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 60)


async def test_a_pipeline_with_variables_whose_artifact_properties_feed_the_next_stage(
    client: Client, queue: str, gitlab_standin: GitLabStandIn
) -> None:
    gitlab_standin.projects["group/app"].files = {"build.properties": b"IMAGE=app:2.0.1\n"}
    execution = await run(
        client,
        queue,
        gitlab_stage(
            "build", ref="v2.0", parameters={"TARGET": "${parameters.target}"}, propertyFile="build.properties"
        ),
        gitlab_stage("deploy", requisiteStageRefIds=["build"], parameters={"IMAGE": "${IMAGE}"}),
        target="release",
    )
    assert execution["status"] == "SUCCEEDED", execution
    build, deploy = stage_named(execution, "build"), stage_named(execution, "deploy")
    assert task_statuses(build) == dict.fromkeys(
        [
            "startGitlabCiJob",
            "waitForGitlabCiJobStart",
            "monitorGitlabCiJob",
            "getBuildProperties",
            "getBuildArtifacts",
        ],
        "SUCCEEDED",
    )
    first, second = gitlab_standin.projects["group/app"].pipelines
    assert (first.ref, first.variables, second.ref, second.variables) == (
        "v2.0",
        {"TARGET": "release"},
        "main",
        {"IMAGE": "app:2.0.1"},
    )
    assert build["outputs"]["IMAGE"] == "app:2.0.1" and build["context"]["buildNumber"] == first.id
    info = build["outputs"]["buildInfo"]
    assert (info["result"], info["number"], info["scm"][0]["branch"]) == ("SUCCESS", first.id, "v2.0")
    assert deploy["outputs"]["buildInfo"]["url"].endswith(f"/group/app/-/pipelines/{second.id}")


@pytest.mark.parametrize(
    ("conclusion", "status", "error"),
    [("failed", "TERMINAL", "Job failed"), ("canceled", "CANCELED", "Job was aborted")],
)
async def test_failed_and_canceled_pipelines(
    client: Client, queue: str, gitlab_standin: GitLabStandIn, conclusion: str, status: str, error: str
) -> None:
    gitlab_standin.projects["group/app"].conclusion = conclusion
    execution = await run(client, queue, gitlab_stage("ci"))
    stage = stage_named(execution, "ci")
    assert (execution["status"], stage["status"]) == (status, status)
    assert error in str(stage["context"]["exception"])


async def test_a_missing_property_file_fails_the_stage_naming_it(client: Client, queue: str) -> None:
    execution = await run(client, queue, gitlab_stage("ci", propertyFile="out.properties"))
    stage = stage_named(execution, "ci")
    assert stage["status"] == "TERMINAL" and "out.properties" in str(stage["context"]["exception"])


async def test_an_unknown_ref_is_terminal_naming_it(client: Client, queue: str) -> None:
    execution = await run(client, queue, gitlab_stage("ci", ref="nope"))
    stage = stage_named(execution, "ci")
    assert stage["status"] == "TERMINAL" and "Reference not found" in str(stage["context"]["exception"])


async def test_canceling_the_run_cancels_the_remote_pipeline(
    client: Client, queue: str, gitlab_standin: GitLabStandIn
) -> None:
    gitlab_standin.projects["group/app"].hold = True
    execution_id = await start(client, queue, gitlab_stage("ci"))
    for _ in range(600):
        execution = await operations.get_execution(client, execution_id)
        if "buildInfo" in stage_named(execution, "ci")["context"]:
            break
        await asyncio.sleep(0.05)
    await operations.cancel_execution(client, execution_id, user="ops")
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 30)
    assert done["status"] == "CANCELED"
    assert gitlab_standin.projects["group/app"].pipelines[0].status == "canceled"
    assert len(gitlab_standin.calls_to("POST", "/cancel$")) == 1


async def test_a_lost_start_result_creates_exactly_one_pipeline(
    client: Client, gitlab_standin: GitLabStandIn, gitlab_acts: CiActivities
) -> None:
    gitlab_standin.add_pipeline("group/app")  # a push before: not ours
    dying = DyingStart(gitlab_acts)
    acts = [a for a in activities_of(gitlab_acts) if a.__name__ != START_CI_JOB] + [dying.start_ci_job]
    name = f"gitlab-dying-{uuid.uuid4()}"
    async with worker(client, name, acts):
        execution = await run(client, name, gitlab_stage("ci", ref="main"))
    assert dying.died and execution["status"] == "SUCCEEDED", execution
    assert len(gitlab_standin.calls_to("POST", "/pipeline$")) == 1
    assert [p.source for p in gitlab_standin.projects["group/app"].pipelines] == ["push", "api"]


# ---- the trigger ---------------------------------------------------------------------------------


def settings_for(env: WorkflowEnvironment, tmp_path: Path, standin: GitLabStandIn, **polling: Any) -> Settings:
    return Settings.model_validate(
        {
            "state_dir": tmp_path,
            "task_queue": f"gitlab-triggers-{uuid.uuid4()}",
            "temporal": {"address": env.client.service_client.config.target_host},
            "ci": {
                "gitlab-ci": [{"name": "gitlab", "address": standin.url, "privateToken": standin.token, "timeout": 5}],
                "polling": {"intervalS": 5, **polling},
            },
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    s.migrate()
    yield s
    s.close()


def save(store: Store, name: str, trigger: dict[str, Any]) -> None:
    stages = [{"refId": "1", "type": "wait", "waitTime": 0}]
    store.pipelines.save(
        {"application": "app", "name": name, "stages": stages, "triggers": [{"enabled": True, **trigger}]}, "bob"
    )


async def poll(client: Client, settings: Settings) -> dict[str, Any]:
    result: dict[str, Any] = await client.execute_workflow(
        "CiPoll",
        PollBuildServiceInput("gitlab"),
        id=f"poll-{uuid.uuid4()}",
        task_queue=settings.task_queue,
        execution_timeout=timedelta(seconds=60),
    )
    return result


def started(result: dict[str, Any]) -> list[tuple[str, bool]]:
    return sorted((launched["pipelineName"], launched["started"]) for launched in result["launched"])


async def test_successful_pipelines_start_their_pipelines_once(
    temporal_env: WorkflowEnvironment, client: Client, gitlab_standin: GitLabStandIn, store: Store, tmp_path: Path
) -> None:
    settings = settings_for(temporal_env, tmp_path, gitlab_standin)
    store.applications.save({"name": "app"}, "bob")
    project = gitlab_standin.add_project("group/app")
    gitlab_standin.add_project("group/lint")
    trigger = {"type": "gitlab-ci", "master": "gitlab", "propertyFile": "build.properties"}
    save(store, "by-path", {**trigger, "job": "group/app"})
    save(store, "by-id", {**trigger, "job": str(project.id)})  # Igor's events name the project id
    save(store, "wants-2", {**trigger, "job": "group/app", "payloadConstraints": {"VERSION": "2"}})
    save(store, "other", {**trigger, "job": "group/lint"})
    save(store, "jenkins", {"type": "jenkins", "master": "gitlab", "job": "group/app"})
    gitlab_standin.add_pipeline("group/app")  # before Gennaker watched: never fires
    async with build_worker_with(client, settings, store):
        assert (await poll(client, settings))["launched"] == []

        ok = gitlab_standin.add_pipeline("group/app", files={"build.properties": b"VERSION=1\n"})
        failed = gitlab_standin.add_pipeline("group/app", "failed")
        running = gitlab_standin.add_pipeline("group/app", "running", files={"build.properties": b"VERSION=2\n"})
        second = await poll(client, settings)
        assert second["builds"] == [f"group/app #{ok.id} SUCCESS", f"group/app #{failed.id} FAILURE"]
        assert started(second) == [("by-id", True), ("by-path", True)]  # wants-2: VERSION is 1
        first = next(x for x in second["launched"] if x["pipelineName"] == "by-path")
        execution = await asyncio.wait_for(operations.wait_for_execution(client, first["executionId"]), 30)
        trigger_seen = execution["trigger"]
        assert (trigger_seen["type"], trigger_seen["master"], trigger_seen["job"], trigger_seen["buildNumber"]) == (
            "gitlab-ci",
            "gitlab",
            "group/app",
            ok.id,
        )
        assert trigger_seen["properties"] == {"VERSION": "1"}
        assert (
            trigger_seen["buildInfo"]["result"] == "SUCCESS" and trigger_seen["buildInfo"]["scm"][0]["branch"] == "main"
        )
        assert trigger_seen["link"].endswith(f"/group/app/-/pipelines/{ok.id}")
        assert (await poll(client, settings))["launched"] == []

    # a restarted worker goes on from the stored cursors: the running pipeline fires when it succeeds, once
    async with build_worker_with(client, settings, store):
        assert (await poll(client, settings))["launched"] == []
        gitlab_standin.finish("group/app", running.id)
        after = await poll(client, settings)
        assert after["builds"] == [f"group/app #{running.id} SUCCESS"]
        assert started(after) == [("by-id", True), ("by-path", True), ("wants-2", True)]
        assert (await poll(client, settings))["launched"] == []


async def test_the_poll_schedule_of_a_gitlab_service(
    temporal_env: WorkflowEnvironment, client: Client, gitlab_standin: GitLabStandIn, tmp_path: Path
) -> None:
    settings = settings_for(temporal_env, tmp_path, gitlab_standin)
    assert await sync_ci_schedules(client, settings) == [schedule_id("gitlab")]
    off = settings_for(temporal_env, tmp_path, gitlab_standin, enabled=False)
    assert await sync_ci_schedules(client, off) == []
