"""Fixtures for the Jenkins tests: a stand-in Jenkins per test, and masters that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.settings.jenkins import JenkinsMaster
from integrations.jenkins.client import JenkinsClient, JenkinsMasters
from tests.integrations.jenkins.jenkins_standin import JenkinsStandIn

USER, TOKEN = "spinnaker", "11f6b1b2c3d4-secret-token"


def master_for(standin: JenkinsStandIn, name: str = "ci", **kw: Any) -> JenkinsMaster:
    fields: dict[str, Any] = {"username": USER, "api_token": TOKEN, "timeout": 2.0, **kw}
    return JenkinsMaster(name=name, address=standin.url, **fields)


@pytest.fixture
def standin() -> Iterator[JenkinsStandIn]:
    with JenkinsStandIn(users={USER: TOKEN, "viewer": "viewer-token"}, readers={"viewer"}) as served:
        yield served


@pytest.fixture
def masters(standin: JenkinsStandIn) -> Iterator[JenkinsMasters]:
    registry = JenkinsMasters([master_for(standin)])
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture
def jenkins(masters: JenkinsMasters) -> JenkinsClient:
    return masters.client("ci")
