"""``travis``, ``github-actions`` and ``gitlab-ci`` triggers as Echo's ``BuildEventHandler`` matches them (the
``jenkins`` trigger's rules, ``integrations/jenkins/triggers.py``, with the build service's type):

A build fires when it finished with ``SUCCESS``; a pipeline (not ``disabled``) fires when one of its
enabled triggers has this ``type``, ``master`` equal to the service's name and ``job`` equal to one of the
build's job names (Travis: ``owner/repo`` or ``owner/repo/<branch>``; GitHub: ``owner/repo/<workflow file>``;
GitLab: the project path), compared exactly. ``payloadConstraints`` need the build's properties (the
trigger's ``propertyFile``). Each pipeline starts at most once per build.

The execution's trigger gets ``buildNumber``, ``buildInfo``, ``properties``, ``link`` and ``eventId``, as
Echo's ``buildTrigger`` adds them.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from integrations.triggers.constraints import payload_constraints_match
from integrations.triggers.model import Match, base_trigger, enabled_triggers

JSON = dict[str, Any]
#: the build trigger types these services fire (``jenkins`` triggers use the same rules)
CI_TRIGGER_TYPES = ("travis", "github-actions", "gitlab-ci")
#: Echo's ``BuildEvent.Result.SUCCESS``: the only result that fires a build trigger
SUCCESS = "SUCCESS"


def is_successful_build(result: Any, building: Any = False) -> bool:
    """Echo's ``isSuccessfulTriggerEvent``: the build is done and its result is SUCCESS."""
    return building is not True and result == SUCCESS


def property_file(config_trigger: Mapping[str, Any]) -> str | None:
    """The trigger's ``propertyFile``, or None when it names none."""
    value = config_trigger.get("propertyFile")
    return value.strip() if isinstance(value, str) and value.strip() else None


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


def ci_trigger_matches(
    trigger_type: str,
    service: str,
    names: Iterable[str],
    result: Any,
    pipelines: Iterable[Any],
    *,
    building: Any = False,
) -> list[tuple[JSON, JSON]]:
    """(pipeline, config trigger) for every pipeline a finished build fires, before payload constraints."""
    if not is_successful_build(result, building):
        return []
    wanted = set(names)
    found: list[tuple[JSON, JSON]] = []
    seen: set[int] = set()
    for pipeline, config in enabled_triggers(pipelines, trigger_type):
        if config.get("master") != service or config.get("job") not in wanted or id(pipeline) in seen:
            continue
        seen.add(id(pipeline))
        found.append((pipeline, config))
    return found


def build_ci_trigger(
    pipeline: JSON,
    config_trigger: JSON,
    *,
    trigger_type: str,
    master: str,
    job: str,
    number: int,
    build_info: JSON | None,
    properties: Mapping[str, Any] | None,
    link: str | None,
    event_key: str,
) -> Match:
    """The execution trigger for one matched pipeline, as Echo builds it for a build event (every type)."""
    trigger = base_trigger(pipeline, config_trigger, {})
    trigger.update(
        type=trigger_type,
        master=master,
        job=job,
        buildNumber=number,
        eventId=event_id(event_key),
        properties=copy.deepcopy(dict(properties or {})),
    )
    if build_info is not None:
        trigger["buildInfo"] = copy.deepcopy(build_info)
    if link:
        trigger["link"] = link
    return Match(pipeline, trigger, config_trigger)
