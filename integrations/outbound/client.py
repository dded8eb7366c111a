"""One outbound call under the policy: check, send, follow redirects ourselves, read a capped body.

Every hop is checked with :meth:`OutboundPolicy.check_url` before it is sent and again at connect
time by the guarded transport. The body is streamed and the call fails as soon as it passes
``max_response_bytes`` (counted raw and again after gzip/deflate, which is inflated a bounded piece
at a time); a body is never read whole before its size is known. Headers a user set are not carried
to another origin on a redirect (they often hold tokens).
"""

from __future__ import annotations

import time
import typing
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from .policy import OutboundPolicy, OutboundRefused

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class ResponseTooLarge(OutboundRefused):
    """The body passed ``max_response_bytes`` (or the call took longer than ``total_timeout_s``)."""


@dataclass
class OutboundResponse:
    """What came back: status, headers and the whole (capped) body, and the URL that answered."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str
    reason_phrase: str = ""
    redirects: list[str] = field(default_factory=list)
    encoding: str | None = None

    @property
    def text(self) -> str:
        try:
            return self.content.decode(self.encoding or "utf-8", errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


@dataclass
class _Hop:
    method: str
    url: str
    headers: list[tuple[str, str]]
    content: bytes | None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _next_hop(hop: _Hop, status: int, location: str, url: httpx.URL) -> _Hop:
    """The request a redirect asks for: 303 (and 301/302 after a POST) become a body-less GET."""
    target = str(url.join(location))
    method, content, headers = hop.method, hop.content, hop.headers
    if status == 303 and method != "HEAD" or status in (301, 302) and method == "POST":
        method, content = "GET", None
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-encoding")]
    if _origin(target) != _origin(hop.url):
        headers = [(k, v) for k, v in headers if k.lower() in ("accept", "user-agent", "content-type")]
    return _Hop(method, target, headers, content)


class _Budget:
    """The body as it arrives: raw bytes counted against the cap, gzip/deflate inflated a bounded
    piece at a time (so a small compressed body cannot expand past the cap in memory), and the clock."""

    def __init__(self, policy: OutboundPolicy, max_bytes: int | None) -> None:
        self.limit = max_bytes or policy.settings.max_response_bytes
        self.total_s = policy.settings.total_timeout_s
        self.deadline = time.monotonic() + self.total_s
        self.rule = "outbound.max_response_bytes" if max_bytes is None else "the caller's size limit"
        self.body = bytearray()
        self.raw = 0
        self.inflater: typing.Any = None

    def start(self, response: httpx.Response) -> None:
        """Refuse a declared length over the cap before reading; pick the decoder."""
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            raise ResponseTooLarge(f"response body of {int(length)} bytes is larger than {self.limit} bytes", self.rule)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self.inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        elif encoding not in ("", "identity"):
            raise httpx.DecodingError(f"unsupported Content-Encoding '{encoding}' (only gzip and deflate)")
        self.body = bytearray()
        self.raw = 0

    def feed(self, chunk: bytes) -> None:
        self.raw += len(chunk)
        if self.raw > self.limit:
            raise ResponseTooLarge(f"response body is larger than {self.limit} bytes", self.rule)
        if self.inflater is None:
            self._add(chunk)
        else:
            data = chunk
            while data:
                try:
                    self._add(self.inflater.decompress(data, self.limit - len(self.body) + 1))
                except zlib.error as err:
                    raise httpx.DecodingError(f"cannot inflate the response body: {err}") from None
                data = self.inflater.unconsumed_tail
        self.check_time()

    def _add(self, data: bytes) -> None:
        self.body.extend(data)
        if len(self.body) > self.limit:
            raise ResponseTooLarge(f"response body is larger than {self.limit} bytes", self.rule)

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ResponseTooLarge(f"the call took longer than {self.total_s:g} s", "outbound.total_timeout_s")


def _redirect(
    policy: OutboundPolicy, budget: _Budget, response: httpx.Response, hop: _Hop, seen: list[str], follow: bool
) -> _Hop | None:
    """The next hop when ``response`` is a redirect to follow (bounded by ``max_redirects``), else None."""
    location = response.headers.get("location")
    if not (follow and response.status_code in _REDIRECTS and location):
        return None
    if len(seen) >= policy.settings.max_redirects:
        raise OutboundRefused(f"more than {policy.settings.max_redirects} redirects", "outbound.max_redirects")
    seen.append(hop.url)
    budget.check_time()
    return _next_hop(hop, response.status_code, location, response.url)


def _first_hop(
    policy: OutboundPolicy, method: str, url: str, headers: list[tuple[str, str]] | None, content: bytes | None
) -> _Hop:
    pairs = policy.request_headers(list(headers or []))
    if not any(name.lower() == "accept-encoding" for name, _ in pairs):
        pairs.append(("Accept-Encoding", "gzip, deflate"))
    return _Hop(method.upper(), url.strip(), pairs, content)


def _answer(response: httpx.Response, budget: _Budget, hop: _Hop, seen: list[str]) -> OutboundResponse:
    return OutboundResponse(
        response.status_code,
        response.headers,
        bytes(budget.body),
        hop.url,
        response.reason_phrase,
        seen,
        response.charset_encoding,
    )


def shown_url(url: str) -> str:
    """``scheme://host[:port]/path`` of a URL: no user info, query or fragment (they may hold secrets)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _at_hop(err: OutboundRefused, hop: _Hop, seen: list[str]) -> OutboundRefused:
    """A refusal on a redirect says which hop was refused."""
    if not seen:
        return err
    return type(err)(f"redirect to {shown_url(hop.url)}: {err.reason}", err.rule)


