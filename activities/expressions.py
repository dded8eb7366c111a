"""The URL fetcher behind ``#fromUrl``, ``#jsonFromUrl``, ``#yamlFromUrl`` and ``#propertiesFromUrl``.

Expressions are evaluated in workflow code, which may not do I/O; when one of those helpers is hit
the engine re-runs the evaluation in an activity whose ``EvaluationContext.url_fetcher`` is a
:class:`UrlFetcher`. The fetcher only talks to URLs under an operator-configured allow-list.

Allow-list entries are URL prefixes: ``scheme://host[:port][/path]``. A URL is allowed when its
scheme, host and port are equal to an entry's (hosts compared case-insensitively, default ports
filled in) and its path is the entry's path or below it (``/a`` allows ``/a`` and ``/a/b``, not
``/ab``). Everything is parsed, never compared as raw strings, so ``http://ok.example@evil/`` and
``http://ok.example.evil/`` are refused. URLs with user info, backslashes, dot segments (``..``) or
percent-encoded dots/slashes are refused outright. Redirects are never followed.

On top of the allow-list, every fetch obeys the outbound policy (``integrations.outbound``): an
allowed prefix on a loopback, private or link-local address is still refused unless the operator
opted in to it there (``outbound.allow_cidrs`` / ``outbound.allow_hosts``), the connection goes only
to the address that was checked, and the body is read streaming up to ``max_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import httpx

from integrations.outbound import OutboundPolicy, OutboundRefused, ResponseTooLarge, guarded_client
from integrations.outbound import request as outbound_request
from workflows.errors import ExpressionError

_DEFAULT_PORTS = {"http": 80, "https": 443}


class UrlNotAllowed(ExpressionError):
    """The URL is not under any allow-listed prefix (or is malformed / suspicious)."""

    exception_type = "UrlNotAllowed"


class UrlFetchError(ExpressionError):
    """The URL was allowed but fetching it failed (HTTP error, redirect, timeout, too large)."""

    exception_type = "UrlFetchError"


@dataclass(frozen=True)
class _Prefix:
    scheme: str
    host: str
    port: int
    path: str  # without trailing slash; "" means any path

    def covers(self, scheme: str, host: str, port: int, path: str) -> bool:
        if (scheme, host, port) != (self.scheme, self.host, self.port):
            return False
        return not self.path or path == self.path or path.startswith(self.path + "/")


def _describe(parts: SplitResult) -> str:
    """scheme://host[:port]/path, without user info, query or fragment (they may hold secrets)."""
    host = parts.hostname or "?"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _split(url: str) -> tuple[SplitResult, str, str, int, str]:
    """Parse and vet ``url``; returns (parts, scheme, host, port, path) or raises UrlNotAllowed."""
    if not isinstance(url, str) or not url or len(url) > 8192:
        raise UrlNotAllowed("URL must be a non-empty string of at most 8192 characters")
    if any(c in url for c in "\\\r\n\t ") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UrlNotAllowed("URL contains whitespace, control characters or backslashes")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UrlNotAllowed(f"only http and https URLs may be fetched, not {scheme or 'a relative URL'!r}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlNotAllowed(f"URLs with user info are not allowed ({_describe(parts)})")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UrlNotAllowed("URL has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise UrlNotAllowed(f"URL has an invalid port ({parts.netloc!r})") from None
    path = parts.path or "/"
    lowered = path.lower()
    if "%2e" in lowered or "%2f" in lowered or "%5c" in lowered or any(seg in (".", "..") for seg in path.split("/")):
        raise UrlNotAllowed(f"URL path may not contain dot segments or encoded dots/slashes ({_describe(parts)})")
    return parts, scheme, host, port, path


def _parse_prefix(entry: str) -> _Prefix:
    try:
        parts, scheme, host, port, path = _split(entry.strip())
    except UrlNotAllowed as e:
        raise ValueError(f"invalid expression URL allow-list entry {entry!r}: {e}") from None
    if parts.query or parts.fragment:
        raise ValueError(f"invalid expression URL allow-list entry {entry!r}: no query or fragment allowed")
    return _Prefix(scheme, host, port, path.rstrip("/"))


class UrlFetcher:
    """Fetch a URL's body as text, if the allow-list permits it. Sync; wrap it in an activity."""

    def __init__(
        self,
        allowed: list[str],
        timeout_s: float = 10,
        max_bytes: int = 1_000_000,
        *,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self.prefixes = tuple(_parse_prefix(a) for a in allowed if a and a.strip())
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.policy = policy or OutboundPolicy()

    def check(self, url: str) -> str:
        """Return a loggable description of ``url`` if it is allowed; raise :class:`UrlNotAllowed` if not."""
        parts, scheme, host, port, path = _split(url)
        if not any(p.covers(scheme, host, port, path) for p in self.prefixes):
            if not self.prefixes:
                raise UrlNotAllowed(
                    f"URL {_describe(parts)} refused: no URLs are allowed for expression functions "
                    "(set expression_url_allow_list)"
                )
            raise UrlNotAllowed(f"URL {_describe(parts)} (host '{host}') is not in the expression URL allow-list")
        try:
            self.policy.check_url("GET", url)
        except OutboundRefused as err:
            raise UrlNotAllowed(f"URL {_describe(parts)} refused: {err}") from None
        return _describe(parts)

    def allows(self, url: str) -> bool:
        try:
            self.check(url)
        except UrlNotAllowed:
            return False
        return True

    def __call__(self, url: str) -> str:
        shown = self.check(url)
        try:
            with guarded_client(self.policy, timeout=self.timeout_s) as client:
                response = outbound_request(
                    client,
                    self.policy,
                    "GET",
                    url,
                    headers=[("Accept", "*/*")],
                    max_bytes=self.max_bytes,
                    follow_redirects=False,
                )
        except ResponseTooLarge:
            raise UrlFetchError(f"{shown} response is larger than {self.max_bytes} bytes") from None
        except OutboundRefused as err:
            raise UrlNotAllowed(f"URL {shown} refused: {err}") from None
        except httpx.HTTPError as e:
            raise UrlFetchError(f"fetching {shown} failed: {type(e).__name__}: {e}") from None
        if 300 <= response.status_code < 400 and "location" in response.headers:
            raise UrlFetchError(f"{shown} answered with a redirect ({response.status_code}); not followed")
        if response.status_code >= 400:
            raise UrlFetchError(f"{shown} answered HTTP {response.status_code}")
        return response.text
