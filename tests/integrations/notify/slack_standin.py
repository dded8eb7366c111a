"""A stand-in for Slack's Web API (``chat.postMessage`` only), for tests driven by the real slack-sdk.

It speaks the wire protocol slack-sdk uses: POST ``/api/chat.postMessage`` with a JSON or form body,
the bot token as ``Authorization: Bearer`` (or a ``token`` form field), and Slack's answers:
``{"ok": true, "channel": ..., "ts": ...}``, ``invalid_auth`` / ``not_authed`` for a bad or missing
token, ``channel_not_found`` for an unknown channel, and, when asked to, HTTP 429 with
``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``. Posted messages are recorded.

Channels are known by name (with or without ``#``) or id; user ids (``U...``/``W...``) open a DM.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Posted:
    """One accepted ``chat.postMessage`` call."""

    channel: str
    channel_id: str
    ts: str
    args: dict[str, Any]
    content_type: str

    @property
    def attachments(self) -> list[dict[str, Any]]:
        value = self.args.get("attachments") or []
        return json.loads(value) if isinstance(value, str) else list(value)


@dataclass
class SlackStandin:
    """The stand-in's state; tests read ``messages`` and set the switches."""

    token: str
    channels: dict[str, str] = field(default_factory=lambda: {"general": "C0GENERAL", "deploys": "C0DEPLOYS"})
    users: set[str] = field(default_factory=lambda: {"U0ALICE"})
    messages: list[Posted] = field(default_factory=list)
    requests: int = 0
    #: answer the next N calls with 429 ``ratelimited``
    rate_limited_calls: int = 0
    retry_after_s: int = 7
    #: answer the next N calls with this HTTP status (5xx) and ``internal_error``
    failing_calls: int = 0
    failing_status: int = 503
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def resolve(self, channel: str) -> str | None:
        name = channel.strip()
        if name in self.channels.values() or name in self.users:
            return name
        return self.channels.get(name.removeprefix("#"))

    def post(self, headers: dict[str, str], args: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one ``chat.postMessage``: (status, extra headers, JSON body)."""
        with self.lock:
            self.requests += 1
            if self.rate_limited_calls > 0:
                self.rate_limited_calls -= 1
                return 429, {"Retry-After": str(self.retry_after_s)}, {"ok": False, "error": "ratelimited"}
            if self.failing_calls > 0:
                self.failing_calls -= 1
                return self.failing_status, {}, {"ok": False, "error": "internal_error"}
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else str(args.get("token") or "")
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if token != self.token:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        channel = str(args.get("channel") or "")
        if not channel:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        channel_id = self.resolve(channel)
        if channel_id is None:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("attachments") and not args.get("blocks"):
            return 200, {}, {"ok": False, "error": "no_text"}
        with self.lock:
            ts = f"1700000000.{next(self._ts):06d}"
            self.messages.append(Posted(channel, channel_id, ts, args, headers.get("content-type", "")))
        message = {"type": "message", "text": args.get("text") or "", "ts": ts, "bot_id": "B0GENNAKER"}
        return 200, {}, {"ok": True, "channel": channel_id, "ts": ts, "message": message}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.path.split("?", 1)[0] != "/api/chat.postMessage":
            self._answer(404, {}, {"ok": False, "error": "unknown_method"})
            return
        content_type = headers.get("content-type", "")
        try:
            if content_type.startswith("application/json"):
                args = json.loads(raw or b"{}")
            else:
                args = {key: values[-1] for key, values in parse_qs(raw.decode()).items()}
        except ValueError:
            self._answer(200, {}, {"ok": False, "error": "invalid_json"})
            return
        self._answer(*self.server.standin.post(headers, args))

    def _answer(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: SlackStandin


@contextmanager
def serve_slack(token: str) -> Iterator[SlackStandin]:
    """Serve a Slack stand-in on 127.0.0.1 (a free port) until the block ends; its API root is
    ``standin.base_url`` (``http://127.0.0.1:<port>/api/``)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.standin = SlackStandin(token=token)
    server.standin.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
