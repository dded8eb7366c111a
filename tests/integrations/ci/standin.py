"""What the CI stand-ins share: a threaded HTTP server on 127.0.0.1 and a free port, routes by method and
path pattern, JSON answers, a token check, switches to fail the next matching requests, and a record of calls."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

JSON = dict[str, Any]
#: (status, body, headers); a body of bytes is sent as is, anything else as JSON
Answer = tuple[int, Any, dict[str, str]]
Handler = Callable[..., Answer]


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class _Switch:
    method: str
    pattern: re.Pattern[str]
    status: int
    count: int


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass
class StandIn:
    """Subclasses add routes with :meth:`route` and check the token in :meth:`authorized`."""

    calls: list[Call] = field(default_factory=list)
    _routes: list[Route] = field(default_factory=list)
    _switches: list[_Switch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(Route(method, re.compile(f"^{pattern}$"), handler))

    def authorized(self, headers: dict[str, str]) -> Answer | None:
        """None when the request may go on, else the answer to send (401...)."""
        return None

    def fail_next(self, method: str, path_regex: str, status: int, count: int = 1) -> None:
        self._switches.append(_Switch(method, re.compile(path_regex), status, count))

    # -- serving

    def start(self) -> StandIn:
        standin = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                standin._serve(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                standin._serve(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.search(path_regex, c.path)]

    def _serve(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.calls.append(Call(method, path, query, body, headers))
            answer = self._answer(method, path, query, body, headers)
        self._send(request, *answer)

    def _answer(self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]) -> Answer:
        for switch in self._switches:
            if switch.count > 0 and switch.method == method and switch.pattern.search(path):
                switch.count -= 1
                return switch.status, {"message": f"stand-in error {switch.status}"}, {}
        refused = self.authorized(headers)
        if refused is not None:
            return refused
        for route in self._routes:
            match = route.pattern.match(path)
            if route.method == method and match:
                args = {k: unquote(v) for k, v in match.groupdict().items()}
                return route.handler(query=query, body=body, headers=headers, **args)
        return 404, {"message": "Not Found"}, {}

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, data: Any, headers: dict[str, str]) -> None:
        if isinstance(data, bytes):
            payload, kind = data, headers.pop("Content-Type", "application/octet-stream")
        elif data is None:
            payload, kind = b"", ""
        else:
            payload, kind = json.dumps(data).encode(), "application/json"
        request.send_response(status)
        if kind:
            request.send_header("Content-Type", kind)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)
