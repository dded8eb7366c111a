"""``jenkins`` triggers as Echo's ``BuildEventHandler`` matches them, as pure functions (table tests in
``tests/integrations/jenkins/test_triggers_matching.py``).

A build event fires a pipeline when the build finished with ``SUCCESS`` (not building; UNSTABLE,
FAILURE, ABORTED and NOT_BUILT never fire), the pipeline is not ``disabled``, and one of its triggers
has ``type: jenkins``, ``enabled: true``, ``master`` equal to the master's name and ``job`` equal to the
job's full name (folders as ``folder/job/name``), both compared exactly. A trigger with
``payloadConstraints`` also needs the build's properties (its ``propertyFile``) to meet them. Each
pipeline starts at most once per build, with its first matching trigger.

The execution's trigger is the config trigger with ``buildNumber``, ``buildInfo`` (Igor's
``GenericBuild``), ``properties`` (from the property file; empty without one), ``link`` (the build's
URL) and ``eventId`` added, as Echo's ``buildTrigger`` adds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from integrations.ci.triggers import (
    SUCCESS,
    build_ci_trigger,
    ci_trigger_matches,
    constraints_met,
    event_id,
    is_successful_build,
    property_file,
)
from integrations.triggers.model import Match

JSON = dict[str, Any]
JENKINS = "jenkins"

__all__ = [
    "JENKINS",
    "SUCCESS",
    "build_jenkins_trigger",
    "constraints_met",
    "event_id",
    "is_successful_build",
    "jenkins_trigger_matches",
    "property_file",
]


def jenkins_trigger_matches(
    master: str, job: str, result: Any, pipelines: Iterable[Any], *, building: Any = False
) -> list[tuple[JSON, JSON]]:
    """(pipeline, config trigger) for every pipeline a finished build of ``job`` on ``master`` fires,
    before payload constraints (they need the build's properties: see :func:`constraints_met`). The rules
    are every build trigger's (``integrations/ci/triggers.py``)."""
    return ci_trigger_matches(JENKINS, master, [job], result, pipelines, building=building)


def build_jenkins_trigger(
    pipeline: JSON,
    config_trigger: JSON,
    *,
    master: str,
    job: str,
    number: int,
    build_info: JSON | None,
    properties: JSON | None,
    link: str | None,
    event_key: str,
) -> Match:
    """The execution trigger for one matched pipeline, as Echo builds it for a build event."""
    return build_ci_trigger(
        pipeline,
        config_trigger,
        trigger_type=JENKINS,
        master=master,
        job=job,
        number=number,
        build_info=build_info,
        properties=properties,
        link=link,
        event_key=event_key,
    )
