"""Slack: ``chat.postMessage`` with a bot token, the message as one colored attachment as Echo sends it.

Echo's ``SlackNotificationAgent`` / ``SlackNotificationService`` post ``attachments`` (title, text,
color, fallback, footer, ``mrkdwn_in``) to the address as given: ``#channel``, ``channel``, a channel
id or a user id. slack-sdk's ``WebClient`` (urllib, run in a thread) speaks to the Web API; its own
retries are off, since Temporal retries the activity.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

from core.settings.notify import SlackSettings

from .base import SendResult, parse_retry_after
from .render import Message

if TYPE_CHECKING:  # slack-sdk loads when a message is sent, not with the engine (docs/architecture.md, "Footprint")
    from slack_sdk import WebClient

CHANNEL = "slack"
FOOTER = "Gennaker"

#: Slack error codes that say "later", not "never" (https://api.slack.com/methods/chat.postMessage#errors)
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission"}
)


def build_request(message: Message, *, compact: bool = False, now_s: int | None = None) -> dict[str, Any]:
    """The ``chat.postMessage`` arguments for ``message``: Echo's ``SlackAttachment``, or its
    ``CompactSlackMessage`` (text and color only) when ``compact``."""
    attachment: dict[str, Any] = {
        "fallback": message.text,
        "text": message.markdown,
        "color": message.color,
        "mrkdwn_in": ["text"],
    }
    if not compact:
        attachment = {
            "title": message.title,
            **attachment,
            "footer": FOOTER,
            "ts": int(time.time()) if now_s is None else now_s,
        }
    return {"channel": message.address, "attachments": [attachment]}


def describe_error(code: str, address: str) -> str:
    """A sentence for a Slack error code, naming what to fix."""
    if code in _AUTH_ERRORS:
        return f"Slack rejected the bot token ({code}); check notifications.slack.bot_token"
    if code == "missing_scope":
        return "the Slack bot token lacks the chat:write scope (missing_scope)"
    if code == "channel_not_found":
        return f"Slack channel '{address}' was not found (channel_not_found)"
    if code == "not_in_channel":
        return f"the Slack bot is not a member of '{address}' (not_in_channel); invite it to the channel"
    if code == "is_archived":
        return f"Slack channel '{address}' is archived (is_archived)"
    if code in ("ratelimited", "rate_limited"):
        return "Slack is rate limiting this bot (ratelimited)"
    return f"Slack answered '{code}' for channel '{address}'"


def error_retryable(code: str, status: int) -> bool:
    """Is a failed ``chat.postMessage`` worth another try? Rate limits, Slack's own faults and 5xx are."""
    return code in RETRYABLE_ERRORS or status == 429 or status >= 500


class SlackChannel:
    """Posts messages with slack-sdk's ``WebClient`` (built once, on first use)."""

    def __init__(self, settings: SlackSettings, client: WebClient | None = None) -> None:
        self.settings = settings
        self._client = client

    def _web_client(self) -> WebClient | None:
        if self._client is None and self.settings.bot_token is not None:
            from slack_sdk import WebClient

            self._client = WebClient(
                token=self.settings.bot_token.get_secret_value(),
                base_url=self.settings.base_url,
                timeout=max(1, round(self.settings.timeout_s)),
                retry_handlers=[],
            )
        return self._client

    async def send(self, message: Message) -> SendResult:
        from slack_sdk.errors import SlackApiError, SlackClientError

        client = self._web_client()
        if client is None:
            return SendResult.failed(
                CHANNEL,
                "Slack is not configured: set notifications.slack.bot_token",
                code="not_configured",
                retryable=False,
            )
        request = build_request(message, compact=self.settings.send_compact_messages)
        address = message.address
        try:
            response = await asyncio.to_thread(client.chat_postMessage, **request)
        except SlackApiError as err:
            status = err.response.status_code
            data = err.response.data if isinstance(err.response.data, dict) else {}
            code = str(data.get("error") or f"http_{status}")
            retryable = error_retryable(code, status)
            retry_after = _header(err.response.headers, "retry-after") if retryable else None
            return SendResult.failed(
                CHANNEL,
                describe_error(code, address),
                code=code,
                retryable=retryable,
                recipients=(address,),
                retry_after_s=parse_retry_after(retry_after),
            )
        except (URLError, OSError) as err:  # refused, reset, timed out, name not resolved
            reason = getattr(err, "reason", None)
            return SendResult.failed(
                CHANNEL,
                f"could not reach Slack's API: {type(reason or err).__name__}",
                code="unreachable",
                retryable=True,
                recipients=(address,),
            )
        except SlackClientError as err:
            return SendResult.failed(
                CHANNEL, f"Slack request failed: {type(err).__name__}", code="client_error", retryable=False
            )
        channel_id = str(response.get("channel") or address)
        return SendResult.ok(CHANNEL, (address,), remote_id=response.get("ts"), detail=f"posted to {channel_id}")


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name:
            return str(value[0] if isinstance(value, list) and value else value)
    return None
