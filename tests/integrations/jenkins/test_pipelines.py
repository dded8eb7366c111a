"""Jenkins stages through the engine (a real Temporal dev server) against the stand-in Jenkins: properties
feeding later stages, unstable/failed/aborted builds, queue delays, cancel, and a start whose result is
lost (the worker "dies" after Jenkins queued the build) still starting exactly one build."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.jenkins import JenkinsActivities, activities_of
from core.settings.jenkins import ScriptJobSettings
from integrations.jenkins.client import JenkinsMasters
from tests.conftest import stage_named
from tests.integrations.jenkins.conftest import master_for
from tests.integrations.jenkins.jenkins_standin import JenkinsStandIn, Param, Script
from workflows import operations
from workflows.stages.base import TaskInput, TaskResult
from workflows.stages.jenkins import ACTIVITY_NAMES, START_JENKINS_JOB

pytestmark = pytest.mark.temporal


@dataclass
class Engine:
    client: Client
    queue: str
    standin: JenkinsStandIn

    async def start(self, *stages: dict[str, Any], parameters: dict[str, Any] | None = None) -> str:
        config = {"application": "app", "name": "ci", "limitConcurrent": False, "stages": list(stages)}
        trigger = {"type": "manual", "parameters": parameters or {}}
        return await operations.start_pipeline(self.client, config, trigger, task_queue=self.queue)

    async def run(self, *stages: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        execution_id = await self.start(*stages, parameters=parameters)
        return await asyncio.wait_for(operations.wait_for_execution(self.client, execution_id), 60)

    async def wait_until(self, execution_id: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for _ in range(600):
            execution = await operations.get_execution(self.client, execution_id)
            if check(execution):
                return execution
            await asyncio.sleep(0.05)
        raise AssertionError(f"condition not reached: {execution}")


def worker(client: Client, queue: str, jenkins: list[Callable[..., Any]]) -> Worker:
    """A worker with the engine's activities and these Jenkins activities (in place of any registered ones)."""
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    engine = build_activities(Settings(task_queue=queue), client, configs=MemoryConfigSource())
    return Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[a for a in engine if getattr(a, "__name__", None) not in ACTIVITY_NAMES] + jenkins,
        activity_executor=ThreadPoolExecutor(max_workers=10),
        workflow_runner=workflow_runner(),
    )


@pytest.fixture
def jenkins_acts(standin: JenkinsStandIn) -> Iterator[JenkinsActivities]:
    masters = JenkinsMasters([master_for(standin)])
    try:
        yield JenkinsActivities(
            masters,
            script=ScriptJobSettings(master="ci", job="script-runner"),
            poll_interval=timedelta(milliseconds=50),
            retry_delay=timedelta(milliseconds=100),
        )
    finally:
        masters.close()


@pytest_asyncio.fixture(loop_scope="session")
async def engine(client: Client, standin: JenkinsStandIn, jenkins_acts: JenkinsActivities) -> AsyncIterator[Engine]:
    queue = f"jenkins-{uuid.uuid4()}"
    async with worker(client, queue, activities_of(jenkins_acts)):
        yield Engine(client, queue, standin)


def jenkins_stage(name: str, job: str, **fields: Any) -> dict[str, Any]:
    return {"refId": name, "name": name, "type": "jenkins", "master": "ci", "job": job, **fields}


def task_statuses(stage: dict[str, Any]) -> dict[str, str]:
    return {t["name"]: t["status"] for t in stage["tasks"]}