def request(
    client: httpx.Client,
    policy: OutboundPolicy,
    method: str,
    url: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    content: bytes | None = None,
    max_bytes: int | None = None,
    follow_redirects: bool = True,
) -> OutboundResponse:
    """Send one call through a :func:`~.transport.guarded_client` under ``policy``."""
    hop = _first_hop(policy, method, url, headers, content)
    budget = _Budget(policy, max_bytes)
    seen: list[str] = []
    while True:
        try:
            policy.check_url(hop.method, hop.url)
            req = client.build_request(hop.method, hop.url, headers=hop.headers, content=hop.content)
            response = client.send(req, stream=True)
        except OutboundRefused as err:
            raise _at_hop(err, hop, seen) from None
        try:
            following = _redirect(policy, budget, response, hop, seen, follow_redirects)
            if following is not None:
                hop = following
                continue
            budget.start(response)
            for chunk in response.iter_raw():
                budget.feed(chunk)
            return _answer(response, budget, hop, seen)
        finally:
            response.close()


async def arequest(
    client: httpx.AsyncClient,
    policy: OutboundPolicy,
    method: str,
    url: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    content: bytes | None = None,
    max_bytes: int | None = None,
    follow_redirects: bool = True,
) -> OutboundResponse:
    """The async twin of :func:`request` (a :func:`~.transport.guarded_async_client`)."""
    hop = _first_hop(policy, method, url, headers, content)
    budget = _Budget(policy, max_bytes)
    seen: list[str] = []
    while True:
        try:
            policy.check_url(hop.method, hop.url)
            req = client.build_request(hop.method, hop.url, headers=hop.headers, content=hop.content)
            response = await client.send(req, stream=True)
        except OutboundRefused as err:
            raise _at_hop(err, hop, seen) from None
        try:
            following = _redirect(policy, budget, response, hop, seen, follow_redirects)
            if following is not None:
                hop = following
                continue
            budget.start(response)
            async for chunk in response.aiter_raw():
                budget.feed(chunk)
            return _answer(response, budget, hop, seen)
        finally:
            await response.aclose()
