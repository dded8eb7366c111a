"""The ``travis`` and ``github-actions`` stages through the engine (a real Temporal dev server) against the
stand-ins: properties feeding later stages, failed and canceled builds, cancel canceling the remote build,
and a start whose result is lost still starting exactly one build."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
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

from activities.ci import CiActivities, activities_of
from core.messages.ci import START_CI_JOB
from integrations.ci.services import BuildServices
from tests.conftest import stage_named
from tests.integrations.ci.conftest import github_settings, travis_settings
from tests.integrations.ci.github_standin import GitHubStandIn
from tests.integrations.ci.travis_standin import TravisScript, TravisStandIn
from workflows import operations
from workflows.stages.base import TaskInput, TaskResult
from workflows.stages.ci import ACTIVITY_NAMES

pytestmark = pytest.mark.temporal


@dataclass
class Engine:
    client: Client
    queue: str
    travis: TravisStandIn
    github: GitHubStandIn

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


def worker(client: Client, queue: str, ci: list[Callable[..., Any]]) -> Worker:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    engine = build_activities(Settings(task_queue=queue), client, configs=MemoryConfigSource())
    return Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[a for a in engine if getattr(a, "__name__", None) not in ACTIVITY_NAMES] + ci,
        activity_executor=ThreadPoolExecutor(max_workers=10),
        workflow_runner=workflow_runner(),
    )


@pytest.fixture
def ci_acts(travis_standin: TravisStandIn, github_standin: GitHubStandIn) -> CiActivities:
    services = BuildServices(
        [travis_settings(travis_standin), github_settings(github_standin, repositories=["org/app"])]
    )
    return CiActivities(
        services,
        poll_interval=timedelta(milliseconds=50),
        retry_delay=timedelta(milliseconds=100),
        properties_retry_delay=timedelta(milliseconds=50),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def engine(
    client: Client, travis_standin: TravisStandIn, github_standin: GitHubStandIn, ci_acts: CiActivities
) -> AsyncIterator[Engine]:
    travis_standin.add_repo("org/app")
    github_standin.add_repo("org/app", branches={"main", "v2.0"})
    github_standin.add_workflow("org/app", "deploy.yml", inputs={"version": True})
    queue = f"ci-{uuid.uuid4()}"
    async with worker(client, queue, activities_of(ci_acts)):
        yield Engine(client, queue, travis_standin, github_standin)
    ci_acts.services.close()


def travis_stage(name: str, job: str = "org/app/main", **fields: Any) -> dict[str, Any]:
    return {"refId": name, "name": name, "type": "travis", "master": "travis", "job": job, **fields}


def github_stage(name: str, job: str = "org/app/deploy.yml", **fields: Any) -> dict[str, Any]:
    return {"refId": name, "name": name, "type": "github-actions", "master": "gha", "job": job, **fields}


def task_statuses(stage: dict[str, Any]) -> dict[str, str]:
    return {t["name"]: t["status"] for t in stage["tasks"]}


async def test_travis_properties_feed_a_github_actions_dispatch(engine: Engine) -> None:
    engine.travis.repos["org/app"].script = TravisScript(
        request_polls=1, build_polls=1, log="$ make\nSPINNAKER_PROPERTY_VERSION=2.0.1\n"
    )
    execution = await engine.run(
        travis_stage("build", parameters={"TARGET": "${parameters.target}"}, propertyFile="travis"),
        github_stage("deploy", requisiteStageRefIds=["build"], ref="v2.0", parameters={"version": "${version}"}),
        parameters={"target": "release"},
    )
    assert execution["status"] == "SUCCEEDED", execution
    build, deploy = stage_named(execution, "build"), stage_named(execution, "deploy")
    assert task_statuses(build) == dict.fromkeys(
        ["startTravisJob", "waitForTravisJobStart", "monitorTravisJob", "getBuildProperties", "getBuildArtifacts"],
        "SUCCEEDED",
    )
    assert build["outputs"]["version"] == "2.0.1" and build["outputs"]["buildInfo"]["result"] == "SUCCESS"
    assert build["context"]["buildNumber"] == 1 and engine.travis.build_by_number("org/app", 1).env == "TARGET=release"
    assert list(task_statuses(deploy))[0] == "startGithubActionsJob"
    dispatched = engine.github.calls_to("POST", "/dispatches$")
    assert [c.body["inputs"] for c in dispatched] == [{"version": "2.0.1"}] and dispatched[0].body["ref"] == "v2.0"
    assert deploy["outputs"]["buildInfo"]["scm"][0]["branch"] == "v2.0"


@pytest.mark.parametrize(
    ("conclusion", "status", "error"),
    [("failure", "TERMINAL", "Job failed"), ("cancelled", "CANCELED", "Job was aborted")],
)
async def test_failed_and_canceled_runs(engine: Engine, conclusion: str, status: str, error: str) -> None:
    engine.github.repos["org/app"].workflows["deploy.yml"].conclusion = conclusion
    execution = await engine.run(github_stage("deploy", parameters={"version": "1"}))
    stage = stage_named(execution, "deploy")
    assert (execution["status"], stage["status"]) == (status, status)
    assert stage["outputs"]["buildInfo"]["result"] == ("FAILURE" if conclusion == "failure" else "ABORTED")
    assert error in str(stage["context"]["exception"])


async def test_a_missing_property_file_fails_the_stage_naming_it(engine: Engine) -> None:
    execution = await engine.run(github_stage("deploy", parameters={"version": "1"}, propertyFile="out.properties"))
    stage = stage_named(execution, "deploy")
    assert stage["status"] == "TERMINAL"
    assert "out.properties" in str(stage["context"]["exception"])


async def test_a_failed_run_still_reads_its_property_file(engine: Engine) -> None:
    workflow = engine.github.repos["org/app"].workflows["deploy.yml"]
    workflow.conclusion, workflow.files = "failure", {"build.properties": b"reason=tests\n"}
    execution = await engine.run(github_stage("deploy", parameters={"version": "1"}, propertyFile="build.properties"))
    assert execution["status"] == "TERMINAL"
    assert stage_named(execution, "deploy")["status"] == "TERMINAL"
    fetched = stage_named(execution, "Try to get properties file")
    assert (fetched["type"], fetched["status"], fetched["syntheticStageOwner"]) == (
        "getCiProperties",
        "SUCCEEDED",
        "STAGE_AFTER",
    )
    assert fetched["outputs"]["reason"] == "tests"


async def test_an_unknown_build_service_is_terminal(engine: Engine) -> None:
    execution = await engine.run(github_stage("deploy", master="nope"))
    stage = stage_named(execution, "deploy")
    assert stage["status"] == "TERMINAL" and "no build service named 'nope'" in str(stage["context"]["exception"])


@pytest.mark.parametrize("kind", ["travis", "github-actions"])
async def test_canceling_the_pipeline_cancels_the_remote_build(engine: Engine, kind: str) -> None:
    engine.travis.repos["org/app"].script = TravisScript(hold=True)
    engine.github.repos["org/app"].workflows["deploy.yml"].hold = True
    stage = travis_stage("ci") if kind == "travis" else github_stage("ci", parameters={"version": "1"})
    execution_id = await engine.start(stage)
    await engine.wait_until(execution_id, lambda e: "buildInfo" in stage_named(e, "ci")["context"])
    await operations.cancel_execution(engine.client, execution_id, user="ops")
    done = await asyncio.wait_for(operations.wait_for_execution(engine.client, execution_id), 30)
    assert done["status"] == "CANCELED"
    if kind == "travis":
        assert engine.travis.build_by_number("org/app", 1).state == "canceled"
        assert len(engine.travis.calls_to("POST", r"/build/\d+/cancel$")) == 1
    else:
        assert engine.github.repos["org/app"].runs[0].conclusion == "cancelled"
        assert len(engine.github.calls_to("POST", r"/runs/\d+/cancel$")) == 1


class DyingStart:
    """``start_ci_job``, except that the first call that starts a build "dies" after the service took it."""

    def __init__(self, acts: CiActivities) -> None:
        self.acts, self.died = acts, False

    @activity.defn(name=START_CI_JOB)
    def start_ci_job(self, inp: TaskInput) -> TaskResult:
        result = self.acts.start_ci_job(inp)
        if "queuedBuild" in result.context and not self.died:
            self.died = True
            raise ApplicationError("the worker died before reporting (simulated)", next_retry_delay=timedelta(0))
        return result


@pytest.mark.parametrize("kind", ["travis", "github-actions"])
async def test_a_lost_start_result_starts_exactly_one_build(
    client: Client, travis_standin: TravisStandIn, github_standin: GitHubStandIn, ci_acts: CiActivities, kind: str
) -> None:
    travis_standin.add_repo("org/app")
    github_standin.add_repo("org/app")
    github_standin.add_workflow("org/app", "deploy.yml")
    dying = DyingStart(ci_acts)
    acts = [a for a in activities_of(ci_acts) if a.__name__ != START_CI_JOB] + [dying.start_ci_job]
    queue = f"ci-dying-{uuid.uuid4()}"
    async with worker(client, queue, acts):
        engine = Engine(client, queue, travis_standin, github_standin)
        execution = await engine.run(travis_stage("ci") if kind == "travis" else github_stage("ci", ref="main"))
    assert dying.died
    assert execution["status"] == "SUCCEEDED", execution
    if kind == "travis":
        assert len(travis_standin.calls_to("POST", "/requests$")) == 1
        assert [b.number for b in travis_standin.repos["org/app"].builds] == [1]
    else:
        assert len(github_standin.calls_to("POST", "/dispatches$")) == 1
        assert [r.run_number for r in github_standin.repos["org/app"].runs] == [1]
    ci_acts.services.close()
