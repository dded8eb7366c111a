"""The webhook stage's activities: call the webhook, poll its status URL, call its cancel endpoint.

Behaviour follows Orca's ``orca-webhook`` (``WebhookService``, ``WebhookResponseProcessor``,
``WebhookStatusCheckUrlRetriever``, ``MonitorWebhookTask``): what it reads from the stage context,
what it writes under ``webhook`` / ``webhook.monitor``, and which answers retry. The decisions are
pure functions in :mod:`activities.webhook_rules` (tested as tables); :class:`WebhookActivities` does
the HTTP around them.

Retries: a create call that may be repeated safely (5xx, 429, ``webhookRetryStatusCodes``, a
connection that never opened, a GET that timed out) raises a retryable ``ApplicationError`` so
Temporal calls it again 10 s later (Orca's backoff); every other failure is a TERMINAL result with
Orca's ``webhook.error`` text, which is what users read in the execution. The monitor never raises
for the remote side: like Orca it answers RUNNING and is polled again.

Every call goes through the outbound policy (``integrations.outbound``): the URL and each redirect
are checked, the connection goes only to a vetted address, the body is read streaming up to
``outbound.max_response_bytes``, and at most ``outbound.webhook_kept_body_bytes`` of it is kept in
the execution (Orca keeps it all). A refused call is a TERMINAL stage naming the rule.

Header values and payloads are never logged: they carry tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.fields import truthy
from core.status import ExecutionStatus
from core.tasks import CANCEL_WEBHOOK, CREATE_WEBHOOK, JSON, MONITOR_WEBHOOK, TaskInput, TaskResult, cancel_configured
from integrations.outbound import (
    OutboundPolicy,
    OutboundRefused,
    OutboundResponse,
    guarded_client,
    policy_from,
)
from integrations.outbound import request as outbound_request

from .heartbeat import heartbeating
from .webhook_rules import (
    CONNECT_TIMEOUT_S,
    CREATE_RETRY_DELAY,
    MAX_BODY_BYTES,
    READ_TIMEOUT_S,
    CreateOutcome,
    StatusUrlError,
    WebhookError,
    create_outcome,
    encode_payload,
    evaluate_status,
    fail_fast_status_codes,
    fit_body,
    monitor_backoff_ms,
    monitor_should_retry,
    parse_body,
    parse_method,
    parse_status_codes,
    read_json_path,
    request_headers,
    resolve_status_url,
    single_value_headers,
    status_code_name,
    transport_error_retryable,
    validate_url,
    without_nulls,
)

#: Temporal error type of a create call that should be made again.
RETRYABLE_ERROR = "WebhookRetryable"


def _describe(error: Exception) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _safe_url(url: str) -> str:
    """A URL for logs: no credentials, query or fragment (they may hold tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


# ---- activities --------------------------------------------------------------------------------

ClientSource = httpx.Client | Callable[[], httpx.Client]


class WebhookActivities:
    """The webhook stage's activities around one shared ``httpx.Client`` (built by the worker)."""

    def __init__(
        self,
        client: ClientSource,
        *,
        policy: OutboundPolicy | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self._policy = policy or OutboundPolicy()
        self._client_source = client
        self._client: httpx.Client | None = client if isinstance(client, httpx.Client) else None
        self._max_body_bytes = max_body_bytes
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    # -- create

    @activity.defn(name=CREATE_WEBHOOK)
    def create_webhook(self, inp: TaskInput) -> TaskResult:
        """Orca's ``CreateWebhookTask``: call ``url`` once and record the answer under ``webhook``."""
        ctx = inp.context
        url = ctx.get("url")
        try:
            method = parse_method(ctx.get("method"))
            headers = request_headers(ctx.get("customHeaders"))
            problem = validate_url(url)
            if problem:
                raise ValueError(problem)
        except ValueError as err:
            return self._failed(inp, {}, self._client_error(inp, url, err))
        assert isinstance(url, str)
        url = url.strip()
        try:
            response = self._send(method, url, headers, ctx.get("payload"))
        except OutboundRefused as err:
            return self._failed(inp, {}, refused_message(url, err))
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            if transport_error_retryable(err, method):
                raise self._retry(
                    f"Could not reach webhook for pipeline {inp.execution_id} at {url}: {_describe(err)} (retryable)."
                ) from err
            return self._failed(inp, {}, self._client_error(inp, url, err))

        code = response.status_code
        body = self._body(response)
        webhook = self._response_fields(response, body)
        if code >= 400:
            outcome = create_outcome(
                code, fail_fast_status_codes(ctx), parse_status_codes(ctx.get("webhookRetryStatusCodes"))
            )
            if outcome is CreateOutcome.RETRY:
                raise self._retry(
                    f"Error submitting webhook for pipeline {inp.execution_id} to {url} "
                    f"with status code {code} (retryable)."
                )
            if outcome is CreateOutcome.FAIL_FAST:
                error = (
                    f"Received status code {code}, which is configured to fail fast, terminating stage "
                    f"for pipeline {inp.execution_id} to {url}"
                )
            else:
                error = f"Error submitting webhook for pipeline {inp.execution_id} to {url} with status code {code}."
            return self._failed(inp, webhook, error)
        if code < 200:
            return self._failed(inp, webhook, "The webhook request failed")

        context: JSON = {"webhook": webhook}
        if truthy(ctx.get("waitForCompletion")):
            try:
                status_url = resolve_status_url(
                    ctx.get("statusUrlResolution"),
                    url,
                    response.headers.get("location"),
                    body,
                    ctx.get("statusUrlJsonPath"),
                )
            except StatusUrlError as err:
                return self._failed(inp, webhook, f"Exception while resolving status check URL: {err}")
            if not status_url:
                return self._failed(
                    inp, webhook, "The status URL couldn't be resolved, but 'Wait for completion' is configured"
                )
            webhook["statusEndpoint"] = status_url
            context["statusEndpoint"] = status_url
        elif isinstance(ctx.get("expectedArtifacts"), list) and ctx["expectedArtifacts"]:
            try:
                context["artifacts"] = read_json_path(body, "artifacts")
            except WebhookError as err:
                error = f"Expected artifacts in webhook response couldn't be parsed: {_describe(err)}"
                return self._failed(inp, webhook, error)
        return TaskResult.succeeded(context)

    # -- monitor

    @activity.defn(name=MONITOR_WEBHOOK)
    def monitor_webhook(self, inp: TaskInput) -> TaskResult:
        """Orca's ``MonitorWebhookTask``: GET the status URL once and map the answer to a status."""
        ctx = inp.context
        monitor_only = truthy(ctx.get("monitorOnly"))
        endpoint, url = ctx.get("statusEndpoint"), ctx.get("url")
        webhook = dict(ctx.get("webhook") or {})
        old = webhook.get("monitor") if isinstance(webhook.get("monitor"), Mapping) else {}
        past = parse_status_codes((old or {}).get("pastStatusCodes"))
        monitor: JSON = {"pastStatusCodes": list(past)} if past else {}
        webhook["monitor"] = monitor
        context: JSON = {"webhook": webhook}

        if not _text_set(endpoint) and not monitor_only:
            return self._monitor_failed(inp, context, f"Missing required parameter: statusEndpoint = {endpoint}")
        if monitor_only and not _text_set(endpoint) and not _text_set(url):
            return self._monitor_failed(
                inp, context, "Missing required parameter. Either webhook url or statusEndpoint are required"
            )
        target = str(endpoint).strip() if _text_set(endpoint) else str(url).strip()
        try:
            headers = request_headers(ctx.get("customHeaders"))
            problem = validate_url(target)
            if problem:
                raise ValueError(problem)
            response = self._send("GET", target, headers, None)
        except OutboundRefused as err:
            return self._monitor_failed(inp, context, refused_message(target, err, "status url"))
        except (ValueError, httpx.HTTPError, httpx.InvalidURL) as err:
            if isinstance(err, httpx.HTTPError) and transport_error_retryable(err, "GET"):
                activity.logger.warning(
                    "webhook status check to %s failed (%s), will retry", _safe_url(target), type(err).__name__
                )
                return self._running(inp, context)
            return self._monitor_failed(
                inp, context, f"an exception occurred in webhook monitor to {target}: {_describe(err)}"
            )

        code = response.status_code
        if code >= 400:
            if monitor_should_retry(code, ctx.get("retries"), parse_status_codes(ctx.get("retryStatusCodes")), past):
                monitor["pastStatusCodes"] = [*past, code]
                activity.logger.warning("webhook status check to %s answered %s, will retry", _safe_url(target), code)
                return self._running(inp, context)
            reason = response.reason_phrase or status_code_name(code) or ""
            monitor.update(
                without_nulls(
                    {
                        "statusCode": status_code_name(code),
                        "statusCodeValue": code,
                        "headers": single_value_headers(response.headers.raw) or None,
                    }
                )
            )
            return self._monitor_failed(
                inp, context, f"an exception occurred in webhook monitor to {target}: {code} {reason}".rstrip()
            )

        body = self._body(response)
        monitor.update(self._response_fields(response, body))
        status, fields, error = evaluate_status(body, ctx)
        monitor.update(fields)
        if "resolvedValue" in fields:
            monitor["resolvedValue"] = fit_body(fields["resolvedValue"], self._max_body_bytes)
        if error:
            return self._monitor_failed(inp, context, error)
        if status == ExecutionStatus.RUNNING:
            return self._running(inp, context)
        if status == ExecutionStatus.SUCCEEDED:
            return TaskResult(status, context=context)
        # Orca calls the cancel endpoint when the monitor answers CANCELED (the task's onCancel) and
        # when the stage fails (WebhookStage.onFailureStages).
        self._cancel(inp)
        remote = read_json_path(body, ctx["statusJsonPath"])
        return TaskResult(status, context=context, error=f"The webhook reported status '{remote}'")

    # -- cancel

    @activity.defn(name=CANCEL_WEBHOOK)
    def cancel_webhook(self, inp: TaskInput) -> TaskResult:
        """Orca's ``WebhookService.cancelWebhook``: best effort, so it never fails the stage."""
        self._cancel(inp)
        return TaskResult(ExecutionStatus.SUCCEEDED)

    # -- plumbing

    def _http(self) -> httpx.Client:
        if self._client is None:
            source = self._client_source
            self._client = source() if callable(source) else source
        return self._client

    def _send(self, method: str, url: str, headers: list[tuple[str, str]], payload: Any) -> OutboundResponse:
        """One call under the outbound policy (checked, redirects followed by hand, body capped)."""
        content, content_type = encode_payload(payload)
        pairs = list(headers)
        if content_type and not any(name.lower() == "content-type" for name, _ in pairs):
            pairs.append(("Content-Type", content_type))
        with heartbeating():  # a worker that dies during the call is noticed within the task's heartbeat timeout
            response = outbound_request(self._http(), self._policy, method, url, headers=pairs, content=content)
        activity.logger.info("webhook %s %s -> %s", method, _safe_url(url), response.status_code)
        return response

    def _body(self, response: OutboundResponse) -> Any:
        return parse_body(response.text, response.headers.get("content-type"))

    def _response_fields(self, response: OutboundResponse, body: Any) -> JSON:
        return without_nulls(
            {
                "statusCode": status_code_name(response.status_code),
                "statusCodeValue": response.status_code,
                "headers": single_value_headers(response.headers.raw) or None,
                "body": fit_body(body, self._max_body_bytes),
            }
        )

    def _retry(self, message: str) -> ApplicationError:
        activity.logger.warning("%s", message)
        return ApplicationError(message, type=RETRYABLE_ERROR, next_retry_delay=CREATE_RETRY_DELAY)

    @staticmethod
    def _client_error(inp: TaskInput, url: Any, error: Exception) -> str:
        pipeline = inp.execution_id
        return f"An exception occurred for pipeline {pipeline} performing a request to {url}. {_describe(error)}"

    def _failed(self, inp: TaskInput, webhook: JSON, error: str) -> TaskResult:
        """A TERMINAL create: Orca records the error under ``webhook.error`` and, as the stage failed,
        calls the cancel endpoint (``WebhookStage.onFailureStages``)."""
        activity.logger.warning("webhook stage %s failed: %s", inp.stage_id, error)
        self._cancel(inp)
        return TaskResult.terminal(error, {"webhook": {**webhook, "error": error}})

    def _monitor_failed(self, inp: TaskInput, context: JSON, error: str) -> TaskResult:
        context["webhook"]["monitor"]["error"] = error
        activity.logger.warning("webhook stage %s failed: %s", inp.stage_id, error)
        self._cancel(inp)
        return TaskResult.terminal(error, context)

    def _running(self, inp: TaskInput, context: JSON) -> TaskResult:
        elapsed = self._clock_ms() - inp.task_start_time_ms
        return TaskResult(ExecutionStatus.RUNNING, context=context, backoff_ms=monitor_backoff_ms(elapsed))

    def _cancel(self, inp: TaskInput) -> int | None:
        """Call ``cancelEndpoint`` if one is set; swallow every failure. Returns the status code."""
        ctx = inp.context
        if not cancel_configured(ctx):
            return None
        endpoint = str(ctx["cancelEndpoint"]).strip()
        try:
            method = parse_method(ctx.get("cancelMethod"))
            headers = request_headers(ctx.get("customHeaders"))
            problem = validate_url(endpoint)
            if problem:
                raise ValueError(problem)
            response = self._send(method, endpoint, headers, ctx.get("cancelPayload"))
        except OutboundRefused as err:
            activity.logger.warning("%s", refused_message(endpoint, err, "cancel url"))
            return None
        except (ValueError, httpx.HTTPError, httpx.InvalidURL) as err:
            activity.logger.warning("webhook cancellation to %s failed: %s", _safe_url(endpoint), type(err).__name__)
            return None
        if response.status_code >= 400:
            activity.logger.warning("webhook cancellation to %s answered %s", _safe_url(endpoint), response.status_code)
        return response.status_code


def refused_message(url: Any, error: OutboundRefused, what: str = "webhook url") -> str:
    """The stage's error for a refused call, e.g. ``webhook url http://169.254.169.254/latest:
    address 169.254.169.254 is link-local (outbound.reject_link_local)``."""
    return f"{what} {_safe_url(str(url))}: {error}"


def _text_set(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def build(settings: Any, client: Any = None) -> list[Callable[..., Any]]:
    """The webhook activities around a real ``httpx.Client``. ``client`` (the Temporal client) is unused.

    Calls follow ``settings.outbound`` (the safe defaults without it). Optional settings:
    ``webhook_connect_timeout_s``, ``webhook_read_timeout_s``.
    """
    connect = float(getattr(settings, "webhook_connect_timeout_s", CONNECT_TIMEOUT_S))
    read = float(getattr(settings, "webhook_read_timeout_s", READ_TIMEOUT_S))
    policy = policy_from(settings)
    http = guarded_client(policy, timeout=httpx.Timeout(read, connect=connect))
    acts = WebhookActivities(http, policy=policy, max_body_bytes=policy.settings.webhook_kept_body_bytes)
    return [acts.create_webhook, acts.monitor_webhook, acts.cancel_webhook]
