"""Gate's CI reads for a GitLab CI service over HTTP (``/v3/builds?type=gitlab-ci``, ``/buildServices``,
jobs, builds, a build, jobConfig) through python-gitlab against the stand-in, with errors as Gate answers them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import serve_api
from tests.integrations.ci.gitlab_standin import GitLabStandIn

pytestmark = pytest.mark.temporal


async def test_gitlab_service_jobs_and_builds(client: Any, tmp_path: Any, gitlab_standin: GitLabStandIn) -> None:
    gitlab_standin.add_project("group/app")
    ok = gitlab_standin.add_pipeline("group/app")
    failed = gitlab_standin.add_pipeline("group/app", "failed", "v1.0")
    ci = {
        "gitlabCi": [
            {
                "name": "gitlab",
                "address": gitlab_standin.url,
                "privateToken": gitlab_standin.token,
                "permissions": {"READ": ["dev"]},
            }
        ]
    }
    async with serve_api(client, tmp_path, ci=ci) as api:
        assert (await api.http.get("/v3/builds", params={"type": "gitlab-ci"})).json() == ["gitlab"]
        assert (await api.http.get("/v3/builds", params={"type": "travis"})).json() == []
        assert (await api.http.get("/buildServices")).json() == [
            {"name": "gitlab", "buildServiceProvider": "GITLAB_CI", "permissions": {"READ": ["dev"]}}
        ]
        assert (await api.http.get("/v3/builds/gitlab/jobs")).json() == ["group/app"]
        builds = (await api.http.get("/v3/builds/gitlab/builds", params={"job": "group/app"})).json()
        assert [(b["number"], b["result"]) for b in builds] == [(failed.id, "FAILURE"), (ok.id, "SUCCESS")]
        build = (await api.http.get(f"/v3/builds/gitlab/build/{ok.id}", params={"job": "group/app"})).json()
        assert (build["number"], build["result"], build["fullDisplayName"]) == (ok.id, "SUCCESS", f"main ({ok.id})")
        config = (await api.http.get("/v3/builds/gitlab/jobConfig", params={"job": "group/app"})).json()
        assert config["name"] == "group/app" and config["url"].endswith(f"/pipelines/{failed.id}")
        missing = await api.http.get("/v3/builds/gitlab/builds", params={"job": "group/none"})
        assert missing.status_code == 404 and gitlab_standin.token not in missing.text
        gitlab_standin.fail_next("GET", "/pipelines$", 502)
        down = await api.http.get("/v3/builds/gitlab/builds", params={"job": "group/app"})
        assert down.status_code == 502 and "gitlab" in down.json()["message"]
