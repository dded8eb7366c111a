"""The webhook stage's rules: what Orca's ``orca-webhook`` decides, as pure functions tested as tables.

Which method, URL and headers a call may have and how its payload is encoded; how an answer's body,
headers and status code are read; which create answers fail fast, retry or fail; when the monitor
polls again and how long it waits; where the status URL is; how a polled status maps to ours; how
much of a body is kept. :mod:`activities.webhook` does the HTTP around them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from jsonpath_ng.ext import parse as _parse_json_path

from core.errors import EngineError
from core.status import ExecutionStatus
from core.tasks import JSON

# ---- errors ------------------------------------------------------------------------------------


class WebhookError(EngineError):
    """Base of the errors the pure helpers raise; activities turn them into TERMINAL results."""


class InvalidJsonPathError(WebhookError):
    """A configured JSON path does not parse or cannot be applied."""


class JsonPathNotFoundError(WebhookError):
    """A definite JSON path matched nothing (jayway's ``PathNotFoundException``)."""


class StatusUrlError(WebhookError):
    """The status URL to poll could not be worked out from the create response."""


# ---- constants (Orca's defaults) ---------------------------------------------------------------

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
#: WebhookService.headerDenyList: headers a user may not set, they would impersonate Spinnaker.
DENIED_HEADERS = frozenset(
    {
        "X-SPINNAKER-USER",
        "X-SPINNAKER-ACCOUNT",
        "X-SPINNAKER-USER-ORIGIN",
        "X-SPINNAKER-REQUEST-ID",
        "X-SPINNAKER-EXECUTION-ID",
    }
)
#: WebhookProperties.defaultRetryStatusCodes
DEFAULT_RETRY_STATUS_CODES = (429,)
#: WebhookStage.StageData.failFastStatusCodes when the stage does not set it
DEFAULT_FAIL_FAST_STATUS_CODES = (504,)
#: CreateWebhookTask.getBackoffPeriod
CREATE_RETRY_DELAY = timedelta(seconds=10)
#: MonitorWebhookTask.getDynamicBackoffPeriod: 1 s, then 15 s once the task has run a minute
MONITOR_BACKOFF_MS = 1_000
MONITOR_SLOW_BACKOFF_MS = 15_000
MONITOR_SLOW_AFTER_MS = 60_000
#: WebhookProperties.connectTimeoutMs / readTimeoutMs
CONNECT_TIMEOUT_S = 15.0
READ_TIMEOUT_S = 20.0
#: bodies larger than this are not kept in the execution (``outbound.webhook_kept_body_bytes``).
MAX_BODY_BYTES = 64 * 1024

# Spring's HttpStatus names where Python's differ.
_SPRING_STATUS_NAMES = {413: "PAYLOAD_TOO_LARGE", 414: "URI_TOO_LONG", 418: "I_AM_A_TEAPOT"}
# jayway calls a path indefinite when it has deep scans, wildcards, filters, unions or slices.
_INDEFINITE_PATH = re.compile(r"\.\.|\*|\[\s*\?|\[[^\]]*[,:][^\]]*\]")

# ---- pure helpers ------------------------------------------------------------------------------


def status_code_name(code: int) -> str | None:
    """``webhook.statusCode``: Spring's ``HttpStatus`` name for a code (``OK``, ``NOT_FOUND``)."""
    if code in _SPRING_STATUS_NAMES:
        return _SPRING_STATUS_NAMES[code]
    try:
        return HTTPStatus(code).name
    except ValueError:
        return None


def parse_status_codes(value: Any) -> list[int]:
    """A list of HTTP status codes as stages carry them: ``[429, "503"]`` or ``"429, 503"``."""
    if value is None:
        return []
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    codes = []
    for item in items:
        text = str(item).strip()
        if text:
            try:
                codes.append(int(float(text)))
            except ValueError:
                continue
    return codes


def fail_fast_status_codes(context: Mapping[str, Any]) -> list[int]:
    """``failFastStatusCodes``, defaulting to ``[504]`` only when the stage does not set it at all."""
    if "failFastStatusCodes" not in context:
        return list(DEFAULT_FAIL_FAST_STATUS_CODES)
    return parse_status_codes(context["failFastStatusCodes"])


def parse_statuses(value: Any) -> list[str]:
    """A comma-separated status list (``successStatuses``...): trimmed and upper-cased, blanks dropped."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    return [text for text in (str(item).strip().upper() for item in items) if text]


def status_map(success: Any, canceled: Any, terminal: Any) -> dict[str, ExecutionStatus]:
    """Remote status word → our status. A word in several lists: terminal beats canceled beats success."""
    mapping: dict[str, ExecutionStatus] = {}
    for value, status in (
        (success, ExecutionStatus.SUCCEEDED),
        (canceled, ExecutionStatus.CANCELED),
        (terminal, ExecutionStatus.TERMINAL),
    ):
        mapping.update(dict.fromkeys(parse_statuses(value), status))
    return mapping


def parse_method(value: Any, default: str = "POST") -> str:
    """An HTTP method, case-insensitive as Orca reads it; raises ``ValueError`` for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    method = str(value).strip().upper()
    if method not in METHODS:
        raise ValueError(f"unsupported HTTP method '{value}'")
    return method


def validate_url(url: Any) -> str | None:
    """Why ``url`` cannot be called (only absolute http/https URLs can), or None if it can."""
    if not isinstance(url, str) or not url.strip():
        return "no URL given"
    try:
        parts = urlsplit(url.strip())
    except ValueError as err:
        return f"invalid URL: {err}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"unsupported URL scheme '{parts.scheme}' (only http and https)"
    if not parts.hostname:
        return "URL has no host"
    return None


def request_headers(custom: Any) -> list[tuple[str, str]]:
    """``customHeaders`` as header pairs: lists become repeated headers; Spinnaker's own are dropped."""
    from core.sealing import open_value

    if custom is None:
        return []
    if isinstance(custom, str):
        try:
            custom = json.loads(custom) if custom.strip() else {}
        except ValueError as err:
            raise ValueError("customHeaders must be a map of header names to values") from err
    if not isinstance(custom, Mapping):
        raise ValueError("customHeaders must be a map of header names to values")
    pairs = []
    for name, value in custom.items():
        if str(name).upper() in DENIED_HEADERS or value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(name), _header_text(open_value(item))))  # sealed by the API: core/sealing.py
    return pairs


