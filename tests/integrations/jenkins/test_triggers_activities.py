"""The build monitor's activities against the stand-in Jenkins (driven by python-jenkins) and a real store:
Igor's job tree with folders, first sight, new finished builds, builds still running, jobs that cannot
be read, and the trigger activity starting a pipeline once with ``buildInfo`` and properties."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.jenkins_triggers import JenkinsTriggerActivities, activities_of, build
from core.messages.jenkins_poll import (
    ACTIVITY_NAMES,
    JenkinsBuildEvent,
    PollJenkinsMasterInput,
    PollJenkinsMasterResult,
    SaveJenkinsCursorsInput,
)
from core.store import Store
from integrations.jenkins.client import JenkinsClient, JenkinsMasters
from integrations.triggers.launcher import Launched
from tests.integrations.jenkins.conftest import master_for
from tests.integrations.jenkins.jenkins_standin import JenkinsStandIn


class RecordingLauncher:
    """Stands in for the Temporal launcher: records what would start (the claim is real, in the store)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.started: list[tuple[str, dict[str, Any], str, str | None]] = []

    async def launch(self, pipeline: dict[str, Any], trigger: dict[str, Any], key: str, *, run_as: str | None = None):  # type: ignore[no-untyped-def]
        execution_id, claimed = self.store.trigger_events.claim(key, pipeline["id"], f"E{len(self.started)}")
        if claimed:
            self.started.append((pipeline["id"], trigger, key, run_as))
        return Launched(pipeline["id"], pipeline["name"], execution_id, started=claimed)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'g.db'}")
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def acts(standin: JenkinsStandIn, store: Store) -> Iterator[JenkinsTriggerActivities]:
    masters = JenkinsMasters([master_for(standin)])
    try:
        yield JenkinsTriggerActivities(masters, store, RecordingLauncher(store))  # type: ignore[arg-type]
    finally:
        masters.close()


def poll(acts: JenkinsTriggerActivities, master: str = "ci") -> PollJenkinsMasterResult:
    result: PollJenkinsMasterResult = ActivityEnvironment().run(
        acts.poll_jenkins_master, PollJenkinsMasterInput(master)
    )
    ActivityEnvironment().run(acts.save_jenkins_cursors, SaveJenkinsCursorsInput(master, result.cursors))
    return result


def posted(result: PollJenkinsMasterResult) -> list[str]:
    return [f"{e.job}#{e.number}:{e.result}" for e in result.events]