async def test_a_build_whose_properties_feed_the_next_stage(engine: Engine) -> None:
    standin = engine.standin
    properties = b"version=1.2.3\nimage=registry/app:1.2.3\n"
    standin.add_job(
        "build-app",
        Param("VERSION"),
        script=Script(
            queue_polls=1,
            build_polls=1,
            artifacts={"target/build.properties": properties, "target/app.deb": b"deb"},
            git={"sha1": "c0ffee", "branch": "refs/remotes/origin/main", "remote": "https://git/app.git"},
        ),
    )
    standin.add_job("deploy-app", Param("IMAGE"), Param("FROM_BUILD"))
    execution = await engine.run(
        jenkins_stage(
            "build", "build-app", parameters={"VERSION": "${parameters.version}"}, propertyFile="build.properties"
        ),
        jenkins_stage(
            "deploy",
            "deploy-app",
            requisiteStageRefIds=["build"],
            parameters={"IMAGE": "${image}", "FROM_BUILD": "${#stage('build').context.buildNumber}"},
        ),
        parameters={"version": "1.2.3"},
    )
    assert execution["status"] == "SUCCEEDED", execution
    build = stage_named(execution, "build")
    assert task_statuses(build) == dict.fromkeys(
        ["startJenkinsJob", "waitForJenkinsJobStart", "monitorJenkinsJob", "getBuildProperties", "getBuildArtifacts"],
        "SUCCEEDED",
    )
    context, outputs = build["context"], build["outputs"]
    assert (context["queuedBuild"], context["buildNumber"], context["parameters"]) == ("100", 1, {"VERSION": "1.2.3"})
    info = outputs["buildInfo"]
    assert (info["result"], info["number"], info["building"], info["scm"][0]["sha1"]) == ("SUCCESS", 1, False, "c0ffee")
    assert {a["fileName"] for a in info["artifacts"]} == {"build.properties", "app.deb"}
    assert outputs["version"] == "1.2.3" and outputs["propertyFileContents"]["image"] == "registry/app:1.2.3"
    assert outputs["artifacts"] == []
    assert [p.query for p in standin.posts("build-app/buildWithParameters")] == [{"VERSION": "1.2.3"}]
    assert [p.query for p in standin.posts("deploy-app/buildWithParameters")] == [
        {"IMAGE": "registry/app:1.2.3", "FROM_BUILD": "1"}
    ]


@pytest.mark.parametrize(
    ("result", "mark", "stage_status", "error"),
    [
        ("UNSTABLE", False, "TERMINAL", "Job is unstable"),
        ("UNSTABLE", True, "SUCCEEDED", None),
        ("FAILURE", False, "TERMINAL", "Job failed (see Jenkins)"),
    ],
)
async def test_unstable_and_failed_builds(
    engine: Engine, result: str, mark: bool, stage_status: str, error: str | None
) -> None:
    engine.standin.add_job("app", script=Script(build_polls=1, result=result))
    execution = await engine.run(jenkins_stage("ci", "app", markUnstableAsSuccessful=mark))
    stage = stage_named(execution, "ci")
    assert (execution["status"], stage["status"]) == (stage_status, stage_status)
    assert stage["outputs"]["buildInfo"]["result"] == result
    if error:
        assert stage["context"]["exception"]["details"]["error"] == error
        assert task_statuses(stage)["monitorJenkinsJob"] == "TERMINAL"


async def test_a_failed_build_still_reads_its_property_file(engine: Engine) -> None:
    engine.standin.add_job(
        "app", script=Script(result="FAILURE", artifacts={"out/build.properties": b"reason=tests\n"})
    )
    execution = await engine.run(jenkins_stage("ci", "app", propertyFile="build.properties"))
    assert execution["status"] == "TERMINAL"
    assert stage_named(execution, "ci")["status"] == "TERMINAL"
    fetched = stage_named(execution, "Try to get properties file")
    assert (fetched["type"], fetched["status"], fetched["syntheticStageOwner"]) == (
        "getProperties",
        "SUCCEEDED",
        "STAGE_AFTER",
    )
    assert fetched["outputs"]["reason"] == "tests"


async def test_an_aborted_build_cancels_the_stage(engine: Engine) -> None:
    engine.standin.add_job("app", script=Script(build_polls=0, result="ABORTED"))
    execution = await engine.run(jenkins_stage("ci", "app"))
    stage = stage_named(execution, "ci")
    assert stage["status"] == "CANCELED"
    assert stage["context"]["exception"]["details"]["errors"] == ["Job was aborted (see Jenkins)"]


async def test_a_queued_build_is_waited_for(engine: Engine) -> None:
    engine.standin.add_job("app", script=Script(queue_polls=2))
    execution = await engine.run(jenkins_stage("ci", "app"))
    assert execution["status"] == "SUCCEEDED"
    reads = [c for c in engine.standin.calls if c.path == "queue/item/100/api/json"]
    assert len(reads) == 3  # two answers "waiting", the third names build #1
    assert stage_named(execution, "ci")["context"]["buildNumber"] == 1


async def test_without_wait_for_completion_the_stage_ends_when_the_build_starts(engine: Engine) -> None:
    engine.standin.add_job("app", script=Script(hold=True))
    execution = await engine.run(jenkins_stage("ci", "app", waitForCompletion=False))
    stage = stage_named(execution, "ci")
    assert stage["status"] == "SUCCEEDED" and list(task_statuses(stage)) == [
        "startJenkinsJob",
        "waitForJenkinsJobStart",
    ]
    assert engine.standin.build("app", 1).building


