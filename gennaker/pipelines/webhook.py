"""The ``webhook`` stage: call a URL, optionally poll a status URL (docs/stages/webhook.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from .checks import JSON, _flag, _is_expression, _jsonable, _seconds, _status_codes, _strings, _text
from .stage import Stage

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
_RESOLUTIONS = ("getMethod", "locationHeader", "webhookResponse")


@dataclass(eq=False)
class Webhook(Stage):
    """``webhook``: call ``url``; with ``wait_for_completion``, poll a status URL (see docs/stages/webhook.md).

    Status lists (``success_statuses`` ...) take a list of words or Spinnaker's comma-separated
    string. ``retries`` maps a status code to its maximum polling attempts.
    """

    TYPE: ClassVar[str] = "webhook"
    DEFAULT_NAME: ClassVar[str] = "Webhook"

    url: str
    method: str = field(default="POST", kw_only=True)
    payload: Any = field(default=None, kw_only=True)
    headers: Mapping[str, str | Sequence[str]] | None = field(default=None, kw_only=True)
    fail_fast_status_codes: Sequence[int] | None = field(default=None, kw_only=True)
    webhook_retry_status_codes: Sequence[int] | None = field(default=None, kw_only=True)
    wait_for_completion: bool = field(default=False, kw_only=True)
    status_url_resolution: str | None = field(default=None, kw_only=True)
    status_url_json_path: str | None = field(default=None, kw_only=True)
    status_json_path: str | None = field(default=None, kw_only=True)
    progress_json_path: str | None = field(default=None, kw_only=True)
    success_statuses: str | Sequence[str] | None = field(default=None, kw_only=True)
    canceled_statuses: str | Sequence[str] | None = field(default=None, kw_only=True)
    terminal_statuses: str | Sequence[str] | None = field(default=None, kw_only=True)
    retry_status_codes: Sequence[int] | None = field(default=None, kw_only=True)
    retries: Mapping[int, int] | None = field(default=None, kw_only=True)
    wait_before_monitor: int | timedelta | None = field(default=None, kw_only=True)
    monitor_only: bool = field(default=False, kw_only=True)
    status_endpoint: str | None = field(default=None, kw_only=True)
    cancel_endpoint: str | None = field(default=None, kw_only=True)
    cancel_method: str | None = field(default=None, kw_only=True)
    cancel_payload: Any = field(default=None, kw_only=True)

    _MONITOR_FIELDS: ClassVar[tuple[str, ...]] = (
        "status_url_resolution",
        "status_url_json_path",
        "status_json_path",
        "progress_json_path",
        "success_statuses",
        "canceled_statuses",
        "terminal_statuses",
        "retry_status_codes",
        "retries",
        "wait_before_monitor",
        "status_endpoint",
    )

    def _url(self, value: Any, attr: str) -> str:
        url = _text(value, self._where(attr)) or ""
        if not _is_expression(url) and not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
            raise self._error(attr, f"must be an http(s) URL or an expression, got {url!r}")
        return url

    def _method(self, value: Any, attr: str) -> str:
        if not isinstance(value, str) or value.upper() not in _METHODS:
            raise self._error(attr, f"must be one of {list(_METHODS)}, got {value!r}")
        return value.upper()

    def _statuses(self, value: Any, attr: str) -> str:
        words = value.split(",") if isinstance(value, str) else _strings(value, self._where(attr))
        words = [w.strip() for w in words if w.strip()]
        if not words:
            raise self._error(attr, "needs at least one status word")
        return ",".join(words)

    def _fields(self) -> JSON:
        out: JSON = {"url": self._url(self.url, "url"), "method": self._method(self.method, "method")}
        if self.payload is not None:
            out["payload"] = _jsonable(self.payload, self._where("payload"))
        if self.headers is not None:
            if not isinstance(self.headers, Mapping):
                raise self._error("headers", f"must be a dict of header -> value, got {self.headers!r}")
            for key, v in self.headers.items():
                if isinstance(v, str):
                    continue
                _strings(v, self._where(f"headers.{key}"))
            out["customHeaders"] = _jsonable(self.headers, self._where("headers"))
        if self.fail_fast_status_codes is not None:
            out["failFastStatusCodes"] = _status_codes(
                self.fail_fast_status_codes, self._where("fail_fast_status_codes")
            )
        if self.webhook_retry_status_codes is not None:
            out["webhookRetryStatusCodes"] = _status_codes(
                self.webhook_retry_status_codes, self._where("webhook_retry_status_codes")
            )
        wait = _flag(self.wait_for_completion, self._where("wait_for_completion"))
        out["waitForCompletion"] = wait
        if not wait:
            for attr in self._MONITOR_FIELDS:
                if getattr(self, attr) is not None:
                    raise self._error(attr, "only applies with wait_for_completion=True")
            if self.monitor_only:
                raise self._error("monitor_only", "needs wait_for_completion=True (Orca refuses the combination)")
        else:
            out.update(self._monitor_fields())
        if self.cancel_endpoint is not None:
            out["cancelEndpoint"] = self._url(self.cancel_endpoint, "cancel_endpoint")
            out["cancelMethod"] = self._method(self.cancel_method or "POST", "cancel_method")
            if self.cancel_payload is not None:
                out["cancelPayload"] = _jsonable(self.cancel_payload, self._where("cancel_payload"))
        elif self.cancel_method is not None or self.cancel_payload is not None:
            attr = "cancel_method" if self.cancel_method is not None else "cancel_payload"
            raise self._error(attr, "only applies with cancel_endpoint")
        return out

    def _monitor_fields(self) -> JSON:
        out: JSON = {}
        resolution = self.status_url_resolution or "getMethod"
        if resolution not in _RESOLUTIONS:
            raise self._error("status_url_resolution", f"must be one of {list(_RESOLUTIONS)}, got {resolution!r}")
        out["statusUrlResolution"] = resolution
        if resolution == "webhookResponse":
            out["statusUrlJsonPath"] = _text(
                self.status_url_json_path, self._where("status_url_json_path (needed by webhookResponse)")
            )
        elif self.status_url_json_path is not None:
            raise self._error("status_url_json_path", "only applies with status_url_resolution='webhookResponse'")
        for attr, key in (("status_json_path", "statusJsonPath"), ("progress_json_path", "progressJsonPath")):
            value = getattr(self, attr)
            if value is not None:
                out[key] = _text(value, self._where(attr))
        for attr, key in (
            ("success_statuses", "successStatuses"),
            ("canceled_statuses", "canceledStatuses"),
            ("terminal_statuses", "terminalStatuses"),
        ):
            value = getattr(self, attr)
            if value is not None:
                out[key] = self._statuses(value, attr)
        if self.retry_status_codes is not None:
            out["retryStatusCodes"] = _status_codes(self.retry_status_codes, self._where("retry_status_codes"))
        if self.retries is not None:
            if not isinstance(self.retries, Mapping):
                raise self._error("retries", f"must be a dict of status code -> max attempts, got {self.retries!r}")
            retries: JSON = {}
            for code, attempts in self.retries.items():
                (code,) = _status_codes([code], self._where("retries"))
                if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
                    raise self._error(f"retries[{code}]", f"must be a positive number of attempts, got {attempts!r}")
                retries[str(code)] = {"maxAttempts": attempts}
            out["retries"] = retries
        if self.wait_before_monitor is not None:
            out["waitBeforeMonitor"] = _seconds(self.wait_before_monitor, self._where("wait_before_monitor"))
        if self.monitor_only:
            out["monitorOnly"] = True
        if self.status_endpoint is not None:
            if not self.monitor_only:
                raise self._error("status_endpoint", "only applies with monitor_only=True")
            out["statusEndpoint"] = self._url(self.status_endpoint, "status_endpoint")
        return out
