"""Google Chat: a card POSTed to the space's incoming-webhook address.

Echo's ``GoogleChatMessage`` sends one card with a text paragraph (HTML: ``<a>``, ``<b>``, ``<i>``)
and buttons. Gennaker sends the same text in a ``cardsV2`` card (the ``cards`` field Echo used is
deprecated) with a "View execution" button that opens the execution.
"""

from __future__ import annotations

from typing import Any

import httpx

from integrations.outbound import OutboundPolicy

from .base import SendResult, post_json
from .render import Message

CHANNEL = "googlechat"
CARD_ID = "gennaker-notification"
BUTTON_TEXT = "View execution"


def build_payload(message: Message) -> dict[str, Any]:
    """The Chat message JSON for ``message``."""
    return {
        "cardsV2": [
            {
                "cardId": CARD_ID,
                "card": {
                    "sections": [
                        {
                            "widgets": [
                                {"textParagraph": {"text": message.html}},
                                {
                                    "buttonList": {
                                        "buttons": [
                                            {"text": BUTTON_TEXT, "onClick": {"openLink": {"url": message.link}}}
                                        ]
                                    }
                                },
                            ]
                        }
                    ]
                },
            }
        ]
    }


class GoogleChatChannel:
    """POSTs :func:`build_payload` to the webhook URL in the notification's address."""

    def __init__(self, http: httpx.AsyncClient, policy: OutboundPolicy | None = None) -> None:
        self.http = http
        self.policy = policy

    async def send(self, message: Message) -> SendResult:
        return await post_json(self.http, CHANNEL, message.address, build_payload(message), policy=self.policy)
