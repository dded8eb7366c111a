"""Igor's documents as Gate serves them: a Jenkins job's config and its builds.

Igor leaves null fields out of a build (``GenericBuild``) and keeps them in a job config (``JobConfig``); the
models follow: the routes answer only the keys Igor would.
"""

from __future__ import annotations

from typing import Any

from .base import SpinnakerDocument

Json = dict[str, Any]


class ParameterDefinition(SpinnakerDocument):
    """A job parameter as Deck shows it (``defaultParameterValue``, ``choices`` of a choice parameter)."""

    name: str | None = None
    type: str | None = None
    description: str | None = None
    default_value: Any = None
    choices: list[Any] | None = None


class RelatedJob(SpinnakerDocument):
    name: str | None = None
    url: str | None = None
    color: str | None = None


class JobConfig(SpinnakerDocument):
    """Igor's ``JobConfig``: what Deck shows as the job's parameters."""

    description: str | None
    display_name: str | None
    name: str | None
    buildable: bool
    color: str | None
    url: str | None
    parameter_definition_list: list[ParameterDefinition] | None
    upstream_project_list: list[RelatedJob] | None
    downstream_project_list: list[RelatedJob] | None
    concurrent_build: bool


class BuildTestResults(SpinnakerDocument):
    """A test report summary (an action with a ``totalCount``)."""

    fail_count: int | None = None
    skip_count: int | None = None
    total_count: int | None = None
    url_name: str | None = None


class BuildSummary(SpinnakerDocument):
    """One entry of a job's build list, newest first."""

    building: bool | None = None
    number: int | None = None
    result: str | None = None
    timestamp: str | None = None
    duration: int | None = None
    url: str | None = None
    full_display_name: str | None = None
    test_results: list[BuildTestResults] | None = None


class Build(BuildSummary):
    """Igor's ``GenericBuild``: what Orca keeps as a stage's ``buildInfo``."""

    name: str | None = None
    id: str | None = None
    artifacts: list[Json] | None = None
    scm: list[Json] | None = None


class BuildService(SpinnakerDocument):
    """Igor's ``/buildServices`` entry: a CI master (Jenkins, Travis, GitHub Actions...) and who may use it."""

    name: str
    build_service_provider: str
    permissions: dict[str, list[str]]
