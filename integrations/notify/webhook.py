"""A generic webhook: the event, shaped like the events Echo's REST listener POSTs, as JSON to the address.

The body follows Echo's ``Event`` (``details``, ``content``, ``eventId``) so receivers written for
Echo's ``rest.endpoints`` can read it; ``details.type`` is Orca's ``orca:<level>:<status>`` (manual
judgment events count as stage events, as Echo maps them), and ``content.when`` names the exact
notification event. ``message`` adds the rendered subject, text and link.
"""

from __future__ import annotations

from typing import Any

import httpx

from integrations.outbound import OutboundPolicy

from .base import SendResult, post_json
from .render import Message

CHANNEL = "webhook"


def build_event(message: Message) -> dict[str, Any]:
    """The JSON body POSTed for ``message``."""
    ex = message.execution
    event = message.event
    level = "stage" if event.is_judgment else event.level
    execution: dict[str, Any] = {
        "id": ex.execution_id,
        "type": "PIPELINE",
        "application": ex.application,
        "name": ex.pipeline_name,
        "status": ex.status,
    }
    trigger: dict[str, Any] = {"user": ex.trigger_user}
    if ex.build_number is not None or ex.build_url:
        trigger["buildInfo"] = _without_nulls({"number": ex.build_number, "url": ex.build_url})
    execution["trigger"] = _without_nulls(trigger)
    content: dict[str, Any] = {
        "execution": _without_nulls(execution),
        "executionId": ex.execution_id,
        "when": event.when,
    }
    if level == "stage":
        content["name"] = ex.stage_name
        content["context"] = _without_nulls(
            {
                "stageDetails": _without_nulls({"name": ex.stage_name, "refId": ex.stage_ref_id}),
                "instructions": ex.instructions,
                "judgmentInput": ex.judgment_input,
                "lastModifiedBy": ex.judged_by,
            }
        )
    return {
        "details": {
            "source": "orca",
            "type": f"orca:{level}:{event.status}",
            "created": str(message.created_ms),
            "application": ex.application,
        },
        "content": _without_nulls(content),
        "message": {"subject": message.subject, "text": message.text, "link": message.link},
        "eventId": message.event_id,
    }


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


class WebhookChannel:
    """POSTs :func:`build_event` to the notification's address."""

    def __init__(self, http: httpx.AsyncClient, policy: OutboundPolicy | None = None) -> None:
        self.http = http
        self.policy = policy

    async def send(self, message: Message) -> SendResult:
        return await post_json(self.http, CHANNEL, message.address, build_event(message), policy=self.policy)
