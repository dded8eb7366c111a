"""What comes in (``Event``), what goes out (``Match``, ``MatchResult``), and the rules shared by every trigger kind.

The shared rules are Echo's ``PipelineCache`` view of Front50: only pipelines that are not
``disabled`` count, and of those only triggers whose ``enabled`` is true, grouped by their exact
``type`` string.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from core.fields import truthy
from core.parameters import with_defaults

JSON = dict[str, Any]

#: ``Event.kind`` values: Echo's ``/webhooks/webhook/{source}``, ``/webhooks/git/{source}``, and Orca's
#: dependent-pipeline listener.
WEBHOOK = "webhook"
GIT = "git"
PIPELINE = "pipeline"
KINDS = (WEBHOOK, GIT, PIPELINE)

#: who Orca records as the trigger's user when Echo starts a pipeline without a ``runAsUser``.
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Event:
    """One incoming event, as the API received it.

    ``headers`` has lower-cased names. ``event_id`` is the delivery id used for de-duplication and
    copied into the trigger's ``eventId`` (see ``events.event_id_for``).
    """

    kind: str
    source: str
    payload: JSON
    headers: Mapping[str, str]
    raw_body: bytes
    event_id: str


@dataclass(frozen=True)
class Match:
    """A pipeline to start, and the trigger to start it with (what Orca stores as ``execution.trigger``).

    ``config_trigger`` is the pipeline config's trigger entry that matched, unchanged (it may hold
    ``runAsUser`` and ``secret``; never show it to users).
    """

    pipeline: JSON
    trigger: JSON
    config_trigger: JSON = field(default_factory=dict)

    @property
    def run_as_user(self) -> str | None:
        """The service account the execution runs as, when the trigger names one (Echo trims it)."""
        value = self.config_trigger.get("runAsUser")
        return value.strip() if isinstance(value, str) and value.strip() else None


class Refusal(NamedTuple):
    """A trigger that matched the event but was not allowed to fire, and why (for logs and the API answer)."""

    pipeline_id: str
    reason: str


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one event: pipelines to start, triggers refused, or why the whole event was ignored.

    ``ignored`` is set for events Echo drops before matching (a GitHub ping, a Bitbucket branch
    deletion...); Echo then answers ``{"eventProcessed": false}``.
    """

    matches: list[Match] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    ignored: str | None = None

    @property
    def event_processed(self) -> bool:
        return self.ignored is None


def pipeline_id(pipeline: Mapping[str, Any]) -> str:
    """The Front50 id of a pipeline config, or ``application:name`` for configs without one."""
    value = pipeline.get("id")
    if isinstance(value, str) and value:
        return value
    return f"{pipeline.get('application')}:{pipeline.get('name')}"


def enabled_triggers(pipelines: Iterable[Any], trigger_type: str) -> Iterator[tuple[JSON, JSON]]:
    """(pipeline, trigger) for every enabled trigger of ``trigger_type`` on a pipeline that is not disabled."""
    for pipeline in pipelines:
        if not isinstance(pipeline, dict) or truthy(pipeline.get("disabled")):
            continue
        triggers = pipeline.get("triggers")
        if not isinstance(triggers, list):
            continue
        for trigger in triggers:
            if isinstance(trigger, dict) and trigger.get("type") == trigger_type and truthy(trigger.get("enabled")):
                yield pipeline, trigger


def trigger_user(config_trigger: Mapping[str, Any]) -> str:
    """Orca's ``trigger.user`` for an Echo-started execution: the trigger's user, its ``runAsUser``, or anonymous."""
    user = config_trigger.get("user")
    if isinstance(user, str) and user:
        return user
    run_as = config_trigger.get("runAsUser")
    if isinstance(run_as, str) and run_as.strip():
        return run_as.strip()
    return ANONYMOUS


def base_trigger(pipeline: Mapping[str, Any], config_trigger: Mapping[str, Any], given_parameters: Any) -> JSON:
    """The config trigger's own fields (never its ``secret``) plus the fields Orca gives every trigger.

    ``parameters`` are the given ones over the pipeline's ``parameterConfig`` defaults, as Orca
    fills them in when it starts the execution.
    """
    trigger = {k: copy.deepcopy(v) for k, v in config_trigger.items() if k != "secret"}
    trigger["enabled"] = True
    trigger["user"] = trigger_user(config_trigger)
    trigger["parameters"] = with_defaults(dict(pipeline), copy.deepcopy(given_parameters))
    trigger.setdefault("artifacts", [])
    trigger.setdefault("notifications", [])
    trigger["rebake"] = truthy(trigger.get("rebake"))
    trigger["dryRun"] = truthy(trigger.get("dryRun"))
    trigger["strategy"] = truthy(trigger.get("strategy"))
    return trigger
