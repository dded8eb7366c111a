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

import copy
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from integrations.triggers.constraints import payload_constraints_match
from integrations.triggers.model import Match, base_trigger, enabled_triggers

JSON = dict[str, Any]
JENKINS = "jenkins"
#: Echo's ``BuildEvent.Result.SUCCESS``: the only result that fires a build trigger
SUCCESS = "SUCCESS"


def is_successful_build(result: Any, building: Any = False) -> bool:
    """Echo's ``isSuccessfulTriggerEvent``: the build is done and its result is SUCCESS."""
    return building is not True and result == SUCCESS


def property_file(config_trigger: Mapping[str, Any]) -> str | None:
    """The trigger's ``propertyFile``, or None when it names none."""
    value = config_trigger.get("propertyFile")
    return value.strip() if isinstance(value, str) and value.strip() else None


def jenkins_trigger_matches(
    master: str, job: str, result: Any, pipelines: Iterable[Any], *, building: Any = False
) -> list[tuple[JSON, JSON]]:
    """(pipeline, config trigger) for every pipeline a finished build of ``job`` on ``master`` fires,
    before payload constraints (they need the build's properties: see :func:`constraints_met`)."""
    if not is_successful_build(result, building):
        return []
    found: list[tuple[JSON, JSON]] = []
    seen: set[int] = set()
    for pipeline, config in enabled_triggers(pipelines, JENKINS):
        if config.get("master") != master or config.get("job") != job or id(pipeline) in seen:
            continue
        seen.add(id(pipeline))
        found.append((pipeline, config))
    return found


def constraints_met(config_trigger: Mapping[str, Any], properties: Mapping[str, Any] | None) -> bool:
    """Echo's ``checkPayloadConstraintsMet``: no constraints always pass; constraints need properties that meet them."""
    constraints = config_trigger.get("payloadConstraints")
    if not constraints:
        return True
    return (
        isinstance(constraints, Mapping)
        and bool(properties)
        and payload_constraints_match(constraints, properties or {})
    )


def event_id(event_key: str) -> str:
    """The trigger's ``eventId``: the same build always gets the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, event_key))


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
    trigger = base_trigger(pipeline, config_trigger, {})
    trigger.update(
        type=JENKINS,
        master=master,
        job=job,
        buildNumber=number,
        eventId=event_id(event_key),
        properties=copy.deepcopy(properties or {}),
    )
    if build_info is not None:
        trigger["buildInfo"] = copy.deepcopy(build_info)
    if link:
        trigger["link"] = link
    return Match(pipeline, trigger, config_trigger)
