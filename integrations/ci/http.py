"""One JSON-over-HTTP session per build service (httpx), translating transport and HTTP errors into the
:class:`~.base.CiError` tree. Messages name the service and what was asked, never the token or a body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .base import (
    CiAuthError,
    CiError,
    CiNotFoundError,
    CiRequestError,
    CiResponseError,
    CiUnreachableError,
)

JSON = dict[str, Any]


class JsonApi:
    """A base URL, fixed headers (the token among them) and a timeout; every call names what it does."""

    def __init__(self, service: str, base_url: str, headers: Mapping[str, str], timeout: float) -> None:
        self.service = service
        # no kept-alive connections: a worker's clients live as long as it does and are never closed, and a
        # poll every few seconds gains nothing from an idle socket held open between polls
        self._client = httpx.Client(
            base_url=base_url,
            headers=dict(headers),
            timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        missing: str | None = None,
        conflict_ok: bool = False,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send one request; any answer but 2xx (and 409 with ``conflict_ok``) raises a :class:`CiError`."""
        try:
            response = self._client.request(
                method, path, params=_clean(params), json=json, headers=headers, follow_redirects=follow_redirects
            )
        except httpx.TimeoutException:
            raise CiUnreachableError(f"{self.service}: {what}: timed out") from None
        except httpx.HTTPError as err:
            raise CiUnreachableError(f"{self.service}: {what}: {type(err).__name__}") from None
        if response.is_success or (conflict_ok and response.status_code == 409):
            return response
        raise self.error(response.status_code, what, missing, _reason(response))

    def get_json(self, path: str, what: str, **kw: Any) -> JSON:
        return self.json_of(self.call("GET", path, what, **kw), what)

    def json_of(self, response: httpx.Response, what: str) -> JSON:
        try:
            data = response.json()
        except ValueError:
            raise CiResponseError(f"{self.service}: {what}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise CiResponseError(f"{self.service}: {what}: the answer is not a JSON object")
        return data

    def error(self, status: int, what: str, missing: str | None, reason: str | None) -> CiError:
        text = f"{self.service}: {what}: HTTP {status}" + (f" ({reason})" if reason else "")
        if status in (401, 403) and "rate limit" not in (reason or "").lower():
            return CiAuthError(text, status=status)
        if status == 404:
            return CiNotFoundError(f"{self.service}: {missing or what}: not found", status=status)
        if status == 429 or status >= 500 or status == 403:
            return CiUnreachableError(text, status=status)
        return CiRequestError(text, status=status)


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if params is None else {k: v for k, v in params.items() if v is not None}


def _reason(response: httpx.Response) -> str | None:
    """The service's own short error text (``message``/``error_message``), capped; never the raw body."""
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("error_message", "message", "error"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None