def test_job_tree_has_folders_and_last_builds(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("plain")
    standin.add_job("team/app")
    standin.add_build("team/app", "FAILURE")
    standin.add_build("team/app", building=True)
    tree = jenkins.job_tree()
    assert [j["name"] for j in tree] == ["plain", "team"]
    assert tree[0].get("lastBuild") is None
    app = tree[1]["jobs"][0]
    assert app["name"] == "app"
    assert {k: app["lastBuild"][k] for k in ("number", "building", "result")} == {
        "number": 2,
        "building": True,
        "result": None,
    }
    assert "lastBuild[" in standin.calls[-1].query["tree"]


def test_first_sight_records_cursors_and_posts_nothing(
    standin: JenkinsStandIn, acts: JenkinsTriggerActivities, store: Store
) -> None:
    standin.add_job("build")
    standin.add_job("team/app")
    standin.add_job("idle")
    standin.add_build("build")
    standin.add_build("team/app", "FAILURE")
    first = poll(acts)
    assert first.events == [] and first.errors == []
    assert store.jenkins_cursors.get("ci") == {
        "build": {"lastBuild": 1, "posted": []},
        "team/job/app": {"lastBuild": 1, "posted": []},
    }
    assert not [c for c in standin.calls if "builds[" in c.query.get("tree", "")]  # no job's builds were read


def test_new_builds_are_posted_once_and_running_ones_when_they_finish(
    standin: JenkinsStandIn, acts: JenkinsTriggerActivities, store: Store
) -> None:
    standin.add_job("build")
    standin.add_build("build")
    poll(acts)
    standin.add_build("build", "FAILURE")
    running = standin.add_build("build", "SUCCESS", building=True)
    standin.add_build("build", "SUCCESS")
    assert posted(poll(acts)) == ["build#2:FAILURE", "build#4:SUCCESS"]
    assert store.jenkins_cursors.get("ci")["build"] == {"lastBuild": 2, "posted": [4]}
    assert posted(poll(acts)) == []  # #3 still runs; #4 was posted
    standin.release("build", running.number)
    assert posted(poll(acts)) == ["build#3:SUCCESS"]
    assert store.jenkins_cursors.get("ci")["build"] == {"lastBuild": 4, "posted": []}
    reads = len(standin.calls)
    assert posted(poll(acts)) == []
    assert len(standin.calls) == reads + 1  # up to date: only the job tree was read


def test_a_cursor_survives_new_activity_objects(standin: JenkinsStandIn, store: Store) -> None:
    """The cursor lives in the store: a worker that restarts (new activity objects) goes on from it."""
    standin.add_job("build")
    standin.add_build("build")
    for expected in ([], ["build#2:SUCCESS"], []):
        if expected:
            standin.add_build("build")
        masters = JenkinsMasters([master_for(standin)])
        try:
            fresh = JenkinsTriggerActivities(masters, store, RecordingLauncher(store))  # type: ignore[arg-type]
            assert posted(poll(fresh)) == expected
        finally:
            masters.close()


def test_handle_first_builds_posts_what_the_job_lists(standin: JenkinsStandIn, store: Store) -> None:
    standin.add_job("build")
    standin.add_build("build")
    standin.add_build("build", "UNSTABLE")
    masters = JenkinsMasters([master_for(standin)])
    try:
        first = JenkinsTriggerActivities(masters, store, RecordingLauncher(store), handle_first_builds=True)  # type: ignore[arg-type]
        assert posted(poll(first)) == ["build#1:SUCCESS", "build#2:UNSTABLE"]
    finally:
        masters.close()


def test_a_job_that_cannot_be_read_is_left_for_the_next_poll(
    standin: JenkinsStandIn, acts: JenkinsTriggerActivities, store: Store
) -> None:
    standin.add_job("build")
    standin.add_build("build")
    poll(acts)
    standin.add_build("build")
    standin.fail_next("GET", "job/build/api/json", 500)
    failed = poll(acts)
    assert failed.events == [] and "HTTP 500" in failed.errors[0]
    assert store.jenkins_cursors.get("ci")["build"]["lastBuild"] == 1
    assert posted(poll(acts)) == ["build#2:SUCCESS"]


def test_an_unreachable_master_is_a_retryable_error(standin: JenkinsStandIn, acts: JenkinsTriggerActivities) -> None:
    standin.fail_next("GET", "api/json", 503)
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(acts.poll_jenkins_master, PollJenkinsMasterInput("ci"))
    assert not err.value.non_retryable and err.value.type == "JenkinsRetryable" and "HTTP 503" in str(err.value)
    with pytest.raises(ApplicationError) as unknown:
        ActivityEnvironment().run(acts.poll_jenkins_master, PollJenkinsMasterInput("nope"))
    assert unknown.value.non_retryable and unknown.value.type == "UnknownMasterError"
    assert "Master 'nope' not found" in str(unknown.value)


def test_the_poll_heartbeats_per_job(standin: JenkinsStandIn, acts: JenkinsTriggerActivities) -> None:
    standin.add_job("a")
    standin.add_job("team/b")
    beats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details[0])
    env.run(acts.poll_jenkins_master, PollJenkinsMasterInput("ci"))
    assert beats == ["a", "team/job/b"]


async def test_a_build_that_cannot_be_read_for_now_is_retried(
    standin: JenkinsStandIn, acts: JenkinsTriggerActivities, store: Store
) -> None:
    standin.add_job("build")
    standin.add_build("build")
    _saved(store, {"type": "jenkins", "enabled": True, "master": "ci", "job": "build"})
    standin.fail_next("GET", "job/build/1/api/json", 502)
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.trigger_jenkins_build, JenkinsBuildEvent("ci", "build", 1, "SUCCESS"))
    assert not err.value.non_retryable and "HTTP 502" in str(err.value)
    launcher: RecordingLauncher = acts.launcher  # type: ignore[assignment]
    assert launcher.started == []


