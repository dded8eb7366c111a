"""Microsoft Teams: an Office 365 connector ``MessageCard`` POSTed to the incoming-webhook address.

Pipeline and stage events follow Echo's ``MicrosoftTeamsNotificationAgent`` (facts: application,
execution name, stage name, custom message, status, summary; a "View Execution" button). Manual
judgment events follow ``MicrosoftTeamsNotificationService`` (an "Event Notification" section whose
``Message`` fact is the subject and whose ``Summary`` is the ``body-microsoftteams`` text).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from integrations.outbound import OutboundPolicy

from .base import SendResult, post_json
from .render import Message

CHANNEL = "microsoftteams"
CARD_TITLE = "Gennaker Notification"
VIEW_EXECUTION = "View Execution"
BUTTON_HINT = "For more details, please click the View Execution button below."
#: Echo's theme colors (no leading ``#``)
THEME_COLORS = {"failed": "EB1A1A", "complete": "73DB69"}
DEFAULT_THEME_COLOR = "0076D7"


def build_card(message: Message) -> dict[str, Any]:
    """The MessageCard JSON for ``message``."""
    event = message.event
    if event.is_judgment:
        # Echo's judgment cards carry no status color; the body states the outcome.
        parts = [] if event.when == "manualJudgment" else [message.headline]
        parts += [message.custom_text or "", *message.notes, BUTTON_HINT]
        summary = "\n\n".join(part for part in parts if part)
        facts = [_fact("Message", message.subject), _fact("Summary", summary)]
        section_title, color = "Event Notification", DEFAULT_THEME_COLOR
    else:
        ex = message.execution
        summary = message.headline
        facts = [
            _fact("Application Name", ex.application),
            _fact("Execution Name", ex.pipeline_name),
            _fact("Stage Name", ex.stage_name if event.level == "stage" else None),
            _fact("Message", message.custom_text),
            _fact("Status", event.status.capitalize()),
            _fact("Summary", summary),
        ]
        section_title, color = message.title, THEME_COLORS.get(event.status, DEFAULT_THEME_COLOR)
    return {
        "@context": "http://schema.org/extensions",
        "@type": "MessageCard",
        "correlationId": message.event_id,
        "summary": summary,
        "themeColor": color,
        "title": CARD_TITLE,
        "sections": [
            {
                "activityTitle": section_title,
                "facts": [fact for fact in facts if fact],
                "potentialAction": [
                    {
                        "@type": "OpenUri",
                        "name": VIEW_EXECUTION,
                        "targets": [{"os": "default", "uri": message.link}],
                    }
                ],
            }
        ],
    }


def _fact(name: str, value: str | None) -> dict[str, str] | None:
    return {"name": name, "value": value} if value else None


_DELIVERY_FAILED = re.compile(r"webhook message delivery failed", re.IGNORECASE)
_REMOTE_STATUS = re.compile(r"HTTP error (\d{3})")


def body_failure(text: str) -> tuple[str, bool] | None:
    """Teams connectors may answer 200 with "Webhook message delivery failed with error: ... HTTP
    error 429": ``(sentence, retryable)`` for such a body, None for a real success."""
    if not _DELIVERY_FAILED.search(text):
        return None
    match = _REMOTE_STATUS.search(text)
    status = int(match.group(1)) if match else 0
    return (
        f"Microsoft Teams could not deliver the message (remote HTTP {status or 'error'})",
        status == 429 or status >= 500,
    )


class TeamsChannel:
    """POSTs :func:`build_card` to the incoming-webhook URL in the notification's address."""

    def __init__(self, http: httpx.AsyncClient, policy: OutboundPolicy | None = None) -> None:
        self.http = http
        self.policy = policy

    async def send(self, message: Message) -> SendResult:
        return await post_json(
            self.http, CHANNEL, message.address, build_card(message), check_body=body_failure, policy=self.policy
        )
