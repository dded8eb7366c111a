"""The client wrapper, driven through the real python-jenkins client against the stand-in Jenkins."""

from __future__ import annotations

import socket
import threading
from typing import Any

import jenkins as pyjenkins
import pytest
import requests

from integrations.jenkins import builds
from integrations.jenkins.client import JenkinsClient, JenkinsMasters, StartedBuild, UnknownMasterError
from integrations.jenkins.errors import (
    JenkinsAuthError,
    JenkinsConfigError,
    JenkinsError,
    JenkinsNotFoundError,
    JenkinsRequestError,
    JenkinsUnreachableError,
)
from integrations.jenkins.properties import PropertyFileError
from tests.integrations.jenkins.conftest import TOKEN, USER, master_for
from tests.integrations.jenkins.jenkins_standin import JenkinsStandIn, Param, Script


def _client(standin: JenkinsStandIn, **kw: Any) -> JenkinsClient:
    return JenkinsClient(master_for(standin, **kw))


def test_whoami_sends_basic_auth(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    assert jenkins.whoami()["id"] == USER
    assert {c.user for c in standin.calls} == {USER}


def test_a_wrong_token_is_an_auth_error_without_the_token(standin: JenkinsStandIn) -> None:
    client = _client(standin, api_token="not-the-token")
    try:
        with pytest.raises(JenkinsAuthError) as caught:
            client.job("app")
    finally:
        client.close()
    err = caught.value
    assert (err.status, err.retryable) == (401, False)
    assert str(err) == "Jenkins master 'ci' refused the credentials of user 'spinnaker' to read job 'app' (HTTP 401)"
    assert "not-the-token" not in str(err) and TOKEN not in str(err)


def test_a_user_without_build_permission_is_refused(standin: JenkinsStandIn) -> None:
    standin.add_job("app")
    client = _client(standin, username="viewer", api_token="viewer-token")
    try:
        with pytest.raises(JenkinsAuthError, match=r"does not allow user 'viewer' to start job 'app' \(HTTP 403\)"):
            client.start_job("app", {})
    finally:
        client.close()
    assert not standin.items("app")


def test_posts_carry_the_crumb_of_their_session(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("app")
    jenkins.start_job("app", {})
    jenkins.cancel_queue_item(100)
    posts = [c for c in standin.calls if c.method == "POST"]
    assert len(posts) == 2 and all(c.crumb for c in posts)
    assert sum(c.path == "crumbIssuer/api/json" for c in standin.calls) == 1


def test_a_stale_crumb_is_replaced_once(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("app")
    jenkins.start_job("app", {})
    standin.expire_crumbs()  # Jenkins dropped the web session the crumb belonged to
    standin.add_job("other")
    assert jenkins.start_job("other", {}) == 101
    assert len(standin.posts("other/build")) == 2  # refused once, then sent with a fresh crumb
    assert sum(c.path == "crumbIssuer/api/json" for c in standin.calls) == 2


def test_csrf_off_never_asks_for_a_crumb() -> None:
    with JenkinsStandIn(users={USER: TOKEN}, csrf=False) as standin:
        standin.add_job("app")
        client = _client(standin, csrf=False)
        try:
            assert client.start_job("app", {}) == 100
        finally:
            client.close()
        assert not [c for c in standin.calls if c.path == "crumbIssuer/api/json"]


def test_csrf_auto_works_with_a_master_that_issues_no_crumbs() -> None:
    with JenkinsStandIn(users={USER: TOKEN}, csrf=False) as standin:
        standin.add_job("app")
        client = _client(standin)
        try:
            assert client.start_job("app", {}) == 100
        finally:
            client.close()
        assert standin.posts("app/build")[0].crumb is None


def test_csrf_required_but_not_issued_is_a_configuration_error() -> None:
    with JenkinsStandIn(users={USER: TOKEN}, csrf=False) as standin:
        standin.add_job("app")
        client = _client(standin, csrf=True)
        try:
            with pytest.raises(JenkinsConfigError, match="issues no CSRF crumb"):
                client.start_job("app", {})
        finally:
            client.close()
        assert not standin.posts("app/build")


def test_missing_things_are_not_found(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("app")
    cases = [
        (lambda: jenkins.start_job("nope", {}), "Jenkins master 'ci': job 'nope' not found (HTTP 404)"),
        (lambda: jenkins.build("app", 9), "Jenkins master 'ci': build app #9 not found (HTTP 404)"),
        (lambda: jenkins.queue_item(999), "Jenkins master 'ci': queue item 999 not found (HTTP 404)"),
        (lambda: jenkins.builds("folder/job/nope"), "Jenkins master 'ci': job 'folder/job/nope' not found (HTTP 404)"),
    ]
    for call, message in cases:
        with pytest.raises(JenkinsNotFoundError) as caught:
            call()
        assert (str(caught.value), caught.value.retryable, caught.value.status) == (message, False, 404)


def test_a_queue_item_becomes_a_build_that_finishes(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job(
        "app",
        Param("VERSION"),
        Param("ENV", default="dev"),
        script=Script(queue_polls=2, build_polls=1, result="UNSTABLE"),
    )
    queue_id = jenkins.start_job("app", {"VERSION": "1.2.3", "NOT_DEFINED": "x"})
    post = standin.posts("app/buildWithParameters")[0]
    assert post.query == {"VERSION": "1.2.3", "NOT_DEFINED": "x"}
    assert [builds.queued_build_number(jenkins.queue_item(queue_id)) for _ in range(3)] == [None, None, 1]
    first, second = jenkins.build("app", 1), jenkins.build("app", 1)
    assert (first["building"], first["result"], second["building"], second["result"]) == (True, None, False, "UNSTABLE")
    assert builds.build_parameter_values(second) == {"VERSION": "1.2.3", "ENV": "dev"}  # undefined ones dropped
    assert builds.started_by(second) == {USER}


def test_plain_and_parameterized_jobs_are_started_as_igor_does(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("plain")
    standin.add_job("params", Param("VERSION", default="latest"))
    jenkins.start_job("plain", {})
    jenkins.start_job("params", {})
    assert standin.posts("plain/build")[0].query == {}
    assert standin.posts("params/buildWithParameters")[0].query == {"startedBy": "igor"}


def test_refused_starts_send_nothing(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("off", buildable=False)
    standin.add_job("choice", Param("ENV", "ChoiceParameterDefinition", "dev", ["dev", "prod"]))
    standin.add_job("plain")
    for job, params, message in [
        ("off", {}, "Job 'off' is not buildable"),
        ("choice", {"ENV": "qa"}, "`qa` is not a valid choice for `ENV`"),
        ("plain", {"A": "1"}, "passing params to a job which doesn't need them"),
    ]:
        with pytest.raises(JenkinsRequestError, match=message):
            jenkins.start_job(job, params)
    assert not [c for c in standin.calls if c.method == "POST"]
    with pytest.raises(JenkinsRequestError, match=r"refused to start job 'off' \(HTTP 409\)"):
        jenkins.start_build("off", None)  # what Jenkins itself says


def test_artifacts_and_property_files(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    files = {
        "out/build.properties": b"version=1.2.3\nimage = app:1.2.3\n",
        "out/meta.json": b'{"a": {"b": 1}}',
        "bad.yml": b"- not a map\n",
        "out/app.bin": bytes(range(256)),
    }
    standin.add_job("app", script=Script(artifacts=files))
    jenkins.queue_item(jenkins.start_job("app", {}))
    jenkins.build("app", 1)  # finishes it
    assert jenkins.artifact("app", 1, "out/app.bin") == bytes(range(256))
    assert jenkins.property_file("app", 1, "build.properties") == {"version": "1.2.3", "image": "app:1.2.3"}
    assert jenkins.property_file("app", 1, "out/meta.json") == {"a": {"b": 1}}  # by relative path too
    with pytest.raises(PropertyFileError, match="must be a map"):
        jenkins.property_file("app", 1, "bad.yml")
    with pytest.raises(JenkinsNotFoundError) as caught:
        jenkins.property_file("app", 1, "missing.properties")
    assert str(caught.value) == (
        "Could not find build artifact matching requested filename 'missing.properties' on 'ci/app' build 1"
    )
    with pytest.raises(JenkinsNotFoundError):
        jenkins.artifact("app", 1, "out/none")


def test_console_text_whole_cut_and_slow(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    lines = [f"line {i}\n" for i in range(20)]
    standin.add_job("app", script=Script(console=lines))
    standin.add_job("slow", script=Script(console=lines, console_delay=0.05))
    for job in ("app", "slow"):
        jenkins.queue_item(jenkins.start_job(job, {}))
        jenkins.build(job, 1)
    whole = jenkins.console_text("app", 1)
    assert whole.complete and whole.text == "".join(lines) + "Finished: SUCCESS\n"
    head = jenkins.console_text("app", 1, max_bytes=20)
    assert (head.text, head.complete) == ("line 0\nline 1\nline 2", False)
    slow = jenkins.console_text("slow", 1, max_seconds=0.3)
    assert not slow.complete and slow.text.startswith("line 0\n") and len(slow.text) < len(whole.text)


def test_stop_a_build_and_cancel_a_queue_item(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("app", script=Script(hold=True))
    standin.add_job("queued", script=Script(queue_polls=5))
    jenkins.queue_item(jenkins.start_job("app", {}))
    assert jenkins.build("app", 1)["building"] is True
    jenkins.stop_build("app", 1)
    assert (jenkins.build("app", 1)["building"], jenkins.build("app", 1)["result"]) == (False, "ABORTED")
    jenkins.stop_build("app", 1)  # stopping a finished build does nothing
    queue_id = jenkins.start_job("queued", {})
    jenkins.cancel_queue_item(queue_id)
    assert builds.queue_item_cancelled(jenkins.queue_item(queue_id))


def test_an_unreachable_master_is_retryable_and_nothing_was_sent(standin: JenkinsStandIn) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = JenkinsClient(master_for(standin).model_copy(update={"address": f"http://127.0.0.1:{port}/"}))
    try:
        with pytest.raises(JenkinsUnreachableError) as caught:
            client.start_job("app", {})
    finally:
        client.close()
    assert caught.value.retryable and caught.value.maybe_sent is False
    assert str(caught.value) == "Jenkins master 'ci' is unreachable: could not connect to read job 'app'"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_retryable(standin: JenkinsStandIn, jenkins: JenkinsClient, status: int) -> None:
    standin.add_job("app")
    standin.fail_next("GET", "job/app/api/json", status)
    with pytest.raises(JenkinsUnreachableError) as caught:
        jenkins.job("app")
    assert (caught.value.status, caught.value.retryable) == (status, True)
    assert str(caught.value) == f"Jenkins master 'ci' answered HTTP {status} when asked to read job 'app'"
    assert jenkins.job("app")["name"] == "app"  # the next call goes through


def test_a_slow_answer_times_out_as_retryable(standin: JenkinsStandIn) -> None:
    standin.add_job("app")
    standin.delay_next("GET", "job/app/api/json", 1.0)
    client = _client(standin, timeout=0.3)
    try:
        with pytest.raises(JenkinsUnreachableError, match=r"did not answer in 0.3s when asked to read job 'app'"):
            client.job("app")
    finally:
        client.close()


def test_a_lost_answer_to_a_start_may_have_started_it(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("app", Param("VERSION"))
    standin.drop_next("POST", "job/app/buildWithParameters")
    with pytest.raises(JenkinsUnreachableError) as caught:
        jenkins.start_job("app", {"VERSION": "1"})
    assert caught.value.maybe_sent is True
    assert [i.id for i in standin.items("app")] == [100]  # Jenkins did queue it
    assert jenkins.find_started("app", {"VERSION": "1"}, since_build_number=1) == StartedBuild(100)


def test_find_started_matches_parameters_user_and_build_numbers(
    standin: JenkinsStandIn, jenkins: JenkinsClient
) -> None:
    standin.add_job("app", Param("VERSION"))
    for version in ("1", "2", "2"):
        queue_id = jenkins.start_job("app", {"VERSION": version})
        jenkins.queue_item(queue_id)  # start them: builds 1, 2 and 3
    standin.users["someone"] = "else"
    client = _client(standin, username="someone", api_token="else")
    try:
        client.queue_item(client.start_job("app", {"VERSION": "3"}))  # build 4, by someone else
    finally:
        client.close()
    assert jenkins.find_started("app", {"VERSION": "2"}, 1) == StartedBuild(101, 2)  # the oldest match
    assert jenkins.find_started("app", {"VERSION": "2"}, 3) == StartedBuild(102, 3)
    assert jenkins.find_started("app", {"VERSION": "1"}, 2) is None  # started before we looked
    assert jenkins.find_started("app", {"VERSION": "3"}, 1) is None  # not started by us
    standin.add_job("queued", Param("VERSION"), script=Script(queue_polls=9))
    queue_id = jenkins.start_job("queued", {"VERSION": "1"})
    assert jenkins.start_job("queued", {"VERSION": "1"}) == queue_id  # Jenkins' queue keeps one identical item
    assert jenkins.find_started("queued", {"VERSION": "1"}, 1) == StartedBuild(queue_id)
    assert jenkins.find_started("queued", {"VERSION": "9"}, 1) is None


def test_a_forgotten_queue_item_is_found_through_the_builds(standin: JenkinsStandIn, jenkins: JenkinsClient) -> None:
    standin.add_job("app")
    queue_id = jenkins.start_job("app", {})
    jenkins.queue_item(queue_id)
    standin.forget_queue_item(queue_id)
    with pytest.raises(JenkinsNotFoundError):
        jenkins.queue_item(queue_id)
    assert jenkins.build_number_of_queue_item("app", queue_id) == 1
    assert jenkins.build_number_of_queue_item("app", 12345) is None


def test_gate_shapes_through_the_registry(standin: JenkinsStandIn, masters: JenkinsMasters) -> None:
    standin.add_job(
        "app", Param("ENV", "ChoiceParameterDefinition", "dev", ["dev", "prod"]), script=Script(build_polls=0)
    )
    standin.add_job("team/svc")
    standin.add_job("team/deep/worker")
    jenkins = masters.client("ci")
    jenkins.queue_item(jenkins.start_job("app", {"ENV": "prod"}))
    jenkins.build("app", 1)
    assert masters.names() == ["ci"]
    assert sorted(masters.list_jobs("ci")) == ["app", "team/job/deep/job/worker", "team/job/svc"]
    listed = masters.list_builds("ci", "app")
    assert [(b["number"], b["result"], b["building"]) for b in listed] == [(1, "SUCCESS", False)]
    build = masters.get_build("ci", "app", 1)
    assert (build["id"], build["name"], build["result"], build["url"]) == (
        "app-1",
        "app",
        "SUCCESS",
        f"{standin.url}job/app/1/",
    )
    config = masters.get_job_config("ci", "app")
    assert config["parameterDefinitionList"][0]["choices"] == ["dev", "prod"]
    assert masters.get_job_config("ci", "team/job/svc")["name"] == "svc"
    with pytest.raises(UnknownMasterError) as caught:
        masters.list_jobs("nope")
    assert (str(caught.value), caught.value.status) == ("Master 'nope' not found", 404)


def test_a_master_under_a_path(standin: JenkinsStandIn) -> None:
    with JenkinsStandIn(users={USER: TOKEN}, prefix="jenkins") as prefixed:
        prefixed.add_job("folder/app")
        assert prefixed.url.endswith("/jenkins/")
        client = _client(prefixed)
        try:
            queue_id = client.start_job("folder/job/app", {})
            assert builds.queued_build_number(client.queue_item(queue_id)) == 1
            assert client.build("folder/job/app", 1)["url"] == f"{prefixed.url}job/folder/job/app/1/"
        finally:
            client.close()


def test_each_thread_has_its_own_session_and_close_closes_them_all(standin: JenkinsStandIn) -> None:
    standin.add_job("app")
    client = _client(standin)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            client.start_job("app", {})
        except JenkinsError as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(client._servers) == 4
    client.close()
    assert client._servers == []


def test_a_connect_timeout_is_known_not_to_have_sent_anything(jenkins: JenkinsClient) -> None:
    # python-jenkins turns requests' ConnectTimeout into its own TimeoutException; the cause chain says
    # that nothing was sent (a real one cannot be provoked here: the sandbox answers every address)
    def raised(error: BaseException) -> BaseException:
        try:
            try:
                raise error
            except requests.Timeout as inner:
                raise pyjenkins.TimeoutException(f"Error in request: {inner}") from None
        except pyjenkins.TimeoutException as outer:
            return outer

    connect = jenkins._translate(raised(requests.ConnectTimeout("connect timed out")), "start job 'app'", None)
    read = jenkins._translate(raised(requests.ReadTimeout("read timed out")), "start job 'app'", None)
    assert isinstance(connect, JenkinsUnreachableError) and connect.maybe_sent is False
    assert isinstance(read, JenkinsUnreachableError) and read.maybe_sent is True
    assert str(read) == "Jenkins master 'ci' did not answer in 2s when asked to start job 'app'"