def encode_payload(payload: Any) -> tuple[bytes | None, str | None]:
    """The request body and its content type: text as is (like Spring's string converter), else JSON."""
    if payload is None:
        return None, None
    if isinstance(payload, str):
        return payload.encode(), "text/plain;charset=UTF-8"
    return json.dumps(payload, separators=(",", ":")).encode(), "application/json"


def parse_body(text: str, content_type: str | None) -> Any:
    """A response body as Orca keeps it: parsed JSON when it is JSON, else the text; None when empty."""
    if not text:
        return None
    if "json" in (content_type or "").lower() or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def single_value_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Spring's ``toSingleValueMap``: the first value of each header, names case-insensitive."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in raw:
        key = name.decode("latin-1")
        if key.lower() not in seen:
            seen.add(key.lower())
            out[key] = value.decode("latin-1")
    return out


def is_definite_path(path: str) -> bool:
    """Does ``path`` name one value (jayway returns it) rather than a set (jayway returns a list)?"""
    return not _INDEFINITE_PATH.search(path)


def read_json_path(document: Any, path: str) -> Any:
    """Read ``path`` from a parsed body as jayway's ``JsonPath.read`` does."""
    try:
        expression = _parse_json_path(path)
    except Exception as err:  # jsonpath-ng raises several unrelated types for bad syntax
        raise InvalidJsonPathError(f"invalid JSON path '{path}': {err}") from err
    if not isinstance(document, (dict, list)):
        if is_definite_path(path):
            raise JsonPathNotFoundError(path)
        return []
    try:
        values = [match.value for match in expression.find(document)]
    except Exception as err:
        raise InvalidJsonPathError(f"cannot apply JSON path '{path}': {err}") from err
    if not is_definite_path(path):
        return values
    if not values:
        raise JsonPathNotFoundError(path)
    return values[0]


class CreateOutcome(StrEnum):
    """What to do with a create call's HTTP error status."""

    FAIL_FAST = "FAIL_FAST"
    RETRY = "RETRY"
    FAIL = "FAIL"


def create_outcome(code: int, fail_fast: Iterable[int], retry_codes: Iterable[int]) -> CreateOutcome:
    """Orca's order for a 4xx/5xx create answer: fail-fast codes, then 5xx/429/configured retries, else fail."""
    if code in fail_fast:
        return CreateOutcome.FAIL_FAST
    if code >= 500 or code in DEFAULT_RETRY_STATUS_CODES or code in retry_codes:
        return CreateOutcome.RETRY
    return CreateOutcome.FAIL


def monitor_should_retry(code: int, retries: Any, retry_codes: Iterable[int], past_codes: list[int]) -> bool:
    """Poll again after an HTTP error? A per-code ``retries`` limit wins; else 5xx, 429, ``retryStatusCodes``."""
    limits = {}
    if isinstance(retries, Mapping):
        for key, spec in retries.items():
            try:
                limits[int(key)] = spec
            except (TypeError, ValueError):
                continue
    if code in limits:
        spec = limits[code]
        max_attempts = spec.get("maxAttempts") if isinstance(spec, Mapping) else None
        try:
            allowed = int(max_attempts or 0)
        except (TypeError, ValueError):
            allowed = 0
        return past_codes.count(code) < allowed
    return code >= 500 or code in DEFAULT_RETRY_STATUS_CODES or code in retry_codes


