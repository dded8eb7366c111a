"""Real HTTP servers for the outbound-policy tests: any loopback address (127.0.0.1, 127.0.0.2),
scripted per path, recording what they were asked and how much of each body they managed to send."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Served:
    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    #: (method, path, Host header) of every request
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    #: bytes of body each streaming route wrote before the client hung up
    sent: list[int] = field(default_factory=list)
    #: the TLS server names (SNI) clients asked for
    server_names: list[str | None] = field(default_factory=list)
    scheme: str = "http"
    #: set when a streaming route has stopped writing (finished, or the client hung up)
    streamed: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        served = self.server.served
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        served.calls.append((self.command, self.path, self.headers.get("Host", "")))
        route = served.routes.get(self.path.split("?")[0])
        if route is None:
            reply(self, 404, b"no route")
            return
        route(self)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    served: Served

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def reply(
    handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: reply(h, status, headers={"Location": location})


def json_reply(body: bytes, status: int = 200) -> Route:
    return lambda h: reply(h, status, body, {"Content-Type": "application/json"})


def stream(total: int, served: Served, *, declare: bool = False, chunk: int = 64 * 1024) -> Route:
    """Send ``total`` bytes chunked (or with a Content-Length when ``declare``), counting what got out."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        if declare:
            handler.send_header("Content-Length", str(total))
        else:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        written = 0
        try:
            while written < total:
                piece = b"x" * min(chunk, total - written)
                if declare:
                    handler.wfile.write(piece)
                else:
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                handler.wfile.flush()
                written += len(piece)
            if not declare:
                handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            served.sent.append(written)
            served.streamed.set()

    return route


@contextmanager
def serve(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[Served]:
    """A server on ``host`` (a free port) until the block ends; HTTPS with ``tls`` (SNI recorded)."""
    server = _Server((host, 0), _Handler)
    server.served = Served(host, server.server_address[1])
    if tls is not None:
        served = server.served
        served.scheme = "https"
        tls.sni_callback = lambda sock, name, ctx: served.server_names.append(name)  # type: ignore[assignment,misc,return-value]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
