"""Which notifications an Echo event asks for: the rule of Echo's notification agents, applied to the events of the
outbox (core/store/events.py) by the notifications' reader (activities/notification_events.py).

Echo turns Orca's ``orca:<kind>:<word>`` events into notifications:

- ``orca:pipeline:starting|complete|failed`` (and ``orca:orchestration:*``) into ``pipeline.<word>``, for the
  execution's own ``notifications`` and the application's;
- ``orca:stage:starting|complete|failed|skipped`` into ``stage.<word>``, for the entries in the stage's context,
  only when the stage asks (``sendNotifications``, Deck's "send notifications" box);
- a manual judgment's start into ``manualJudgment`` and its end into ``manualJudgmentContinue`` or
  ``manualJudgmentStop`` (the stage's ``judgmentStatus``), for the entries in the stage's context.

Task events and trigger events notify nobody. Each entry is sent when its ``when`` lists the event
(``render.wants``). Pure: no store, no Temporal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .render import MANUAL_JUDGMENT, wants

JSON = dict[str, Any]
JUDGMENT_EVENTS = {"continue": "manualJudgmentContinue", "stop": "manualJudgmentStop"}
MANUAL_JUDGMENT_TYPE = "manualJudgment"


def matching(source: Any, when: str) -> list[JSON]:
    """The entries of ``source`` (a list, as in the pipeline JSON) that ask for ``when``."""
    if not isinstance(source, list):
        return []
    return [e for e in source if isinstance(e, dict) and wants(e, when)]


def stage_entries(context: Mapping[str, Any], when: str) -> list[JSON]:
    """A stage's entries for ``when``: ``stage.*`` events only when the stage asks (``sendNotifications``)."""
    if when.startswith("stage.") and context.get("sendNotifications") not in (True, "true"):
        return []
    return matching(context.get("notifications"), when)


def event_kind(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(kind, word)`` of an Orca event (``("pipeline", "complete")``, ``("stage", "starting")``), None for any
    other event (a trigger's)."""
    details = event.get("details")
    parts = str(details.get("type") or "").split(":") if isinstance(details, Mapping) else []
    if len(parts) != 3 or parts[0] != "orca":
        return None
    return parts[1], parts[2]


def stage_context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    content = event.get("content")
    context = content.get("context") if isinstance(content, Mapping) else None
    return context if isinstance(context, Mapping) else {}


def may_notify(event: Mapping[str, Any], application_entries: list[JSON]) -> bool:
    """Could the event ask for any notification? Cheap, from the event alone (the caller then looks up what the event
    does not carry): a stage event when an entry of its stage asks for its ``stage.*`` event or for a judgment's,
    an execution event when the execution or the application has entries."""
    kind = event_kind(event)
    if kind is None:
        return False
    if kind[0] == "stage":
        context = stage_context(event)
        judgments = (MANUAL_JUDGMENT,) if kind[1] == "starting" else tuple(JUDGMENT_EVENTS.values())
        return bool(stage_entries(context, f"stage.{kind[1]}")) or any(
            matching(context.get("notifications"), when) for when in judgments
        )
    if kind[0] in ("pipeline", "orchestration"):
        content = event.get("content")
        execution = content.get("execution") if isinstance(content, Mapping) else None
        own = execution.get("notifications") if isinstance(execution, Mapping) else None
        return bool(own) or bool(application_entries)
    return False


def wanted(
    event: Mapping[str, Any], *, application_entries: list[JSON], stage_type: str | None = None
) -> list[tuple[str, JSON]]:
    """``(when, entry)`` for every notification the event asks for, in Echo's order: the execution's entries, then
    the application's (execution events); ``stage.<word>`` entries, then the judgment's (stage events, whose
    ``stage_type`` the caller looks up: Orca's stage events do not carry it)."""
    kind = event_kind(event)
    if kind is None:
        return []
    what, word = kind
    if what in ("pipeline", "orchestration"):
        when = f"pipeline.{word}"
        content = event.get("content")
        execution = content.get("execution") if isinstance(content, Mapping) else None
        own = execution.get("notifications") if isinstance(execution, Mapping) else None
        return [(when, e) for e in [*matching(own, when), *matching(application_entries, when)]]
    if what != "stage":
        return []
    context = stage_context(event)
    out = [(f"stage.{word}", e) for e in stage_entries(context, f"stage.{word}")]
    if stage_type == MANUAL_JUDGMENT_TYPE:
        judged = (
            MANUAL_JUDGMENT
            if word == "starting"
            else JUDGMENT_EVENTS.get(str(context.get("judgmentStatus") or "").lower())
        )
        if judged:
            out.extend((judged, e) for e in stage_entries(context, judged))
    return out
