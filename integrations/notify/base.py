"""The one interface every notification channel implements, its result, and the rules shared by
the HTTP channels (which answers are worth another try, how a webhook URL may be shown).

A channel never raises for the remote side: it answers a :class:`SendResult` that says whether the
message went out and, if not, whether trying again may help. The activity turns that into Temporal's
retry decision. Webhook URLs (Teams, Google Chat, generic) carry their secret in the path or query,
so only :func:`safe_url` forms of them appear in results, errors and logs. Their POSTs go through the
outbound policy (``integrations.outbound``): a refused address fails the notification, naming the rule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import httpx

from core.errors import IntegrationError
from integrations.outbound import OutboundPolicy, OutboundRefused, arequest

if TYPE_CHECKING:
    from .render import Message

# ---- errors ------------------------------------------------------------------------------------


class NotifyError(IntegrationError):
    """Base of the errors raised before anything is sent (a notification that cannot be rendered)."""


class InvalidNotificationError(NotifyError):
    """The notification entry or the event cannot make a message (unknown ``when``, no address...)."""


# ---- result ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    """What one send did. ``sent`` is False with ``error`` set when it failed; ``retryable`` tells
    whether the same send may succeed later (and ``retry_after_s`` when the other side said when)."""

    channel: str
    sent: bool
    #: where it went, with webhook URLs reduced to ``scheme://host/...``
    recipients: tuple[str, ...] = ()
    #: the remote side's id of the message (Slack's ``ts``, the email's ``Message-ID``), if any
    remote_id: str | None = None
    detail: str = ""
    error: str | None = None
    retryable: bool = False
    retry_after_s: float | None = None
    #: a short code naming the failure (``invalid_auth``, ``http_503``, ``smtp_550``, ``unsupported``)
    error_code: str | None = None

    @classmethod
    def ok(
        cls, channel: str, recipients: tuple[str, ...], remote_id: str | None = None, detail: str = ""
    ) -> SendResult:
        return cls(channel, True, recipients, remote_id, detail)

    @classmethod
    def failed(
        cls,
        channel: str,
        error: str,
        *,
        code: str,
        retryable: bool,
        recipients: tuple[str, ...] = (),
        retry_after_s: float | None = None,
    ) -> SendResult:
        return cls(
            channel,
            False,
            recipients,
            error=error,
            error_code=code,
            retryable=retryable,
            retry_after_s=retry_after_s,
        )


class Channel(Protocol):
    """A way to deliver a rendered :class:`~integrations.notify.render.Message` (Slack, email, ...)."""

    async def send(self, message: Message) -> SendResult: ...


class UnsupportedChannel:
    """Answers for a notification type Gennaker cannot send (``sms``, ``pagerduty``, ...)."""

    def __init__(self, kind: str, known: tuple[str, ...]) -> None:
        self.kind = kind
        self.known = known

    async def send(self, message: Message) -> SendResult:
        return SendResult.failed(
            self.kind or "?",
            f"notification type '{self.kind}' is not supported; supported types: {', '.join(self.known)}",
            code="unsupported",
            retryable=False,
        )


class DisabledChannel:
    """A channel switched off in the settings (``notifications.<type>.enabled: false``): nothing is sent."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    async def send(self, message: Message) -> SendResult:
        return SendResult(self.kind, False, detail=f"{self.kind} notifications are disabled in the settings")


# ---- HTTP rules --------------------------------------------------------------------------------

#: answers that say "not now" rather than "never"
RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})


def http_status_retryable(status: int) -> bool:
    """May a POST that got ``status`` succeed later? 5xx, 408, 425 and 429 may; other 4xx never."""
    return status >= 500 or status in RETRYABLE_HTTP_STATUSES


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds, from its seconds form or its HTTP-date form; None when absent or bad."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def safe_url(url: str) -> str:
    """A webhook URL fit for logs and errors: scheme and host only, since paths and queries of
    incoming-webhook URLs are the credential."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "<invalid url>"
    if not parts.scheme or not parts.hostname:
        return "<invalid url>"
    suffix = "/..." if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}{suffix}"


def check_webhook_url(url: str) -> str | None:
    """Why ``url`` cannot be POSTed to (only absolute http/https URLs can), or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "the address is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "the address must be an http(s) URL"
    if not parts.hostname:
        return "the address URL has no host"
    return None


#: looks at a 2xx body and answers ``(sentence, retryable)`` when it reports a failure after all
BodyCheck = Callable[[str], "tuple[str, bool] | None"]


# httpx logs every request's full URL at INFO; for webhook URLs that is the credential. While a
# channel posts, this filter shows httpx's log line with the URL reduced to :func:`safe_url`.
_POSTING_SECRET_URL: ContextVar[bool] = ContextVar("gennaker_notify_posting", default=False)


class _RedactWebhookUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _POSTING_SECRET_URL.get() and isinstance(record.args, tuple):
            record.args = tuple(safe_url(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


_HTTPX_FILTER = _RedactWebhookUrls()


def _redact_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if _HTTPX_FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_HTTPX_FILTER)


async def post_json(
    http: httpx.AsyncClient,
    channel: str,
    url: str,
    payload: object,
    *,
    check_body: BodyCheck | None = None,
    policy: OutboundPolicy | None = None,
) -> SendResult:
    """POST ``payload`` as JSON to ``url`` under the outbound policy (the safe defaults when none is
    given) and classify the answer (shared by the webhook-style channels)."""
    shown = safe_url(url)
    problem = check_webhook_url(url)
    if problem:
        return SendResult.failed(channel, f"{problem} ({shown})", code="invalid_address", retryable=False)
    _redact_httpx_logs()
    token = _POSTING_SECRET_URL.set(True)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    try:
        response = await arequest(
            http,
            policy or OutboundPolicy(),
            "POST",
            url.strip(),
            headers=[("Content-Type", "application/json")],
            content=body,
        )
    except OutboundRefused as err:
        # e.g. "address 169.254.169.254 is link-local (outbound.reject_link_local)": never worth a retry
        return SendResult.failed(channel, f"{shown}: {err}", code="refused", retryable=False, recipients=(shown,))
    except httpx.TransportError as err:
        # A notification sent twice beats one never sent, so even a POST that may have arrived is retried.
        return SendResult.failed(
            channel,
            f"could not reach {shown}: {type(err).__name__}",
            code="unreachable",
            retryable=True,
            recipients=(shown,),
        )
    finally:
        _POSTING_SECRET_URL.reset(token)
    status = response.status_code
    if 200 <= status < 300:
        failure = check_body(response.text) if check_body else None
        if failure is None:
            return SendResult.ok(channel, (shown,), detail=f"HTTP {status}")
        sentence, retryable = failure
        return SendResult.failed(channel, sentence, code="delivery_failed", retryable=retryable, recipients=(shown,))
    retryable = http_status_retryable(status)
    return SendResult.failed(
        channel,
        f"{shown} answered HTTP {status}" + (" (will retry)" if retryable else ""),
        code=f"http_{status}",
        retryable=retryable,
        recipients=(shown,),
        retry_after_s=parse_retry_after(response.headers.get("retry-after")) if retryable else None,
    )
