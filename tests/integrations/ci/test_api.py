"""Gate's CI reads for the CI services over HTTP (``/v2/builds``, ``/v3/builds``, ``/buildServices``) against
the stand-ins, next to a Jenkins master; and the settings' rules (unique names, secrets, permissions)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings
from core.settings.ci import CiSettings, build_service_permissions
from tests.api.conftest import serve_api
from tests.integrations.ci.github_standin import GitHubStandIn
from tests.integrations.ci.travis_standin import TravisStandIn
from tests.integrations.jenkins.conftest import TOKEN, USER
from tests.integrations.jenkins.jenkins_standin import JenkinsStandIn

pytestmark = pytest.mark.temporal


async def test_services_jobs_and_builds(client, tmp_path, travis_standin: TravisStandIn, github_standin: GitHubStandIn):
    travis_standin.add_repo("org/app")
    travis_standin.add_build("org/app", "passed")
    github_standin.add_repo("org/app")
    github_standin.add_workflow("org/app", "ci.yml")
    github_standin.add_run("org/app", "ci.yml", "failure")
    with JenkinsStandIn(users={USER: TOKEN}) as jenkins:
        master = {"name": "ci", "address": jenkins.url, "username": USER, "apiToken": TOKEN, "timeout": 2.0}
        ci = {
            "travis": [
                {
                    "name": "travis",
                    "address": travis_standin.url,
                    "token": travis_standin.token,
                    "permissions": {"READ": ["dev"], "WRITE": ["dev"]},
                }
            ],
            "githubActions": [
                {
                    "name": "gha",
                    "address": github_standin.url,
                    "token": github_standin.token,
                    "repositories": ["org/app"],
                }
            ],
        }
        async with serve_api(client, tmp_path, jenkins={"masters": [master]}, ci=ci) as api:
            assert (await api.http.get("/v2/builds")).json() == ["ci", "travis", "gha"]
            assert (await api.http.get("/v3/builds", params={"type": "travis"})).json() == ["travis"]
            assert (await api.http.get("/v3/builds", params={"type": "github-actions"})).json() == ["gha"]
            assert (await api.http.get("/v3/builds", params={"type": "jenkins"})).json() == ["ci"]
            bad = await api.http.get("/v3/builds", params={"type": "hipchat"})
            assert bad.status_code == 400 and "type" in bad.json()["message"]
            assert (await api.http.get("/buildServices")).json() == [
                {"name": "ci", "buildServiceProvider": "JENKINS", "permissions": {}},
                {
                    "name": "travis",
                    "buildServiceProvider": "TRAVIS",
                    "permissions": {"READ": ["dev"], "WRITE": ["dev"]},
                },
                {"name": "gha", "buildServiceProvider": "GITHUB_ACTIONS", "permissions": {}},
            ]
            assert (await api.http.get("/v3/builds/travis/jobs")).json() == ["org/app"]
            assert (await api.http.get("/v3/builds/gha/jobs")).json() == ["org/app/ci.yml"]
            travis_builds = (await api.http.get("/v3/builds/travis/builds", params={"job": "org/app"})).json()
            assert [(b["number"], b["result"]) for b in travis_builds] == [(1, "SUCCESS")]
            run = (await api.http.get("/v3/builds/gha/build/1", params={"job": "org/app/ci.yml"})).json()
            assert (run["number"], run["result"], run["building"]) == (1, "FAILURE", False)
            config = (await api.http.get("/v3/builds/gha/jobConfig", params={"job": "org/app/ci.yml"})).json()
            assert config["name"] == "org/app/ci.yml" and config["buildable"] is True
            missing = await api.http.get("/v3/builds/gha/builds", params={"job": "org/app/none.yml"})
            assert missing.status_code == 404 and github_standin.token not in missing.text
            github_standin.fail_next("GET", "/runs$", 502)
            down = await api.http.get("/v3/builds/gha/builds", params={"job": "org/app/ci.yml"})
            assert down.status_code == 502 and "gha" in down.json()["message"]


def test_names_are_unique_and_tokens_stay_secret() -> None:
    with pytest.raises(ValidationError) as repeated:
        CiSettings.model_validate(
            {"travis": [{"name": "a", "token": "t0ps3cret"}], "githubActions": [{"name": "a", "token": "x"}]}
        )
    assert "repeated: a" in str(repeated.value) and "t0ps3cret" not in str(repeated.value)
    with pytest.raises(ValidationError) as bad:
        CiSettings.model_validate({"travis": [{"name": "t", "address": "ftp://x", "token": "t0ps3cret"}]})
    assert "address" in str(bad.value) and "t0ps3cret" not in str(bad.value)
    settings = CiSettings.model_validate({"githubActions": [{"name": "g", "token": "t0ps3cret"}]})
    assert "t0ps3cret" not in repr(settings) and settings.github_actions[0].secret() == "t0ps3cret"


def test_permissions_come_from_the_service_and_auth_overrides_them(tmp_path) -> None:
    settings = Settings.model_validate(
        {
            "state_dir": tmp_path,
            "ci": {"travis": [{"name": "t", "permissions": {"READ": ["dev"]}}, {"name": "u"}]},
            "auth": {"build_services": {"t": {"READ": ["ops"]}, "jenkins": {"WRITE": ["ops"]}}},
        }
    )
    assert build_service_permissions(settings) == {"t": {"READ": ["ops"]}, "jenkins": {"WRITE": ["ops"]}}
    assert build_service_permissions(
        Settings.model_validate(
            {"state_dir": tmp_path, "ci": {"travis": [{"name": "t", "permissions": {"READ": ["dev"]}}]}}
        )
    ) == {"t": {"READ": ["dev"]}}
