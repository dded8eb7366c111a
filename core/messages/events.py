"""Echo's event delivery: the per-endpoint workflow's type, id and state, the activity's input and result
(``workflows/events.py``, ``activities/events.py``)."""

from __future__ import annotations

from dataclasses import dataclass

WORKFLOW_TYPE = "DeliverEchoEvents"
DELIVER_EVENTS = "deliver_events"
WORKFLOW_ID_PREFIX = "events-delivery:"


def workflow_id(endpoint: str) -> str:
    return WORKFLOW_ID_PREFIX + endpoint


@dataclass
class DeliverEventsInput:
    endpoint: str
    #: the last sequence number handled; None: start at the newest (a new endpoint gets what happens from now)
    cursor: int | None = None
    #: totals carried over continue-as-new
    delivered: int = 0
    dropped: int = 0
    #: the deployment's workers are versioned: each run continues as new on the build current then
    versioned: bool = False


@dataclass
class DeliverEventsResult:
    cursor: int
    delivered: int = 0
    dropped: int = 0
    #: the endpoint is no longer configured: its workflow ends
    gone: bool = False
