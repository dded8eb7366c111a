"""A stand-in Travis and a stand-in GitHub per test, and the real clients pointed at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.settings.ci import GitHubActionsServiceSettings, GitLabCiServiceSettings, TravisServiceSettings
from integrations.ci.github_actions import GitHubActionsService
from integrations.ci.travis import TravisService
from tests.integrations.ci.github_standin import GitHubStandIn
from tests.integrations.ci.gitlab_standin import GitLabStandIn
from tests.integrations.ci.travis_standin import TravisStandIn


@pytest.fixture
def travis_standin() -> Iterator[TravisStandIn]:
    with TravisStandIn() as served:
        assert isinstance(served, TravisStandIn)
        yield served


@pytest.fixture
def github_standin() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as served:
        assert isinstance(served, GitHubStandIn)
        yield served


def travis_settings(standin: TravisStandIn, name: str = "travis", **kw: object) -> TravisServiceSettings:
    return TravisServiceSettings.model_validate(
        {"name": name, "address": standin.url, "token": standin.token, "timeout": 2.0, **kw}
    )


def github_settings(standin: GitHubStandIn, name: str = "gha", **kw: object) -> GitHubActionsServiceSettings:
    return GitHubActionsServiceSettings.model_validate(
        {"name": name, "address": standin.url, "token": standin.token, "timeout": 2.0, **kw}
    )


@pytest.fixture
def travis(travis_standin: TravisStandIn) -> Iterator[TravisService]:
    service = TravisService(travis_settings(travis_standin))
    yield service
    service.close()


@pytest.fixture
def github(github_standin: GitHubStandIn) -> Iterator[GitHubActionsService]:
    service = GitHubActionsService(github_settings(github_standin, repositories=["org/app"]))
    yield service
    service.close()


@pytest.fixture
def gitlab_standin() -> Iterator[GitLabStandIn]:
    with GitLabStandIn() as served:
        assert isinstance(served, GitLabStandIn)
        yield served


def gitlab_settings(standin: GitLabStandIn, name: str = "gitlab", **kw: object) -> GitLabCiServiceSettings:
    return GitLabCiServiceSettings.model_validate(
        {"name": name, "address": standin.url, "token": standin.token, "timeout": 2.0, **kw}
    )
