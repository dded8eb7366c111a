"""The Jenkins stages' activities, one call at a time, against the stand-in Jenkins."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.jenkins import (
    NO_BUILD_NUMBER,
    PROPERTIES_MAX_ATTEMPTS,
    RETRYABLE_ERROR,
    START_MAX_ATTEMPTS,
    JenkinsActivities,
    activities_of,
    build,
    script_request,
)
from core.settings.jenkins import JenkinsSettings, ScriptJobSettings
from core.status import ExecutionStatus as S
from integrations.jenkins.client import JenkinsMasters
from tests.integrations.jenkins.conftest import master_for
from tests.integrations.jenkins.jenkins_standin import JenkinsStandIn, Param, Script
from workflows.stages.base import TaskInput, TaskResult
from workflows.stages.jenkins import ACTIVITY_NAMES


@pytest.fixture
def acts(standin: JenkinsStandIn) -> Iterator[JenkinsActivities]:
    masters = JenkinsMasters([master_for(standin), master_for(standin, name="travis-ci")])
    try:
        yield JenkinsActivities(
            masters,
            script=ScriptJobSettings(master="ci", job="run-script"),
            poll_interval=timedelta(milliseconds=250),
            retry_delay=timedelta(seconds=3),
        )
    finally:
        masters.close()


def run(
    fn: Callable[[TaskInput], TaskResult],
    context: dict[str, Any],
    *,
    attempt: int = 1,
    stage_type: str = "jenkins",
    trigger: dict[str, Any] | None = None,
) -> TaskResult:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
    inp = TaskInput(
        execution_id="01EXEC",
        application="app",
        stage_id="01STAGE",
        stage_ref_id="1",
        stage_type=stage_type,
        task_name=fn.__name__,
        context=context,
        stage_start_time_ms=1,
        task_start_time_ms=1,
        trigger=trigger or {},
    )
    return env.run(fn, inp)  # type: ignore[no-any-return]


def start(acts: JenkinsActivities, context: dict[str, Any]) -> dict[str, Any]:
    """Both start steps; returns the context they wrote."""
    first = run(acts.start_jenkins_job, context)
    assert first.status == S.RUNNING, first
    second = run(acts.start_jenkins_job, {**context, **first.context})
    assert second.status == S.SUCCEEDED, second
    return {**context, **first.context, **second.context}


# ---- start ---------------------------------------------------------------------------------------


def test_start_reads_the_job_first_then_starts_it_once(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app", Param("VERSION"), next_build_number=7)
    context = {"master": "ci", "job": "app", "parameters": {"VERSION": "1.0", "DROPPED": None}}
    first = run(acts.start_jenkins_job, context)
    assert (first.status, first.context, first.backoff_ms) == (S.RUNNING, {"nextBuildNumber": 7}, 1)
    assert not standin.posts("buildWithParameters")
    second = run(acts.start_jenkins_job, {**context, **first.context})
    assert (second.status, second.context) == (S.SUCCEEDED, {"queuedBuild": "100"})
    assert [p.query for p in standin.posts("app/buildWithParameters")] == [{"VERSION": "1.0"}]
    again = run(acts.start_jenkins_job, {**context, **first.context, **second.context})
    assert again.context == {"queuedBuild": "100"} and len(standin.posts("buildWithParameters")) == 1


def test_a_start_whose_answer_was_lost_is_found_not_repeated(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app", Param("VERSION"))
    context = {"master": "ci", "job": "app", "parameters": {"VERSION": "1.0"}, "nextBuildNumber": 1}
    standin.drop_next("POST", "job/app/buildWithParameters")
    with pytest.raises(ApplicationError) as caught:
        run(acts.start_jenkins_job, context)
    assert (caught.value.type, caught.value.non_retryable) == (RETRYABLE_ERROR, False)
    assert caught.value.next_retry_delay == timedelta(seconds=3)
    retried = run(acts.start_jenkins_job, context, attempt=2)
    assert (retried.status, retried.context) == (S.SUCCEEDED, {"queuedBuild": "100"})
    assert len(standin.posts("buildWithParameters")) == 1 and len(standin.items("app")) == 1


def test_a_retry_adopts_a_build_that_already_started(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app", next_build_number=5)
    context = start(acts, {"master": "ci", "job": "app"})
    run(acts.wait_for_jenkins_job_start, context)  # the build starts: #5
    retried = run(acts.start_jenkins_job, {k: v for k, v in context.items() if k != "queuedBuild"}, attempt=3)
    assert retried.context == {"queuedBuild": "100", "buildNumber": 5}
    assert len(standin.posts("app/build")) == 1


def test_a_retry_that_finds_nothing_starts_the_job(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app")
    retried = run(acts.start_jenkins_job, {"master": "ci", "job": "app", "nextBuildNumber": 1}, attempt=2)
    assert retried.context == {"queuedBuild": "100"} and len(standin.posts("app/build")) == 1


@pytest.mark.parametrize(
    ("context", "error"),
    [
        ({"master": "nope", "job": "app"}, "Master 'nope' not found"),
        ({"master": "ci", "job": "missing"}, "Jenkins master 'ci': job 'missing' not found (HTTP 404)"),
        (
            {"master": "ci", "job": "app", "parameters": {"ENV": "qa"}},
            "`qa` is not a valid choice for `ENV`. Valid choices are: dev, prod",
        ),
        (
            {"master": "ci", "job": "app", "parameters": "ENV=qa"},
            "parameters must be a map of parameter names to values",
        ),
        ({"job": "app"}, "The jenkins stage needs a master and a job (got None, 'app')"),
    ],
)
def test_start_failures_are_terminal(
    standin: JenkinsStandIn, acts: JenkinsActivities, context: dict[str, Any], error: str
) -> None:
    standin.add_job("app", Param("ENV", "ChoiceParameterDefinition", "dev", ["dev", "prod"]))
    result = run(acts.start_jenkins_job, context)
    assert (result.status, result.error) == (S.TERMINAL, error)
    assert not standin.posts("build")


def test_refused_credentials_are_terminal_and_secret(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app")
    standin.users["spinnaker"] = "rotated"
    result = run(acts.start_jenkins_job, {"master": "ci", "job": "app"})
    assert result.status == S.TERMINAL
    assert (
        result.error == "Jenkins master 'ci' refused the credentials of user 'spinnaker' to read job 'app' (HTTP 401)"
    )


def test_an_unavailable_jenkins_is_retried_then_given_up(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app")
    standin.fail_next("POST", "job/app/build", 503, count=2)
    context = {"master": "ci", "job": "app", "nextBuildNumber": 1}
    with pytest.raises(ApplicationError, match=r"answered HTTP 503 when asked to start job 'app'"):
        run(acts.start_jenkins_job, context)
    given_up = run(acts.start_jenkins_job, context, attempt=START_MAX_ATTEMPTS)
    assert given_up.status == S.TERMINAL and "HTTP 503" in (given_up.error or "")


def test_the_script_stage_runs_the_script_job(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job(
        "run-script",
        *(
            Param(n)
            for n in (
                "SCRIPT_PATH",
                "COMMAND",
                "IMAGE_ID",
                "REGION_PARAM",
                "ENV_PARAM",
                "CLUSTER_PARAM",
                "CMC",
                "REPO_URL",
            )
        ),
    )
    context = {"scriptPath": "scripts", "command": "smoke.sh --fast", "account": "prod", "repoUrl": "git@x:y.git"}
    first = run(acts.start_script, context, stage_type="script")
    second = run(acts.start_script, {**context, **first.context}, stage_type="script")
    assert second.context == {"queuedBuild": "100", "master": "ci", "job": "run-script", "REPO_URL": "git@x:y.git"}
    assert standin.posts("run-script/buildWithParameters")[0].query == {
        "SCRIPT_PATH": "scripts",
        "COMMAND": "smoke.sh --fast",
        "ENV_PARAM": "prod",
        "REPO_URL": "git@x:y.git",
    }


def test_script_parameters_fall_back_to_a_strategy_trigger() -> None:
    trigger = {
        "strategy": True,
        "parameters": {"amiName": "ami-1", "cluster": "app-main", "credentials": "test", "zone": "us-central1-a"},
    }
    request = script_request({"command": "x", "job": "custom"}, trigger, ScriptJobSettings())
    assert request == {
        "master": "master",
        "job": "custom",
        "parameters": {
            "SCRIPT_PATH": None,
            "COMMAND": "x",
            "IMAGE_ID": "ami-1",
            "REGION_PARAM": "us-central1-a",
            "ENV_PARAM": "test",
            "CLUSTER_PARAM": "app-main",
            "CMC": None,
        },
        "REPO_URL": "default",
    }
    own = script_request(
        {"image": "mine", "repoBranch": "dev"}, {"parameters": {"amiName": "ami-1"}}, ScriptJobSettings()
    )
    assert own["parameters"]["IMAGE_ID"] == "mine" and own["parameters"]["REPO_BRANCH"] == "dev"
    assert own["parameters"]["CLUSTER_PARAM"] is None  # no strategy: no fallback


# ---- queue item → build --------------------------------------------------------------------------


def test_wait_for_start_follows_the_queue_item(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app", script=Script(queue_polls=1))
    context = start(acts, {"master": "ci", "job": "app"})
    waiting = run(acts.wait_for_jenkins_job_start, context)
    assert (waiting.status, waiting.backoff_ms) == (S.RUNNING, 250)
    started = run(acts.wait_for_jenkins_job_start, context)
    assert (started.status, started.context) == (S.SUCCEEDED, {"buildNumber": 1})


def test_wait_for_start_finds_the_build_of_a_forgotten_queue_item(
    standin: JenkinsStandIn, acts: JenkinsActivities
) -> None:
    standin.add_job("app")
    context = start(acts, {"master": "ci", "job": "app"})
    assert run(acts.wait_for_jenkins_job_start, context).context == {"buildNumber": 1}
    standin.forget_queue_item(100)
    assert run(acts.wait_for_jenkins_job_start, context).context == {"buildNumber": 1}


def test_a_queue_item_cancelled_in_jenkins_cancels_the_stage(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app", script=Script(queue_polls=3))
    context = start(acts, {"master": "ci", "job": "app"})
    standin.queue[100].cancelled = True
    result = run(acts.wait_for_jenkins_job_start, context)
    assert result.status == S.CANCELED
    assert result.context == {
        "exception": {"details": {"errors": ["The queued build of job app was cancelled in Jenkins"]}}
    }


def test_wait_for_start_polls_through_outages_but_not_refusals(
    standin: JenkinsStandIn, acts: JenkinsActivities
) -> None:
    standin.add_job("app")
    context = start(acts, {"master": "ci", "job": "app"})
    standin.fail_next("GET", "queue/item/100/api/json", 503)
    assert run(acts.wait_for_jenkins_job_start, context).status == S.RUNNING
    standin.fail_next("GET", "queue/item/100/api/json", 403)
    refused = run(acts.wait_for_jenkins_job_start, context)
    assert refused.status == S.TERMINAL and "HTTP 403" in (refused.error or "")
    missing = run(acts.wait_for_jenkins_job_start, {"master": "ci", "job": "app"})
    assert missing.status == S.TERMINAL


# ---- build → result ------------------------------------------------------------------------------


def _started(standin: JenkinsStandIn, acts: JenkinsActivities, **script: Any) -> dict[str, Any]:
    standin.add_job("app", script=Script(**script))
    context = start(acts, {"master": "ci", "job": "app"})
    return {**context, **run(acts.wait_for_jenkins_job_start, context).context}


def test_monitor_reports_build_info_while_running_then_the_result(
    standin: JenkinsStandIn, acts: JenkinsActivities
) -> None:
    context = _started(standin, acts, build_polls=1, git={"sha1": "abc", "branch": "origin/main", "remote": "r"})
    running = run(acts.monitor_jenkins_job, context)
    assert (running.status, running.backoff_ms, running.outputs) == (S.RUNNING, 250, {})
    assert running.context["buildInfo"]["building"] is True and running.context["buildInfo"]["number"] == 1
    done = run(acts.monitor_jenkins_job, context)
    assert done.status == S.SUCCEEDED and done.error is None
    assert done.outputs["buildInfo"] == done.context["buildInfo"]
    assert done.outputs["buildInfo"]["result"] == "SUCCESS" and done.outputs["buildInfo"]["scm"][0]["sha1"] == "abc"


@pytest.mark.parametrize(
    ("result", "mark", "status", "error"),
    [
        ("UNSTABLE", False, S.TERMINAL, "Job is unstable"),
        ("UNSTABLE", True, S.SUCCEEDED, None),
        ("UNSTABLE", "true", S.SUCCEEDED, None),
        ("UNSTABLE", "false", S.TERMINAL, "Job is unstable"),
        ("FAILURE", True, S.TERMINAL, "Job failed (see Jenkins)"),
        ("ABORTED", False, S.CANCELED, "Job was aborted (see Jenkins)"),
    ],
)
def test_monitor_maps_results(
    standin: JenkinsStandIn, acts: JenkinsActivities, result: str, mark: Any, status: S, error: str | None
) -> None:
    context = {**_started(standin, acts, result=result), "markUnstableAsSuccessful": mark}
    done = run(acts.monitor_jenkins_job, context)
    assert (done.status, done.error) == (status, error)
    if status == S.CANCELED:
        assert done.context["exception"] == {"details": {"errors": [error]}}


def test_monitor_polls_through_a_missing_build_and_fails_without_a_number(
    standin: JenkinsStandIn, acts: JenkinsActivities
) -> None:
    context = _started(standin, acts)
    assert run(acts.monitor_jenkins_job, {**context, "buildNumber": 99}).status == S.RUNNING  # as Orca: 404 polls
    result = run(acts.monitor_jenkins_job, {"master": "ci", "job": "app"})
    assert (result.status, result.error) == (S.TERMINAL, "failed to get build number for job app from master ci")


# ---- property file -------------------------------------------------------------------------------


def test_properties_become_outputs(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    context = _started(standin, acts, artifacts={"out/build.properties": b"version=1.2.3\nimage=app:1.2.3\n"})
    run(acts.monitor_jenkins_job, context)
    result = run(acts.get_build_properties, {**context, "propertyFile": "build.properties"})
    props = {"version": "1.2.3", "image": "app:1.2.3"}
    assert result.status == S.SUCCEEDED
    assert result.outputs == result.context == {**props, "propertyFileContents": props}


def test_no_property_file_reads_nothing(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    assert run(acts.get_build_properties, {"master": "ci", "job": "app", "propertyFile": " "}).status == S.SUCCEEDED
    assert not standin.calls


@pytest.mark.parametrize(
    ("artifacts", "context", "error"),
    [
        ({}, {"buildNumber": None}, NO_BUILD_NUMBER),
        (
            {"build.properties": b"# only a comment\n"},
            {},
            "Expected properties file build.properties but it was either missing, empty or contained invalid syntax",
        ),
        (
            {"build.properties": b"bad=\\u00"},
            {},
            "Expected properties file build.properties but it was either missing, empty or contained invalid syntax "
            "(line 1: malformed \\uxxxx escape)",
        ),
    ],
)
def test_property_file_failures(
    standin: JenkinsStandIn, acts: JenkinsActivities, artifacts: dict[str, bytes], context: dict[str, Any], error: str
) -> None:
    started = _started(standin, acts, artifacts=artifacts)
    run(acts.monitor_jenkins_job, started)
    result = run(acts.get_build_properties, {**started, "propertyFile": "build.properties", **context})
    assert (result.status, result.error) == (S.TERMINAL, error)


def test_a_missing_property_file_is_looked_for_again_then_fails(
    standin: JenkinsStandIn, acts: JenkinsActivities
) -> None:
    context = {**_started(standin, acts), "propertyFile": "build.properties"}
    run(acts.monitor_jenkins_job, context)
    with pytest.raises(ApplicationError) as caught:
        run(acts.get_build_properties, context)
    assert caught.value.next_retry_delay == timedelta(seconds=2)
    result = run(acts.get_build_properties, context, attempt=PROPERTIES_MAX_ATTEMPTS)
    assert (
        result.error
        == "Could not find build artifact matching requested filename 'build.properties' on 'ci/app' build 1"
    )


def test_travis_masters_may_have_empty_property_files(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    context = _started(standin, acts, artifacts={"build.properties": b""})
    run(acts.monitor_jenkins_job, context)
    result = run(acts.get_build_properties, {**context, "master": "travis-ci", "propertyFile": "build.properties"})
    assert (result.status, result.outputs) == (S.SUCCEEDED, {})


# ---- cancel --------------------------------------------------------------------------------------


def test_cancel_stops_the_running_build(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    context = _started(standin, acts, hold=True)
    assert run(acts.stop_jenkins_job, context).status == S.SUCCEEDED
    assert standin.build("app", 1).result == "ABORTED"


def test_cancel_takes_a_waiting_item_out_of_the_queue(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app", script=Script(queue_polls=5))
    context = start(acts, {"master": "ci", "job": "app"})
    run(acts.stop_jenkins_job, context)
    assert standin.queue[100].cancelled and not standin.builds("app")


def test_cancel_stops_the_build_a_queue_item_became(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app", script=Script(hold=True))
    context = start(acts, {"master": "ci", "job": "app"})
    standin.leave_queue(100)  # Jenkins started it; the stage has not seen the build number yet
    run(acts.stop_jenkins_job, context)
    assert standin.build("app", 1).result == "ABORTED"


def test_cancel_during_the_start_finds_what_was_started(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("app", Param("V"), script=Script(queue_polls=5))
    context = start(acts, {"master": "ci", "job": "app", "parameters": {"V": "1"}})
    del context["queuedBuild"]  # the start's answer never reached the stage
    run(acts.stop_jenkins_job, context)
    assert standin.queue[100].cancelled


def test_cancel_with_nothing_started_calls_nothing(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    assert run(acts.stop_jenkins_job, {"master": "ci", "job": "app"}).status == S.SUCCEEDED
    assert run(acts.stop_jenkins_job, {}).status == S.SUCCEEDED
    assert not standin.calls


def test_cancel_retries_only_when_jenkins_is_unavailable(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    context = _started(standin, acts, hold=True)
    standin.fail_next("POST", "job/app/1/stop", 502)
    with pytest.raises(ApplicationError, match="HTTP 502"):
        run(acts.stop_jenkins_job, context)
    standin.fail_next("POST", "job/app/1/stop", 400)
    assert run(acts.stop_jenkins_job, context).status == S.SUCCEEDED  # best effort


def test_cancel_of_a_script_stage_uses_the_script_job(standin: JenkinsStandIn, acts: JenkinsActivities) -> None:
    standin.add_job("run-script", Param("COMMAND"), script=Script(hold=True))
    context = {"command": "x"}
    first = run(acts.start_script, context, stage_type="script")
    second = run(acts.start_script, {**context, **first.context}, stage_type="script")
    run(acts.wait_for_jenkins_job_start, {**context, **first.context, **second.context})
    run(acts.stop_jenkins_job, {**context, "nextBuildNumber": 1}, stage_type="script")
    assert standin.build("run-script", 1).result == "ABORTED"


# ---- wiring --------------------------------------------------------------------------------------


def test_build_reads_the_settings(standin: JenkinsStandIn) -> None:
    for settings in (
        SimpleNamespace(),
        SimpleNamespace(jenkins={"masters": [{"name": "ci", "address": standin.url}], "poll_interval_s": 1}),
        SimpleNamespace(jenkins=JenkinsSettings(masters=[master_for(standin)], poll_interval_s=2)),
    ):
        built = build(settings)
        assert [fn.__name__ for fn in built] == list(ACTIVITY_NAMES)
        acts = built[0].__self__  # type: ignore[attr-defined]
        assert isinstance(acts, JenkinsActivities)
        acts.masters.close()
    assert [fn.__name__ for fn in activities_of(acts)] == list(ACTIVITY_NAMES)
