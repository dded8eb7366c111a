"""``webhook`` triggers: ``POST /webhooks/webhook/{source}`` fires every enabled trigger with that ``source``.

Echo's ``WebhookEventHandler``: the trigger's ``source`` must equal the path segment exactly
(case matters), and every ``payloadConstraints`` entry must hold (see ``constraints``). The
started trigger carries the whole body as ``payload``, the body's ``parameters`` object as
``parameters`` and its ``artifacts`` list as ``artifacts``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from .artifacts import expected_artifacts_satisfied, payload_artifacts
from .constraints import payload_constraints_match
from .errors import TriggerError
from .model import JSON, WEBHOOK, Event, Match, MatchResult, Refusal, base_trigger, enabled_triggers, pipeline_id


def webhook_parameters(payload: Mapping[str, Any]) -> JSON | None:
    """The body's ``parameters`` object (None when absent)."""
    parameters = payload.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise TriggerError("parameters: must be a JSON object")
    return parameters


def build_webhook_trigger(event: Event, pipeline: JSON, config_trigger: JSON, artifacts: list[JSON]) -> JSON:
    """The trigger Echo sends Orca for a webhook: the config trigger plus parameters, payload, artifacts and eventId."""
    trigger = base_trigger(pipeline, config_trigger, webhook_parameters(event.payload))
    trigger["payload"] = copy.deepcopy(event.payload)
    trigger["artifacts"] = copy.deepcopy(artifacts)
    trigger["eventId"] = event.event_id
    return trigger


def match_webhook(event: Event, pipelines: Iterable[Any]) -> MatchResult:
    """Pipelines whose enabled ``webhook`` triggers the event fires, and those refused (bad config, artifacts)."""
    webhook_parameters(event.payload)  # a malformed body is the sender's error, whatever matches
    artifacts = payload_artifacts(event.payload) or []
    matches: list[Match] = []
    refused: list[Refusal] = []
    for pipeline, config in enabled_triggers(pipelines, WEBHOOK):
        if config.get("source") != event.source:
            continue
        constraints = config.get("payloadConstraints")
        if constraints is not None and not isinstance(constraints, Mapping):
            refused.append(Refusal(pipeline_id(pipeline), "payloadConstraints: must be an object"))
            continue
        if constraints and not payload_constraints_match(constraints, event.payload):
            continue
        if not expected_artifacts_satisfied(config, pipeline, artifacts):
            refused.append(
                Refusal(pipeline_id(pipeline), "no received artifact matches the trigger's expectedArtifactIds")
            )
            continue
        match = Match(pipeline, build_webhook_trigger(event, pipeline, config, artifacts), config)
        if match not in matches:
            matches.append(match)
    return MatchResult(matches, refused)
