"""The ``send_notification`` activity: Echo's job of telling people about a pipeline, a stage or a
manual judgment, over Slack, email, Microsoft Teams, Google Chat or a webhook.

The workflow decides who to tell (``integrations.notify.wants`` applies Echo's ``when`` rule) and
evaluates expressions in custom text; this activity renders the message and sends it once. Failures
that may pass (connection refused, 5xx, Slack ``ratelimited``, SMTP 4xx) raise a retryable
``ApplicationError`` so Temporal tries again, after the server's ``Retry-After`` when it gave one;
failures that will not (bad token, unknown channel, 4xx, SMTP 5xx, unsupported type, missing
settings) raise a non-retryable one. Secrets from the settings never reach errors or logs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from core.observability import metrics
from core.settings.notify import NotificationSettings
from integrations.notify.base import InvalidNotificationError, SendResult
from integrations.notify.registry import build_channels, channel_for
from integrations.notify.render import ExecutionSummary, render_message
from integrations.outbound import OutboundPolicy, guarded_async_client, policy_from

SEND_NOTIFICATION = "send_notification"

#: Temporal error types raised by ``send_notification``
RETRYABLE_ERROR = "NotificationRetryable"
UNSUPPORTED_ERROR = "NotificationUnsupported"
NOT_CONFIGURED_ERROR = "NotificationNotConfigured"
INVALID_ERROR = "NotificationInvalid"
REJECTED_ERROR = "NotificationRejected"

#: what callers should run the activity with: a few minutes of retries, then give up (Echo never retries)
START_TO_CLOSE_TIMEOUT = timedelta(minutes=2)
RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=8,
)
_MASK = "**********"


@dataclass
class SendNotificationInput:
    """One notification entry (as in the pipeline or stage JSON), the event and the execution."""

    #: ``{"type": "slack", "address": "#deploys", "cc": ..., "when": [...], "message": {<when>: {"text": ...}}}``
    notification: dict[str, Any]
    #: ``pipeline.starting|complete|failed``, ``stage.*``, ``manualJudgment``, ``manualJudgmentContinue|Stop``
    when: str
    execution: ExecutionSummary
    #: identifies this event to receivers (webhook ``eventId``); defaults to one stable across retries
    event_id: str | None = None
    #: set when the message text holds expressions: the activity evaluates it against the execution
    #: (and this stage) as the store has it, so the workflow never holds the execution for it
    execution_id: str | None = None
    stage_id: str | None = None


@dataclass
class SendNotificationResult:
    """What was sent. ``sent`` is False only when the channel is disabled in the settings."""

    type: str
    when: str
    sent: bool
    subject: str
    #: where it went; webhook URLs are shown as ``scheme://host/...`` since their paths are secrets
    recipients: list[str] = field(default_factory=list)
    #: the remote side's id of the message (Slack ``ts``, email ``Message-ID``)
    remote_id: str | None = None
    detail: str = ""


class NotifyActivities:
    """The notification activity around the channels built from ``settings`` (one shared HTTP client)."""

    def __init__(
        self,
        settings: NotificationSettings,
        http: httpx.AsyncClient | None = None,
        *,
        policy: OutboundPolicy | None = None,
        clock_ms: Callable[[], int] | None = None,
        store: Any = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.policy = policy or OutboundPolicy()
        self._owns_http = http is None
        self._http = http or guarded_async_client(self.policy, timeout=settings.http_timeout_s)
        self.channels = build_channels(settings, self._http, self.policy)
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._secrets = [
            secret.get_secret_value()
            for secret in (settings.slack.bot_token, settings.email.password, settings.sms.auth_token)
            if secret is not None and secret.get_secret_value()
        ]

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._owns_http:
            await self._http.aclose()

    @activity.defn(name=SEND_NOTIFICATION)
    async def send_notification(self, inp: SendNotificationInput) -> SendNotificationResult:
        """Render the notification for ``inp.when`` and send it once over its channel."""
        entry = inp.notification if isinstance(inp.notification, dict) else {}
        kind = str(entry.get("type") or "").strip().lower()
        if inp.execution_id and self.store is not None:
            entry = await self._evaluated(entry, inp)
        try:
            message = render_message(
                entry,
                inp.when,
                inp.execution,
                self.settings.base_url,
                event_id=inp.event_id or _default_event_id(),
                created_ms=self._clock_ms(),
            )
        except InvalidNotificationError as err:
            raise self._error(str(err), INVALID_ERROR, kind, code="invalid") from None

        result = await channel_for(self.channels, kind).send(message)
        metrics.notification_sent(kind, _outcome(result))
        if result.error is None:
            if result.sent:
                activity.logger.info(
                    "%s notification for %s of %s sent to %s",
                    kind,
                    inp.when,
                    inp.execution.execution_id,
                    ", ".join(result.recipients),
                )
            else:
                activity.logger.info("%s notification for %s not sent: %s", kind, inp.when, result.detail)
            return SendNotificationResult(
                type=kind,
                when=inp.when,
                sent=result.sent,
                subject=message.subject,
                recipients=list(result.recipients),
                remote_id=result.remote_id,
                detail=result.detail,
            )
        raise self._failure(kind, inp, result)

    async def _evaluated(self, entry: dict[str, Any], inp: SendNotificationInput) -> dict[str, Any]:
        """The entry with its message text evaluated against the stored execution (Orca's roots)."""
        from core.store import NotFoundError
        from integrations.notify.render import evaluate_text

        try:
            execution = await asyncio.to_thread(self.store.executions.get, inp.execution_id)
        except NotFoundError:
            return entry
        stage = next((s for s in execution.get("stages") or [] if s.get("id") == inp.stage_id), None)
        return evaluate_text(entry, inp.when, execution, stage, self._clock_ms())

    # -- errors

    def _failure(self, kind: str, inp: SendNotificationInput, result: SendResult) -> ApplicationError:
        text = f"{kind or 'notification'} notification for {inp.when} failed: {result.error}"
        if result.retryable:
            delay = timedelta(seconds=result.retry_after_s) if result.retry_after_s else None
            activity.logger.warning("%s (will retry)", self._scrub(text))
            return self._error(text, RETRYABLE_ERROR, kind, result, retryable=True, delay=delay)
        error_type = {"unsupported": UNSUPPORTED_ERROR, "not_configured": NOT_CONFIGURED_ERROR}.get(
            result.error_code or "", REJECTED_ERROR
        )
        activity.logger.warning("%s", self._scrub(text))
        return self._error(text, error_type, kind, result)

    def _error(
        self,
        text: str,
        error_type: str,
        kind: str,
        result: SendResult | None = None,
        *,
        code: str | None = None,
        retryable: bool = False,
        delay: timedelta | None = None,
    ) -> ApplicationError:
        details = {
            "type": kind,
            "code": (result.error_code if result else None) or code,
            "recipients": [self._scrub(r) for r in (result.recipients if result else ())],
        }
        return ApplicationError(
            self._scrub(text), details, type=error_type, non_retryable=not retryable, next_retry_delay=delay
        )

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
        return text


def _outcome(result: SendResult) -> str:
    if result.error is None:
        return "sent" if result.sent else "disabled"
    return "retrying" if result.retryable else "failed"


def _default_event_id() -> str:
    """An id stable across retries of one activity: derived from its workflow and activity ids."""
    try:
        info = activity.info()
    except RuntimeError:
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"gennaker:{info.workflow_run_id}:{info.activity_id}"))


def build(settings: Any, client: Any = None, store: Any = None) -> list[Callable[..., Any]]:
    """The notification activity, configured from ``settings.notifications`` (defaults when absent).
    ``client`` (the Temporal client) is unused. Webhook-style channels follow ``settings.outbound``;
    message text with expressions is evaluated against ``store``'s copy of the execution."""
    configured = getattr(settings, "notifications", None)
    acts = NotifyActivities(
        configured if isinstance(configured, NotificationSettings) else NotificationSettings(),
        policy=policy_from(settings),
        store=store,
    )
    return [acts.send_notification]


__all__ = [
    "RETRY_POLICY",
    "SEND_NOTIFICATION",
    "START_TO_CLOSE_TIMEOUT",
    "NotifyActivities",
    "SendNotificationInput",
    "SendNotificationResult",
    "build",
]
