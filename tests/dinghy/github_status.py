"""A stand-in for GitHub's commit status API, served over HTTP on loopback: ``POST /repos/{o}/{r}/statuses/{sha}``
answers 201 with GitHub's status shape; ``GET /repos/{o}/{r}/commits/{sha}/statuses`` lists them newest first."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_POST = re.compile(r"^/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{40})$")
_GET = re.compile(r"^/repos/([^/]+)/([^/]+)/commits/([0-9a-f]{40})/statuses$")
STATES = {"pending", "success", "failure", "error"}


class GitHubStatuses:
    def __init__(self) -> None:
        self.statuses: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                m = _POST.match(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if m is None:
                    return self._answer(404, {"message": "Not Found"})
                if body.get("state") not in STATES:
                    return self._answer(422, {"message": "Validation Failed"})
                if len(body.get("description") or "") > 140:
                    return self._answer(422, {"message": "description is too long (maximum is 140 characters)"})
                with owner.lock:
                    items = owner.statuses.setdefault(m.group(3), [])
                    doc = {"id": sum(map(len, owner.statuses.values())), "state": body["state"],
                           "description": body.get("description"), "context": body.get("context") or "default",
                           "target_url": body.get("target_url"), "auth": self.headers.get("Authorization")}  # fmt: skip
                    items.insert(0, doc)
                self._answer(201, doc)

            def do_GET(self) -> None:  # noqa: N802
                m = _GET.match(self.path)
                if m is None:
                    return self._answer(404, {"message": "Not Found"})
                with owner.lock:
                    self._answer(200, list(owner.statuses.get(m.group(3), [])))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> GitHubStatuses:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
