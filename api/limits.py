"""Request body limits, enforced before a route sees the body (one ASGI middleware, outermost).

* size: a ``Content-Length`` above the route's limit is answered 413 at once, without reading the body;
  a chunked body is counted while it streams, never kept past the limit, and answered 413 once the client
  has finished sending (the rest is read and dropped, for at most a second and the limit again: closing on
  unread data would make the client's kernel drop the answer);
* nesting: a JSON body nested deeper than ``max_json_depth`` is answered 400 naming the limit (FastAPI's
  parser and our recursive walks would otherwise fail with a RecursionError, a 500). The depth is
  counted without recursion and without parsing.

Limits per route: ``/webhooks/`` gets ``webhook_max_body_bytes`` (payloads from CI systems can be
large), any prefix in ``route_max_body_bytes`` its own, everything else ``max_body_bytes``.
Answers use Gate's error body (``api.errors.error_body``).
"""

from __future__ import annotations

import asyncio
import json
import re
from contextvars import ContextVar
from itertools import accumulate
from typing import Any

from core.settings.limits import RequestLimitSettings

from .errors import error_body

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_SIGNS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")
_OFF_LOOP_BYTES = 256 * 1024  # bodies larger than this are depth-checked in a thread


_CURRENT: ContextVar[RequestLimitSettings | None] = ContextVar("gennaker_request_limits", default=None)


def limits_of(settings: Any) -> RequestLimitSettings:
    found = getattr(settings, "request_limits", None)
    return found if isinstance(found, RequestLimitSettings) else RequestLimitSettings()


def current() -> RequestLimitSettings:
    """The limits of the app serving the request in flight (set by the middleware), else the defaults."""
    return _CURRENT.get() or RequestLimitSettings()


def body_limit(limits: RequestLimitSettings, path: str) -> tuple[int, str]:
    """The byte limit for a path and the setting that holds it."""
    best = ""
    for prefix in limits.route_max_body_bytes:
        if path.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    if best:
        return limits.route_max_body_bytes[best], f"request_limits.route_max_body_bytes[{best!r}]"
    if path.startswith("/webhooks/"):
        return limits.webhook_max_body_bytes, "request_limits.webhook_max_body_bytes"
    return limits.max_body_bytes, "request_limits.max_body_bytes"


def json_depth(body: bytes) -> int:
    """How deeply the JSON text nests (brackets inside strings do not count): linear, no recursion, no
    parsing; the strings and everything but brackets are dropped by regexes, the rest summed in C."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", body))
    signed = memoryview(brackets.translate(_SIGNS)).cast("b")
    return max(accumulate(signed), default=0)


def _looks_like_json(body: bytes, content_type: str) -> bool:
    if "json" in content_type:
        return True
    head = body[:64].lstrip()
    return head[:1] in (b"{", b"[")


class BodyLimitMiddleware:
    """Pure ASGI: buffers at most the route's limit of body, checks it, then replays it to the app."""

    def __init__(self, app: Any, settings: Any = None) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        _CURRENT.set(limits_of(self.settings))
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        length_header = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if length_header is None and not chunked:
            await self.app(scope, receive, send)  # no body (GET, DELETE, ...)
            return
        limits = limits_of(self.settings)
        limit, setting = body_limit(limits, scope.get("path", ""))
        too_large = f"the request body is larger than {limit} bytes, the limit for this route ({setting})"
        if length_header is not None:
            try:
                declared = int(length_header)
            except ValueError:
                await _answer(scope, send, 400, "the Content-Length header is not a number")
                return
            if declared > limit:
                await _answer(scope, send, 413, too_large)  # answered before a byte of the body is read
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await _discard_rest(receive, limit)
                await _answer(scope, send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if body and _looks_like_json(body, content_type):
            deepest = limits.max_json_depth
            if len(body) > _OFF_LOOP_BYTES:
                depth = await asyncio.to_thread(json_depth, body)
            else:
                depth = json_depth(body)
            if depth > deepest:
                text = f"the JSON body is nested more than {deepest} levels deep (request_limits.max_json_depth)"
                await _answer(scope, send, 400, text)
                return
        await self.app(scope, _replay(body, receive), send)


async def _discard_rest(receive: Any, most: int, seconds: float = 1.0) -> None:
    """Read and drop what the client is still sending (at most ``most`` bytes, for at most ``seconds``), so the
    413 is not lost: closing a socket with unread data makes the client's kernel discard the answer (a reset).
    Nothing is kept; a client that sends forever is cut off when either bound is reached."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    seen = 0
    while seen <= most:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except TimeoutError:
            return
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return
        seen += len(message.get("body", b""))


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(scope: Any, send: Any, status: int, message: str) -> None:
    payload = json.dumps(error_body(status, message, scope.get("path", ""))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def install(app: Any, settings: Any) -> None:
    """Register last, so it runs first: nothing reads a body before its limits are checked."""
    app.add_middleware(BodyLimitMiddleware, settings=settings)
