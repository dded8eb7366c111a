"""Jenkins triggers end to end on the real Temporal dev server: the worker as ``worker.py`` builds it, the store,
and the stand-in Jenkins. A finished successful build starts its pipeline once, with ``buildInfo`` and the
property file's ``properties``; failed, aborted and running builds start nothing; later polls, polls from a
restarted worker and polls after the cursors were lost start nothing twice; disabled triggers never fire;
the master's poll Schedule follows the settings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.messages.jenkins_poll import PollJenkinsMasterInput
from core.settings import Settings
from core.store import Store
from integrations.jenkins.schedules import schedule_id, sync_jenkins_schedules
from tests.conftest import build_worker_with
from tests.integrations.jenkins.conftest import TOKEN, USER
from tests.integrations.jenkins.jenkins_standin import JenkinsStandIn
from workflows import operations

pytestmark = pytest.mark.temporal

PROPERTIES = b"VERSION=2.0.1\nCOMMIT=abc123\n"


def settings_for(env: WorkflowEnvironment, standin: JenkinsStandIn, tmp_path: Path, **polling: Any) -> Settings:
    master = {"name": "ci", "address": standin.url, "username": USER, "apiToken": TOKEN, "timeout": 5}
    return Settings.model_validate(
        {
            "state_dir": tmp_path,
            "task_queue": f"jenkins-triggers-{uuid.uuid4()}",
            "temporal": {"address": env.client.service_client.config.target_host},
            "jenkins": {"masters": [master], "polling": {"intervalS": 5, **polling}},
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    s.migrate()
    yield s
    s.close()


def save_pipelines(store: Store) -> dict[str, str]:
    store.applications.save({"name": "app"}, "bob")
    trigger = {"type": "jenkins", "enabled": True, "master": "ci", "job": "build", "propertyFile": "build.properties"}
    stages = [{"refId": "1", "type": "wait", "waitTime": 0}]
    ids = {}
    for name, extra, trig in (
        ("deploy", {}, trigger),
        ("trigger-off", {}, {**trigger, "enabled": False}),
        ("pipeline-off", {"disabled": True}, trigger),
        ("other-job", {}, {**trigger, "job": "team/job/build"}),
    ):
        saved = store.pipelines.save(
            {"application": "app", "name": name, "stages": stages, "triggers": [trig], **extra}, "bob"
        )
        ids[name] = saved["id"]
    return ids


async def poll(client: Client, settings: Settings) -> dict[str, Any]:
    result: dict[str, Any] = await client.execute_workflow(
        "JenkinsPoll",
        PollJenkinsMasterInput("ci"),
        id=f"poll-{uuid.uuid4()}",
        task_queue=settings.task_queue,
        execution_timeout=timedelta(seconds=60),
    )
    return result


def started(result: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(launched["pipelineName"], launched["started"]) for launched in result["launched"]]


async def test_successful_builds_start_their_pipelines_once(
    temporal_env: WorkflowEnvironment, client: Client, standin: JenkinsStandIn, store: Store, tmp_path: Path
) -> None:
    settings = settings_for(temporal_env, standin, tmp_path)
    ids = save_pipelines(store)
    standin.add_job("build")
    standin.add_job("team/build")
    standin.add_build("build")  # built before Gennaker watched: never fires
    async with build_worker_with(client, settings, store):
        first = await poll(client, settings)
        assert first["builds"] == [] and first["launched"] == []

        standin.add_build("build", artifacts={"out/build.properties": PROPERTIES})  # 2
        standin.add_build("build", "FAILURE")  # 3
        standin.add_build("build", "ABORTED")  # 4
        standin.add_build("build", "UNSTABLE")  # 5
        running = standin.add_build("build", building=True)  # 6
        second = await poll(client, settings)
        assert second["builds"] == ["build #2 SUCCESS", "build #3 FAILURE", "build #4 ABORTED", "build #5 UNSTABLE"]
        assert started(second) == [("deploy", True)]
        execution_id = second["launched"][0]["executionId"]
        execution = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 30)
        assert execution["status"] == "SUCCEEDED" and execution["pipelineConfigId"] == ids["deploy"]
        trigger = execution["trigger"]
        assert (trigger["type"], trigger["master"], trigger["job"], trigger["buildNumber"]) == (
            "jenkins",
            "ci",
            "build",
            2,
        )
        assert trigger["properties"] == {"VERSION": "2.0.1", "COMMIT": "abc123"}
        assert trigger["buildInfo"]["number"] == 2 and trigger["buildInfo"]["result"] == "SUCCESS"
        assert trigger["buildInfo"]["artifacts"][0]["relativePath"] == "out/build.properties"

        assert (await poll(client, settings))["launched"] == []  # nothing new; #6 still runs

    # a restarted worker (new activity objects, new clients) goes on from the stored cursors
    async with build_worker_with(client, settings, store):
        assert (await poll(client, settings))["launched"] == []
        standin.release("build", running.number)
        after_release = await poll(client, settings)
        assert after_release["builds"] == ["build #6 SUCCESS"] and started(after_release) == [("deploy", True)]

    # the cursors are lost: the first sight of the job fires nothing (the default) ...
    store.jenkins_cursors.delete("ci")
    async with build_worker_with(client, settings, store):
        assert (await poll(client, settings))["builds"] == []
    # ... and even a monitor told to handle first builds starts no build's pipeline a second time
    store.jenkins_cursors.delete("ci")
    replay = settings_for(temporal_env, standin, tmp_path, handleFirstBuilds=True)
    async with build_worker_with(client, replay, store):
        again = await poll(client, replay)
    assert [(n, s) for n, s in started(again)] == [("deploy", True), ("deploy", False), ("deploy", False)]
    assert again["launched"][1]["executionId"] == execution_id  # build #2's execution, found by its claim


async def test_the_poll_schedule_follows_the_settings(
    temporal_env: WorkflowEnvironment, client: Client, standin: JenkinsStandIn, store: Store, tmp_path: Path
) -> None:
    settings = settings_for(temporal_env, standin, tmp_path)
    save_pipelines(store)
    standin.add_job("team/build")
    standin.add_build("team/build")
    sid = schedule_id("ci")
    try:
        assert await sync_jenkins_schedules(client, settings) == [sid]
        handle = client.get_schedule_handle(sid)
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(seconds=5)
        await handle.pause()  # runs only when the test says so
        async with build_worker_with(client, settings, store):
            for new_build in (False, True):  # the first run records the cursor, the second fires the new build
                if new_build:
                    standin.add_build("team/build")
                result = await run_now(client, handle)
            assert started(result) == [("other-job", True)]
        assert await sync_jenkins_schedules(client, settings.model_copy(update={"jenkins": {"masters": []}})) == []
        await asyncio.sleep(0.2)
        with pytest.raises(Exception, match="not found|completed"):
            await handle.describe()
    finally:
        from integrations.schedules import delete_schedule

        await delete_schedule(client, sid)


async def run_now(client: Client, handle: Any) -> dict[str, Any]:
    """Trigger one run of the (paused) Schedule and answer its result."""
    seen = len((await handle.describe()).info.recent_actions)
    await handle.trigger()
    for _ in range(100):
        actions = (await handle.describe()).info.recent_actions
        if len(actions) > seen:
            action = actions[-1].action
            run = client.get_workflow_handle(action.workflow_id, run_id=action.first_execution_run_id)
            return await run.result()  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError("the Schedule did not start a run")


def test_polling_off_asks_for_no_schedules(
    temporal_env: WorkflowEnvironment, standin: JenkinsStandIn, tmp_path: Path
) -> None:
    from integrations.jenkins.schedules import wanted

    assert list(wanted(settings_for(temporal_env, standin, tmp_path))) == [schedule_id("ci")]
    assert wanted(settings_for(temporal_env, standin, tmp_path, enabled=False)) == {}


async def test_the_api_start_reconciles_the_poll_schedules(
    temporal_env: WorkflowEnvironment, client: Client, standin: JenkinsStandIn, store: Store, tmp_path: Path
) -> None:
    from api.main import reconcile_schedules
    from integrations.schedules import delete_schedule

    settings = settings_for(temporal_env, standin, tmp_path, intervalS=45)
    try:
        await reconcile_schedules(client, settings, store)
        described = await client.get_schedule_handle(schedule_id("ci")).describe()
        assert described.schedule.spec.intervals[0].every == timedelta(seconds=45)
        action = described.schedule.action
        assert action.workflow == "JenkinsPoll" and action.task_queue == settings.task_queue  # type: ignore[attr-defined]
    finally:
        await delete_schedule(client, schedule_id("ci"))


async def test_overlapping_polls_start_a_build_once(
    temporal_env: WorkflowEnvironment, client: Client, standin: JenkinsStandIn, store: Store, tmp_path: Path
) -> None:
    settings = settings_for(temporal_env, standin, tmp_path)
    save_pipelines(store)
    standin.add_job("build")
    standin.add_build("build")
    async with build_worker_with(client, settings, store):
        await poll(client, settings)
        standin.add_build("build")
        results = await asyncio.gather(*(poll(client, settings) for _ in range(3)))
    launched = [entry for result in results for entry in result["launched"]]
    # polls that read the cursor before another saved it post build #2 too; only one starts it
    assert all(result["builds"] in ([], ["build #2 SUCCESS"]) for result in results)
    assert [entry["started"] for entry in launched].count(True) == 1
    assert len({entry["executionId"] for entry in launched}) == 1
