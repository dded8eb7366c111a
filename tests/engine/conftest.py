"""Fixtures of the engine's tests: an HTTP target on loopback for webhook stages and notifications."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# moto's AWS for the deploy restart test, as tests/providers has it
from tests.providers.aws_fixtures import aws_account, aws_cloud, aws_world, moto_clients, moto_endpoint  # noqa: F401


class Hook:
    """A webhook target on loopback: POST starts a job, GET reports its state until told it is done."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.bodies: list[bytes] = []
        #: seconds to hold the answer to a path (a slow receiver)
        self.delays: dict[str, float] = {}
        #: paths whose answer waits until the test sets the event (a receiver that is stuck until told)
        self.holds: dict[str, threading.Event] = {}
        #: HTTP status to answer a path with (200 otherwise)
        self.statuses: dict[str, int] = {}
        self.state = "WORKING"
        #: bytes of filler in every answer (a large status body)
        self.padding = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                hook.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                hook.calls.append((self.command, self.path))
                time.sleep(hook.delays.get(self.path, 0))
                if self.path in hook.holds:
                    hook.holds[self.path].wait(60)
                answer: dict[str, Any] = {"state": hook.state}
                if hook.padding:
                    answer["padding"] = "x" * hook.padding
                data = json.dumps(answer).encode()
                self.send_response(hook.statuses.get(self.path, 200))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    served = Hook()
    yield served
    served.close()