def _saved(store: Store, *triggers: dict[str, Any]) -> dict[str, Any]:
    store.applications.save({"name": "app"}, "bob")
    return store.pipelines.save({"application": "app", "name": "deploy", "triggers": list(triggers)}, "bob")


async def test_trigger_starts_successful_builds_with_build_info_and_properties(
    standin: JenkinsStandIn, acts: JenkinsTriggerActivities, store: Store
) -> None:
    standin.add_job("team/app")
    build = standin.add_build("team/app", artifacts={"out/build.properties": b"VERSION=1.2.3\nBRANCH=main\n"})
    saved = _saved(
        store,
        {"type": "jenkins", "enabled": True, "master": "ci", "job": "team/job/app", "propertyFile": "build.properties"},
    )
    event = JenkinsBuildEvent("ci", "team/job/app", build.number, "SUCCESS", url=standin.build_url(build))
    result = await ActivityEnvironment().run(acts.trigger_jenkins_build, event)
    assert [launched["pipelineId"] for launched in result.launched] == [saved["id"]]
    launcher: RecordingLauncher = acts.launcher  # type: ignore[assignment]
    ((pipeline_id, trigger, key, _),) = launcher.started
    assert key == "jenkins:ci:team/job/app:1"
    assert trigger["buildNumber"] == 1 and trigger["properties"] == {"VERSION": "1.2.3", "BRANCH": "main"}
    assert trigger["buildInfo"]["result"] == "SUCCESS" and trigger["buildInfo"]["number"] == 1
    assert trigger["buildInfo"]["artifacts"][0]["fileName"] == "build.properties"
    assert trigger["link"] == standin.build_url(build)
    again = await ActivityEnvironment().run(acts.trigger_jenkins_build, event)
    assert again.launched[0]["started"] is False and len(launcher.started) == 1


@pytest.mark.parametrize("result", ["FAILURE", "UNSTABLE", "ABORTED", None])
async def test_trigger_skips_builds_that_did_not_succeed(
    standin: JenkinsStandIn, acts: JenkinsTriggerActivities, store: Store, result: str | None
) -> None:
    _saved(store, {"type": "jenkins", "enabled": True, "master": "ci", "job": "build"})
    outcome = await ActivityEnvironment().run(acts.trigger_jenkins_build, JenkinsBuildEvent("ci", "build", 1, result))
    assert outcome.launched == [] and "not SUCCESS" in (outcome.skipped or "")


async def test_a_bad_property_file_starts_without_properties_unless_constraints_need_them(
    standin: JenkinsStandIn, acts: JenkinsTriggerActivities, store: Store
) -> None:
    standin.add_job("build")
    standin.add_build("build", artifacts={"out.json": b"[1, 2]"})
    plain = {"type": "jenkins", "enabled": True, "master": "ci", "job": "build", "propertyFile": "out.json"}
    _saved(store, plain)
    store.pipelines.save(
        {"application": "app", "name": "strict", "triggers": [{**plain, "payloadConstraints": {"A": "1"}}]}, "bob"
    )
    result = await ActivityEnvironment().run(acts.trigger_jenkins_build, JenkinsBuildEvent("ci", "build", 1, "SUCCESS"))
    assert [launched["pipelineName"] for launched in result.launched] == ["deploy"]
    launcher: RecordingLauncher = acts.launcher  # type: ignore[assignment]
    assert launcher.started[0][1]["properties"] == {}


def test_build_registers_the_three_activities(store: Store) -> None:
    from types import SimpleNamespace

    settings = SimpleNamespace(jenkins={"masters": [{"name": "ci", "address": "http://127.0.0.1:1/"}]}, task_queue="q")
    names = [fn.__name__ for fn in build(settings, None, store)]
    assert names == ["poll_jenkins_master", "trigger_jenkins_build", "save_jenkins_cursors"]
    assert {getattr(f, "__temporal_activity_definition").name for f in build(settings, None, store)} == set(
        ACTIVITY_NAMES
    )
    acts = JenkinsTriggerActivities(JenkinsMasters([]), store, RecordingLauncher(store))  # type: ignore[arg-type]
    assert [fn.__name__ for fn in activities_of(acts)] == names
