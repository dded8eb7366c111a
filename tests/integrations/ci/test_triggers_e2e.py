"""``travis`` and ``github-actions`` triggers end to end on the real Temporal dev server: the worker as
``worker.py`` builds it, the store, the stand-ins. A successful build starts its pipelines once, with
``buildInfo`` and ``properties``; failed, canceled, running and Spinnaker-started builds start nothing; a
restarted worker's polls start nothing twice; payload constraints hold; the Schedules follow the settings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from core.messages.ci_poll import PollBuildServiceInput
from core.settings import Settings
from core.store import Store
from integrations.ci.schedules import schedule_id, sync_ci_schedules
from tests.conftest import build_worker_with
from tests.integrations.ci.github_standin import GitHubStandIn
from tests.integrations.ci.travis_standin import TravisStandIn
from workflows import operations

pytestmark = pytest.mark.temporal


def settings_for(
    env: WorkflowEnvironment, tmp_path: Path, travis: TravisStandIn, github: GitHubStandIn, **polling: Any
) -> Settings:
    return Settings.model_validate(
        {
            "state_dir": tmp_path,
            "task_queue": f"ci-triggers-{uuid.uuid4()}",
            "temporal": {"address": env.client.service_client.config.target_host},
            "ci": {
                "travis": [{"name": "travis", "address": travis.url, "token": travis.token, "timeout": 5}],
                "githubActions": [
                    {"name": "gha", "address": github.url, "token": github.token, "repositories": ["org/app"]}
                ],
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


def save(store: Store, name: str, trigger: dict[str, Any], **extra: Any) -> str:
    stages = [{"refId": "1", "type": "wait", "waitTime": 0}]
    saved = store.pipelines.save(
        {"application": "app", "name": name, "stages": stages, "triggers": [{"enabled": True, **trigger}], **extra},
        "bob",
    )
    return str(saved["id"])


async def poll(client: Client, settings: Settings, service: str) -> dict[str, Any]:
    result: dict[str, Any] = await client.execute_workflow(
        "CiPoll",
        PollBuildServiceInput(service),
        id=f"poll-{uuid.uuid4()}",
        task_queue=settings.task_queue,
        execution_timeout=timedelta(seconds=60),
    )
    return result


def started(result: dict[str, Any]) -> list[tuple[str, bool]]:
    return sorted((launched["pipelineName"], launched["started"]) for launched in result["launched"])


async def test_travis_builds_start_their_pipelines_once(
    temporal_env: WorkflowEnvironment,
    client: Client,
    travis_standin: TravisStandIn,
    github_standin: GitHubStandIn,
    store: Store,
    tmp_path: Path,
) -> None:
    settings = settings_for(temporal_env, tmp_path, travis_standin, github_standin)
    store.applications.save({"name": "app"}, "bob")
    travis = {"type": "travis", "master": "travis", "propertyFile": "log"}
    save(store, "any-branch", {**travis, "job": "org/app"})
    save(store, "main-only", {**travis, "job": "org/app/main"})
    save(store, "dev-only", {**travis, "job": "org/app/dev"})
    save(store, "wants-v3", {**travis, "job": "org/app", "payloadConstraints": {"version": "3"}})
    save(store, "off", {**travis, "job": "org/app", "enabled": False})
    travis_standin.add_repo("org/app")
    travis_standin.add_build("org/app")  # #1, built before Gennaker watched: never fires
    async with build_worker_with(client, settings, store):
        assert (await poll(client, settings, "travis"))["launched"] == []

        travis_standin.add_build("org/app", log="SPINNAKER_PROPERTY_VERSION=2\n")  # 2
        travis_standin.add_build("org/app", "failed")  # 3
        travis_standin.add_build("org/app", "started")  # 4: still running
        travis_standin.add_build("org/app", branch="dev", log="SPINNAKER_PROPERTY_VERSION=3\n")  # 5
        travis_standin.add_build("org/app", event_type="api", message="Triggered from Spinnaker")  # 6
        second = await poll(client, settings, "travis")
        assert second["builds"] == ["org/app #2 SUCCESS", "org/app #3 FAILURE", "org/app #5 SUCCESS"]
        assert started(second) == [
            ("any-branch", True),
            ("any-branch", True),
            ("dev-only", True),
            ("main-only", True),
            ("wants-v3", True),
        ]
        first = next(x for x in second["launched"] if x["pipelineName"] == "main-only")
        execution = await asyncio.wait_for(operations.wait_for_execution(client, first["executionId"]), 30)
        trigger = execution["trigger"]
        assert (trigger["type"], trigger["master"], trigger["job"], trigger["buildNumber"]) == (
            "travis",
            "travis",
            "org/app/main",
            2,
        )
        assert trigger["properties"] == {"version": "2"}
        assert trigger["buildInfo"]["result"] == "SUCCESS" and trigger["buildInfo"]["scm"][0]["branch"] == "main"
        assert (await poll(client, settings, "travis"))["launched"] == []

    # a restarted worker goes on from the stored cursors: #4 fires when it finishes, nothing else again
    async with build_worker_with(client, settings, store):
        assert (await poll(client, settings, "travis"))["launched"] == []
        travis_standin.finish("org/app", 4)
        after = await poll(client, settings, "travis")
        assert after["builds"] == ["org/app #4 SUCCESS"]
        assert started(after) == [("any-branch", True), ("main-only", True)]
    assert store.jenkins_cursors.get("travis") == {"org/app": {"lastBuild": 6, "posted": []}}


async def test_github_runs_start_their_pipelines_once_with_artifact_properties(
    temporal_env: WorkflowEnvironment,
    client: Client,
    travis_standin: TravisStandIn,
    github_standin: GitHubStandIn,
    store: Store,
    tmp_path: Path,
) -> None:
    settings = settings_for(temporal_env, tmp_path, travis_standin, github_standin)
    store.applications.save({"name": "app"}, "bob")
    gha = {"type": "github-actions", "master": "gha", "job": "org/app/ci.yml", "propertyFile": "build.properties"}
    save(
        store,
        "deploy",
        gha,
    )
    save(store, "wants-2", {**gha, "payloadConstraints": {"VERSION": "2.0"}})
    save(store, "other-workflow", {**gha, "job": "org/app/lint.yml"})
    github_standin.add_repo("org/app")
    github_standin.add_workflow("org/app", "ci.yml", files={"build.properties": b"VERSION=1.0\n"})
    github_standin.add_workflow("org/app", "lint.yml")
    github_standin.add_run("org/app", "ci.yml")  # before Gennaker watched
    async with build_worker_with(client, settings, store):
        assert (await poll(client, settings, "gha"))["launched"] == []
        github_standin.add_run("org/app", "ci.yml")  # 2
        github_standin.add_run("org/app", "ci.yml", "cancelled")  # 3
        github_standin.add_run("org/app", "lint.yml", "failure")
        polled = await poll(client, settings, "gha")
        # lint.yml is seen for the first time: its run only sets the cursor
        assert polled["builds"] == ["org/app/ci.yml #2 SUCCESS", "org/app/ci.yml #3 ABORTED"]
        assert started(polled) == [("deploy", True)]  # wants-2: VERSION is 1.0
        execution = await asyncio.wait_for(
            operations.wait_for_execution(client, polled["launched"][0]["executionId"]), 30
        )
        trigger = execution["trigger"]
        assert (trigger["type"], trigger["job"], trigger["buildNumber"]) == ("github-actions", "org/app/ci.yml", 2)
        assert trigger["properties"] == {"VERSION": "1.0"} and trigger["link"].endswith(
            f"/actions/runs/{trigger['buildInfo']['id']}"
        )
    async with build_worker_with(client, settings, store):
        assert (await poll(client, settings, "gha"))["launched"] == []


async def test_the_poll_schedules_follow_the_settings(
    temporal_env: WorkflowEnvironment,
    client: Client,
    travis_standin: TravisStandIn,
    github_standin: GitHubStandIn,
    tmp_path: Path,
) -> None:
    settings = settings_for(temporal_env, tmp_path, travis_standin, github_standin)
    assert sorted(await sync_ci_schedules(client, settings)) == [schedule_id("gha"), schedule_id("travis")]
    description = await client.get_schedule_handle(schedule_id("travis")).describe()
    assert description.schedule.spec.intervals[0].every == timedelta(seconds=5)
    off = settings_for(temporal_env, tmp_path, travis_standin, github_standin, enabled=False)
    assert await sync_ci_schedules(client, off) == []
    for name in ("travis", "gha"):  # asked by id: the schedule list is read from visibility, which lags a delete
        with pytest.raises(RPCError) as gone:
            await client.get_schedule_handle(schedule_id(name)).describe()
        assert gone.value.status == RPCStatusCode.NOT_FOUND
