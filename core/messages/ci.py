"""The CI stages' activity names (``travis``, ``github-actions``, ``gitlab-ci``): the stage definitions
(``workflows/stages/ci.py``) plan them, ``activities/ci.py`` registers them; both import them from here."""

from __future__ import annotations

START_CI_JOB = "start_ci_job"
WAIT_FOR_CI_JOB_START = "wait_for_ci_job_start"
MONITOR_CI_JOB = "monitor_ci_job"
GET_CI_BUILD_PROPERTIES = "get_ci_build_properties"
STOP_CI_JOB = "stop_ci_job"
ACTIVITY_NAMES = (START_CI_JOB, WAIT_FOR_CI_JOB_START, MONITOR_CI_JOB, GET_CI_BUILD_PROPERTIES, STOP_CI_JOB)

#: the stage (and trigger) types of the build services, as their ``BuildService.type``
TRAVIS = "travis"
GITHUB_ACTIONS = "github-actions"
GITLAB_CI = "gitlab-ci"

#: the on-failure stage that still reads a failed CI build's properties, and the context key naming the
#: type of the stage it follows (its activity checks the service against it)
GET_CI_PROPERTIES_STAGE = "getCiProperties"
BUILD_SERVICE_TYPE = "buildServiceType"
