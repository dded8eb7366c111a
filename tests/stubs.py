"""A scriptable HTTP server on 127.0.0.1 (a free port) for tests of anything that calls out over HTTP:
webhook stages, notification webhooks, URL expressions. Replies are scripted per (method, path)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON, str → text, None → empty
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> list[str]:
        return self.headers.get(name.lower(), [])


class Stub:
    """Replies by (method, path); a list of replies is played in order and its last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.base = ""

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies) or [Reply()]

    def url(self, path: str) -> str:
        return self.base + path

    def count(self, method: str, path: str) -> int:
        return sum(1 for c in self.calls if c.method == method and c.path == path)

    def answer(self, method: str, path: str) -> Reply:
        with self.lock:
            queue = self.routes.get((method, path))
            if not queue:
                return Reply(404, {"error": "no route"})
            return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        with stub.lock:
            stub.calls.append(Call(self.command, self.path, headers, body))
        reply = stub.answer(self.command, self.path)
        if reply.delay:
            time.sleep(reply.delay)
        if isinstance(reply.body, (dict, list)):
            data, ctype = json.dumps(reply.body).encode(), "application/json"
        elif isinstance(reply.body, str):
            data, ctype = reply.body.encode(), "text/plain"
        else:
            data, ctype = b"", None
        try:
            self.send_response(reply.status)
            if ctype and "Content-Type" not in reply.headers:
                self.send_header("Content-Type", ctype)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: Stub

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@contextmanager
def serve_stub() -> Iterator[Stub]:
    """Serve a fresh :class:`Stub` until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stub = Stub()
    server.stub.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