async def test_canceling_the_pipeline_stops_the_build(engine: Engine) -> None:
    engine.standin.add_job("app", script=Script(hold=True))
    execution_id = await engine.start(jenkins_stage("ci", "app"))
    await engine.wait_until(execution_id, lambda e: "buildInfo" in stage_named(e, "ci")["context"])
    await operations.cancel_execution(engine.client, execution_id, user="ops")
    done = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id), 30)
    assert done["status"] == "CANCELED"
    assert engine.standin.build("app", 1).result == "ABORTED"
    assert len(engine.standin.posts("app/1/stop")) == 1


async def test_canceling_while_queued_takes_the_item_out_of_the_queue(engine: Engine) -> None:
    engine.standin.add_job("app", script=Script(queue_polls=10_000))
    execution_id = await engine.start(jenkins_stage("ci", "app"))
    await engine.wait_until(execution_id, lambda e: "queuedBuild" in stage_named(e, "ci")["context"])
    await operations.cancel_execution(engine.client, execution_id, user="ops")
    done = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id), 30)
    assert done["status"] == "CANCELED"
    assert engine.standin.queue[100].cancelled and not engine.standin.builds("app")


async def test_the_script_stage_runs_the_script_job(engine: Engine) -> None:
    engine.standin.add_job("script-runner", Param("COMMAND"), Param("ENV_PARAM"), script=Script(build_polls=1))
    execution = await engine.run(
        {
            "refId": "s",
            "name": "smoke",
            "type": "script",
            "command": "smoke.sh",
            "account": "prod",
            "waitForCompletion": "true",
        }
    )
    stage = stage_named(execution, "smoke")
    assert stage["status"] == "SUCCEEDED", execution
    assert list(task_statuses(stage)) == ["startScript", "waitForScriptStart", "monitorScript", "getBuildProperties"]
    assert (stage["context"]["master"], stage["context"]["job"], stage["context"]["REPO_URL"]) == (
        "ci",
        "script-runner",
        "default",
    )
    query = engine.standin.posts("script-runner/buildWithParameters")[0].query
    assert (query["COMMAND"], query["ENV_PARAM"]) == ("smoke.sh", "prod")


class DyingStart:
    """``start_jenkins_job``, except that the first call that starts a build "dies" after Jenkins queued it:
    the build is in Jenkins, the activity's result never reaches Temporal, which runs it again."""

    def __init__(self, acts: JenkinsActivities) -> None:
        self.acts, self.died = acts, False

    @activity.defn(name=START_JENKINS_JOB)
    def start_jenkins_job(self, inp: TaskInput) -> TaskResult:
        result = self.acts.start_jenkins_job(inp)
        if "queuedBuild" in result.context and not self.died:
            self.died = True
            raise ApplicationError(
                "the worker died before reporting (simulated)", next_retry_delay=timedelta(milliseconds=50)
            )
        return result


@pytest.mark.parametrize(
    "script",
    [Script(starts_at_once=True), Script(queue_polls=1)],
    ids=["build-already-started", "still-queued"],
)
async def test_a_lost_start_result_starts_exactly_one_build(
    client: Client, standin: JenkinsStandIn, jenkins_acts: JenkinsActivities, script: Script
) -> None:
    standin.add_job("app", Param("VERSION"), script=script)
    dying = DyingStart(jenkins_acts)
    acts = [a for a in activities_of(jenkins_acts) if a.__name__ != START_JENKINS_JOB] + [dying.start_jenkins_job]
    queue = f"jenkins-dying-{uuid.uuid4()}"
    async with worker(client, queue, acts):
        engine = Engine(client, queue, standin)
        execution = await engine.run(jenkins_stage("ci", "app", parameters={"VERSION": "2"}))
    assert dying.died
    assert execution["status"] == "SUCCEEDED", execution
    assert len(standin.posts("app/buildWithParameters")) == 1
    assert [i.id for i in standin.items("app")] == [100] and [b.number for b in standin.builds("app")] == [1]
    assert stage_named(execution, "ci")["context"]["queuedBuild"] == "100"


async def test_a_start_whose_answer_jenkins_dropped_starts_exactly_one_build(engine: Engine) -> None:
    engine.standin.add_job("app", Param("VERSION"))
    engine.standin.drop_next("POST", "job/app/buildWithParameters")
    execution = await engine.run(jenkins_stage("ci", "app", parameters={"VERSION": "3"}))
    assert execution["status"] == "SUCCEEDED", execution
    assert len(engine.standin.posts("app/buildWithParameters")) == 1
    assert [b.number for b in engine.standin.builds("app")] == [1]