def transport_error_retryable(error: Exception, method: str) -> bool:
    """May a call that failed below HTTP be repeated? Yes if the request never left (no connection),
    or if it was a GET (Orca retries GET timeouts); never for a POST that may have arrived."""
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True
    if isinstance(error, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        return method in ("GET", "HEAD")
    return False


def monitor_backoff_ms(elapsed_ms: int) -> int:
    """How long to wait before the next status check: 1 s, then 15 s after a minute of monitoring."""
    return MONITOR_SLOW_BACKOFF_MS if elapsed_ms > MONITOR_SLOW_AFTER_MS else MONITOR_BACKOFF_MS


def keep_scheme(status_url: str, webhook_url: str) -> str:
    """A status URL on the webhook's own host keeps the webhook's scheme (http vs https), as Orca does."""
    if status_url == webhook_url or "://" not in status_url:
        return status_url
    status, hook = urlsplit(status_url), urlsplit(webhook_url)
    if status.hostname and status.hostname == hook.hostname and status.scheme != hook.scheme:
        return f"{hook.scheme}://{status_url.split('://', 1)[1]}"
    return status_url


def resolve_status_url(
    resolution: Any, webhook_url: str, location: str | None, body: Any, status_url_json_path: Any
) -> str | None:
    """Where to poll: the webhook URL itself (``getMethod``), its ``Location`` header
    (``locationHeader``, relative ones resolved against the webhook URL), or a value in the body
    read with ``statusUrlJsonPath`` (``webhookResponse``)."""
    mode = resolution or "getMethod"
    if mode == "getMethod":
        url: Any = webhook_url
    elif mode == "locationHeader":
        url = urljoin(webhook_url, location) if location else None
    elif mode == "webhookResponse":
        if not isinstance(status_url_json_path, str) or not status_url_json_path.strip():
            raise StatusUrlError("statusUrlJsonPath is required with statusUrlResolution 'webhookResponse'")
        try:
            url = read_json_path(body, status_url_json_path)
        except JsonPathNotFoundError as err:
            raise StatusUrlError(f"JSON property '{status_url_json_path}' not found in response body") from err
        except InvalidJsonPathError as err:
            raise StatusUrlError(str(err)) from err
        if url is not None and not isinstance(url, str):
            raise StatusUrlError(f"'{status_url_json_path}' resolved to {type(url).__name__}, not a URL")
    else:
        raise StatusUrlError(f"Unexpected value: {mode}")
    return keep_scheme(url, webhook_url) if url else None


def evaluate_status(body: Any, context: Mapping[str, Any]) -> tuple[ExecutionStatus, JSON, str | None]:
    """Turn a polled status response into our status, the ``webhook.monitor`` fields to add and an error.

    No ``statusJsonPath``: any 2xx means done. A number is a percentage (100 = done); text (or a
    boolean) is looked up, upper-cased, in the success/canceled/terminal lists; anything else RUNNING.
    """
    status_path = context.get("statusJsonPath")
    if not status_path:
        return ExecutionStatus.SUCCEEDED, {}, None
    try:
        result = read_json_path(body, status_path)
    except JsonPathNotFoundError:
        return ExecutionStatus.TERMINAL, {}, _not_found("status", status_path)
    except InvalidJsonPathError as err:
        return ExecutionStatus.TERMINAL, {}, str(err)
    if result is None or not isinstance(result, (str, int, float, bool)):
        return (
            ExecutionStatus.TERMINAL,
            {"resolvedValue": result},
            f"The json path '{status_path}' did not resolve to a single value",
        )
    fields: JSON = {}
    progress_path = context.get("progressJsonPath")
    if progress_path:
        try:
            progress = read_json_path(body, progress_path)
        except JsonPathNotFoundError:
            return ExecutionStatus.TERMINAL, {}, _not_found("progress", progress_path)
        except InvalidJsonPathError as err:
            return ExecutionStatus.TERMINAL, {}, str(err)
        if not isinstance(progress, str):
            return (
                ExecutionStatus.TERMINAL,
                {"resolvedValue": progress},
                f"The json path '{progress_path}' did not resolve to a String value",
            )
        fields["progressMessage"] = progress
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        fields["percentComplete"] = result
        return (ExecutionStatus.SUCCEEDED if result == 100 else ExecutionStatus.RUNNING), fields, None
    word = ("true" if result else "false") if isinstance(result, bool) else result
    if not parse_statuses(context.get("successStatuses")):
        return (
            ExecutionStatus.TERMINAL,
            fields,
            f"successStatuses is required when '{status_path}' resolves to text (got '{word}')",
        )
    mapping = status_map(
        context.get("successStatuses"), context.get("canceledStatuses"), context.get("terminalStatuses")
    )
    return mapping.get(word.upper(), ExecutionStatus.RUNNING), fields, None


def fit_body(body: Any, limit: int = MAX_BODY_BYTES) -> Any:
    """A body small enough to keep in the execution; larger ones are replaced by a note."""
    if body is None:
        return None
    size = len(body.encode()) if isinstance(body, str) else len(json.dumps(body, default=str).encode())
    if size <= limit:
        return body
    return f"<response body of {size} bytes not kept: larger than {limit} bytes>"


def without_nulls(data: JSON) -> JSON:
    """Orca writes no null fields into the context."""
    return {key: value for key, value in data.items() if value is not None}


def _not_found(what: str, path: str) -> str:
    return f"Unable to parse {what}: JSON property '{path}' not found in response body"


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
