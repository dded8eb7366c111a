"""Gate's CI reads over HTTP (`/v2/builds`, `/v3/builds/...`), against the Jenkins stand-in."""

from __future__ import annotations

import pytest

from tests.api.conftest import serve_api
from tests.integrations.jenkins.conftest import TOKEN, USER
from tests.integrations.jenkins.jenkins_standin import JenkinsStandIn

pytestmark = pytest.mark.temporal


async def test_masters_jobs_and_builds(client, tmp_path):
    with JenkinsStandIn(users={USER: TOKEN}) as jenkins:
        jenkins.add_job("build-app")
        master = {"name": "ci", "address": jenkins.url, "username": USER, "apiToken": TOKEN, "timeout": 2.0}
        async with serve_api(client, tmp_path, jenkins={"masters": [master]}) as api:
            assert (await api.http.get("/v2/builds")).json() == ["ci"]
            assert "build-app" in (await api.http.get("/v3/builds/ci/jobs")).json()
            assert (await api.http.get("/v3/builds/ci/builds", params={"job": "build-app"})).json() == []
            missing = await api.http.get("/v3/builds/nope/jobs")
            assert missing.status_code == 404 and "nope" in missing.json()["message"]
            unknown_job = await api.http.get("/v3/builds/ci/builds", params={"job": "nothing-here"})
            assert unknown_job.status_code == 404
            assert TOKEN not in unknown_job.text
